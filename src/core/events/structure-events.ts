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

/** What a review of a milestone's pull request says: an approval, a change request, or a comment. */
export const ReviewKind = z.enum(['approved', 'changes_requested', 'commented']);

/**
 * A review, a review comment on a file, or a conversation comment on a milestone's pull
 * request (`pr.reviews`), recorded once per `reviewId`. `taskId`: the task whose work it is
 * about (the task whose merge last touched `path`, else the milestone's last task); none for
 * an approval or a review whose comments are on files.
 */
export const ReviewReceived = z.object({
  milestoneId: Id,
  /** The host's id, prefixed by what it is: `review-…`, `comment-…` (a file), `issue-comment-…`. */
  reviewId: z.string().min(1),
  kind: ReviewKind,
  author: z.string().optional(),
  body: z.string().optional(),
  /** The file a review comment is on, and its line. */
  path: z.string().optional(),
  line: z.number().int().positive().optional(),
  url: z.string().optional(),
  taskId: Id.optional(),
});

/**
 * The work asked for by reviews was merged: the milestone branch was updated (pushed) to the
 * fix's merge commit and the pull request got a reply naming it.
 */
export const ReviewAnswered = z.object({
  milestoneId: Id,
  reviewIds: z.array(z.string().min(1)).min(1),
  taskId: Id,
  /** The merge commit of the fix, now the head of the milestone branch. */
  commit: z.string().min(1),
  /** The reply posted on the pull request. */
  reply: z.string(),
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
  ReviewReceived,
  ReviewAnswered,
} as const;
