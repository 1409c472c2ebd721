import { z } from 'zod';
import { Id } from './fields.js';

/** Events of phases (stream `phase-<id>`) and milestones (stream `milestone-<id>`). */

/** Every phase this phase depends on is complete: its tasks may start. */
export const PhaseUnblocked = z.object({ phaseId: Id });
/** A ready phase waits again (a revised plan gave it an unfinished dependency). */
export const PhaseBlocked = z.object({ phaseId: Id, reason: z.string() });
/** The first agent of one of the phase's tasks is being spawned. */
export const PhaseStarted = z.object({ phaseId: Id });
/** Every task of the phase is complete. */
export const PhaseCompleted = z.object({ phaseId: Id });

/** Every phase of the milestone is complete. */
export const MilestoneCompleted = z.object({ milestoneId: Id });
/** Intent: open the milestone's pull request (once; only with `autoMerge`). */
export const PullRequestRequested = z.object({ milestoneId: Id, branch: z.string().min(1) });
/** The milestone's pull request exists. */
export const PullRequestOpened = z.object({
  milestoneId: Id,
  url: z.string().min(1),
  branch: z.string().min(1),
});

/** Schemas of the structure group. */
export const structureEventSchemas = {
  PhaseUnblocked,
  PhaseBlocked,
  PhaseStarted,
  PhaseCompleted,
  MilestoneCompleted,
  PullRequestRequested,
  PullRequestOpened,
} as const;
