import { describe, expect, it } from 'vitest';
import { initialTransition } from 'xstate';
import type { AnyStateMachine } from 'xstate';
import { getAdjacencyMap, getPathsFromEvents, getShortestPaths, getSimplePaths } from 'xstate/graph';
import {
  milestoneMachine,
  milestoneMachineSpec,
  phaseMachine,
  phaseMachineSpec,
  taskMachine,
  taskMachineSpec,
} from '../../src/machines/index.js';
import type { MachineSpec, TaskContext } from '../../src/machines/index.js';

/**
 * Path tests with xstate/graph: from each machine's initial state, every state is reached
 * and every transition of the spec is taken, with XState itself choosing the targets.
 */

const at = (type: string, data: Record<string, unknown>) => ({
  type,
  data,
  position: 7,
  recordedAt: '2025-01-01T00:00:00.000Z',
});

/** Events worth trying in a task state: one-agent attempts and best-of-2 races. */
const taskEvents = (snapshot: { context: TaskContext }) => [
  ...singleAgentEvents(snapshot),
  ...laneEvents(snapshot.context),
];

/** Events worth trying in a task state: for the current spawn, the next attempt, and a stale spawn. */
function singleAgentEvents(snapshot: { context: TaskContext }) {
  const c = snapshot.context;
  const cur = c.spawnId ?? 's1';
  const taskId = c.taskId;
  return [
    at('TaskUnblocked', { taskId, reason: 'dependencies' }),
    at('AgentSpawnRequested', { spawnId: `s${c.attempts + 1}`, taskId, attempt: c.attempts + 1 }),
    at('AgentSpawnRequested', { spawnId: 'dup', taskId, attempt: c.attempts + 5 }),
    at('AgentStarted', { spawnId: cur }),
    at('AgentExited', { spawnId: cur, exitCode: 0, signal: null }),
    at('AgentExited', { spawnId: cur, exitCode: 1, signal: null }),
    at('AgentExited', { spawnId: 'stale', exitCode: 1, signal: null }),
    at('AgentLost', { spawnId: cur, reason: 'gone' }),
    at('AgentSpawnFailed', { spawnId: cur, error: 'ENOENT' }),
    at('RateLimited', { spawnId: cur, resetAt: null }),
    at('RateLimited', { spawnId: 'stale', resetAt: null }),
    at('BreakpointReported', { spawnId: cur, kind: 'blocked', on: ['ci'] }),
    at('BreakpointReported', { spawnId: cur, kind: 'complete', summary: 'done' }),
    at('BreakpointReported', { spawnId: 'stale', kind: 'blocked' }),
    at('GateStarted', { taskId, spawnId: cur }),
    at('GatePassed', { taskId, spawnId: cur }),
    at('GateFailed', { taskId, spawnId: cur, exitCode: 1 }),
    at('MergeRequested', { taskId, spawnId: cur }),
    at('BranchMerged', { taskId, spawnId: cur, commit: 'abc' }),
    at('MergeConflicted', { taskId, spawnId: cur, files: ['a'] }),
    at('MergeAbandoned', { taskId, spawnId: cur, reason: 'worker w1 lost' }),
    at('RetryScheduled', {
      taskId,
      attempt: c.attempts + 1,
      notBefore: '2025-01-01T00:01:00.000Z',
      reason: 'r',
    }),
    at('TaskCompleted', { taskId }),
    at('TaskFailed', { taskId, reason: 'no' }),
    at('TaskCancelled', { taskId }),
    at('TaskReopened', { taskId, spawnId: cur, reason: 'CI failed after its merge' }),
    at('TaskReopened', { taskId, spawnId: 'stale', reason: 'CI failed after its merge' }),
    at('TaskRetryRequested', { taskId, reason: 'a person retries it' }),
  ];
}

/** Best of N (2 lanes): a race's first and next lane, and each lane's reports and gates. */
function laneEvents(c: TaskContext) {
  const taskId = c.taskId;
  const lanes = c.lanes ?? [];
  const race = (lane: number, attempt: number) =>
    at('AgentSpawnRequested', { spawnId: `r${attempt}.${lane}`, taskId, attempt, lane, lanes: 2 });
  return [
    race(1, c.attempts + 1),
    race(lanes.length + 1, c.attempts),
    ...lanes.flatMap(({ spawnId }) => [
      at('AgentExited', { spawnId, exitCode: 0, signal: null }),
      at('AgentExited', { spawnId, exitCode: 1, signal: null }),
      at('AgentLost', { spawnId, reason: 'gone' }),
      at('AgentSpawnFailed', { spawnId, error: 'ENOENT' }),
      at('BreakpointReported', { spawnId, kind: 'complete', summary: 'lane done' }),
      at('GateStarted', { taskId, spawnId }),
      at('GatePassed', { taskId, spawnId }),
      at('GateFailed', { taskId, spawnId, exitCode: 1 }),
    ]),
  ];
}
const phaseEvents = () =>
  ['PhaseUnblocked', 'PhaseBlocked', 'PhaseStarted', 'PhaseCompleted'].map((t) =>
    at(t, { phaseId: 'P1', reason: 'r' }),
  );
const milestoneEvents = () => [
  at('MilestoneCompleted', { milestoneId: 'M1' }),
  at('PullRequestRequested', { milestoneId: 'M1', branch: 'milestone/M1' }),
  at('PullRequestOpened', { milestoneId: 'M1', url: 'https://pr/1', branch: 'milestone/M1' }),
];

interface Case {
  name: string;
  machine: AnyStateMachine;
  spec: MachineSpec<never, never, never>;
  events: (snapshot: never) => ReturnType<typeof at>[];
  inputs: unknown[];
}
const cases: Case[] = [
  {
    name: 'task',
    machine: taskMachine as unknown as AnyStateMachine,
    spec: taskMachineSpec as unknown as MachineSpec<never, never, never>,
    events: taskEvents,
    inputs: [
      { taskId: 'T1', declaredComplete: false },
      { taskId: 'T1', declaredComplete: true },
    ],
  },
  {
    name: 'phase',
    machine: phaseMachine as unknown as AnyStateMachine,
    spec: phaseMachineSpec as unknown as MachineSpec<never, never, never>,
    events: phaseEvents,
    inputs: [
      { phaseId: 'P1', declaredComplete: false },
      { phaseId: 'P1', declaredComplete: true },
    ],
  },
  {
    name: 'milestone',
    machine: milestoneMachine as unknown as AnyStateMachine,
    spec: milestoneMachineSpec as unknown as MachineSpec<never, never, never>,
    events: milestoneEvents,
    inputs: [
      { milestoneId: 'M1', declaredComplete: false },
      { milestoneId: 'M1', declaredComplete: true },
    ],
  },
];

// The value, and whether a spawn is current (a finished task can be reopened only then).
// Best of N: and the lanes' states (a race is a different node per lane state).
const byValue = (snapshot: { value: unknown; context?: Partial<TaskContext> }) =>
  JSON.stringify([
    snapshot.value,
    (snapshot.context?.spawnId ?? null) !== null,
    (snapshot.context?.lanes ?? []).map((l) => l.state),
  ]);

describe.each(cases)('the $name machine', ({ machine, spec, events, inputs }) => {
  const stableStates = Object.keys(spec.config.states).filter((s) => s !== 'init');

  it('reaches every state (shortest paths from each kind of input)', () => {
    const reached = new Set<string>();
    for (const input of inputs) {
      const paths = getShortestPaths(machine, { events: events as never, input, serializeState: byValue });
      for (const p of paths) reached.add(p.state.value as string);
    }
    expect([...reached].sort()).toEqual([...stableStates].sort());
  });

  it('takes every transition of the spec, and XState lands where the spec says', () => {
    const taken = new Set<string>();
    for (const input of inputs) {
      const adjacency = getAdjacencyMap(machine, { events: events as never, input, serializeState: byValue });
      for (const { state, transitions } of Object.values(adjacency)) {
        const from = (state as { value: string }).value;
        const edges = Object.values<{ event: unknown; state: unknown }>(transitions);
        for (const { event, state: next } of edges) {
          const list = spec.config.states[from]?.on?.[(event as { type: string }).type] ?? [];
          const context = (state as { context: never }).context;
          const index = list.findIndex(
            (t) => t.guard === undefined || spec.guards[t.guard]!(context, event as never),
          );
          const to = (next as { value: string }).value;
          if (index < 0) {
            expect(to, `${from} --${(event as { type: string }).type}--> (ignored)`).toBe(from);
            continue;
          }
          expect(to).toBe(list[index]!.target ?? from);
          taken.add(`${from} ${(event as { type: string }).type} #${index}`);
        }
      }
    }
    const all = Object.entries(spec.config.states).flatMap(([from, s]) =>
      Object.entries(s.on ?? {}).flatMap(([type, list]) => list.map((_, i) => `${from} ${type} #${i}`)),
    );
    expect(all.filter((t) => !taken.has(t))).toEqual([]);
    expect(all.length).toBeGreaterThan(0);
  });
});

describe('task machine paths', () => {
  const input = { taskId: 'T1', declaredComplete: false };

  it('the happy path, as a path from events, ends complete', () => {
    const happy = [
      at('TaskUnblocked', { reason: 'dependencies' }),
      at('AgentSpawnRequested', { spawnId: 's1', attempt: 1 }),
      at('AgentStarted', { spawnId: 's1' }),
      at('AgentExited', { spawnId: 's1', exitCode: 0, signal: null }),
      at('GateStarted', { spawnId: 's1' }),
      at('GatePassed', { spawnId: 's1' }),
      at('MergeRequested', { spawnId: 's1' }),
      at('BranchMerged', { spawnId: 's1', commit: 'abc' }),
    ];
    // getPathsFromEvents builds its default start state without the input: give it explicitly.
    const fromState = initialTransition(taskMachine, input)[0];
    const [path] = getPathsFromEvents(
      taskMachine as unknown as AnyStateMachine,
      happy as never,
      {
        input,
        fromState,
      } as never,
    );
    expect(path?.steps.map((s) => (s.state as { value: string }).value)).toEqual([
      'pending',
      'ready',
      'spawning',
      'running',
      'awaitingGate',
      'verifying',
      'awaitingMerge',
      'merging',
      'complete',
    ]);
  });

  it('every simple path to `failed` goes through an attempt failure or an explicit TaskFailed', () => {
    // One-agent attempts only: races multiply the simple paths beyond counting.
    const paths = getSimplePaths(taskMachine as unknown as AnyStateMachine, {
      events: singleAgentEvents as never,
      input,
      serializeState: byValue,
      toState: (s) => (s as { value: string }).value === 'failed',
    });
    expect(paths.length).toBeGreaterThan(5);
    for (const p of paths) expect(p.steps.at(-1)?.event.type).toBe('TaskFailed');
  });
});
