import { execa } from 'execa';
import { OrchError } from '../../util/errors.js';
import { git, gitResult } from './git.js';
import { fetchBranch, pushBranch } from './remote.js';

/**
 * The reviews of a milestone's pull request on GitHub, read and answered with `gh`, and the
 * git side of answering them: which task's merge last touched a file, and moving the
 * milestone branch to a fix's merge commit (pushed to `origin`, or to the configured `remote`).
 */

/** The marker in every reply orch posts, so its own comments are never read as feedback. */
export const ORCH_REPLY_MARKER = '<!-- orch:review-reply -->';

/** One piece of feedback on a pull request. */
export interface PrFeedback {
  /** `review-<id>`, `comment-<id>` (on a file) or `issue-comment-<id>`. */
  reviewId: string;
  kind: 'approved' | 'changes_requested' | 'commented';
  author?: string;
  body?: string;
  path?: string;
  line?: number;
  url?: string;
}

interface GhReview {
  id?: unknown;
  author?: { login?: unknown } | null;
  body?: unknown;
  state?: unknown;
}
interface GhIssueComment {
  id?: unknown;
  author?: { login?: unknown } | null;
  body?: unknown;
  url?: unknown;
}
interface GhFileComment {
  id?: unknown;
  user?: { login?: unknown } | null;
  body?: unknown;
  path?: unknown;
  line?: unknown;
  original_line?: unknown;
  html_url?: unknown;
  pull_request_review_id?: unknown;
}

/**
 * Reads a pull request's feedback: `gh pr view URL --json number,reviews,comments` (reviews
 * and conversation comments) and `gh api repos/{owner}/{repo}/pulls/N/comments` (comments on
 * files). Approvals and change requests are kept, comments with a body, never orch's own
 * replies. Throws `PR_REVIEWS_UNREADABLE` when gh fails or answers something else.
 *
 * @example
 * const feedback = await readPrFeedback('gh', '/repo', 'https://github.com/acme/calc/pull/7');
 */
export async function readPrFeedback(gh: string, repoDir: string, url: string): Promise<PrFeedback[]> {
  const view = await runGh(gh, repoDir, ['pr', 'view', url, '--json', 'number,reviews,comments']);
  const doc = parseJson(view, url) as { number?: unknown; reviews?: unknown; comments?: unknown };
  const number = typeof doc.number === 'number' ? doc.number : Number(/\/pull\/(\d+)/.exec(url)?.[1]);
  if (!Number.isInteger(number)) throw unreadable(url, 'no pull request number');
  const files = parseJson(
    await runGh(gh, repoDir, ['api', `repos/{owner}/{repo}/pulls/${number}/comments`]),
    url,
  );
  const reviews = (Array.isArray(doc.reviews) ? doc.reviews : []) as GhReview[];
  const stateOf = new Map<string, string>();
  const out: PrFeedback[] = [];
  for (const r of reviews) {
    const id = idOf(r.id);
    const state = typeof r.state === 'string' ? r.state : '';
    if (id === null) continue;
    stateOf.set(id, state);
    const body = textOf(r.body);
    const kind =
      state === 'APPROVED'
        ? 'approved'
        : state === 'CHANGES_REQUESTED'
          ? 'changes_requested'
          : state === 'COMMENTED' && body !== undefined
            ? 'commented'
            : null;
    if (kind === null || isOrchReply(body)) continue;
    out.push(withDefined({ reviewId: `review-${id}`, kind, author: loginOf(r.author), body }));
  }
  for (const c of (Array.isArray(files) ? files : []) as GhFileComment[]) {
    const id = idOf(c.id);
    const body = textOf(c.body);
    if (id === null || body === undefined || isOrchReply(body)) continue;
    const reviewState = stateOf.get(idOf(c.pull_request_review_id) ?? '');
    const line =
      typeof c.line === 'number' ? c.line : typeof c.original_line === 'number' ? c.original_line : undefined;
    out.push(
      withDefined({
        reviewId: `comment-${id}`,
        kind: reviewState === 'CHANGES_REQUESTED' ? 'changes_requested' : 'commented',
        author: loginOf(c.user),
        body,
        path: typeof c.path === 'string' && c.path !== '' ? c.path : undefined,
        line: line !== undefined && line > 0 ? line : undefined,
        url: typeof c.html_url === 'string' ? c.html_url : undefined,
      }),
    );
  }
  for (const c of (Array.isArray(doc.comments) ? doc.comments : []) as GhIssueComment[]) {
    const id = idOf(c.id);
    const body = textOf(c.body);
    if (id === null || body === undefined || isOrchReply(body)) continue;
    out.push(
      withDefined({
        reviewId: `issue-comment-${id}`,
        kind: 'commented',
        author: loginOf(c.author),
        body,
        url: typeof c.url === 'string' ? c.url : undefined,
      }),
    );
  }
  return out;
}

/**
 * Posts a reply on the pull request (`gh pr comment URL --body …`), marked as orch's.
 *
 * @example
 * await replyToPr('gh', '/repo', url, 'Addressed in abc123 (task T2).');
 */
export async function replyToPr(gh: string, repoDir: string, url: string, text: string): Promise<string> {
  const body = `${text}\n\n${ORCH_REPLY_MARKER}`;
  await runGh(gh, repoDir, ['pr', 'comment', url, '--body', body]);
  return body;
}

/**
 * The task whose merge (a merge commit orch made, `orch: merge task <id>`) last touched
 * `file` on `branch`, following the branch's first parents; null when none did.
 *
 * @example
 * await lastTaskTouching('/repo', 'milestone/M1', 'src/a.ts'); // 'T2'
 */
export async function lastTaskTouching(
  repoDir: string,
  branch: string,
  file: string,
): Promise<string | null> {
  const r = await gitResult(repoDir, [
    'log',
    '--first-parent',
    '--format=%s',
    `refs/heads/${branch}`,
    '--',
    file,
  ]);
  if (r.exitCode !== 0) return null;
  for (const subject of r.stdout.split('\n')) {
    const match = /^orch: merge task (\S+)/.exec(subject.trim());
    if (match) return match[1]!;
  }
  return null;
}

/**
 * Moves `branch` forward to `commit` (a fix merged into the integration branch after the
 * pull request was opened), unless the branch holds it already, and pushes it to `origin`. Refused (`REVIEW_BRANCH_DIVERGED`)
 * when the branch is not an ancestor of the commit; a failed push is `PR_PUSH_FAILED`.
 * Through a configured `remote` (`via`): the branch and the integration branch are fetched
 * from it first (another worker may have moved the one or merged the fix into the other),
 * and the push is a compare-and-swap on the branch as fetched.
 *
 * @example
 * await advanceBranch('/repo', 'milestone/M1', 'abc123…');
 */
export async function advanceBranch(
  repoDir: string,
  branch: string,
  commit: string,
  via?: { remote: string; integrationBranch: string },
): Promise<void> {
  const ref = `refs/heads/${branch}`;
  if (via !== undefined) return advanceThroughRemote(repoDir, branch, commit, via);
  const contained = await gitResult(repoDir, ['merge-base', '--is-ancestor', commit, ref]);
  const ancestor =
    contained.exitCode === 0
      ? contained
      : await gitResult(repoDir, ['merge-base', '--is-ancestor', ref, commit]);
  if (ancestor.exitCode !== 0) {
    throw new OrchError(
      'REVIEW_BRANCH_DIVERGED',
      `${branch} is not an ancestor of the fix ${commit.slice(0, 12)}: it cannot be moved forward`,
      { hint: `merge ${commit.slice(0, 12)} into ${branch} by hand and push it` },
    );
  }
  // Already on the branch (a later fix moved it past this one): only the push is left.
  if (contained.exitCode !== 0) await git(repoDir, ['update-ref', ref, commit]);
  const push = await gitResult(repoDir, ['push', 'origin', `${ref}:${ref}`]);
  if (push.exitCode !== 0) {
    throw new OrchError('PR_PUSH_FAILED', `could not push ${branch} to origin: ${push.stderr.trim()}`, {
      hint: 'check the `origin` remote and your credentials; orch pushes again on the next answer',
    });
  }
}

async function advanceThroughRemote(
  repoDir: string,
  branch: string,
  commit: string,
  via: { remote: string; integrationBranch: string },
): Promise<void> {
  const ref = `refs/heads/${branch}`;
  const there = await fetchBranch(repoDir, via.remote, branch);
  if ((await gitResult(repoDir, ['cat-file', '-e', `${commit}^{commit}`])).exitCode !== 0) {
    await fetchBranch(repoDir, via.remote, via.integrationBranch);
  }
  const from =
    there ?? (await gitResult(repoDir, ['rev-parse', '--verify', '-q', `${ref}^{commit}`])).stdout.trim();
  if (from === '') {
    throw new OrchError('PR_PUSH_FAILED', `${branch} is on neither ${via.remote} nor this clone`, {
      hint: 'open the pull request again (orch spawn makes and pushes the milestone branch)',
    });
  }
  const contained = await gitResult(repoDir, ['merge-base', '--is-ancestor', commit, from]);
  if (contained.exitCode !== 0) {
    const ancestor = await gitResult(repoDir, ['merge-base', '--is-ancestor', from, commit]);
    if (ancestor.exitCode !== 0) {
      throw new OrchError(
        'REVIEW_BRANCH_DIVERGED',
        `${branch} is not an ancestor of the fix ${commit.slice(0, 12)}: it cannot be moved forward`,
        { hint: `merge ${commit.slice(0, 12)} into ${branch} by hand and push it` },
      );
    }
  }
  const target = contained.exitCode === 0 ? from : commit;
  const pushed = await pushBranch(repoDir, via.remote, target, branch, there);
  if (pushed.status === 'rejected') {
    throw new OrchError('PR_PUSH_FAILED', `could not push ${branch} to ${via.remote}: ${pushed.reason}`, {
      hint: 'another worker moved it meanwhile; orch pushes again on the next answer',
    });
  }
  await git(repoDir, ['update-ref', ref, target]);
}

async function runGh(gh: string, repoDir: string, args: string[]): Promise<string> {
  const r = await execa(gh, args, { cwd: repoDir, reject: false });
  if (r.exitCode !== 0 || r.failed) {
    throw new OrchError(
      'GH_FAILED',
      `gh ${args.slice(0, 2).join(' ')} failed: ${String(r.stderr).trim() || String(r.stdout).trim() || r.shortMessage}`,
      { hint: 'check `gh auth status`; orch tries again at the next poll' },
    );
  }
  return String(r.stdout);
}

function parseJson(text: string, url: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw unreadable(url, 'gh did not answer JSON');
  }
}

function unreadable(url: string, why: string): OrchError {
  return new OrchError('PR_REVIEWS_UNREADABLE', `could not read the reviews of ${url}: ${why}`, {
    hint: 'check `gh auth status` and the pull request',
  });
}

function idOf(value: unknown): string | null {
  return typeof value === 'number' || (typeof value === 'string' && value !== '') ? String(value) : null;
}

function textOf(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

function loginOf(author: { login?: unknown } | null | undefined): string | undefined {
  return typeof author?.login === 'string' ? author.login : undefined;
}

function isOrchReply(body: string | undefined): boolean {
  return body !== undefined && body.includes(ORCH_REPLY_MARKER);
}

function withDefined(f: { [K in keyof PrFeedback]: PrFeedback[K] | undefined }): PrFeedback {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(f)) if (v !== undefined) out[k] = v;
  return out as unknown as PrFeedback;
}
