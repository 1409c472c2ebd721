import { describe, expect, it } from 'vitest';
import { decide, type DecideConfig } from '../../src/core/decide.js';
import { checkInvariants } from '../../src/core/invariants.js';
import { outlook } from '../../src/core/outlook.js';
import { pendingIntents } from '../../src/core/pending-intents.js';
import { replay } from '../../src/core/replayer.js';
import { LogBuilder, T0, makePlan, testConfig } from './fixtures.js';

/**
 * Workers in the pure core: memberships folded from `WorkerJoined`/`WorkerDeparted`/`WorkerLost`,
 * `maxConcurrent` per worker and `maxConcurrentTotal` over all, another active worker's agents,
 * gates and merges left to it, a lost worker's merge abandoned, and the invariant per worker.
 */

const tasks = Array.from({ length: 6 }, (_, i) => ({ id: `T${i + 1}` }));
const plan = makePlan([{ id: 'M1', phases: [{ id: 'S1', tasks }] }]);

function joined(b: LogBuilder, runId: string, worker: string): void {
  const saved = b.runId;
  b.runId = runId;
  b.add('WorkerJoined', { runId, worker, pid: 1, joinedAt: '2025-01-01T00:00:00.000Z' });
  b.runId = saved;
}

function spawned(b: LogBuilder, runId: string, taskId: string, spawnId: string): void {
  const saved = b.runId;
  b.runId = runId;
  b.add('AgentSpawnRequested', { spawnId, taskId, attempt: 1, role: 'dev', command: ['a'], workspace: '/w' });
  b.add('AgentStarted', { spawnId, pid: 11, pidStartTime: 1, startedAt: 'now' });
  b.runId = saved;
}

function twoWorkers(): LogBuilder {
  const b = new LogBuilder();
  b.add('PlanLoaded', { plan });
  b.add('PhaseUnblocked', { phaseId: 'S1' });
  b.add('PhaseStarted', { phaseId: 'S1' });
  for (const t of tasks) b.add('TaskUnblocked', { taskId: t.id, reason: 'dependencies' });
  joined(b, 'A', 'a');
  joined(b, 'B', 'b');
  spawned(b, 'A', 'T1', 'a1');
  spawned(b, 'A', 'T2', 'a2');
  return b;
}

const spawnsFor = (
  b: LogBuilder,
  self: string | undefined,
  config: DecideConfig = { ...testConfig, maxConcurrent: 2 },
) => {
  const state = replay(b.events);
  return decide(state, state.plan, config, T0, self === undefined ? {} : { self }).filter(
    (c) => c.type === 'SpawnAgent',
  );
};

describe('workers in the core', () => {
  it('folds memberships: joined, departed, lost (once: a later end changes nothing)', () => {
    const b = twoWorkers();
    b.add('WorkerDeparted', { runId: 'B', worker: 'b', reason: 'done' });
    b.add('WorkerLost', { runId: 'A', worker: 'a', declaredBy: 'C', silentMs: 61_000 });
    const state = replay(b.events);
    expect(state.workers?.['A']).toMatchObject({ status: 'lost', worker: 'a' });
    expect(state.workers?.['A']?.reason).toContain('61 s');
    expect(state.workers?.['B']).toMatchObject({ status: 'left', reason: 'done' });
  });

  it('counts maxConcurrent per worker, and maxConcurrentTotal over all of them', () => {
    const b = twoWorkers();
    // A has 2 live agents (its maximum); B has none.
    expect(spawnsFor(b, 'A')).toEqual([]);
    expect(spawnsFor(b, 'B').map((c) => c.type === 'SpawnAgent' && c.taskId)).toEqual(['T3', 'T4']);
    // Without workers the limit is the whole run's.
    expect(spawnsFor(b, undefined)).toEqual([]);
    // A total of 3 leaves B one slot.
    expect(spawnsFor(b, 'B', { ...testConfig, maxConcurrent: 2, maxConcurrentTotal: 3 })).toHaveLength(1);
  });

  it("leaves another active worker's gate and merge to it; a lost worker's are everyone's", () => {
    const b = twoWorkers();
    b.runId = 'A';
    b.add('AgentExited', { spawnId: 'a1', exitCode: 0, signal: null, durationMs: 1, outputTail: '' });
    const gatesFor = (self: string) => {
      const state = replay(b.events);
      return decide(state, state.plan, testConfig, T0, { self }).filter((c) => c.type === 'RunGate');
    };
    expect(gatesFor('B')).toEqual([]);
    expect(gatesFor('A')).toHaveLength(1);
    const state = replay(b.events);
    // B does not reconcile A's live agent; B waits for A instead of ending.
    expect(pendingIntents(state, 'B').agents).toEqual([]);
    expect(pendingIntents(state, 'B').gates).toEqual([]);
    expect(outlook(state, state.plan, testConfig, T0, { self: 'B', inFlight: 0, tasks: ['T1'] }).status).toBe(
      'busy',
    );
    b.add('WorkerLost', { runId: 'A', worker: 'a', declaredBy: 'B', silentMs: 61_000 });
    expect(gatesFor('B')).toHaveLength(1);
  });

  it("abandons a lost worker's merge: the task goes back to be retried", () => {
    const b = twoWorkers();
    b.runId = 'A';
    b.add('AgentExited', { spawnId: 'a1', exitCode: 0, signal: null, durationMs: 1, outputTail: '' });
    b.add('GateStarted', { taskId: 'T1', spawnId: 'a1', command: null });
    b.add('GatePassed', { taskId: 'T1', spawnId: 'a1', skipped: true });
    b.add('MergeRequested', { taskId: 'T1', spawnId: 'a1' });
    b.runId = 'B';
    b.add('WorkerLost', { runId: 'A', worker: 'a', declaredBy: 'B', silentMs: 61_000 });
    b.add('MergeAbandoned', { taskId: 'T1', spawnId: 'a1', reason: 'worker a was declared lost' });
    const state = replay(b.events);
    expect(state.tasks['T1']?.value).toBe('retrying');
    expect(state.tasks['T1']?.context.lastFailure).toMatchObject({ kind: 'lost' });
  });

  it('judges maxConcurrent per worker in replay --verify, and catches one worker over its limit', () => {
    const b = twoWorkers();
    spawned(b, 'B', 'T3', 'b1');
    spawned(b, 'B', 'T4', 'b2');
    const config = { maxConcurrent: 2, maxRetries: 3 };
    expect(checkInvariants(b.events, config, ['maxConcurrent'])).toEqual([]);
    expect(
      checkInvariants(b.events, { ...config, maxConcurrentTotal: 3 }, ['maxConcurrent'])[0]?.message,
    ).toContain('maxConcurrentTotal 3');
    spawned(b, 'B', 'T5', 'b3');
    expect(checkInvariants(b.events, config, ['maxConcurrent'])[0]?.message).toContain(
      'agents of worker b live',
    );
  });
});
