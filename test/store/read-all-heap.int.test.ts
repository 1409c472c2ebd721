/**
 * readAll is lazy: reading a log of one million events never holds them all in memory.
 * The log is filled with one SQL statement (fast); a child process with --expose-gc reads it.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteEventStore } from '../../src/store/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-store-heap-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const EVENTS = 1_000_000;

describe('readAll over a million events', () => {
  it('reads them all in order while the heap stays flat', () => {
    const file = path.join(dir, 'orch.db');
    openSqliteEventStore(file, { durability: 'normal' }).close();
    const db = new Database(file);
    db.pragma('synchronous = OFF');
    db.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ? - 1)
       INSERT INTO events (id, stream_id, stream_version, type, data, metadata, recorded_at)
       SELECT 'e' || i, 'stream-' || (i % 1000), i / 1000 + 1, 'Tick',
              json_object('n', i, 'pad', 'padding-padding-padding-padding-padding-padding'),
              '{"runId":"r1"}', '2025-01-01T00:00:00.000Z'
       FROM n`,
    ).run(EVENTS);
    db.close();
    const output = execFileSync(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', path.join(here, 'fixtures', 'read-all-heap.ts'), file],
      { cwd: path.resolve(here, '../..'), encoding: 'utf8' },
    );
    const { count, last, before, maxHeap } = JSON.parse(output) as Record<string, number>;
    expect(count).toBe(EVENTS);
    expect(last).toBe(EVENTS - 1);
    // A million parsed events take hundreds of MB; one page of them takes well under 1 MB.
    expect(maxHeap! - before!).toBeLessThan(32 * 1024 * 1024);
  });
});
