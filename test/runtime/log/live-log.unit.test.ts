import { describe, expect, expectTypeOf, it } from 'vitest';
import type { RecordedEvent } from '../../../src/core/envelope.js';
import { replay } from '../../../src/core/replayer.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LiveLog, WorkerLostError } from '../../../src/runtime/log/live-log.js';
import { createMemoryEventStore, openSqliteEventStore, type EventStore } from '../../../src/store/index.js';
import { writeCalculatorRun } from '../../commands/helpers/log-builder.js';

const unblockT1 = { taskId: 'T1', reason: 'dependencies' as const };
const joinedA = { runId: 'A', worker: 'a', pid: 1, joinedAt: '2026-01-01T00:00:00.000Z' };
const lostA = { runId: 'A', worker: 'a', declaredBy: 'B', silentMs: 61_000 };

describe('LiveLog.follow', () => {
  it('folds only the last `tail` events one by one, from the state before them, then follows appends', () => {
    const store = createMemoryEventStore();
    const builder = writeCalculatorRun(store);
    const all = [...store.readAll()];
    const seen: RecordedEvent[] = [];
    const log = LiveLog.follow(store, { tail: 10, listener: (event) => seen.push(event) });
    expect(log.catchUp().map((e) => e.position)).toEqual(all.slice(-10).map((e) => e.position));
    expect(seen.map((e) => e.position)).toEqual(all.slice(-10).map((e) => e.position));
    expect(log.state).toEqual(replay(all));
    expect(log.lastPosition).toBe(all.length);
    expect(log.catchUp()).toEqual([]);

    builder.add('RunStopped', { runId: 'r1', reason: 'done' });
    const fresh = log.catchUp();
    expect(fresh.map((e) => e.type)).toEqual(['RunStopped']);
    expect(seen.at(-1)?.type).toBe('RunStopped');
    expect(log.state.run?.status).toBe('stopped');
    // Read-only by its type: a followed log offers no append.
    expectTypeOf(log).not.toHaveProperty('append');
  });

  it('folds a short log from its start', () => {
    const store = createMemoryEventStore();
    writeCalculatorRun(store);
    const seen: number[] = [];
    const log = LiveLog.follow(store, { tail: 1000, listener: (event) => seen.push(event.position) });
    log.catchUp();
    expect(seen).toEqual([...store.readAll()].map((e) => e.position));
  });
});

describe('LiveLog.pin (workers: a decision claims the versions it was made on)', () => {
  const unblock = (taskId: string) => ({ taskId, reason: 'dependencies' as const });

  it('refuses an append at a version another writer moved after the decision, even once folded; its own appends move the pin', () => {
    const store = createMemoryEventStore();
    const a = new LiveLog(store, { runId: 'A' });
    const b = new LiveLog(store, { runId: 'B' });
    a.append('task-T1', 'TaskUnblocked', unblock('T1'));
    b.catchUp();
    a.pin();
    // Another worker claims the task after A decided; A folds it (as any catch-up would)...
    b.append('task-T1', 'TaskCompleted', { taskId: 'T1', reason: 'by B' });
    a.catchUp();
    expect(a.versionOf('task-T1')).toBe(2);
    // ...but A's append still expects the version A decided on.
    expect(() => a.append('task-T1', 'TaskCompleted', { taskId: 'T1', reason: 'by A' })).toThrow(
      /expected version 1/,
    );
    // Its own appends to other streams go on, and move their pins.
    a.append('task-T2', 'TaskUnblocked', unblock('T2'));
    a.append('task-T2', 'TaskCompleted', { taskId: 'T2', reason: 'by A' });
    a.unpin();
    // Unpinned: the folded version again.
    a.append('task-T1', 'TaskCompleted', { taskId: 'T1', reason: 'by A, after looking again' });
    expect(store.streamVersion('task-T1')).toBe(3);
  });

  it('refuses every write but its run stream once the fence is up, writing nothing', () => {
    const store = createMemoryEventStore();
    const log = new LiveLog(store, { runId: 'A' });
    store.append('worker-A', [{ id: 'j', type: 'WorkerJoined', data: joinedA }]);
    store.append('worker-A', [{ id: 'l', type: 'WorkerLost', data: lostA }]);
    log.fence = { streamId: 'worker-A', version: 1, reason: () => 'declared lost by B' };
    expect(() => log.append('task-T1', 'TaskUnblocked', unblock('T1'))).toThrow(/declared lost by B/);
    expect(() =>
      log.appendAll([{ streamId: 'task-T1', type: 'TaskUnblocked', data: unblock('T1') }]),
    ).toThrow(/WORKER_LOST|declared lost/);
    expect(store.lastPosition()).toBe(2);
    log.append('run-A', 'RunStopped', { runId: 'A', reason: 'lost' });
    expect(store.lastPosition()).toBe(3);
  });

  it('checks the fence inside the append itself: a membership lost between deciding and writing gets nothing in (two SQLite connections)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'orch-fence-'));
    const file = path.join(dir, 'orch.db');
    const mine = openSqliteEventStore(file);
    const other = openSqliteEventStore(file);
    try {
      mine.append('worker-A', [{ id: 'j', type: 'WorkerJoined', data: joinedA }], {
        expectedVersion: 'no_stream',
      });
      // Another worker declares A lost at the last moment: after A's process has decided and
      // looked, inside the store call that writes A's event.
      let declared = false;
      const appendBatch: EventStore['appendBatch'] = (parts) => {
        if (!declared) {
          declared = true;
          other.append('worker-A', [{ id: 'l', type: 'WorkerLost', data: lostA }], { expectedVersion: 1 });
        }
        return mine.appendBatch(parts);
      };
      const racing = new Proxy(mine, {
        get: (target, key) => {
          if (key === 'appendBatch') return appendBatch;
          const value: unknown = Reflect.get(target, key);
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
      const log = new LiveLog(racing, { runId: 'A' });
      log.fence = { streamId: 'worker-A', version: 1, reason: () => 'declared lost by B' };
      expect(() => log.append('task-T1', 'TaskUnblocked', unblockT1)).toThrow(WorkerLostError);
      expect(declared).toBe(true);
      expect([...other.readAll()].map((e) => e.type)).toEqual(['WorkerJoined', 'WorkerLost']);
      // Its own membership stream and run stream stay writable (to say it departed and stopped).
      log.append('run-A', 'RunStopped', { runId: 'A', reason: 'lost' });
      expect(other.lastPosition()).toBe(3);
    } finally {
      mine.close();
      other.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
