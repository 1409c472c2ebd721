import { z } from 'zod';
import { PlanFormatSchema, PlanSchema } from '../../plan/model.js';
import { AgentUsage } from './agent-events.js';
import { Id, IsoTime, OutputTail, SpawnId } from './fields.js';

/** Events of stream `plan`: the plan is recorded in the log, so replay never needs the files. */

/** The plan as loaded, parsed and validated at the start of a run. */
export const PlanLoaded = z.object({ plan: PlanSchema });

/** What changed between two plans, by entity id. */
export const PlanDiff = z.object({
  added: z.array(z.string()),
  removed: z.array(z.string()),
  changed: z.array(z.string()),
});

/** The plan files changed while orch was running (or between runs) and were loaded again. */
export const PlanRevised = z.object({ plan: PlanSchema, diff: PlanDiff });

/**
 * The plan files changed but no longer make a valid plan: the change was refused and the run
 * goes on with the plan it had. `problems` are the first of them (`count` says how many).
 */
export const PlanRevisionRefused = z.object({
  problems: z.array(
    z.object({ file: z.string(), line: z.number().int().nonnegative(), message: z.string() }),
  ),
  count: z.number().int().nonnegative(),
});

/** A problem of a plan file, as `file:line` (line 0: the file as a whole). */
const PlanFileProblem = z.object({
  file: z.string(),
  line: z.number().int().nonnegative(),
  message: z.string(),
});

/**
 * `orch plan --draft`: a planner agent is to write a plan for `goal` (intent, before the
 * first attempt). `file` is where the plan is written (repository-relative), in `format`.
 */
export const PlanDraftRequested = z.object({
  draftId: Id,
  goal: z.string(),
  format: PlanFormatSchema,
  file: z.string(),
  role: z.string(),
  command: z.array(z.string()),
  maxAttempts: z.number().int().positive(),
  requestedAt: IsoTime,
});

/**
 * One attempt of the planner ended and the plan files were validated: exit code, the
 * problems found (the first 50; `problemCount` says how many), the usage it reported.
 */
export const PlanDraftAttempted = z.object({
  draftId: Id,
  spawnId: SpawnId,
  attempt: z.number().int().positive(),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  timedOut: z.boolean(),
  durationMs: z.number().nonnegative(),
  logFile: z.string(),
  outputTail: OutputTail,
  problems: z.array(PlanFileProblem),
  problemCount: z.number().int().nonnegative(),
  usage: AgentUsage.optional(),
});

/** The planner's plan is valid: the draft is over; nothing runs until `orch spawn`. */
export const PlanDraftAccepted = z.object({
  draftId: Id,
  attempt: z.number().int().positive(),
  tasks: z.number().int().nonnegative(),
  phases: z.number().int().nonnegative(),
});

/** Every attempt was used and the plan is still not valid (or the planner could not start). */
export const PlanDraftFailed = z.object({
  draftId: Id,
  attempts: z.number().int().nonnegative(),
  reason: z.string(),
});

/**
 * A person edited the drafted plan file (the wizard of `orch serve`): the text was written to
 * `file` and validated as `orch plan` does; `problems` empty means it is valid.
 */
export const PlanDraftEdited = z.object({
  draftId: Id,
  file: z.string(),
  bytes: z.number().int().nonnegative(),
  problems: z.array(PlanFileProblem),
  problemCount: z.number().int().nonnegative(),
});

/** A person approved the drafted (maybe edited) plan, valid as it stands, to be run. */
export const PlanDraftApproved = z.object({
  draftId: Id,
  file: z.string(),
  tasks: z.number().int().nonnegative(),
  phases: z.number().int().nonnegative(),
});

/** Schemas of the plan group. */
export const planEventSchemas = {
  PlanLoaded,
  PlanRevised,
  PlanRevisionRefused,
  PlanDraftRequested,
  PlanDraftAttempted,
  PlanDraftAccepted,
  PlanDraftFailed,
  PlanDraftEdited,
  PlanDraftApproved,
} as const;
