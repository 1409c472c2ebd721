import type { OrchestratorConfig } from '../../core/config.js';
import type { RecordedEvent } from '../../core/envelope.js';
import { streamIds } from '../../core/events.js';
import { getOwn } from '../../core/record.js';
import type { OrchState } from '../../core/state.js';
import { milestoneTarget } from '../../plan/target-of.js';
import type { EventStore } from '../../store/event-store.js';
import {
  advanceBranch,
  lastTaskTouching,
  readPrFeedback,
  replyToPr,
  type PrFeedback,
} from '../git/reviews.js';
import type { TaskRouter } from '../git/task-router.js';
import type { LiveLog } from '../log/live-log.js';
import type { Clock } from '../system/clock.js';
import type { WarningSink } from './warnings.js';

/**
 * Review feedback goes back to the work (`pr.reviews`, GitHub only). Every `pr.pollInterval`
 * seconds the run reads the feedback of each opened milestone pull request that is not
 * approved yet and records what is new (`ReviewReceived`, once per review id). A change
 * request or comment goes to a task: for a comment on a file, the task whose merge last
 * touched that file on the milestone branch; otherwise the milestone's last task (plan
 * order). When that task is complete it is reopened (`TaskReopened` with the comments, which
 * the next prompt quotes); when its fix is merged, the milestone branch is moved to the merge
 * commit and pushed, the pull request gets a reply naming it, and `ReviewAnswered` is
 * recorded. While a pull request awaits approval, a run whose work is done keeps polling.
 */

/** What the review watch uses. */
export interface ReviewWatchDeps {
  config: OrchestratorConfig;
  repoDir: string;
  log: LiveLog;
  store: EventStore;
  router: TaskRouter;
  clock: Clock;
  warn: WarningSink;
  /** The `gh` executable (default `ORCH_GH`, else `gh` on PATH). */
  ghCommand?: string;
}

interface Reopened {
  milestoneId: string;
  taskId: string;
  reviewIds: string[];
  /** The attempt whose merged work the review reopened: the fix is a later attempt's merge. */
  attemptBefore: number;
}

/**
 * The review watch of one run; `null` from {@link createReviewWatch} when `pr.reviews` is off.
 *
 * @example
 * const reviews = createReviewWatch({ config, repoDir, log, store, router, clock, warn });
 * await reviews?.tick();
 */
export class ReviewWatch {
  private readonly gh: string;
  private readonly seen = new Set<string>();
  /** Reviews with a task, not reopened yet, by task id (in arrival order). */
  private readonly queued = new Map<string, { milestoneId: string; feedback: PrFeedback }[]>();
  private readonly reopened: Reopened[] = [];
  private nextPoll = 0;

  constructor(private readonly deps: ReviewWatchDeps) {
    this.gh = deps.ghCommand ?? process.env['ORCH_GH'] ?? 'gh';
    this.seed(deps.store);
  }

  /** When the next poll is due (epoch ms). */
  nextPollAt(): number {
    return this.nextPoll;
  }

  /**
   * Whether the run should keep going for the reviews: a milestone pull request is opened
   * and not approved, or review work is queued or not answered yet.
   */
  awaiting(): boolean {
    return this.queued.size > 0 || this.reopened.length > 0 || this.openPrs(this.deps.log.state).length > 0;
  }

  /** Polls when due, reopens the tasks reviews went to, answers the fixes merged. */
  async tick(): Promise<void> {
    const now = this.deps.clock.now().getTime();
    if (now >= this.nextPoll) {
      this.nextPoll = now + this.deps.config.pr.pollInterval * 1000;
      for (const pr of this.openPrs(this.deps.log.state)) {
        try {
          await this.poll(pr.milestoneId, pr.url, pr.branch);
        } catch (err) {
          this.deps.warn({
            code: 'PR_REVIEWS_FAILED',
            message: `reviews of ${pr.url} (milestone ${pr.milestoneId}): ${(err as Error).message}`,
          });
        }
      }
    }
    this.reopenQueued();
    for (const entry of [...this.reopened]) {
      try {
        await this.answer(entry);
      } catch (err) {
        this.deps.warn({
          code: 'PR_REVIEWS_FAILED',
          message: `answering the review of milestone ${entry.milestoneId} (task ${entry.taskId}): ${(err as Error).message}`,
        });
      }
    }
  }

  /** Opened GitHub pull requests of milestones whose reviews are not approved. */
  private openPrs(state: OrchState): { milestoneId: string; url: string; branch: string }[] {
    const out: { milestoneId: string; url: string; branch: string }[] = [];
    for (const [milestoneId, entry] of Object.entries(state.milestones)) {
      const pr = entry.context.pr;
      if (entry.value !== 'prOpened' || pr === null || pr.url === null || pr.url.startsWith('file:'))
        continue;
      if (getOwn(state.reviews ?? {}, milestoneId)?.decision === 'approved') continue;
      out.push({ milestoneId, url: pr.url, branch: pr.branch });
    }
    return out;
  }

  private async poll(milestoneId: string, url: string, branch: string): Promise<void> {
    const { log } = this.deps;
    const repo = this.repoOf(milestoneId);
    for (const feedback of await readPrFeedback(this.gh, repo, url)) {
      if (this.seen.has(feedback.reviewId)) continue;
      let taskId: string | null = null;
      if (feedback.kind !== 'approved' && feedback.body !== undefined) {
        taskId =
          (feedback.path === undefined ? null : await lastTaskTouching(repo, branch, feedback.path)) ??
          lastTaskOf(log.state, milestoneId);
      }
      log.append(
        streamIds.milestone(milestoneId),
        'ReviewReceived',
        { milestoneId, ...feedback, ...(taskId === null ? {} : { taskId }) },
        { expectedVersion: 'any' },
      );
      this.seen.add(feedback.reviewId);
      if (taskId !== null) this.queue(taskId, milestoneId, feedback);
    }
  }

  private queue(taskId: string, milestoneId: string, feedback: PrFeedback): void {
    const list = this.queued.get(taskId) ?? [];
    list.push({ milestoneId, feedback });
    this.queued.set(taskId, list);
  }

  /** Reopens every complete task reviews went to (a task still at work waits for its turn). */
  private reopenQueued(): void {
    const { log } = this.deps;
    for (const [taskId, items] of [...this.queued]) {
      const task = getOwn(log.state.tasks, taskId);
      if (task === undefined || task.value === 'failed' || task.value === 'cancelled') {
        // Nothing can take the work any more: the comments stay recorded, unanswered.
        this.queued.delete(taskId);
        this.deps.warn({
          code: 'PR_REVIEWS_FAILED',
          message: `review comment(s) ${items.map((i) => i.feedback.reviewId).join(', ')} went to task ${taskId}, which is ${task?.value ?? 'not in the plan'}: answer them by hand`,
        });
        continue;
      }
      if (task.value !== 'complete' || task.context.spawnId === null) continue;
      const milestoneId = items[0]!.milestoneId;
      const reviews = items.map(({ feedback: f }) => ({
        reviewId: f.reviewId,
        body: f.body ?? '',
        ...(f.author === undefined ? {} : { author: f.author }),
        ...(f.path === undefined ? {} : { path: f.path }),
        ...(f.line === undefined ? {} : { line: f.line }),
      }));
      const files = [...new Set(items.flatMap(({ feedback: f }) => (f.path === undefined ? [] : [f.path])))];
      log.append(streamIds.task(taskId), 'TaskReopened', {
        taskId,
        spawnId: task.context.spawnId,
        reason: `review of ${milestoneId} asked for changes (${reviews.length} comment(s)${files.length > 0 ? ` on ${files.join(', ')}` : ''})`,
        reviews,
      });
      this.queued.delete(taskId);
      this.reopened.push({
        milestoneId,
        taskId,
        reviewIds: reviews.map((r) => r.reviewId),
        attemptBefore: task.context.attempts,
      });
    }
  }

  /** A reopened task whose fix is merged: move the milestone branch, push, reply, record. */
  private async answer(entry: Reopened): Promise<void> {
    const { log } = this.deps;
    const task = getOwn(log.state.tasks, entry.taskId);
    const milestone = getOwn(log.state.milestones, entry.milestoneId);
    const pr = milestone?.context.pr;
    if (task === undefined || pr === null || pr === undefined || pr.url === null) return;
    if (task.value === 'failed' || task.value === 'cancelled') {
      this.reopened.splice(this.reopened.indexOf(entry), 1);
      return;
    }
    const commit = task.context.mergeCommit ?? null;
    if (task.value !== 'complete' || commit === null || task.context.attempts <= entry.attemptBefore) return;
    const repo = this.repoOf(entry.milestoneId);
    const remote = this.remoteOf(entry.milestoneId);
    await advanceBranch(
      repo,
      pr.branch,
      commit,
      remote === undefined ? undefined : { remote, integrationBranch: this.deps.config.integrationBranch },
    );
    const attempt = task.context.attempts;
    const reply = await replyToPr(
      this.gh,
      repo,
      pr.url,
      `orch: task ${entry.taskId} addressed ${entry.reviewIds.length} review comment(s) (${entry.reviewIds.join(', ')}) in attempt ${attempt}, merged as ${commit.slice(0, 12)}; \`${pr.branch}\` now points at it.`,
    );
    log.append(
      streamIds.milestone(entry.milestoneId),
      'ReviewAnswered',
      { milestoneId: entry.milestoneId, reviewIds: entry.reviewIds, taskId: entry.taskId, commit, reply },
      { expectedVersion: 'any' },
    );
    this.reopened.splice(this.reopened.indexOf(entry), 1);
  }

  /** The repository a milestone's pull request is in (its target's, else the main one). */
  private repoOf(milestoneId: string): string {
    const { router, config, log } = this.deps;
    const target = router.resolve(
      milestoneTarget(log.state.plan, milestoneId) ?? config.defaultTarget ?? null,
    );
    return target?.path ?? this.deps.repoDir;
  }

  /** The `remote` of a milestone's repository (the main one's, when configured), else undefined: `origin`. */
  private remoteOf(milestoneId: string): string | undefined {
    const { router, config, log } = this.deps;
    return router.workspacesOf(milestoneTarget(log.state.plan, milestoneId) ?? config.defaultTarget ?? null)
      .remote;
  }

  /** What earlier runs recorded: reviews seen, queued, reopened and answered. */
  private seed(store: EventStore): void {
    const answered = new Set<string>();
    const reopenedIds = new Set<string>();
    const events: RecordedEvent[] = [
      ...store.readAll({ types: ['ReviewReceived', 'TaskReopened', 'ReviewAnswered'] }),
    ];
    if (events.length === 0) return;
    for (const e of events) {
      const d = e.data as Record<string, unknown>;
      if (e.type === 'ReviewAnswered' && Array.isArray(d['reviewIds']))
        for (const id of d['reviewIds'] as string[]) answered.add(id);
      if (e.type === 'TaskReopened' && Array.isArray(d['reviews']))
        for (const r of d['reviews'] as { reviewId: string }[]) reopenedIds.add(r.reviewId);
    }
    for (const e of events) {
      const d = e.data as Record<string, unknown>;
      if (e.type === 'ReviewReceived') {
        const feedback = { ...(d as unknown as PrFeedback) };
        this.seen.add(feedback.reviewId);
        const taskId = typeof d['taskId'] === 'string' ? d['taskId'] : null;
        if (taskId !== null && !reopenedIds.has(feedback.reviewId) && !answered.has(feedback.reviewId))
          this.queue(taskId, String(d['milestoneId']), feedback);
      }
      if (e.type === 'TaskReopened' && Array.isArray(d['reviews'])) {
        const ids = (d['reviews'] as { reviewId: string }[]).map((r) => r.reviewId);
        if (ids.every((id) => answered.has(id))) continue;
        const milestoneId = this.milestoneOfReview(events, ids[0]!);
        if (milestoneId === null) continue;
        this.reopened.push({
          milestoneId,
          taskId: String(d['taskId']),
          reviewIds: ids,
          attemptBefore: getOwn(this.deps.log.state.agents, String(d['spawnId']))?.attempt ?? 0,
        });
      }
    }
  }

  private milestoneOfReview(events: readonly RecordedEvent[], reviewId: string): string | null {
    const received = events.find(
      (e) => e.type === 'ReviewReceived' && (e.data as { reviewId?: unknown }).reviewId === reviewId,
    );
    return received === undefined ? null : String((received.data as { milestoneId?: unknown }).milestoneId);
  }
}

/**
 * The review watch of a run, or null when `pr.reviews` is off (nothing is read, nothing runs).
 *
 * @example
 * const reviews = createReviewWatch({ config, repoDir, log, store, router, clock, warn });
 */
export function createReviewWatch(deps: ReviewWatchDeps): ReviewWatch | null {
  return deps.config.pr.reviews && deps.config.pr.provider === 'github' ? new ReviewWatch(deps) : null;
}

/** The milestone's last task in plan order (its last phase's last task); null when it has none. */
function lastTaskOf(state: OrchState, milestoneId: string): string | null {
  const plan = state.plan;
  if (plan === null) return null;
  const phases = new Set(plan.phases.filter((p) => p.milestone === milestoneId).map((p) => p.id));
  const tasks = plan.tasks.filter((t) => phases.has(t.phase));
  return tasks.at(-1)?.id ?? null;
}
