import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { streamIds } from '../../../src/core/events.js';
import { LiveLog } from '../../../src/runtime/log/live-log.js';
import { WorkerMembership } from '../../../src/runtime/orchestrator/workers.js';
import { openSqliteEventStore, type SqliteEventStore } from '../../../src/store/index.js';
import { makePlan } from '../../core/fixtures.js';

/**
 * A worker that leaves (its run stopped, by an error or not) settles the merges and gates of
 * its spawns in the `WorkerDeparted` transaction: its task branches exist only in its own
 * checkout, so another worker taking such a merge over could only fail ("branch does not
 * exist") and stop in turn.
 */

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const plan = makePlan([
  { id: 'M1', phases: [{ id: 'S1', tasks: [{ id: 'T1' }, { id: 'T2' }, { id: 'T3' }, { id: 'T4' }] }] },
]);

function setUp(findMerge: (taskId: string) => Promise<string | null>): {
  store: SqliteEventStore;
  log: LiveLog;
  member: WorkerMembership;
} {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-leave-'));
  dirs.push(dir);
  const store = openSqliteEventStore(path.join(dir, 'orch.db'));
  const log = new LiveLog(store, { runId: 'A' });
  const member = new WorkerMembership({
    log,
    store,
    runId: 'A',
    name: 'a',
    timeoutMs: 60_000,
    steadyNow: () => 0,
    wallNow: () => new Date('2026-01-01T00:00:00Z'),
    findMerge,
    warn: () => undefined,
  });
  log.append(streamIds.run('A'), 'PlanLoaded', { plan }, { expectedVersion: 'any' });
  log.append(streamIds.phase('S1'), 'PhaseUnblocked', { phaseId: 'S1' }, { expectedVersion: 'any' });
  log.append(streamIds.phase('S1'), 'PhaseStarted', { phaseId: 'S1' }, { expectedVersion: 'any' });
  member.join();
  for (const [taskId, spawnId] of [
    ['T1', 'a1'],
    ['T2', 'a2'],
    ['T3', 'a3'],
    ['T4', 'a4'],
  ] as const) {
    const s = streamIds.task(taskId);
    log.append(s, 'TaskUnblocked', { taskId, reason: 'dependencies' }, { expectedVersion: 'any' });
    log.append(s, 'AgentSpawnRequested', {
      spawnId,
      taskId,
      attempt: 1,
      role: 'dev',
      command: ['a'],
      workspace: '/w',
    });
    log.append(s, 'AgentStarted', {
      spawnId,
      pid: 11,
      pidStartTime: 1,
      startedAt: '2026-01-01T00:00:00.000Z',
    });
    // T4's agent is left running (a run that stops may leave its agents on purpose).
    if (taskId === 'T4') continue;
    log.append(s, 'AgentExited', { spawnId, exitCode: 0, signal: null, durationMs: 1, outputTail: '' });
    if (taskId === 'T3') continue;
    log.append(s, 'GateStarted', { taskId, spawnId, command: null });
    log.append(s, 'GatePassed', { taskId, spawnId, skipped: true });
    log.append(s, 'MergeRequested', { taskId, spawnId });
  }
  return { store, log, member };
}

describe('a worker leaving', () => {
  it('settles its merges (merged on the remote: BranchMerged; else MergeAbandoned) and gates with its departure', async () => {
    const { store, log, member } = setUp(async (taskId) =>
      taskId === 'T1' ? 'c0ffee'.padEnd(40, '0') : null,
    );
    const before = log.lastPosition;
    expect(log.state.agents['a4']?.status).toBe('running');
    await member.leave('error: the push was refused');
    const after = [...store.readAll()].filter((e) => e.position > before);
    expect(after.map((e) => `${e.type} ${e.streamId}`)).toEqual([
      'WorkerDeparted worker-A',
      'BranchMerged task-T1',
      'MergeAbandoned task-T2',
      'GateFailed task-T3',
    ]);
    expect(new Set(after.map((e) => e.recordedAt)).size).toBe(1);
    const state = log.state;
    expect(state.workers?.['A']?.status).toBe('left');
    expect(state.tasks['T1']?.value).toBe('complete');
    expect(state.tasks['T2']?.value).toBe('retrying');
    // T3 waited for its gate, which nobody else would run: failed, so it is tried again.
    expect(state.tasks['T3']?.value).not.toBe('awaitingGate');
    // Its live agent (T4's) is not recorded lost by its own departure: no AgentLost above.
    store.close();
  });

  it('still departs when the remote cannot be read, leaving its merges as they were', async () => {
    const { store, log, member } = setUp(async () => {
      throw new Error('remote unreachable');
    });
    await member.leave('done');
    expect(log.state.workers?.['A']?.status).toBe('left');
    expect(log.state.tasks['T1']?.value).toBe('merging');
    store.close();
  });
});
