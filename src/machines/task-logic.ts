import type { GuardFn, UpdateFn } from './spec.js';
import type { TaskMachineEvent } from './task-events.js';

/** What a new task machine needs to know. */
export interface TaskInput {
  taskId: string;
  /** The plan already marks the task (or its phase) complete: start in `complete`. */
  declaredComplete: boolean;
}

/** Why the last attempt did not produce finished work. */
export type TaskFailureKind = 'exit' | 'lost' | 'spawn' | 'gate' | 'conflict' | 'limit' | 'ci';

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

/** Named guards of the task machine. */
export const taskGuards = {
  declaredComplete: (c) => c.declaredComplete,
  isCurrentSpawn,
  // A spawn or retry must be for exactly the next attempt: duplicates and reorderings are ignored.
  isNextAttempt: (c, e) => (e.data as { attempt?: number }).attempt === c.attempts + 1,
  exitedCleanly: (c, e) =>
    isCurrentSpawn(c, e) && e.type === 'AgentExited' && e.data.exitCode === 0 && !e.data.signal,
  reportsBlocked: (c, e) => isCurrentSpawn(c, e) && reportKind(e) === 'blocked',
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
        }
      : {},
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
  recordReopen: (_c, e) =>
    e.type === 'TaskReopened' ? { lastFailure: failure('ci', e.data.reason, e.position), outcome: null } : {},
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
] as const;
