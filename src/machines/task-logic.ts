import type { GuardFn, UpdateFn } from './spec.js';
import type { TaskMachineEvent } from './task-events.js';

/** What a new task machine needs to know. */
export interface TaskInput {
  taskId: string;
  /** The plan already marks the task (or its phase) complete: start in `complete`. */
  declaredComplete: boolean;
}

/** Why the last attempt did not produce finished work. */
export type TaskFailureKind =
  'exit' | 'lost' | 'spawn' | 'gate' | 'conflict' | 'limit' | 'ci' | 'review' | 'lanes';

/**
 * Where one lane of a best-of-N attempt is: its agent `running` (or being spawned), `exited`
 * cleanly (its gate is due), its gate `verifying`, `failed` (exit, loss, spawn failure or
 * gate), `won` (its gate passed first: it is merged) or `superseded` (another lane won).
 */
export type TaskLaneState = 'running' | 'exited' | 'verifying' | 'failed' | 'won' | 'superseded';

/** One lane of a best-of-N attempt. */
export interface TaskLane {
  lane: number;
  spawnId: string;
  state: TaskLaneState;
  /** Why it failed (one line, like `TaskFailure.detail`); null unless `failed`. */
  failure: string | null;
}

/** The last failure of a task's attempt loop. */
export interface TaskFailure {
  kind: TaskFailureKind;
  /** One line, e.g. `exit code 1` or `merge conflict in 2 files`. */
  detail: string;
  /** Log position of the event that recorded it. */
  position: number;
}

/** The task attempt loop's context: plain JSON. */
export interface TaskContext {
  taskId: string;
  declaredComplete: boolean;
  /** Spawns so far (the attempt number of the latest spawn). */
  attempts: number;
  /**
   * Attempts during which the agent reported a usage/rate limit. They are not failures of
   * the work: `maxRetries` counts `attempts - rateLimited` (see {@link countedAttempts}).
   */
  rateLimited: number;
  /** The latest spawn that reported a rate limit (each spawn is counted once). */
  rateLimitedSpawn: string | null;
  /** The current (latest) spawn; reports naming any other spawn are ignored. */
  spawnId: string | null;
  lastExit: { code: number | null; signal: string | null } | null;
  lastFailure: TaskFailure | null;
  /** What a `blocked` breakpoint waits for: `ci`, `person` or task ids. */
  blockedOn: string[] | null;
  /** Log position of the `blocked` report (a CI result must come after it). */
  blockedAt: number | null;
  /** ISO time before which the next attempt must not be spawned. */
  notBefore: string | null;
  /** The latest breakpoint summary of the current attempt. */
  summary: string | null;
  /** A pull request an agent reported with a `pr` breakpoint. */
  prUrl: string | null;
  /** The merge commit of the task's branch on the integration branch. */
  mergeCommit: string | null;
  /** Files of the last merge conflict (given to the next attempt). */
  conflictFiles: string[] | null;
  /** Why the task ended outside the loop (TaskFailed / TaskCancelled / TaskCompleted reason). */
  outcome: string | null;
  /**
   * Best of N: the lanes of the latest attempt, in lane order, and how many it runs
   * (`laneTotal`); null for a one-agent attempt (and in contexts folded before lanes existed).
   */
  lanes?: TaskLane[] | null;
  laneTotal?: number | null;
  /**
   * Counted attempts made before a person's latest retry (`TaskRetryRequested`): they no
   * longer count against `maxRetries`. Absent until the first retry.
   */
  retryBase?: number;
}

/**
 * A new task's context.
 *
 * @example
 * initialTaskContext({ taskId: 'T1', declaredComplete: false }).attempts; // 0
 */
export function initialTaskContext(input: TaskInput): TaskContext {
  return {
    taskId: input.taskId,
    declaredComplete: input.declaredComplete,
    attempts: 0,
    rateLimited: 0,
    rateLimitedSpawn: null,
    spawnId: null,
    lastExit: null,
    lastFailure: null,
    blockedOn: null,
    blockedAt: null,
    notBefore: null,
    summary: null,
    prUrl: null,
    mergeCommit: null,
    conflictFiles: null,
    outcome: null,
    lanes: null,
    laneTotal: null,
  };
}

/**
 * The attempts that count against `maxRetries`: every spawn but those that stopped on a
 * usage/rate limit (the provider's limit says nothing about the work) and those made before
 * a person's retry of the failed task (`retryBase`).
 *
 * @example
 * countedAttempts({ attempts: 3, rateLimited: 1 }); // 2
 * countedAttempts({ attempts: 5, rateLimited: 1, retryBase: 2 }); // 2
 */
export function countedAttempts(c: Pick<TaskContext, 'attempts' | 'rateLimited' | 'retryBase'>): number {
  return c.attempts - countedFix(c.rateLimited) - countedFix(c.retryBase);
}

// Contexts folded before `rateLimited` existed (old snapshots) lack it.
const countedFix = (n: number | undefined): number => n ?? 0;

type Guard = GuardFn<TaskContext, TaskMachineEvent>;
type Update = UpdateFn<TaskContext, TaskMachineEvent>;

const spawnIdOf = (e: TaskMachineEvent): string | undefined => (e.data as { spawnId?: string }).spawnId;
const isCurrentSpawn: Guard = (c, e) => c.spawnId !== null && spawnIdOf(e) === c.spawnId;
const reportKind = (e: TaskMachineEvent) => (e.type === 'BreakpointReported' ? e.data.kind : undefined);

const LANE_EVENTS = new Set([
  'AgentExited',
  'AgentLost',
  'AgentSpawnFailed',
  'GateStarted',
  'GatePassed',
  'GateFailed',
]);

/**
 * The lanes after a report about one of them, or null when the event changes no lane (not
 * a lane report, an unknown spawn, or a lane not in a state the report applies to): an
 * agent ends (`running` → `exited` on a clean exit, else `failed`), its gate starts
 * (`exited` → `verifying`) or fails (→ `failed`). A passing gate is `recordWinner`'s.
 */
function lanesAfter(c: TaskContext, e: TaskMachineEvent): TaskLane[] | null {
  const lanes = c.lanes ?? null;
  if (lanes === null || !LANE_EVENTS.has(e.type)) return null;
  const spawnId = spawnIdOf(e);
  const i = lanes.findIndex((l) => l.spawnId === spawnId);
  const lane = lanes[i];
  if (lane === undefined) return null;
  let next: TaskLane | null = null;
  const fail = (failure: string): TaskLane => ({ ...lane, state: 'failed', failure });
  switch (e.type) {
    case 'AgentExited':
      if (lane.state !== 'running') return null;
      if (e.data.exitCode === 0 && !e.data.signal) next = { ...lane, state: 'exited' };
      else next = fail(e.data.signal ? `killed by ${e.data.signal}` : `exit code ${String(e.data.exitCode)}`);
      break;
    case 'AgentLost':
      if (lane.state !== 'running') return null;
      next = fail(`agent lost: ${e.data.reason}`);
      break;
    case 'AgentSpawnFailed':
      if (lane.state !== 'running') return null;
      next = fail(`spawn failed: ${e.data.error}`);
      break;
    case 'GateStarted':
      if (lane.state !== 'exited') return null;
      next = { ...lane, state: 'verifying' };
      break;
    case 'GateFailed':
      if (lane.state !== 'exited' && lane.state !== 'verifying') return null;
      next = fail(`quality gate failed${e.data.exitCode == null ? '' : ` (exit code ${e.data.exitCode})`}`);
      break;
    default:
      return null;
  }
  return lanes.map((l, k) => (k === i ? next : l));
}

/** Every lane of the attempt was spawned and every one failed. */
const allLanesFailed = (c: TaskContext, lanes: readonly TaskLane[] | null): boolean =>
  lanes !== null && lanes.length === (c.laneTotal ?? 0) && lanes.every((l) => l.state === 'failed');

/** The lane a spawn runs, if it is a lane of the current attempt. */
const laneOf = (c: TaskContext, e: TaskMachineEvent): TaskLane | undefined =>
  (c.lanes ?? []).find((l) => l.spawnId === spawnIdOf(e));

/**
 * One line per lane: what each lane of a failed best-of-N attempt ended with (for the
 * next prompt and `orch log`).
 *
 * @example
 * laneFailureSummary([{ lane: 1, spawnId: 's1', state: 'failed', failure: 'exit code 1' }]);
 * // 'all 1 lanes failed: lane 1: exit code 1'
 */
export function laneFailureSummary(lanes: readonly TaskLane[]): string {
  return `all ${lanes.length} lanes failed: ${lanes.map((l) => `lane ${l.lane}: ${l.failure ?? l.state}`).join('; ')}`;
}

/** Named guards of the task machine. */
export const taskGuards = {
  declaredComplete: (c) => c.declaredComplete,
  isCurrentSpawn,
  // A spawn or retry must be for exactly the next attempt: duplicates and reorderings are ignored.
  isNextAttempt: (c, e) => (e.data as { attempt?: number }).attempt === c.attempts + 1,
  exitedCleanly: (c, e) =>
    isCurrentSpawn(c, e) && e.type === 'AgentExited' && e.data.exitCode === 0 && !e.data.signal,
  reportsBlocked: (c, e) => isCurrentSpawn(c, e) && reportKind(e) === 'blocked',
  // Best of N: the first lane's request starts a race of `lanes` agents for the next attempt.
  startsRace: (c, e) =>
    e.type === 'AgentSpawnRequested' &&
    e.data.attempt === c.attempts + 1 &&
    (e.data.lanes ?? 1) > 1 &&
    e.data.lane === 1,
  // The next lane of the running race: same attempt, the next lane number, within its lanes.
  isNextLane: (c, e) =>
    e.type === 'AgentSpawnRequested' &&
    e.data.attempt === c.attempts &&
    c.lanes != null &&
    e.data.lane === c.lanes.length + 1 &&
    e.data.lane <= (c.laneTotal ?? 0),
  isLaneReport: (c, e) => lanesAfter(c, e) !== null,
  lastLaneFails: (c, e) => allLanesFailed(c, lanesAfter(c, e)),
  // A lane's gate passed while it was due or running: it wins the race.
  laneGatePassed: (c, e) => {
    const lane = e.type === 'GatePassed' ? laneOf(c, e) : undefined;
    return lane !== undefined && (lane.state === 'exited' || lane.state === 'verifying');
  },
  isLiveLane: (c, e) => laneOf(c, e)?.state === 'running',
} satisfies Record<string, Guard>;

const failure = (kind: TaskFailureKind, detail: string, position: number): TaskFailure => ({
  kind,
  detail,
  position,
});

/** Named context updates (`assign` actions) of the task machine. */
export const taskUpdates = {
  recordSpawn: (_c, e) =>
    e.type === 'AgentSpawnRequested'
      ? {
          attempts: e.data.attempt,
          spawnId: e.data.spawnId,
          lastExit: null,
          blockedOn: null,
          blockedAt: null,
          notBefore: null,
          summary: null,
          lanes: null,
          laneTotal: null,
        }
      : {},
  // Best of N: the race's first lane. No lane is the current spawn until one wins.
  recordRaceSpawn: (_c, e) =>
    e.type === 'AgentSpawnRequested'
      ? {
          attempts: e.data.attempt,
          spawnId: null,
          lastExit: null,
          blockedOn: null,
          blockedAt: null,
          notBefore: null,
          summary: null,
          lanes: [{ lane: 1, spawnId: e.data.spawnId, state: 'running' as const, failure: null }],
          laneTotal: e.data.lanes ?? 1,
        }
      : {},
  recordLaneSpawn: (c, e) =>
    e.type === 'AgentSpawnRequested' && e.data.lane !== undefined
      ? {
          lanes: [
            ...(c.lanes ?? []),
            { lane: e.data.lane, spawnId: e.data.spawnId, state: 'running' as const, failure: null },
          ],
        }
      : {},
  recordLaneReport: (c, e) => {
    const lanes = lanesAfter(c, e);
    if (lanes === null) return {};
    if (!allLanesFailed(c, lanes)) return { lanes };
    return { lanes, lastFailure: failure('lanes', laneFailureSummary(lanes), e.position) };
  },
  // The winner becomes the current spawn (merged like any attempt); every other lane still
  // in the race is superseded (decide has the live ones stopped).
  recordWinner: (c, e) => {
    const winner = laneOf(c, e);
    if (winner === undefined) return {};
    return {
      spawnId: winner.spawnId,
      lanes: (c.lanes ?? []).map((l) =>
        l.spawnId === winner.spawnId
          ? { ...l, state: 'won' as const }
          : l.state === 'failed'
            ? l
            : { ...l, state: 'superseded' as const },
      ),
    };
  },
  recordExit: (_c, e) =>
    e.type === 'AgentExited' ? { lastExit: { code: e.data.exitCode, signal: e.data.signal ?? null } } : {},
  recordExitFailure: (c, e) => {
    if (e.type !== 'AgentExited') return {};
    const signal = e.data.signal ?? null;
    const detail = signal ? `killed by ${signal}` : `exit code ${String(e.data.exitCode)}`;
    const lastExit = { code: e.data.exitCode, signal };
    if (c.rateLimitedSpawn === e.data.spawnId) {
      return {
        lastExit,
        lastFailure: failure('limit', `stopped by a usage/rate limit (${detail})`, e.position),
      };
    }
    return { lastExit, lastFailure: failure('exit', detail, e.position) };
  },
  recordRateLimit: (c, e) =>
    e.type === 'RateLimited' && c.rateLimitedSpawn !== e.data.spawnId
      ? { rateLimitedSpawn: e.data.spawnId, rateLimited: countedFix(c.rateLimited) + 1 }
      : {},
  recordLost: (_c, e) =>
    e.type === 'AgentLost'
      ? { lastFailure: failure('lost', `agent lost: ${e.data.reason}`, e.position) }
      : {},
  recordSpawnFailure: (_c, e) =>
    e.type === 'AgentSpawnFailed'
      ? { lastFailure: failure('spawn', `spawn failed: ${e.data.error}`, e.position) }
      : {},
  recordBlocked: (_c, e) =>
    e.type === 'BreakpointReported'
      ? {
          blockedOn: e.data.on && e.data.on.length > 0 ? [...e.data.on] : ['person'],
          blockedAt: e.position,
          summary: e.data.summary ?? null,
        }
      : {},
  recordReport: (c, e) => {
    if (e.type !== 'BreakpointReported') return {};
    if (e.data.kind === 'pr') return { prUrl: e.data.url ?? c.prUrl, summary: e.data.summary ?? c.summary };
    return { summary: e.data.summary ?? c.summary };
  },
  recordGateFailure: (_c, e) =>
    e.type === 'GateFailed'
      ? {
          lastFailure: failure(
            'gate',
            `quality gate failed${e.data.exitCode == null ? '' : ` (exit code ${e.data.exitCode})`}`,
            e.position,
          ),
        }
      : {},
  recordMerge: (_c, e) =>
    e.type === 'BranchMerged' ? { mergeCommit: e.data.commit, conflictFiles: null } : {},
  recordConflict: (_c, e) =>
    e.type === 'MergeConflicted'
      ? {
          conflictFiles: [...e.data.files],
          lastFailure: failure('conflict', `merge conflict in ${e.data.files.length} file(s)`, e.position),
        }
      : {},
  recordAbandon: (_c, e) =>
    e.type === 'MergeAbandoned' ? { lastFailure: failure('lost', e.data.reason, e.position) } : {},
  recordReopen: (_c, e) =>
    e.type === 'TaskReopened'
      ? {
          lastFailure: failure(e.data.reviews === undefined ? 'ci' : 'review', e.data.reason, e.position),
          outcome: null,
        }
      : {},
  recordRetry: (_c, e) => (e.type === 'RetryScheduled' ? { notBefore: e.data.notBefore } : {}),
  recordUnblock: () => ({ blockedOn: null, blockedAt: null }),
  // A fresh allowance: the attempts so far stop counting; the last failure stays for the prompt.
  recordRetryRequest: (c) => ({
    retryBase: c.attempts - countedFix(c.rateLimited),
    outcome: null,
    notBefore: null,
    blockedOn: null,
    blockedAt: null,
  }),
  recordOutcome: (_c, e) => {
    if (e.type === 'TaskFailed') return { outcome: e.data.reason };
    if (e.type === 'TaskCancelled' || e.type === 'TaskCompleted') return { outcome: e.data.reason ?? null };
    return {};
  },
} satisfies Record<string, Update>;

/**
 * Named effects: where the runtime acts. In the fold they do nothing; `decide` emits the
 * matching command (noted beside each) from the state the effect marks.
 */
export const taskEffects = [
  'offerSpawn', // ready / retryWait → SpawnAgent
  'launchAgent', // spawning → the runtime starts the process
  'planRetry', // retrying → ScheduleRetry or FailTask
  'requestGate', // awaitingGate → RunGate
  'requestMerge', // awaitingMerge → RequestMerge
  'awaitUnblock', // blocked → UnblockTask when what it waits for happened
  'offerLanes', // racing → SpawnAgent for lanes not yet spawned, RunGate for lanes that exited
] as const;
