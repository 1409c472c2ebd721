import { z } from 'zod';
import { PlanSchema } from '../../plan/model.js';

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

/** Schemas of the plan group. */
export const planEventSchemas = { PlanLoaded, PlanRevised, PlanRevisionRefused } as const;
