import type { FlatMachineConfig, MachineSpec, StateSpec, TransitionSpec } from './spec.js';
import type { TaskMachineEvent } from './task-events.js';
import type { TaskContext, TaskInput } from './task-logic.js';
import { initialTaskContext, taskEffects, taskGuards, taskUpdates } from './task-logic.js';

/**
 * The task attempt loop (the "Ralph Wiggum loop"), one machine per task:
 *
 * ```
 * pending ─TaskUnblocked→ ready ─AgentSpawnRequested→ spawning ─AgentStarted→ running
 * running ─AgentExited(0)→ awaitingGate ─GateStarted→ verifying ─GatePassed→ awaitingMerge
 * awaitingMerge ─MergeRequested→ merging ─BranchMerged→ complete
 * error exit · lost · spawn failure · failed gate · merge conflict → retrying
 * spawning/running ─RateLimited→ (same state; the attempt will not count against maxRetries)
 * retrying ─RetryScheduled→ retryWait ─AgentSpawnRequested→ spawning   (a fresh agent)
 * retrying ─TaskFailed→ failed          (decide fails it once maxRetries is used up)
 * spawning/running ─BreakpointReported(blocked)→ blocked ─TaskUnblocked→ ready
 * any live state ─TaskCancelled→ cancelled · ─TaskCompleted→ complete (outside the loop)
 * complete ─TaskReopened→ retrying      (CI failed after its merge: a new attempt)
 * ready/retryWait ─AgentSpawnRequested(lane 1 of N)→ racing   (best of N: N lanes)
 * racing: more lanes requested, lanes exit, their gates run (state in context.lanes)
 * racing ─GatePassed(a lane)→ awaitingMerge   (that lane is the current spawn; the rest superseded)
 * racing ─the last lane fails→ retrying       (one attempt, however many lanes)
 * failed ─TaskRetryRequested→ pending  (a person's retry: a fresh allowance of attempts)
 * ```
 *
 * Every report about a spawn is guarded by `isCurrentSpawn`: a stale or unknown
 * `spawnId` never changes the state.
 */

const t = (target: string | undefined, guard?: string, ...actions: string[]): TransitionSpec => ({
  ...(target === undefined ? {} : { target }),
  ...(guard === undefined ? {} : { guard }),
  ...(actions.length === 0 ? {} : { actions }),
});

// Ways out of the loop that apply in every non-final state.
const ends = {
  TaskCompleted: [t('complete', undefined, 'recordOutcome')],
  TaskFailed: [t('failed', undefined, 'recordOutcome')],
  TaskCancelled: [t('cancelled', undefined, 'recordOutcome')],
};

const live = (extra: NonNullable<StateSpec['on']>): NonNullable<StateSpec['on']> => ({
  AgentExited: [
    t('awaitingGate', 'exitedCleanly', 'recordExit'),
    t('retrying', 'isCurrentSpawn', 'recordExitFailure'),
  ],
  AgentLost: [t('retrying', 'isCurrentSpawn', 'recordLost')],
  // Noted, not acted on: the exit that follows decides; the attempt then does not count.
  RateLimited: [t(undefined, 'isCurrentSpawn', 'recordRateLimit')],
  BreakpointReported: [
    t('blocked', 'reportsBlocked', 'recordBlocked'),
    t(undefined, 'isCurrentSpawn', 'recordReport'),
  ],
  ...extra,
  ...ends,
});

/** The task machine's flat config (read by XState and by the compiled stepper alike). */
export const taskMachineConfig = {
  id: 'task',
  initial: 'init',
  states: {
    init: { always: [t('complete', 'declaredComplete'), t('pending')] },
    pending: { on: { TaskUnblocked: [t('ready', undefined, 'recordUnblock')], ...ends } },
    ready: {
      entry: ['offerSpawn'],
      on: {
        AgentSpawnRequested: [
          t('racing', 'startsRace', 'recordRaceSpawn'),
          t('spawning', 'isNextAttempt', 'recordSpawn'),
        ],
        ...ends,
      },
    },
    // Best of N: the attempt's lanes run at once; the first gate to pass wins.
    racing: {
      entry: ['offerLanes'],
      on: {
        AgentSpawnRequested: [t(undefined, 'isNextLane', 'recordLaneSpawn')],
        AgentExited: [
          t('retrying', 'lastLaneFails', 'recordLaneReport'),
          t(undefined, 'isLaneReport', 'recordLaneReport'),
        ],
        AgentLost: [
          t('retrying', 'lastLaneFails', 'recordLaneReport'),
          t(undefined, 'isLaneReport', 'recordLaneReport'),
        ],
        AgentSpawnFailed: [
          t('retrying', 'lastLaneFails', 'recordLaneReport'),
          t(undefined, 'isLaneReport', 'recordLaneReport'),
        ],
        // A lane's breakpoint is kept as its report; a lane cannot block the race.
        BreakpointReported: [t(undefined, 'isLiveLane', 'recordReport')],
        GateStarted: [t(undefined, 'isLaneReport', 'recordLaneReport')],
        GatePassed: [t('awaitingMerge', 'laneGatePassed', 'recordWinner')],
        GateFailed: [
          t('retrying', 'lastLaneFails', 'recordLaneReport'),
          t(undefined, 'isLaneReport', 'recordLaneReport'),
        ],
        ...ends,
      },
    },
    spawning: {
      entry: ['launchAgent'],
      on: live({
        AgentStarted: [t('running', 'isCurrentSpawn')],
        AgentSpawnFailed: [t('retrying', 'isCurrentSpawn', 'recordSpawnFailure')],
      }),
    },
    running: { on: live({}) },
    awaitingGate: {
      entry: ['requestGate'],
      on: {
        GateStarted: [t('verifying', 'isCurrentSpawn')],
        GatePassed: [t('awaitingMerge', 'isCurrentSpawn')],
        GateFailed: [t('retrying', 'isCurrentSpawn', 'recordGateFailure')],
        ...ends,
      },
    },
    verifying: {
      on: {
        GatePassed: [t('awaitingMerge', 'isCurrentSpawn')],
        GateFailed: [t('retrying', 'isCurrentSpawn', 'recordGateFailure')],
        ...ends,
      },
    },
    awaitingMerge: {
      entry: ['requestMerge'],
      on: {
        MergeRequested: [t('merging', 'isCurrentSpawn')],
        BranchMerged: [t('complete', 'isCurrentSpawn', 'recordMerge')],
        MergeConflicted: [t('retrying', 'isCurrentSpawn', 'recordConflict')],
        MergeAbandoned: [t('retrying', 'isCurrentSpawn', 'recordAbandon')],
        ...ends,
      },
    },
    merging: {
      on: {
        BranchMerged: [t('complete', 'isCurrentSpawn', 'recordMerge')],
        MergeConflicted: [t('retrying', 'isCurrentSpawn', 'recordConflict')],
        MergeAbandoned: [t('retrying', 'isCurrentSpawn', 'recordAbandon')],
        ...ends,
      },
    },
    retrying: {
      entry: ['planRetry'],
      on: { RetryScheduled: [t('retryWait', 'isNextAttempt', 'recordRetry')], ...ends },
    },
    retryWait: {
      entry: ['offerSpawn'],
      on: {
        AgentSpawnRequested: [
          t('racing', 'startsRace', 'recordRaceSpawn'),
          t('spawning', 'isNextAttempt', 'recordSpawn'),
        ],
        ...ends,
      },
    },
    blocked: {
      entry: ['awaitUnblock'],
      on: {
        TaskUnblocked: [t('ready', undefined, 'recordUnblock')],
        // The blocked agent usually exits afterwards: keep its exit, stay blocked.
        AgentExited: [t(undefined, 'isCurrentSpawn', 'recordExit')],
        ...ends,
      },
    },
    // Not final: CI failing after the merge reopens the work of the task's last spawn.
    complete: { on: { TaskReopened: [t('retrying', 'isCurrentSpawn', 'recordReopen')] } },
    // Not final: a person may retry a task that failed for good (`orch signal retry`).
    failed: { on: { TaskRetryRequested: [t('pending', undefined, 'recordRetryRequest')] } },
    cancelled: { type: 'final' },
  },
} as const satisfies FlatMachineConfig;

/** Every state value of the task machine. */
export type TaskStateValue = keyof typeof taskMachineConfig.states;

/**
 * The task machine as a spec (config + named guards/updates/effects).
 *
 * @example
 * const fast = compileMachine(taskMachineSpec);
 * fast.initial({ taskId: 'T1', declaredComplete: true }).value; // 'complete'
 */
export const taskMachineSpec: MachineSpec<TaskContext, TaskMachineEvent, TaskInput> = {
  config: taskMachineConfig,
  initialContext: initialTaskContext,
  guards: taskGuards,
  updates: taskUpdates,
  effects: taskEffects,
};
