import { afterEach, describe, expect, it } from 'vitest';
import { replay } from '../../../src/core/replayer.js';
import { SignalRejectedError } from '../../../src/runtime/operations/errors.js';
import { reportSignal } from '../../../src/runtime/operations/signal.js';
import { openSqliteEventStore, type EventStore } from '../../../src/store/index.js';
import { LogBuilder, tempLog, type TempLog } from '../../commands/helpers/log-builder.js';

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
