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

/**
 * CI failed after the task's branch was merged (and before the next pass): the finished
 * task gets a new attempt, whose prompt carries the tail of the CI log.
 */
export const TaskReopened = z.object({
  taskId: Id,
  /** The spawn whose merged work CI rejected (the task's current spawn). */
  spawnId: SpawnId,
  reason: z.string(),
  /** Position of the failing `CiCompleted`. */
  ciPosition: z.number().int().positive(),
  /** The tail of the CI log (`CiCompleted.logPath`), when there is one. */
  ciLogTail: OutputTail.optional(),
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
  RetryScheduled,
  TaskUnblocked,
  TaskCompleted,
  TaskFailed,
  TaskCancelled,
  TaskReopened,
  TaskRetryRequested,
} as const;
