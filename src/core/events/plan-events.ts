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

/** Schemas of the plan group. */
export const planEventSchemas = { PlanLoaded, PlanRevised } as const;
