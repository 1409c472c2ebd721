import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Replayer } from '../../../src/core/replayer.js';
import { statusDocument, withLease } from '../../../src/core/status-document.js';
import { saveSnapshot } from '../../../src/runtime/log/snapshots.js';
import {
  NothingFoundError,
  ReplayTargetError,
  UsageError,
  VerifyFailedError,
} from '../../../src/runtime/operations/errors.js';
import { orchLog } from '../../../src/runtime/operations/log.js';
import { orchReplay } from '../../../src/runtime/operations/replay.js';
import { orchStatus } from '../../../src/runtime/operations/status.js';
import { cachedStatus, STATUS_EXTRA_TYPES } from '../../../src/runtime/operations/status-cache.js';
import { STATUS_SNAPSHOT, STATUS_STATE_SNAPSHOT } from '../../../src/runtime/log/snapshots.js';
import os from 'node:os';
import { openSqliteEventStore, StoreError } from '../../../src/store/index.js';
import { tempLog, type TempLog } from '../../commands/helpers/log-builder.js';

/** The state after the events up to `to`, by a plain Replayer from zero, with stream versions. */
function foldTo(file: string, to: number) {
  const store = openSqliteEventStore(file, { readonly: true });
  try {
    const replayer = new Replayer();
    const versions: Record<string, number> = {};
    for (const e of store.readAll({ to })) {
      replayer.apply(e);
      versions[e.streamId] = e.streamVersion;
    }
    return { state: replayer.state, versions };
  } finally {
    store.close();
  }
}

let log: TempLog;
beforeAll(() => {
  log = tempLog();
});
afterAll(() => log?.cleanup());

/** A temporary log with the status cache saved at its end. */
function cachedLog(): TempLog {
  const t = tempLog();
  const { state, versions } = foldTo(t.file, 60);
  const writer = openSqliteEventStore(t.file);
  try {
    saveSnapshot(writer, state, versions);
  } finally {
    writer.close();
  }
  return t;
}

describe('cachedStatus (the probe orch status tries first)', () => {
  it('gives exactly what orchStatus gives when the cache is current, lease included', async () => {
    const t = cachedLog();
    try {
      const full = await orchStatus(t.stateDir);
      expect(full.source).toBe('cache');
      expect(await cachedStatus(t.stateDir)).toEqual({
        documentJson: full.documentJson,
        json: full.json,
        lease: null,
        position: 60,
        extras: full.extras,
        warnings: full.warnings,
      });
      const lease = {
        pid: process.pid,
        startTime: null,
        host: os.hostname(),
        runId: 'r1',
        acquiredAt: '2025-01-01T00:00:00.000Z',
        nonce: 'n',
      };
      fs.writeFileSync(path.join(t.stateDir, 'orch.lock'), JSON.stringify(lease));
      const held = await orchStatus(t.stateDir);
      expect(held.lease).toMatchObject({ pid: process.pid, runId: 'r1' });
      expect(await cachedStatus(t.stateDir)).toMatchObject({ json: held.json, lease: held.lease });
    } finally {
      t.cleanup();
    }
  });

  it('leaves the full path everything that is not plainly a current cache', async () => {
    expect(await cachedStatus(log.stateDir)).toBeUndefined(); // no cache at all
    expect(await cachedStatus(path.join(log.dir, 'nowhere'))).toBeUndefined();
    const t = cachedLog();
    try {
      // Behind the log by one event: the status state's parts and the tail, as the full path gives it.
      const writer = openSqliteEventStore(t.file);
      writer.append('run-x', [{ id: 'late', type: 'RunStopped', data: { runId: 'x', reason: 'test' } }]);
      const behind = await orchStatus(t.stateDir);
      expect(behind.position).toBe(61);
      expect(await cachedStatus(t.stateDir)).toEqual({
        documentJson: behind.documentJson,
        json: behind.json,
        lease: null,
        position: 61,
        extras: {},
        warnings: [],
      });
      // Its parts gone: the full path.
      writer.saveSnapshotTexts([{ name: STATUS_STATE_SNAPSHOT, position: 60, json: '[]' }]);
      expect(await cachedStatus(t.stateDir)).toBeUndefined();
      // Current again, but not a document.
      writer.saveSnapshot(STATUS_SNAPSHOT, 61, 42);
      expect(await cachedStatus(t.stateDir)).toBeUndefined();
      // A document at the end, with an event that adds extras: the full path, which shows them.
      writer.append('run-x', [
        {
          id: 'forked',
          type: STATUS_EXTRA_TYPES[0]!,
          data: { from: { stateDir: '/elsewhere', runId: 'r0', position: 3 }, runId: 'x' },
        },
      ]);
      writer.saveSnapshot(STATUS_SNAPSHOT, 62, { position: 62 });
      writer.close();
      expect(await cachedStatus(t.stateDir)).toBeUndefined();
      expect((await orchStatus(t.stateDir)).extras.fork).toEqual({
        stateDir: '/elsewhere',
        runId: 'r0',
        position: 3,
      });
      // The log is in PostgreSQL: never looked at here.
      process.env['ORCH_DATABASE_URL'] = 'postgres://127.0.0.1:1/none';
      try {
        expect(await cachedStatus(t.stateDir)).toBeUndefined();
      } finally {
        delete process.env['ORCH_DATABASE_URL'];
      }
    } finally {
      t.cleanup();
    }
    // A file that is not an orch log: untouched, and orchStatus names it.
    const foreign = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-foreign-'));
    try {
      fs.writeFileSync(
        path.join(foreign, 'orch.db'),
        'not a database at all, but long enough to have a header '.repeat(4),
      );
      expect(await cachedStatus(foreign)).toBeUndefined();
      await expect(orchStatus(foreign)).rejects.toMatchObject({ code: 'NOT_AN_ORCH_LOG' });
      expect(fs.readdirSync(foreign)).toEqual(['orch.db']);
    } finally {
      fs.rmSync(foreign, { recursive: true, force: true });
    }
  });
});

describe('orchStatus', () => {
  it('folds the log when there is no cache, and gives the document with and without the lease', async () => {
    const status = await orchStatus(log.stateDir);
    expect(status).toMatchObject({ position: 60, source: 'fold', lease: null });
    expect(status.documentJson).toBe(JSON.stringify(statusDocument(foldTo(log.file, 60).state)));
    expect(status.json).toBe(withLease(status.documentJson, null));
    expect(JSON.parse(status.json)).toMatchObject({ position: 60, lease: null });
  });

  it('gives the cached document text as it is when the cache is at the end of the log', async () => {
    const t = cachedLog();
    try {
      const status = await orchStatus(t.stateDir);
      expect(status.source).toBe('cache');
      expect(status.documentJson).toBe(JSON.stringify(statusDocument(foldTo(t.file, 60).state)));
    } finally {
      t.cleanup();
    }
  });

  it('refuses a missing log without creating it', async () => {
    const stateDir = path.join(log.dir, 'nowhere');
    await expect(orchStatus(stateDir)).rejects.toBeInstanceOf(StoreError);
    expect(fs.existsSync(stateDir)).toBe(false);
  });
});

describe('orchReplay', () => {
  const base = () => ({ repoDir: log.repo, stateDir: log.stateDir });

  it('replays to the end, to a position, or to a time, and says where it stopped', async () => {
    const end = await orchReplay(base());
    expect(end.replay).toEqual({ position: 60, by: 'end' });
    expect(end.verify).toBeUndefined();
    const { replay: _r, ...doc } = end;
    expect(doc).toEqual(statusDocument(foldTo(log.file, 60).state));

    const to = await orchReplay({ ...base(), to: '10' });
    expect(to.replay).toEqual({ position: 10, by: 'to' });
    expect(to.position).toBe(10);

    // The builder records one event a second from 2025-01-01T00:00:01Z.
    const at = await orchReplay({ ...base(), at: '2025-01-01T00:00:30Z' });
    expect(at.replay).toEqual({ position: 30, by: 'at', at: '2025-01-01T00:00:30Z' });
    expect(Object.keys(at).slice(-1)).toEqual(['replay']);
  });

  it('with verify, adds what the verification covered', async () => {
    const result = await orchReplay({ ...base(), to: '40', verify: true, pureLimit: '20' });
    expect(result.replay).toEqual({ position: 40, by: 'to' });
    expect(result.verify).toMatchObject({ events: 40, position: 40, pureEvents: 20, snapshot: null });
    expect(result.verify?.invariants.length).toBeGreaterThan(5);
    expect(Object.keys(result).slice(-2)).toEqual(['replay', 'verify']);
  });

  it('refuses a bad point, --pure-limit without --verify, and a cache that disagrees with the fold', async () => {
    await expect(orchReplay({ ...base(), to: '61' })).rejects.toBeInstanceOf(ReplayTargetError);
    await expect(orchReplay({ ...base(), to: '1', at: '2025-01-01' })).rejects.toBeInstanceOf(
      ReplayTargetError,
    );
    await expect(orchReplay({ ...base(), pureLimit: '5' })).rejects.toBeInstanceOf(UsageError);
    const t = tempLog();
    try {
      const { state, versions } = foldTo(t.file, 30);
      const writer = openSqliteEventStore(t.file);
      try {
        saveSnapshot(writer, { ...state, costUsd: 999 }, versions);
      } finally {
        writer.close();
      }
      const failed = orchReplay({ repoDir: t.repo, stateDir: t.stateDir, verify: true });
      await expect(failed).rejects.toBeInstanceOf(VerifyFailedError);
      const problems = await failed.catch((err: VerifyFailedError) => err.problems);
      expect(problems).toContainEqual(expect.objectContaining({ check: 'snapshot', position: 30 }));
    } finally {
      t.cleanup();
    }
  });
});

describe('orchLog', () => {
  it('lists the events of a task lazily, and tells its story', () => {
    const listing = orchLog({ stateDir: log.stateDir, task: 'T002', types: ['AgentExited'] });
    try {
      const events = [...listing.events];
      expect(events.map((e) => [e.streamId, e.type])).toEqual([
        ['task-T002', 'AgentExited'],
        ['task-T002', 'AgentExited'],
        ['task-T002', 'AgentExited'],
      ]);
      const story = listing.story();
      expect(story?.taskId).toBe('T002');
      expect(story?.attempts.map((a) => a.spawnId)).toEqual(['s2', 's3', 's4']);
    } finally {
      listing.close();
    }
  });

  it('has no story without a task, and filters by position and spawn', () => {
    const listing = orchLog({ stateDir: log.stateDir, spawn: 's7', since: '58' });
    try {
      expect([...listing.events].map((e) => [e.position, e.type])).toEqual([[58, 'AgentStarted']]);
      expect(listing.story()).toBeNull();
    } finally {
      listing.close();
    }
  });

  it('checks --since when the log is open, and names an unknown task when listing', () => {
    expect(() => orchLog({ stateDir: log.stateDir, since: 'soon' })).toThrow(UsageError);
    expect(() => orchLog({ stateDir: path.join(log.dir, 'nowhere'), since: 'soon' })).toThrow(StoreError);
    const listing = orchLog({ stateDir: log.stateDir, task: 'T999' });
    try {
      expect(() => [...listing.events]).toThrow(NothingFoundError);
    } finally {
      listing.close();
    }
  });
});
