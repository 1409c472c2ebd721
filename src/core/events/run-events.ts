import { z } from 'zod';
import { Id, IsoTime } from './fields.js';

/** Events of one orchestrator run (stream `run-<runId>`): start, stop, and facts about the whole run. */

/** An orchestrator process took the lease and began (or resumed) work. */
export const RunStarted = z.object({
  runId: Id,
  pid: z.number().int().nonnegative(),
  host: z.string().optional(),
  startedAt: IsoTime,
  /** The settings that shape decisions this run (maxConcurrent, maxRetries, ...): a summary. */
  config: z.record(z.string(), z.unknown()),
});

/** The run ended: everything done, waiting on the outside, a failure, or a stop request. */
export const RunStopped = z.object({
  runId: Id,
  reason: z.string(),
});

/** Spending reached the configured budget: no new attempts are spawned. */
export const BudgetExhausted = z.object({
  spentUsd: z.number().nonnegative(),
  budget: z.number().nonnegative(),
});

/**
 * A person raised the budget (`orch signal budget --raise USD`): the run may spend
 * `amountUsd` more than the configured `budget` (raises add up, across runs). A run halted by
 * `BudgetExhausted` spawns again on its next decision, until the raised budget is reached.
 */
export const BudgetRaised = z.object({
  amountUsd: z.number().positive(),
  reason: z.string().optional(),
});

/** A CI result for the integration branch (local CI run, or `orch ci pass|fail`). */
export const CiCompleted = z.object({
  result: z.enum(['pass', 'fail']),
  ref: z.string().optional(),
  url: z.string().optional(),
  logPath: z.string().optional(),
  durationMs: z.number().nonnegative().optional(),
});

/**
 * This log was forked (`orch replay --to P --fork DIR`): every event before this one is the
 * source log's first `position` events, copied as they were. Work goes on in `repo`, a clone
 * whose branches were set to `branches` (name → commit), their heads at that position.
 */
export const RunForked = z.object({
  /** The fork's own id (the stream of this event). */
  runId: Id,
  from: z.object({
    stateDir: z.string().min(1),
    /** The run that was current at `position` (null before any run). */
    runId: z.string().min(1).nullable(),
    position: z.number().int().nonnegative(),
  }),
  repo: z.string().min(1),
  branches: z.record(z.string(), z.string().min(1)),
  forkedAt: IsoTime,
});

/**
 * A worker (`orch spawn --worker`, or any `orch spawn` on a shared log) joined the run under a
 * new membership (stream `worker-<runId>`): it claims tasks and spawns agents until it leaves
 * or is declared lost. Its heartbeat is kept outside the log.
 */
export const WorkerJoined = z.object({
  runId: Id,
  worker: z.string().min(1).max(200),
  host: z.string().optional(),
  pid: z.number().int().nonnegative(),
  joinedAt: IsoTime,
});

/** A worker left the run (finished, stopped, or stopped itself after being declared lost). */
export const WorkerDeparted = z.object({ runId: Id, worker: z.string(), reason: z.string() });

/**
 * Another worker (`declaredBy`, a membership) saw no heartbeat of this membership for
 * `silentMs`: exactly one such event per membership (its stream's expected version). Its live
 * agents are recorded lost and its gates and merges abandoned, in the same transaction.
 */
export const WorkerLost = z.object({
  runId: Id,
  worker: z.string(),
  declaredBy: Id,
  silentMs: z.number().nonnegative(),
});

/** Schemas of the run group. */
export const runEventSchemas = {
  RunStarted,
  RunStopped,
  BudgetExhausted,
  BudgetRaised,
  CiCompleted,
  RunForked,
  WorkerJoined,
  WorkerDeparted,
  WorkerLost,
} as const;
