import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replay } from '../../src/core/replayer.js';
import { processStartTime } from '../../src/runtime/system/process-identity.js';
import { statusDocument } from '../../src/core/status-document.js';
import { saveSnapshot, STATUS_SNAPSHOT } from '../../src/runtime/log/snapshots.js';
import { openSqliteEventStore } from '../../src/store/index.js';
import { assertBuilt, orch } from './helpers/cli.js';
import { LogBuilder, tempLog, type TempLog } from './helpers/log-builder.js';

let log: TempLog;
beforeAll(() => {
  assertBuilt();
  log = tempLog();
});
afterAll(() => log?.cleanup());

function writeLease(stateDir: string, pid: number, startTime: string | null): void {
  const info = {
    pid,
    startTime,
    host: os.hostname(),
    runId: 'r1',
    acquiredAt: '2025-01-01T00:00:00.000Z',
    nonce: 'n',
  };
  fs.writeFileSync(path.join(stateDir, 'orch.lock'), JSON.stringify(info));
}

/** The status document of the whole log, folded in the test. */
function expectedDocument(file: string) {
  const store = openSqliteEventStore(file, { readonly: true });
  try {
    return statusDocument(replay(store.readAll()));
  } finally {
    store.close();
  }
}

describe('orch status (built binary)', () => {
  it('prints plan, run, totals, the tree and the live agents', async () => {
    const r = await orch(['status', '--repo', log.repo]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('Calculator  (.state/plans)  ·  log position 60');
    expect(r.stdout).toContain('Run r1: running (started 2025-01-01T00:00:00.000Z)  ·  lease: free');
    expect(r.stdout).toContain('Tasks: 5 tasks (2 running, 3 complete)  ·  attempts 8  ·  cost $0.13');
    expect(r.stdout).toContain('M1  Core  [complete]  PR https://example.test/pr/1 (milestone/M1)');
    expect(r.stdout).toContain('    T003  complete  2 attempts  $0.01  Implement multiply (implementer)');
    expect(r.stdout).toContain('Live agents (2):');
    expect(r.stdout).toContain('  s8  T005  attempt 1  running  pid 40001');
  });

  it('prints one JSON document with the documented keys (docs/cli.md), totals and the lease (alive or dead)', async () => {
    writeLease(log.stateDir, process.pid, processStartTime(process.pid) ?? null);
    try {
      const r = await orch(['status', '--repo', log.repo, '--json']);
      expect(r.exitCode, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout);
      expect(Object.keys(doc)).toEqual([
        'position',
        'plan',
        'milestones',
        'phases',
        'tasks',
        'agents',
        'run',
        'costUsd',
        'totals',
        'usage',
        'targets',
        'lease',
      ]);
      // No target in this plan: no groups, and every task runs in the main repository.
      expect(doc.targets).toEqual([]);
      expect(doc.tasks.every((t: { target: unknown }) => t.target === null)).toBe(true);
      expect(doc).toEqual({ ...expectedDocument(log.file), lease: expect.any(Object) });
      expect(doc.lease).toMatchObject({ pid: process.pid, runId: 'r1', alive: true });
      expect(doc.tasks[1]).toMatchObject({ id: 'T002', status: 'complete', attempts: 3, dependsOn: [] });
      expect(doc.milestones[0].pr).toEqual({ url: 'https://example.test/pr/1', branch: 'milestone/M1' });

      const dead = spawnSync(process.execPath, ['-e', '0']).pid;
      writeLease(log.stateDir, dead, null);
      const text = await orch(['status', '--repo', log.repo]);
      expect(text.stdout).toContain(`lease: pid ${dead} (dead), run r1`);
    } finally {
      fs.rmSync(path.join(log.stateDir, 'orch.lock'), { force: true });
    }
  });

  it('uses the status cache when it is current and folds the tail when it is not', async () => {
    const t = tempLog();
    try {
      const plain = await orch(['status', '--repo', t.repo, '--json']);
      const store = openSqliteEventStore(t.file);
      const state = replay(store.readAll());
      saveSnapshot(store, state, {});
      store.close();
      const cached = await orch(['status', '--repo', t.repo, '--json']);
      expect(cached.stdout).toBe(plain.stdout);

      // Proof that the cache is what is printed: a doctored cache at the end shows through
      // (orch replay --verify is what catches it).
      const writer = openSqliteEventStore(t.file);
      const doctored = { ...statusDocument(state), plan: { name: 'FROM THE CACHE', source: 'x' } };
      writer.saveSnapshot(STATUS_SNAPSHOT, state.position, doctored);
      expect(JSON.parse((await orch(['status', '--repo', t.repo, '--json'])).stdout).plan.name).toBe(
        'FROM THE CACHE',
      );

      // An event after the cache: the state snapshot plus the tail are folded instead.
      const b = new LogBuilder(writer).knowSpawn('s8', 'T005');
      b.now = Date.parse('2025-01-02T00:00:00.000Z');
      b.add('AgentExited', { spawnId: 's8', exitCode: 2, signal: null, durationMs: 10, outputTail: 'boom' });
      writer.close();
      const after = await orch(['status', '--repo', t.repo, '--json']);
      const doc = JSON.parse(after.stdout);
      expect(doc.plan.name).toBe('Calculator');
      expect(doc.position).toBe(61);
      expect(doc.tasks[4]).toMatchObject({ id: 'T005', detail: 'retrying', lastFailure: 'exit code 2' });
      expect({ ...doc, lease: undefined }).toEqual({ ...expectedDocument(t.file), lease: undefined });
    } finally {
      t.cleanup();
    }
  });

  it('a missing log: exit 1, a clear error with the hint, and nothing created', async () => {
    const stateDir = path.join(log.dir, 'no-such', '.state');
    const r = await orch(['status', '--state-dir', stateDir]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`Error: no orch log at ${path.join(stateDir, 'orch.db')}`);
    expect(r.stderr).toContain('Hint: run orch spawn or orch demo first');
    const json = await orch(['status', '--state-dir', stateDir, '--json']);
    expect(json.exitCode).toBe(1);
    expect(JSON.parse(json.stdout).error.code).toBe('LOG_NOT_FOUND');
    expect(fs.existsSync(path.join(log.dir, 'no-such'))).toBe(false);
  });

  it('a corrupt or foreign database file: a clear error, and the file is left untouched', async () => {
    const dir = path.join(log.dir, 'foreign');
    fs.mkdirSync(dir);
    const file = path.join(dir, 'orch.db');
    const other = new Database(file);
    other.exec(
      "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes (text) VALUES ('mine')",
    );
    other.close();
    const before = fs.readFileSync(file);
    const r = await orch(['status', '--state-dir', dir]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(
      /^Error: .*orch\.db is not an orch event log: it is a SQLite database of another application/m,
    );
    expect(r.stderr).toContain('Hint:');
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(['orch.db']);

    fs.writeFileSync(file, 'this is not a database at all, just text\n'.repeat(100));
    const garbage = await orch(['status', '--state-dir', dir, '--json']);
    expect(garbage.exitCode).toBe(1);
    expect(JSON.parse(garbage.stdout).error.code).toBe('NOT_AN_ORCH_LOG');
    expect(fs.readFileSync(file, 'utf8')).toBe('this is not a database at all, just text\n'.repeat(100));
  });
});
