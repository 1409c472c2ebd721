/**
 * Crash safety: a child process appends in a loop and is killed with SIGKILL at random
 * moments, 20 times over the same log. After every kill, each acknowledged event is in the
 * log at its acknowledged position, positions and stream versions have no gaps, and
 * SQLite's integrity check passes.
 */
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteEventStore } from '../../src/store/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const fixture = path.join(here, 'fixtures', 'append-loop.ts');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-store-crash-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Ack {
  streamId: string;
  first: number;
  last: number;
  prefix: string;
  count: number;
}

/** Starts the appender, kills it `delayMs` after its first ack, and returns the acks it printed. */
async function runAndKill(file: string, delayMs: number): Promise<{ acks: Ack[]; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, file], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let killTimer: NodeJS.Timeout | undefined;
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('exit', (_code, signal) => resolve(signal)),
  );
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (killTimer === undefined && stdout.includes('\nack ')) {
      killTimer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    }
  });
  // A child that never acks (a crash at start) must not hang the test.
  const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const signal = await exited;
  clearTimeout(guard);
  clearTimeout(killTimer);
  expect(signal, stderr).toBe('SIGKILL');
  // Only complete lines are acknowledgements; a torn last line was never fully reported.
  const acks = stdout
    .split('\n')
    .slice(0, -1)
    .filter((line) => line.startsWith('ack '))
    .map((line) => {
      const [, streamId, first, last, prefix, count] = line.split(' ');
      return {
        streamId: streamId!,
        first: Number(first),
        last: Number(last),
        prefix: prefix!,
        count: Number(count),
      };
    });
  return { acks, stderr };
}

function verify(file: string, acked: readonly Ack[]): number {
  const store = openSqliteEventStore(file);
  const events = [...store.readAll()];
  events.forEach((event, i) => expect(event.position).toBe(i + 1));
  const versions = new Map<string, number>();
  for (const event of events) {
    const next = (versions.get(event.streamId) ?? 0) + 1;
    expect(event.streamVersion).toBe(next);
    versions.set(event.streamId, next);
  }
  for (const ack of acked) {
    expect(ack.last - ack.first + 1).toBe(ack.count);
    for (let k = 0; k < ack.count; k++) {
      const event = events[ack.first + k - 1];
      expect(event, `acknowledged ${ack.prefix}-${k} at ${ack.first + k}`).toMatchObject({
        id: `${ack.prefix}-${k}`,
        streamId: ack.streamId,
        position: ack.first + k,
      });
    }
  }
  store.close();
  const db = new Database(file, { readonly: true });
  expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
  db.close();
  return events.length;
}

describe('an appender killed with SIGKILL', () => {
  it('never loses an acknowledged event nor leaves a gap, over 20 kills', async () => {
    const file = path.join(dir, 'orch.db');
    const acked: Ack[] = [];
    let previousLength = 0;
    for (let round = 0; round < 20; round++) {
      const { acks } = await runAndKill(file, randomInt(0, 120));
      expect(acks.length, `round ${round} acknowledged nothing`).toBeGreaterThan(0);
      acked.push(...acks);
      const length = verify(file, acked);
      expect(length).toBeGreaterThanOrEqual(Math.max(previousLength, acks.at(-1)!.last));
      previousLength = length;
    }
    expect(acked.length).toBeGreaterThan(40);
  });
});
