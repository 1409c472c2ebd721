import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { RecordedEvent } from '../../core/envelope.js';
import { parseEventData, streamIds } from '../../core/events.js';
import { isLiveAgent } from '../../core/state.js';
import { openSqliteEventStore } from '../../store/sqlite/open.js';
import { OrchError } from '../../util/errors.js';
import { git, gitResult } from '../git/git.js';
import { loadState } from '../log/load-state.js';
import { openLog } from '../log/open.js';
import { CONFIG_FILES, loadConfig, TARGETS_FILE } from '../project/config.js';
import { describeLocation, logLocation } from '../log/location.js';
import { taskBranch } from '../system/safe-id.js';
import { prepareStateDir } from '../system/state-paths.js';
import { resolveReplayTarget } from './replay.js';

/**
 * `orch replay --to POSITION --fork DIR`: a new state directory whose log is this one up to
 * that position, and a clone of the repository (`DIR/repo`) whose branches are as they were
 * there, so a run can go on from that point (another agent, model or config) while the
 * original log and repository stay as they are.
 */

/** What `orch replay --fork` is asked. */
export interface ForkRequest {
  repoDir: string;
  stateDir: string;
  /** The new state directory (must not exist, or be empty). */
  dir: string;
  to?: string;
  at?: string;
}

/** What a fork made (`orch replay --fork --json`). */
export interface ForkResult {
  /** The fork's state directory (absolute). */
  stateDir: string;
  /** The clone to run in: `orch spawn --repo <repo> --state-dir <stateDir>`. */
  repo: string;
  /** The source log's position the fork copies up to. */
  position: number;
  /** Events copied. */
  events: number;
  /** The fork's id (its `RunForked` stream) and the run current at that position. */
  runId: string;
  sourceRunId: string | null;
  /** Branch name → commit set in the clone. */
  branches: Record<string, string>;
}

/** `orch replay --fork` refused: what is wrong, and what to do. */
export class ForkRefusedError extends OrchError {
  constructor(message: string, hint: string, details: Record<string, unknown> = {}) {
    super('FORK_REFUSED', message, { hint, details });
  }
}

/**
 * Forks the log of `stateDir` at a position into `dir` (see the module comment). Refuses,
 * writing nothing: a `dir` that exists and is not an empty directory; a position the log
 * does not have (`REPLAY_TARGET_INVALID`); a position where an agent was live (what its
 * worktree held there is unknown); a task with work whose branch head was not recorded; a
 * run with targets; a log that is not the state directory's own file (PostgreSQL, a shared
 * SQLite file: a run in the fork would write to it).
 *
 * @example
 * const fork = await orchFork({ repoDir: '.', stateDir: '.state', dir: '/tmp/fork', to: '120' });
 * // orch spawn --repo fork.repo --state-dir fork.stateDir
 */
export async function orchFork(request: ForkRequest): Promise<ForkResult> {
  const dir = path.resolve(request.dir);
  if (fs.existsSync(dir) && (!fs.statSync(dir).isDirectory() || fs.readdirSync(dir).length > 0)) {
    throw new ForkRefusedError(
      `${dir} exists and is not an empty directory`,
      'name a new (or empty) directory for the fork',
      { dir },
    );
  }
  const config = loadConfig(request.repoDir);
  if (config.targets !== undefined && Object.keys(config.targets).length > 0) {
    throw new ForkRefusedError(
      'forking a run with targets is not supported: only the main repository would be cloned',
      'fork a run without targets',
    );
  }
  const location = logLocation(request.stateDir, config.store?.url);
  if (location.kind === 'postgres' || location.shared) {
    // The clone gets the config (store.url) and the caller's environment keeps
    // ORCH_DATABASE_URL: a run in the fork would go on writing the source's log.
    throw new ForkRefusedError(
      `forking a log that is not in the state directory is not supported (the log is at ${describeLocation(location)})`,
      'copy it into a state directory first: orch log --export FILE here, then orch log --import FILE --state-dir DIR where neither ORCH_DATABASE_URL nor store.url is set, and fork that state directory',
      { log: describeLocation(location) },
    );
  }
  const source = openLog(request.stateDir);
  let copied: RecordedEvent[];
  let plan: ReturnType<typeof planFork>;
  let position: number;
  try {
    position = resolveReplayTarget(source, {
      ...(request.to === undefined ? {} : { to: request.to }),
      ...(request.at === undefined ? {} : { at: request.at }),
    }).position;
    copied = [...source.readAll({ to: position })];
    plan = planFork(source, copied, position);
  } finally {
    source.close();
  }
  const repoRoot = (await git(request.repoDir, ['rev-parse', '--show-toplevel'])).trim();
  const integration = await integrationAt(
    repoRoot,
    config.integrationBranch,
    config.baseBranch,
    plan.merges,
    position,
  );
  const branches: Record<string, string> = { [config.integrationBranch]: integration, ...plan.taskHeads };

  fs.mkdirSync(dir, { recursive: true });
  const repo = path.join(dir, 'repo');
  try {
    await makeClone(repoRoot, repo, config.baseBranch, branches);
    copyLocalFiles(repoRoot, repo, config.planDir);
    prepareStateDir(dir);
    const runId = randomUUID();
    const store = openSqliteEventStore(path.join(dir, 'orch.db'));
    try {
      store.importEvents(copied);
      const data = parseEventData('RunForked', {
        runId,
        from: { stateDir: path.resolve(request.stateDir), runId: plan.runId, position },
        repo,
        branches,
        forkedAt: new Date().toISOString(),
      });
      store.append(
        streamIds.run(runId),
        [{ id: randomUUID(), type: 'RunForked', data, metadata: { runId, actor: 'user' } }],
        { expectedVersion: 'no_stream' },
      );
    } finally {
      store.close();
    }
    return {
      stateDir: dir,
      repo,
      position,
      events: copied.length,
      runId,
      sourceRunId: plan.runId,
      branches,
    };
  } catch (err) {
    // Nothing half-made is left behind: the directory was new or empty.
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** What the log says about the fork point: the run, the task branch heads, the merges. */
function planFork(
  source: ReturnType<typeof openLog>,
  copied: readonly RecordedEvent[],
  position: number,
): {
  runId: string | null;
  taskHeads: Record<string, string>;
  merges: { position: number; commit: string }[];
} {
  const { state } = loadState(source, { to: position, useSnapshot: false });
  const live = Object.values(state.agents).filter(isLiveAgent);
  if (live.length > 0) {
    const ends = new Map<string, number>();
    for (const e of source.readAll({
      from: position + 1,
      types: ['AgentExited', 'AgentLost', 'AgentSpawnFailed'],
    })) {
      const id = (e.data as { spawnId?: string }).spawnId;
      if (id !== undefined && !ends.has(id)) ends.set(id, e.position);
    }
    const requested = new Map<string, number>();
    for (const e of copied)
      if (e.type === 'AgentSpawnRequested')
        requested.set((e.data as { spawnId: string }).spawnId, e.position);
    const before = Math.min(...live.map((a) => requested.get(a.spawnId) ?? position)) - 1;
    const after = Math.max(...live.map((a) => ends.get(a.spawnId) ?? Number.POSITIVE_INFINITY));
    throw new ForkRefusedError(
      `at position ${position} ${live.map((a) => `task ${a.task} has a live agent (attempt ${a.attempt}, spawn ${a.spawnId.slice(0, 8)})`).join(', ')}: what ${live.length === 1 ? 'its worktree' : 'their worktrees'} held there is not known`,
      `fork where no agent runs: at ${before} (before ${live.length === 1 ? 'it was' : 'they were'} spawned)${Number.isFinite(after) ? ` or from ${after} (once ${live.length === 1 ? 'it' : 'they'} ended; check that no other agent runs there)` : ''}`,
      { position, live: live.map((a) => ({ task: a.task, spawnId: a.spawnId })) },
    );
  }
  // A task with work (an agent that ended) and not complete: its branch at its last exit.
  const lastExit = new Map<string, { head: string | null; attempt: number }>();
  for (const e of copied) {
    if (e.type !== 'AgentExited') continue;
    const d = e.data as { spawnId: string; head?: string };
    const agent = state.agents[d.spawnId];
    if (agent === undefined) continue;
    lastExit.set(agent.task, { head: d.head ?? null, attempt: agent.attempt });
  }
  const taskHeads: Record<string, string> = {};
  for (const [task, exit] of lastExit) {
    if (state.tasks[task]?.value === 'complete') continue;
    if (exit.head === null) {
      throw new ForkRefusedError(
        `task ${task} has work from attempt ${exit.attempt} whose branch head is not in the log (the log is older than orch recording heads)`,
        'fork at a position before that task was spawned, or after its branch was merged',
        { position, task },
      );
    }
    taskHeads[taskBranch(task)] = exit.head;
  }
  const merges: { position: number; commit: string }[] = [];
  for (const e of source.readAll({ types: ['BranchMerged'] }))
    merges.push({ position: e.position, commit: (e.data as { commit: string }).commit });
  return { runId: state.run?.runId ?? null, taskHeads, merges };
}

/**
 * The integration branch's head at the fork point: the last merge at or before it; else the
 * first parent of the first merge after it; else (no merge at all) the branch as it is now,
 * or the base branch when it does not exist yet.
 */
async function integrationAt(
  repoRoot: string,
  integrationBranch: string,
  baseBranch: string,
  merges: readonly { position: number; commit: string }[],
  position: number,
): Promise<string> {
  const resolve = async (rev: string): Promise<string | null> => {
    const r = await gitResult(repoRoot, ['rev-parse', '--verify', '-q', `${rev}^{commit}`]);
    return r.exitCode === 0 ? r.stdout.trim() : null;
  };
  const at = merges.filter((m) => m.position <= position).at(-1);
  const next = merges.find((m) => m.position > position);
  const sha = at
    ? await resolve(at.commit)
    : next
      ? await resolve(`${next.commit}^1`)
      : ((await resolve(`refs/heads/${integrationBranch}`)) ?? (await resolve(`refs/heads/${baseBranch}`)));
  if (sha === null) {
    throw new ForkRefusedError(
      `the head of ${integrationBranch} at the fork point (${at?.commit ?? next?.commit ?? integrationBranch}) is not in ${repoRoot}`,
      'fork in the repository the run worked in',
    );
  }
  return sha;
}

/**
 * A clone of `repoRoot` sharing its objects (`git clone --shared`), with `branches` set,
 * the base branch checked out, the source's identity and `origin`.
 */
async function makeClone(
  repoRoot: string,
  repo: string,
  baseBranch: string,
  branches: Record<string, string>,
): Promise<void> {
  await git(path.dirname(repo), ['clone', '-q', '--shared', '--no-checkout', '--', repoRoot, repo]);
  const base = await gitResult(repoRoot, [
    'rev-parse',
    '--verify',
    '-q',
    `refs/heads/${baseBranch}^{commit}`,
  ]);
  // update-ref, not `branch -f`: the clone's HEAD may already name one of these branches.
  if (base.exitCode === 0) await git(repo, ['update-ref', `refs/heads/${baseBranch}`, base.stdout.trim()]);
  for (const [name, sha] of Object.entries(branches))
    await git(repo, ['update-ref', `refs/heads/${name}`, sha]);
  await git(repo, ['checkout', '-q', '-f', base.exitCode === 0 ? baseBranch : Object.keys(branches)[0]!]);
  await git(repo, ['reset', '-q', '--hard']);
  for (const key of ['user.name', 'user.email']) {
    const value = await gitResult(repoRoot, ['config', '--get', key]);
    if (value.exitCode === 0 && value.stdout.trim() !== '')
      await git(repo, ['config', key, value.stdout.trim()]);
  }
  const origin = await gitResult(repoRoot, ['remote', 'get-url', 'origin']);
  if (origin.exitCode === 0 && origin.stdout.trim() !== '')
    await git(repo, ['remote', 'set-url', 'origin', origin.stdout.trim()]);
  else await git(repo, ['remote', 'remove', 'origin']);
}

/** The config files and the plan directory as they are in the source's working tree (committed or not). */
function copyLocalFiles(repoRoot: string, repo: string, planDir: string): void {
  for (const rel of [...CONFIG_FILES, TARGETS_FILE, planDir]) {
    const from = path.join(repoRoot, rel);
    if (!fs.existsSync(from)) continue;
    const to = path.join(repo, rel);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.cpSync(from, to, { recursive: true, force: true });
  }
}
