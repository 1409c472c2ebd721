import { afterEach, describe, expect, it } from 'vitest';
import { replay } from '../../../src/core/replayer.js';
import { SignalRejectedError } from '../../../src/runtime/operations/errors.js';
import { cancelTask, orchSignal, reportSignal, unblockTask } from '../../../src/runtime/operations/signal.js';
import { openSqliteEventStore, type EventStore } from '../../../src/store/index.js';
import { LogBuilder, tempLog, writeCalculatorRun, type TempLog } from '../../commands/helpers/log-builder.js';

let log: TempLog | undefined;
afterEach(() => log?.cleanup());

/**
 * The real SQLite store, with another writer slipping `interlude` in just before this
 * process's first append — what happens when the orchestrator records something between
 * `orch signal` reading the log and appending to it.
 */
function racedStore(store: EventStore, interlude: () => void): EventStore {
  let raced = false;
  return new Proxy(store, {
    get(target, key, receiver) {
      if (key === 'append') {
        return (...args: Parameters<EventStore['append']>) => {
          if (!raced) {
            raced = true;
            interlude();
          }
          return target.append(...args);
        };
      }
      const value: unknown = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('reportSignal under a concurrent writer', () => {
  it('re-checks once when the task stream moved on: an agent that exited meanwhile is rejected', () => {
    log = tempLog();
    const store = openSqliteEventStore(log.file);
    const other = openSqliteEventStore(log.file);
    try {
      const orchestrator = new LogBuilder(other).knowSpawn('s7', 'T004');
      orchestrator.now = Date.parse('2025-01-02T00:00:00.000Z');
      const raced = racedStore(store, () =>
        orchestrator.add('AgentExited', {
          spawnId: 's7',
          exitCode: 0,
          signal: null,
          durationMs: 1,
          outputTail: '',
        }),
      );
      expect(() => reportSignal(raced, { spawnId: 's7', kind: 'complete' })).toThrow(SignalRejectedError);
      const events = [...store.readAll({ from: 61 })];
      expect(events.map((e) => [e.type, e.streamVersion])).toEqual([
        ['AgentExited', 4],
        ['SignalRejected', 5],
      ]);
      expect(replay(store.readAll()).tasks['T004']?.value).toBe('awaitingGate');
    } finally {
      store.close();
      other.close();
    }
  });

  it('re-checks once: a report still valid after an unrelated write to its stream goes through', () => {
    log = tempLog();
    const store = openSqliteEventStore(log.file);
    const other = openSqliteEventStore(log.file);
    try {
      const agent = new LogBuilder(other).knowSpawn('s7', 'T004');
      agent.now = Date.parse('2025-01-02T00:00:00.000Z');
      const raced = racedStore(store, () =>
        agent.add('BreakpointReported', { spawnId: 's7', kind: 'complete', summary: 'first' }, 'agent:s7'),
      );
      const outcome = reportSignal(raced, { spawnId: 's7', kind: 'complete', summary: 'second' });
      expect(outcome).toMatchObject({ position: 62, streamId: 'task-T004', taskId: 'T004' });
      expect([...store.readStream('task-T004', { from: 4 })].map((e) => e.data)).toEqual([
        { spawnId: 's7', kind: 'complete', summary: 'first' },
        { spawnId: 's7', kind: 'complete', summary: 'second' },
      ]);
    } finally {
      store.close();
      other.close();
    }
  });
});

/** A log where T004's agent s7 reported `blocked` on a person (T004 is blocked). */
function blockedLog(): TempLog {
  return tempLog((s) => {
    const b = writeCalculatorRun(s);
    b.add('BreakpointReported', { spawnId: 's7', kind: 'blocked', summary: 'needs a key' }, 'agent:s7');
  });
}

function tail(from: number) {
  const store = openSqliteEventStore(log!.file, { readonly: true });
  try {
    return [...store.readAll({ from })];
  } finally {
    store.close();
  }
}

describe('orchSignal', () => {
  it('records a report, a release and a cancellation, each told apart by kind', () => {
    log = blockedLog();
    const released = orchSignal(log.stateDir, { kind: 'unblock', taskId: 'T004', summary: 'key added' });
    expect(released).toEqual({
      position: 62,
      streamId: 'task-T004',
      taskId: 'T004',
      kind: 'unblock',
      wasBlockedOn: ['person'],
    });
    const report = orchSignal(log.stateDir, { kind: 'blocked', spawnId: 's8', on: ['ci'], runId: 'r1' });
    expect(report).toEqual({
      position: 63,
      streamId: 'task-T005',
      taskId: 'T005',
      spawnId: 's8',
      kind: 'blocked',
      on: ['ci'],
    });
    const cancelled = orchSignal(log.stateDir, { kind: 'cancel', taskId: 'T004' });
    expect(cancelled).toEqual({
      position: 64,
      streamId: 'task-T004',
      taskId: 'T004',
      kind: 'cancel',
      was: 'ready',
    });
    expect(tail(62).map((e) => [e.type, e.data, e.metadata])).toEqual([
      ['TaskUnblocked', { taskId: 'T004', reason: 'person' }, { actor: 'user', summary: 'key added' }],
      [
        'BreakpointReported',
        { spawnId: 's8', kind: 'blocked', on: ['ci'] },
        { runId: 'r1', actor: 'agent:s8', correlationId: 's8' },
      ],
      ['TaskCancelled', { taskId: 'T004', reason: 'cancelled by a person' }, { actor: 'user' }],
    ]);
  });

  it('refuses, recording nothing: a task not blocked, a task over, an unknown task (exit 2)', () => {
    log = blockedLog();
    expect(() => orchSignal(log!.stateDir, { kind: 'unblock', taskId: 'T005' })).toThrow(
      expect.objectContaining({ code: 'TASK_NOT_BLOCKED', exitCode: 1 }),
    );
    expect(() => orchSignal(log!.stateDir, { kind: 'cancel', taskId: 'T001' })).toThrow(
      expect.objectContaining({ code: 'TASK_OVER', exitCode: 1 }),
    );
    expect(() => orchSignal(log!.stateDir, { kind: 'cancel', taskId: 'T404' })).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_TASK', exitCode: 2 }),
    );
    expect(tail(62)).toEqual([]);
  });

  it('records a rejected report, with orch as actor and the agent as reporter, then refuses it', () => {
    log = tempLog();
    expect(() => orchSignal(log!.stateDir, { kind: 'complete', spawnId: 's2' })).toThrow(SignalRejectedError);
    expect(tail(61).map((e) => [e.streamId, e.type, e.data, e.metadata])).toEqual([
      [
        'task-T002',
        'SignalRejected',
        { spawnId: 's2', reason: 'stale spawn: task T002 is on attempt 3 with spawn s4', kind: 'complete' },
        { runId: 'r1', actor: 'orch', correlationId: 's2', reportedBy: 'agent:s2' },
      ],
    ]);
  });
});

describe('unblockTask and cancelTask under a concurrent writer', () => {
  it('a release raced by the blocked agent’s exit is judged again and still goes through', () => {
    log = blockedLog();
    const store = openSqliteEventStore(log.file);
    const other = openSqliteEventStore(log.file);
    try {
      const orchestrator = new LogBuilder(other).knowSpawn('s7', 'T004');
      const raced = racedStore(store, () =>
        orchestrator.add('AgentExited', {
          spawnId: 's7',
          exitCode: 0,
          signal: null,
          durationMs: 1,
          outputTail: '',
        }),
      );
      expect(unblockTask(raced, { taskId: 'T004' })).toMatchObject({ position: 63, kind: 'unblock' });
      expect([...store.readStream('task-T004', { from: 5 })].map((e) => [e.type, e.streamVersion])).toEqual([
        ['AgentExited', 5],
        ['TaskUnblocked', 6],
      ]);
    } finally {
      store.close();
      other.close();
    }
  });

  it('a cancellation raced by the task completing is judged again and refused', () => {
    log = tempLog();
    const store = openSqliteEventStore(log.file);
    const other = openSqliteEventStore(log.file);
    try {
      const orchestrator = new LogBuilder(other).knowSpawn('s7', 'T004');
      const raced = racedStore(store, () =>
        orchestrator.add('TaskCompleted', { taskId: 'T004', reason: 'done elsewhere' }),
      );
      expect(() => cancelTask(raced, { taskId: 'T004' })).toThrow(
        expect.objectContaining({ code: 'TASK_OVER' }),
      );
      expect([...store.readAll({ from: 61 })].map((e) => e.type)).toEqual(['TaskCompleted']);
    } finally {
      store.close();
      other.close();
    }
  });
});
