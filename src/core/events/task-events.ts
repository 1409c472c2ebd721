import { z } from 'zod';
import { Id, IsoTime, OutputTail, SpawnId } from './fields.js';

/**
 * Events of the task attempt loop written by orch (stream `task-<taskId>`): the quality
 * gate, the merge, retries, and the task's end. Outcomes name the spawn whose work they
 * judge, so an outcome for an older attempt is ignored.
 */

/** Intent: the quality gate runs on the work of a spawn that exited 0. */
export const GateStarted = z.object({
  taskId: Id,
  spawnId: SpawnId,
  /** The gate command, or null when no gate is configured. */
  command: z.array(z.string()).nullable(),
});

/** The gate passed (or there is no gate: `skipped`). */
export const GatePassed = z.object({
  taskId: Id,
  spawnId: SpawnId,
  skipped: z.boolean().optional(),
  outputTail: OutputTail.optional(),
  durationMs: z.number().nonnegative().optional(),
});

/** The gate failed: the task gets another attempt (its output goes into the next prompt). */
export const GateFailed = z.object({
  taskId: Id,
  spawnId: SpawnId,
  exitCode: z.number().int().nullable(),
  outputTail: OutputTail,
  durationMs: z.number().nonnegative().optional(),
});

/** Intent: merge the task's branch into the integration branch. */
export const MergeRequested = z.object({ taskId: Id, spawnId: SpawnId, branch: z.string().optional() });

/** The task's branch is merged; the task is complete. */
export const BranchMerged = z.object({ taskId: Id, spawnId: SpawnId, commit: z.string().min(1) });

/** The merge conflicted (and was aborted): the task gets a new attempt. */
export const MergeConflicted = z.object({ taskId: Id, spawnId: SpawnId, files: z.array(z.string()) });

/**
 * The worker that was to merge (or had started to merge) this spawn's branch was declared
 * lost, and the branch was not found merged: the attempt failed; the task is retried elsewhere.
 */
export const MergeAbandoned = z.object({ taskId: Id, spawnId: SpawnId, reason: z.string() });

/** The next attempt is planned, not before `notBefore`. */
export const RetryScheduled = z.object({
  taskId: Id,
  /** The attempt number the next spawn will have. */
  attempt: z.number().int().positive(),
  notBefore: IsoTime,
  reason: z.string(),
});

/** A pending or blocked task may run: its dependencies completed, CI reported, or a person said so. */
export const TaskUnblocked = z.object({
  taskId: Id,
  reason: z.enum(['dependencies', 'ci', 'tasks', 'person']),
});

/** The task was marked complete outside the attempt loop (by a person or a plan revision). */
export const TaskCompleted = z.object({ taskId: Id, reason: z.string().optional() });

/** The task failed for good (its retries are used up, or a person failed it). */
export const TaskFailed = z.object({ taskId: Id, reason: z.string() });

/** The task was cancelled; a live agent of it is stopped. */
export const TaskCancelled = z.object({ taskId: Id, reason: z.string().optional() });

/** A review comment that reopened a task (`ReviewReceived`, quoted in the next prompt). */
export const ReopeningReview = z.object({
  reviewId: z.string().min(1),
  author: z.string().optional(),
  body: z.string(),
  path: z.string().optional(),
  line: z.number().int().positive().optional(),
});

/**
 * CI failed after the task's branch was merged (and before the next pass), or a review of
 * its milestone's pull request asked for changes to its work: the finished task gets a new
 * attempt, whose prompt carries the tail of the CI log or the review comments.
 */
export const TaskReopened = z.object({
  taskId: Id,
  /** The spawn whose merged work CI (or the review) rejected (the task's current spawn). */
  spawnId: SpawnId,
  reason: z.string(),
  /** Position of the failing `CiCompleted` (absent when a review reopened it). */
  ciPosition: z.number().int().positive().optional(),
  /** The tail of the CI log (`CiCompleted.logPath`), when there is one. */
  ciLogTail: OutputTail.optional(),
  /** The review comments that reopened it (`pr.reviews`). */
  reviews: z.array(ReopeningReview).min(1).optional(),
});

/**
 * Best of N: another lane of the attempt passed its gate first (`winner`), so this lane's
 * work will not be merged; a live agent of it is stopped (its process group killed). Its
 * usage still counts (its `AgentExited` follows).
 */
export const LaneSuperseded = z.object({
  taskId: Id,
  spawnId: SpawnId,
  lane: z.number().int().min(1).max(16),
  /** The spawn whose gate passed first. */
  winner: SpawnId,
  winnerLane: z.number().int().min(1).max(16),
});

/**
 * A person asked for a task that failed for good to be tried again (`orch signal retry`):
 * the task goes back to `pending` with a fresh allowance of `maxRetries + 1` attempts (the
 * attempts before count no more); its attempt numbers go on from where they were.
 */
export const TaskRetryRequested = z.object({ taskId: Id, reason: z.string().optional() });

/** Schemas of the task group. */
export const taskEventSchemas = {
  GateStarted,
  GatePassed,
  GateFailed,
  MergeRequested,
  BranchMerged,
  MergeConflicted,
  MergeAbandoned,
  RetryScheduled,
  TaskUnblocked,
  TaskCompleted,
  TaskFailed,
  TaskCancelled,
  TaskReopened,
  LaneSuperseded,
  TaskRetryRequested,
} as const;
