import { getOwn } from '../../core/record.js';
import type { OrchState } from '../../core/state.js';
import type { TaskRouter } from '../git/task-router.js';
import type { WorkspaceManager } from '../git/workspace.js';
import { OrchestratorError } from './errors.js';

/**
 * The integration branch rewritten under a run: orch knows every merge commit it made (each
 * complete task's `BranchMerged.commit`), and before each new merge, and when a run starts,
 * it checks that the integration branch of each repository still contains them. When a
 * person reset or rewrote the branch and some are gone, orch stops with
 * `INTEGRATION_REWRITTEN` (naming the tasks, their merge commits and what to do) rather
 * than merge on top and silently drop work already merged. Nothing is re-merged by itself:
 * the person who rewrote the branch decides.
 *
 * @example
 * await checkIntegrationKept(log.state, router); // throws INTEGRATION_REWRITTEN when merges are gone
 */
export async function checkIntegrationKept(
  state: OrchState,
  router: TaskRouter,
  only?: WorkspaceManager,
): Promise<void> {
  const byRepo = new Map<WorkspaceManager, { taskId: string; commit: string }[]>();
  for (const task of state.plan?.tasks ?? []) {
    const entry = getOwn(state.tasks, task.id);
    const commit = entry?.context.mergeCommit;
    if (entry?.value !== 'complete' || typeof commit !== 'string' || commit === '') continue;
    const workspaces = router.workspaces(task.id);
    if (only !== undefined && workspaces !== only) continue;
    const list = byRepo.get(workspaces) ?? [];
    list.push({ taskId: task.id, commit });
    byRepo.set(workspaces, list);
  }
  for (const [workspaces, merges] of byRepo) {
    const missing = new Set(await workspaces.missingFromIntegration(merges.map((m) => m.commit)));
    if (missing.size === 0) continue;
    const dropped = merges.filter((m) => missing.has(m.commit));
    throw integrationRewrittenError(
      workspaces,
      dropped,
      await workspaces.integrationHead().catch(() => null),
    );
  }
}

function integrationRewrittenError(
  workspaces: WorkspaceManager,
  dropped: { taskId: string; commit: string }[],
  head: string | null,
): OrchestratorError {
  const branch = workspaces.integrationBranch;
  const list = dropped.map((d) => `${d.taskId} (${d.commit.slice(0, 12)})`).join(', ');
  const last = dropped[dropped.length - 1]!;
  return new OrchestratorError(
    'INTEGRATION_REWRITTEN',
    `the integration branch ${branch} in ${workspaces.repoRoot} was reset or rewritten: it no longer contains the merge commit(s) orch made of ${list}` +
      `${head === null ? '' : ` (its head is now ${head.slice(0, 12)})`}; orch stops rather than merge on top of it and drop that work`,
    {
      hint:
        `put the merges back, e.g. \`git reset --hard ${last.commit}\` where ${branch} is checked out (if only its tip was moved), ` +
        `or merge the task branches (${dropped.map((d) => `orch/${d.taskId}`).join(', ')}) into ${branch} again yourself; then run orch spawn again`,
      details: { branch, repo: workspaces.repoRoot, dropped, head },
    },
  );
}
