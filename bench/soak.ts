/**
 * The soak run (`npm run soak [-- --tasks N --seconds S --kill-every S --concurrency N]`; the
 * same from `SOAK_TASKS`, `SOAK_SECONDS`, `SOAK_KILL_EVERY`, `SOAK_CONCURRENCY`, `SOAK_SEED`):
 * the built CLI (`npm run build` first) runs a plan of N tasks in a temporary git repository
 * with an agent that fails 30% of its attempts, stalls 5% (stallTimeout 2 s) and deletes its
 * own worktree 2% of the time; for S seconds orch is killed with SIGKILL about every
 * `kill-every` seconds and started again, then it is started until the run ends. Then it
 * checks: every task complete and merged exactly once (merge commits on the integration
 * branch), `orch replay --verify` passes, no process of any spawn is left, and prints orch's
 * peak memory. Exits 1 when a check fails. Defaults: 1000 tasks, 300 s, every 20 s.
 * Not part of `npm test`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RecordedEvent } from '../src/core/envelope.js';
import { replay } from '../src/core/replayer.js';
import { findProcessesByEnv } from '../src/runtime/system/find-processes.js';
import { openSqliteEventStore } from '../src/store/sqlite/open.js';

class UsageError extends Error {}

interface Options {
  tasks: number;
  seconds: number;
  killEvery: number;
  concurrency: number;
  seed: string;
  keep: boolean;
}

function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): Options {
  const num = (name: string, text: string | undefined, fallback: number): number => {
    if (text === undefined || text === '') return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || n < 0) throw new UsageError(`${name} must be a number ≥ 0 (got ${text})`);
    return n;
  };
  const flags = new Map<string, string>();
  let keep = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--keep') keep = true;
    else if (['--tasks', '--seconds', '--kill-every', '--concurrency', '--seed'].includes(arg)) {
      const value = argv[++i];
      if (value === undefined) throw new UsageError(`${arg} needs a value`);
      flags.set(arg, value);
    } else
      throw new UsageError(
        `unknown option ${arg} (use --tasks N, --seconds S, --kill-every S, --concurrency N, --seed X, --keep)`,
      );
  }
  const tasks = num('--tasks', flags.get('--tasks') ?? env['SOAK_TASKS'], 1000);
  if (!Number.isInteger(tasks) || tasks < 1) throw new UsageError('--tasks must be a whole number ≥ 1');
  return {
    tasks,
    seconds: num('--seconds', flags.get('--seconds') ?? env['SOAK_SECONDS'], 300),
    killEvery: num('--kill-every', flags.get('--kill-every') ?? env['SOAK_KILL_EVERY'], 20),
    concurrency: Math.max(1, num('--concurrency', flags.get('--concurrency') ?? env['SOAK_CONCURRENCY'], 8)),
    seed: flags.get('--seed') ?? env['SOAK_SEED'] ?? '1',
    keep,
  };
}

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = path.join(root, 'bin', 'run.js');
const soakAgent = path.join(root, 'test', 'fixtures', 'agents', 'soak.mjs');

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }).trim();
}

function taskIds(n: number): string[] {
  const width = String(n).length;
  return Array.from({ length: n }, (_, i) => `T${String(i + 1).padStart(width, '0')}`);
}

/** A repository on `main` with the plan (ten phases, no dependencies between them) and the config. */
function setup(dir: string, o: Options): string {
  const repo = path.join(dir, 'repo');
  fs.mkdirSync(repo, { recursive: true });
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'config', 'user.name', 'Soak');
  git(repo, 'config', 'user.email', 'soak@example.invalid');
  fs.writeFileSync(path.join(repo, 'README.md'), '# soak\n');
  fs.writeFileSync(path.join(repo, '.gitignore'), '.state/\n');
  git(repo, 'add', '--', 'README.md', '.gitignore');
  git(repo, 'commit', '-q', '-m', 'initial commit');
  const ids = taskIds(o.tasks);
  const phases = Math.min(10, ids.length);
  const per = Math.ceil(ids.length / phases);
  let yaml = 'name: Soak\nmilestones:\n  - id: M1\n    title: Everything\n    phases:\n';
  for (let p = 0; p < phases; p++) {
    const slice = ids.slice(p * per, (p + 1) * per);
    if (slice.length === 0) break;
    yaml += `      - id: S${p + 1}\n        title: Part ${p + 1}\n        tasks:\n`;
    for (const id of slice) yaml += `          - { id: ${id}, title: Work ${id}, role: dev }\n`;
  }
  fs.mkdirSync(path.join(repo, '.state', 'plans'), { recursive: true });
  fs.writeFileSync(path.join(repo, '.state', 'plans', 'plan.yaml'), yaml);
  const config = {
    maxConcurrent: o.concurrency,
    maxRetries: 1000,
    retryInterval: 0,
    stallTimeout: 2,
    agents: {
      default: { command: [process.execPath, soakAgent], env: { WORK_MS: '50-250', SOAK_SEED: o.seed } },
    },
  };
  fs.writeFileSync(path.join(repo, 'orch.config.json'), JSON.stringify(config, null, 2));
  return repo;
}

function readLog(repo: string): RecordedEvent[] {
  const file = path.join(repo, '.state', 'orch.db');
  if (!fs.existsSync(file)) return [];
  const store = openSqliteEventStore(file, { readonly: true });
  try {
    return [...store.readAll()];
  } finally {
    store.close();
  }
}

function rssOf(pid: number): number {
  try {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? 0 : Number(kb) * 1024;
  } catch {
    return 0;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The environment for the built CLI (NODE_ENV=test would make oclif warn). */
function cliEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['NODE_ENV'];
  return env;
}

interface RunEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
  killed: boolean;
  peakRss: number;
  stderr: string;
}

/** One `orch spawn`, SIGKILLed at `killAt` (ms since the epoch) if it is still running then. */
async function runOrch(repo: string, killAt: number | undefined): Promise<RunEnd> {
  const child: ChildProcess = spawn(process.execPath, [bin, 'spawn', '--repo', repo, '--quiet'], {
    cwd: repo,
    env: cliEnv(),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-8000)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let done = false;
  void exited.then(() => (done = true));
  let peakRss = 0;
  let killed = false;
  while (!done) {
    peakRss = Math.max(peakRss, rssOf(child.pid!));
    if (killAt !== undefined && Date.now() >= killAt && !killed) killed = child.kill('SIGKILL');
    await sleep(200);
  }
  const end = await exited;
  return { ...end, killed: killed && end.signal === 'SIGKILL', peakRss, stderr };
}

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2), process.env);
  if (!fs.existsSync(path.join(root, 'dist', 'cli', 'commands', 'spawn.js')))
    throw new UsageError('there is no build: run `npm run build` first');
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-soak-')));
  const repo = setup(dir, o);
  const t0 = Date.now();
  const say = (line: string) =>
    process.stderr.write(`[soak ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
  say(
    `${o.tasks} tasks, kill -9 about every ${o.killEvery} s for ${o.seconds} s, maxConcurrent ${o.concurrency}, in ${repo}`,
  );
  let kills = 0;
  let runs = 0;
  let peakRss = 0;
  const killPhaseEnd = t0 + o.seconds * 1000;
  let finished = false;
  // Kills while the kill phase lasts; each kill lands 50–150 % of killEvery after the start.
  while (!finished && Date.now() < killPhaseEnd && o.killEvery > 0) {
    const jitter = 0.5 + Math.random();
    const r = await runOrch(repo, Math.min(killPhaseEnd, Date.now() + o.killEvery * 1000 * jitter));
    runs++;
    peakRss = Math.max(peakRss, r.peakRss);
    if (r.killed) kills++;
    else if (r.code === 0) finished = true;
    else say(`orch exited ${r.code ?? r.signal}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    const events = readLog(repo);
    const state = replay(events);
    const complete = Object.values(state.tasks).filter((t) => t.value === 'complete').length;
    say(
      `run ${runs}: ${r.killed ? 'killed' : `exit ${r.code}`}; ${complete}/${o.tasks} complete, ${events.length} events`,
    );
  }
  // Then to the end, without kills (a few tries: a run may end on a transient error).
  for (let tries = 0; !finished && tries < 5; tries++) {
    const r = await runOrch(repo, undefined);
    runs++;
    peakRss = Math.max(peakRss, r.peakRss);
    finished = r.code === 0;
    say(
      `run ${runs} (no kill): exit ${r.code ?? r.signal}${finished ? '' : `: ${r.stderr.trim().slice(-500)}`}`,
    );
  }
  const wallS = (Date.now() - t0) / 1000;

  const problems: string[] = [];
  const events = readLog(repo);
  const state = replay(events);
  const ids = taskIds(o.tasks);
  const notDone = ids.filter((id) => state.tasks[id]?.value !== 'complete');
  if (notDone.length > 0)
    problems.push(`${notDone.length} tasks not complete: ${notDone.slice(0, 10).join(', ')}`);
  const merges = new Map<string, number>();
  for (const subject of git(repo, 'log', '--first-parent', '--merges', '--format=%s', 'integration').split(
    '\n',
  )) {
    const id = /^orch: merge task (\S+) /.exec(subject)?.[1];
    if (id !== undefined) merges.set(id, (merges.get(id) ?? 0) + 1);
  }
  const mergedWrong = ids.filter((id) => merges.get(id) !== 1);
  if (mergedWrong.length > 0)
    problems.push(
      `${mergedWrong.length} tasks not merged exactly once: ${mergedWrong
        .slice(0, 10)
        .map((id) => `${id}×${merges.get(id) ?? 0}`)
        .join(', ')}`,
    );
  const verify = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const c = spawn(process.execPath, [bin, 'replay', '--verify', '--repo', repo], { env: cliEnv() });
    let out = '';
    c.stdout.on('data', (b: Buffer) => (out += b.toString()));
    c.stderr.on('data', (b: Buffer) => (out += b.toString()));
    c.once('exit', (code) => resolve({ code, out }));
  });
  if (verify.code !== 0)
    problems.push(`orch replay --verify exited ${verify.code}: ${verify.out.trim().slice(-500)}`);
  const spawnIds = events
    .filter((e) => e.type === 'AgentSpawnRequested')
    .map((e) => (e.data as { spawnId: string }).spawnId);
  const left = spawnIds.flatMap((id) => findProcessesByEnv('ORCH_SPAWN_ID', id));
  if (left.length > 0) problems.push(`processes left behind: ${left.join(', ')}`);

  const count = (type: string) => events.filter((e) => e.type === type).length;
  const stalled = events.filter(
    (e) => e.type === 'AgentExited' && (e.data as { stalled?: unknown }).stalled !== undefined,
  ).length;
  // What the agent did, by the line it printed (recorded in each end's output tail).
  const tails = events
    .filter((e) => e.type === 'AgentExited')
    .map((e) => (e.data as { outputTail: string }).outputTail);
  const did = (text: string) => tails.filter((t) => t.includes(text)).length;
  // An agent whose worktree went while it ran is recorded lost with that reason (not exited).
  const lostReasons = events
    .filter((e) => e.type === 'AgentLost')
    .map((e) => {
      const reason = (e.data as { reason?: unknown }).reason;
      return typeof reason === 'string' ? reason : '';
    });
  const worktreeGone = lostReasons.filter((r) => r.includes('was deleted while it ran')).length;
  console.log(
    [
      `soak: ${o.tasks} tasks, ${notDone.length === 0 ? 'all' : o.tasks - notDone.length} complete, in ${wallS.toFixed(0)} s`,
      `  runs ${runs}, kill -9 ${kills}, events ${events.length}, spawns ${spawnIds.length}`,
      `  exits ${count('AgentExited')} (failed on purpose ${did('fails on purpose')}, stalled ${stalled}, ` +
        `deleted their worktree ${did('deletes its own worktree')}), lost ${count('AgentLost')} ` +
        `(worktree deleted while running ${worktreeGone}, orch killed ${lostReasons.length - worktreeGone}), spawn failures ${count('AgentSpawnFailed')}`,
      `  merges on integration: ${[...merges.values()].reduce((a, b) => a + b, 0)}, replay --verify exit ${verify.code}`,
      `  processes left: ${left.length}`,
      `  orch peak RSS: ${(peakRss / 2 ** 20).toFixed(0)} MiB`,
      problems.length === 0 ? 'soak: PASS' : `soak: FAIL\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    ].join('\n'),
  );
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone.
    }
  }
  if (o.keep || problems.length > 0) say(`kept ${dir}`);
  else fs.rmSync(dir, { recursive: true, force: true });
  return problems.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof UsageError ? `soak: ${err.message}` : err);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
