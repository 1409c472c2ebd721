import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import type { OrchestratorConfig } from '../../core/config.js';
import { getOwn } from '../../core/record.js';
import type { OrchState } from '../../core/state.js';
import { usageTotals, type UsageTotal } from '../../core/usage-totals.js';
import { OrchError } from '../../util/errors.js';
import { git, gitResult } from './git.js';
import { encodeTaskId } from '../system/safe-id.js';
import type { WorkspaceManager } from './workspace.js';

/** A milestone's pull request as recorded. */
export interface OpenedPr {
  url: string;
  branch: string;
}

/**
 * Where milestone pull requests go. `open` must be idempotent: after a crash between
 * `PullRequestRequested` and `PullRequestOpened` it finds the existing branch or PR.
 */
export interface PrProvider {
  /** The branch a milestone's PR is made from: `milestone/<id>`. */
  branchFor(milestoneId: string): string;
  open(milestoneId: string, branch: string, state: OrchState): Promise<OpenedPr>;
}

interface ProviderDeps {
  repoDir: string;
  stateDir: string;
  workspaces: WorkspaceManager;
  /** The `gh` executable (tests pass a stand-in). */
  ghCommand?: string;
}

/**
 * The provider configured in `pr.provider`: `local` (a `milestone/<id>` branch and a
 * description file in `<state-dir>/prs/<id>.md`) or `github` (`gh pr create`).
 *
 * @example
 * const prs = createPrProvider(config, { repoDir, stateDir, workspaces });
 * const { url } = await prs.open('M1', prs.branchFor('M1'), state);
 */
export function createPrProvider(config: OrchestratorConfig, deps: ProviderDeps): PrProvider {
  const branchFor = (milestoneId: string) => `milestone/${encodeTaskId(milestoneId)}`;
  const remote = deps.workspaces.remote;
  const local = async (milestoneId: string, branch: string, state: OrchState) => {
    // Through a remote (config `remote`) the branch is made from the remote's integration
    // head and pushed there, or taken from there when another worker made it first.
    if (remote === undefined) await ensureBranch(deps.repoDir, branch, config.integrationBranch);
    else await deps.workspaces.publishBranch(branch);
    const file = descriptionPath(deps.stateDir, milestoneId);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, describeMilestone(milestoneId, state, config, branch));
    return { file };
  };
  if (config.pr.provider === 'local') {
    return {
      branchFor,
      open: async (milestoneId, branch, state) => {
        const { file } = await local(milestoneId, branch, state);
        return { url: `file://${file}`, branch };
      },
    };
  }
  const gh = deps.ghCommand ?? process.env['ORCH_GH'] ?? 'gh';
  /** `gh` asks the GitHub repository of the configured remote (GH_REPO), unless the user set GH_REPO. */
  let ghEnv: Record<string, string> | undefined;
  const ghOptions = async () => {
    if (ghEnv === undefined) {
      ghEnv = {};
      if (remote !== undefined && process.env['GH_REPO'] === undefined) {
        const url = await remoteUrl(deps.repoDir, remote);
        const repo = url === null ? null : githubRepoOf(url);
        if (repo !== null) ghEnv['GH_REPO'] = repo;
      }
    }
    return { cwd: deps.repoDir, reject: false, env: ghEnv } as const;
  };
  return {
    branchFor,
    open: async (milestoneId, branch, state) => {
      const { file } = await local(milestoneId, branch, state);
      const existing = await execa(
        gh,
        ['pr', 'list', '--head', branch, '--state', 'all', '--json', 'url', '--limit', '1'],
        await ghOptions(),
      );
      if (existing.exitCode === 0) {
        const found = parseUrls(existing.stdout)[0];
        if (found) return { url: found, branch };
      }
      // Through a remote the branch was pushed there already (`publishBranch`).
      const push =
        remote === undefined
          ? await gitResult(deps.repoDir, [
              'push',
              '--set-upstream',
              'origin',
              `refs/heads/${branch}:refs/heads/${branch}`,
            ])
          : { exitCode: 0, stderr: '' };
      if (push.exitCode !== 0) {
        throw new OrchError('PR_PUSH_FAILED', `could not push ${branch} to origin: ${push.stderr.trim()}`, {
          hint: 'check the `origin` remote and your credentials, then run `orch spawn` again',
        });
      }
      const title = prTitle(milestoneId, state);
      const created = await execa(
        gh,
        [
          'pr',
          'create',
          '--base',
          config.baseBranch,
          '--head',
          branch,
          '--title',
          title,
          '--body-file',
          file,
        ],
        await ghOptions(),
      );
      const url = created.exitCode === 0 ? created.stdout.trim().split('\n').pop()?.trim() : undefined;
      if (!url) {
        throw new OrchError(
          'PR_CREATE_FAILED',
          `gh pr create failed for milestone ${milestoneId}: ${created.stderr.trim() || created.stdout.trim()}`,
          {
            hint: 'check `gh auth status`; orch will look for the PR again on the next run',
          },
        );
      }
      return { url, branch };
    },
  };
}

/** `<state-dir>/prs/<id>.md`. */
export function descriptionPath(stateDir: string, milestoneId: string): string {
  return path.join(stateDir, 'prs', `${encodeTaskId(milestoneId)}.md`);
}

async function ensureBranch(repoDir: string, branch: string, from: string): Promise<void> {
  const exists = await gitResult(repoDir, ['rev-parse', '--verify', '-q', `refs/heads/${branch}`]);
  if (exists.exitCode === 0) return;
  await git(repoDir, ['branch', '--', branch, `refs/heads/${from}`]);
}

/** The URL of a remote name (`git remote get-url`), the value itself when it is a URL or path, null when unknown. */
async function remoteUrl(repoDir: string, remote: string): Promise<string | null> {
  const r = await gitResult(repoDir, ['remote', 'get-url', '--', remote]);
  if (r.exitCode === 0) return r.stdout.trim();
  return /[:/]/.test(remote) ? remote : null;
}

/**
 * `HOST/OWNER/REPO` (the form `gh` reads from `GH_REPO`) of a git URL such as
 * `https://github.com/o/r.git`, `git@github.com:o/r.git` or `ssh://git@host/o/r`; null for
 * anything else (a local path, say).
 *
 * @example
 * githubRepoOf('git@github.com:acme/app.git'); // 'github.com/acme/app'
 */
export function githubRepoOf(url: string): string | null {
  const full = /^(?:https?|ssh|git):\/\/(?:[^@/]+@)?([^/:]+)(?::\d+)?\/([^/]+)\/([^/]+?)(?:\.git)?\/?$/.exec(
    url,
  );
  const scp = /^(?:[^@/]+@)?([^/:]+):([^/]+)\/([^/]+?)(?:\.git)?\/?$/.exec(url);
  const m = full ?? scp;
  return m ? `${m[1]}/${m[2]}/${m[3]}` : null;
}

function parseUrls(json: string): string[] {
  try {
    const rows = JSON.parse(json) as { url?: string }[];
    return rows.map((r) => r.url).filter((u): u is string => typeof u === 'string' && u.length > 0);
  } catch {
    return [];
  }
}

function prTitle(milestoneId: string, state: OrchState): string {
  const m = state.plan?.milestones.find((x) => x.id === milestoneId);
  return `${milestoneId}: ${m?.title ?? 'milestone'}`;
}

/**
 * The pull request description: the milestone's phases and tasks, each task's merge
 * commit, its agents (attempts, exits) and the usage they reported.
 *
 * @example
 * describeMilestone('M1', state, config, 'milestone/M1'); // '# M1: Calculator Core\n…'
 */
export function describeMilestone(
  milestoneId: string,
  state: OrchState,
  config: OrchestratorConfig,
  branch: string,
): string {
  const plan = state.plan;
  const m = plan?.milestones.find((x) => x.id === milestoneId);
  const lines = [`# ${prTitle(milestoneId, state)}`, ''];
  if (m?.description) lines.push(m.description.trim(), '');
  lines.push(
    `Branch \`${branch}\` (from \`${config.integrationBranch}\`) into \`${config.baseBranch}\`.`,
    '',
  );
  const usage = usageTotals(state);
  for (const phase of plan?.phases.filter((p) => p.milestone === milestoneId) ?? []) {
    lines.push(`## Phase ${phase.id}: ${phase.title}`, '');
    lines.push(
      '| task | title | attempts | merge commit | agents (spawn · exit) | usage |',
      '|---|---|---|---|---|---|',
    );
    for (const task of plan?.tasks.filter((t) => t.phase === phase.id) ?? []) {
      const ctx = getOwn(state.tasks, task.id)?.context;
      const agents = Object.values(state.agents).filter((a) => a.task === task.id);
      const agentText = agents
        .map((a) => `${a.spawnId.slice(0, 8)} · ${a.exitCode ?? a.signal ?? a.status}`)
        .join('<br>');
      lines.push(
        `| ${task.id} | ${task.title.replace(/\|/g, '\\|')} | ${ctx?.attempts ?? 0} | ${ctx?.mergeCommit?.slice(0, 12) ?? '—'} | ${agentText || '—'} | ${usageText(getOwn(usage.tasks, task.id)) || '—'} |`,
      );
    }
    lines.push('');
  }
  const total = getOwn(usage.milestones, milestoneId);
  lines.push(
    `Usage reported by the agents of this milestone: ${usageText(total) || 'none'} over ${total?.attempts ?? 0} attempt(s).`,
    '',
  );
  lines.push('Opened by orch.', '');
  return lines.join('\n');
}

/** `1200 in / 300 out tokens · $0.0123`, or '' when nothing was reported. */
function usageText(u: UsageTotal | undefined): string {
  if (!u) return '';
  const parts: string[] = [];
  if (u.inputTokens || u.outputTokens) parts.push(`${u.inputTokens} in / ${u.outputTokens} out tokens`);
  if (u.costUsd) parts.push(`$${u.costUsd.toFixed(4)}`);
  return parts.join(' · ');
}
