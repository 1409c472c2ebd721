/**
 * Concurrency across processes: four processes append to the same three streams, each
 * expecting the version it just read. No (stream, version) may be written twice, no
 * SQLITE_BUSY may escape, and every append that lost the race gets a ConcurrencyError.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteEventStore } from '../../src/store/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const fixture = path.join(here, 'fixtures', 'race-appender.ts');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-store-race-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const WORKERS = 4;
const ITERATIONS = 250;

interface Worker {
  ready: Promise<void>;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

function startWorker(file: string, worker: number): Worker {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fixture, file, `w${worker}`, String(ITERATIONS)],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  let markReady: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (stdout.startsWith('ready\n')) markReady();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (code) => {
      markReady();
      resolve({ code, stdout, stderr });
    }),
  );
  return { ready, done };
}

describe('processes racing on the same streams', () => {
  it('write each stream version once and give every loser a ConcurrencyError', async () => {
    const file = path.join(dir, 'orch.db');
    openSqliteEventStore(file).close();
    const workers = Array.from({ length: WORKERS }, (_, i) => startWorker(file, i));
    await Promise.all(workers.map((w) => w.ready));
    fs.writeFileSync(`${file}.go`, '');
    const outputs = await Promise.all(workers.map((w) => w.done));

    const wins: { streamId: string; version: number; position: number; id: string }[] = [];
    const conflicts: { streamId: string; expected: number; actual: number }[] = [];
    for (const { code, stdout, stderr } of outputs) {
      const lines = stdout.trimEnd().split('\n');
      expect(
        lines.filter((line) => line.startsWith('error')),
        stderr,
      ).toEqual([]);
      expect(code, stderr).toBe(0);
      expect(lines.at(-1)).toBe('done');
      for (const line of lines) {
        const [kind, a, b, c, d] = line.split(' ');
        if (kind === 'ok') wins.push({ streamId: a!, version: Number(b), position: Number(c), id: d! });
        if (kind === 'conflict') conflicts.push({ streamId: a!, expected: Number(b), actual: Number(c) });
      }
    }
    expect(wins.length + conflicts.length).toBe(WORKERS * ITERATIONS);
    // The race must really have happened for the test to mean anything.
    expect(conflicts.length).toBeGreaterThan(0);
    for (const conflict of conflicts) expect(conflict.actual).toBeGreaterThan(conflict.expected);

    const claimed = new Set(wins.map((w) => `${w.streamId}@${w.version}`));
    expect(claimed.size).toBe(wins.length);

    const store = openSqliteEventStore(file, { readonly: true });
    const events = [...store.readAll()];
    store.close();
    expect(events).toHaveLength(wins.length);
    const byId = new Map(events.map((e) => [e.id, e]));
    for (const win of wins) {
      expect(byId.get(win.id)).toMatchObject({
        streamId: win.streamId,
        streamVersion: win.version,
        position: win.position,
      });
    }
    for (const streamId of ['race-0', 'race-1', 'race-2']) {
      const versions = events.filter((e) => e.streamId === streamId).map((e) => e.streamVersion);
      expect(versions).toEqual(versions.map((_, i) => i + 1));
    }
  });
});

describe('processes creating the same new log at once', () => {
  it('all open it (schema and WAL set up once) and append, none sees the log busy', async () => {
    const opener = path.join(here, 'fixtures', 'fresh-opener.ts');
    const ROUNDS = 5;
    const PROCESSES = 4;
    for (let round = 0; round < ROUNDS; round++) {
      const file = path.join(dir, `fresh-${round}.db`);
      const startAt = Date.now() + 2500;
      const results = await Promise.all(
        Array.from(
          { length: PROCESSES },
          (_, i) =>
            new Promise<string>((resolve) => {
              const child = spawn(
                process.execPath,
                ['--import', 'tsx', opener, file, String(startAt), `p${i}`],
                {
                  cwd: root,
                  stdio: ['ignore', 'pipe', 'pipe'],
                },
              );
              let out = '';
              child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
              child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
              child.on('exit', () => resolve(out.trim()));
            }),
        ),
      );
      expect(results, `round ${round}`).toEqual(Array.from({ length: PROCESSES }, () => 'ok'));
      const store = openSqliteEventStore(file, { readonly: true });
      try {
        expect([...store.readAll()].map((e) => e.streamId).sort()).toEqual(
          Array.from({ length: PROCESSES }, (_, i) => `proc-p${i}`),
        );
      } finally {
        store.close();
      }
    }
  }, 120_000);
});
