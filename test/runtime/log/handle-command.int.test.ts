import { afterEach, describe, expect, it } from 'vitest';
import { EventValidationError } from '../../../src/core/errors.js';
import { handleCommand, type Decision } from '../../../src/runtime/log/handle-command.js';
import { ConcurrencyError } from '../../../src/store/errors.js';
import { openSqliteEventStore, type EventStore, type SqliteEventStore } from '../../../src/store/index.js';
import { LogBuilder, tempLog, type TempLog } from '../../commands/helpers/log-builder.js';

let log: TempLog | undefined;
const open: SqliteEventStore[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
  log?.cleanup();
});

function stores(): { store: SqliteEventStore; other: LogBuilder } {
  log = tempLog();
  const store = openSqliteEventStore(log.file);
  const otherStore = openSqliteEventStore(log.file);
  open.push(store, otherStore);
  const other = new LogBuilder(otherStore).knowSpawn('s7', 'T004');
  other.now = Date.parse('2025-01-02T00:00:00.000Z');
  return { store, other };
}

/** The store, with another writer's `interlude` run just before each of its first `times` appends. */
function raced(store: EventStore, times: number, interlude: () => void): EventStore {
  let left = times;
  return new Proxy(store, {
    get(target, key, receiver) {
      if (key === 'append') {
        return (...args: Parameters<EventStore['append']>) => {
          if (left > 0) {
            left -= 1;
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

const cancelT004 = (extra: Partial<Decision<number>> = {}): Decision<number> => ({
  streamId: 'task-T004',
  type: 'TaskCancelled',
  data: { taskId: 'T004', reason: 'not needed' },
  actor: 'user',
  answer: (position) => position,
  ...extra,
});

const otherExit = (other: LogBuilder) => () =>
  void other.add('AgentExited', { spawnId: 's7', exitCode: 1, signal: null, durationMs: 1, outputTail: '' });

describe('handleCommand', () => {
  it('appends at the stream version it loaded, metadata keys in one order, and answers with the position', () => {
    const { store } = stores();
    const seen: number[] = [];
    const position = handleCommand(store, ({ state, versions }) => {
      seen.push(versions['task-T004'] ?? -1);
      expect(state.tasks['T004']?.value).toBe('running');
      return cancelT004({
        runId: 'r1',
        correlationId: 's7',
        extra: { reportedBy: 'agent:s7' },
      });
    });
    expect(position).toBe(61);
    expect(seen).toEqual([3]);
    const [event] = [...store.readAll({ from: 61 })];
    expect(event).toMatchObject({ streamId: 'task-T004', streamVersion: 4, type: 'TaskCancelled' });
    expect(Object.entries(event!.metadata)).toEqual([
      ['runId', 'r1'],
      ['actor', 'user'],
      ['correlationId', 's7'],
      ['reportedBy', 'agent:s7'],
    ]);
    expect(event!.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('leaves an empty or missing runId out of the metadata', () => {
    const { store } = stores();
    handleCommand(store, () => cancelT004({ runId: '' }));
    expect([...store.readAll({ from: 61 })][0]?.metadata).toEqual({ actor: 'user' });
  });

  it('when the stream moved on meanwhile, loads and judges again on what it is now', () => {
    const { store, other } = stores();
    const judged: string[] = [];
    const position = handleCommand(raced(store, 1, otherExit(other)), ({ state }) => {
      judged.push(state.tasks['T004']?.value ?? '');
      return cancelT004();
    });
    expect(judged).toEqual(['running', 'retrying']);
    expect(position).toBe(62);
    expect([...store.readStream('task-T004', { from: 4 })].map((e) => [e.type, e.streamVersion])).toEqual([
      ['AgentExited', 4],
      ['TaskCancelled', 5],
    ]);
  });

  it('gives up with the ConcurrencyError after `attempts` judgements, writing nothing of its own', () => {
    const { store, other } = stores();
    let judged = 0;
    const race = raced(store, 3, () =>
      other.add('BreakpointReported', { spawnId: 's7', kind: 'complete' }, 'agent:s7'),
    );
    expect(() =>
      handleCommand(race, () => {
        judged += 1;
        return cancelT004();
      }),
    ).toThrow(ConcurrencyError);
    expect(judged).toBe(2);
    expect([...store.readAll({ from: 61 })].map((e) => e.type)).toEqual([
      'BreakpointReported',
      'BreakpointReported',
    ]);
  });

  it('takes more attempts when asked', () => {
    const { store, other } = stores();
    let judged = 0;
    const race = raced(store, 2, () =>
      other.add('BreakpointReported', { spawnId: 's7', kind: 'complete' }, 'agent:s7'),
    );
    const position = handleCommand(
      race,
      ({ state }) => {
        judged += 1;
        return { ...cancelT004(), answer: () => state.position };
      },
      { attempts: 3 },
    );
    expect(judged).toBe(3);
    expect(position).toBe(62);
  });

  it('with expect "any", a fact is appended whatever came after the load, without judging again', () => {
    const { store, other } = stores();
    let judged = 0;
    handleCommand(raced(store, 1, otherExit(other)), () => {
      judged += 1;
      return cancelT004({ expect: 'any' });
    });
    expect(judged).toBe(1);
    expect([...store.readAll({ from: 61 })].map((e) => e.type)).toEqual(['AgentExited', 'TaskCancelled']);
  });

  it('a refusal thrown by decide writes nothing; one thrown by answer comes after its event is recorded', () => {
    const { store } = stores();
    expect(() =>
      handleCommand(store, () => {
        throw new Error('refused');
      }),
    ).toThrow('refused');
    expect(store.lastPosition()).toBe(60);
    expect(() =>
      handleCommand(store, () =>
        cancelT004({
          answer: (position) => {
            throw new Error(`recorded at ${position}, then refused`);
          },
        }),
      ),
    ).toThrow('recorded at 61, then refused');
    expect(store.lastPosition()).toBe(61);
  });

  it('validates the data against the catalog before writing', () => {
    const { store } = stores();
    expect(() => handleCommand(store, () => cancelT004({ data: { taskId: 'T004', reason: 7 } }))).toThrow(
      EventValidationError,
    );
    expect(store.lastPosition()).toBe(60);
  });

  it('judges what a custom load reads, with the versions it gives', () => {
    const { store } = stores();
    const position = handleCommand(
      store,
      ({ state }) => ({
        streamId: 'run-r1',
        type: 'CiCompleted',
        data: { result: 'pass' },
        actor: 'ci',
        runId: state,
        answer: (p) => p,
      }),
      { load: () => ({ state: 'r1', versions: { 'run-r1': store.streamVersion('run-r1') } }) },
    );
    expect([...store.readAll({ from: position })][0]).toMatchObject({
      streamId: 'run-r1',
      type: 'CiCompleted',
      metadata: { runId: 'r1', actor: 'ci' },
    });
  });
});
