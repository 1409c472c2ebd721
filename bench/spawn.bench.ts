import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { OrchestratorConfigSchema } from '../src/core/config.js';
import { WorkspaceManager } from '../src/runtime/git/workspace.js';
import { Orchestrator } from '../src/runtime/orchestrator/orchestrator.js';
import { closeSpawnProcess, spawnProcessCpu, useSpawnProcess } from '../src/runtime/system/spawn-thread.js';
import type { BenchModule, BenchResult } from './types.js';

/**
 * The orchestrator loop's own cost, each figure beside a baseline measured in the
 * same run, back to back:
 *
 * - `spawn.<n>-commit-tasks.c20`: N tasks whose agent commits one file, maxConcurrent 20,
 *   through the whole orchestrator (log, worktree per task, merge per task). Baseline: a
 *   minimal shell script doing the same git work per task at the same concurrency
 *   (`git worktree add -b` under one `flock` — concurrent `worktree add`s race in git — the
 *   agent's `add` + `commit`, `merge --no-ff` in an integration worktree under another). orch
 *   runs as a user runs it: `node bin/run.js spawn` in the repository (`npm run build` first).
 *   Wall and CPU (orch: the CLI process and everything under it; the script: its children's
 *   times), the best of two alternated runs each. Goals: <= 1.3x wall, <= 1.5x CPU. Also
 *   printed: the same run of the Orchestrator inside the bench process (under tsx), as information.
 * - `spawn.<n>-noop-tasks.c20`: agents that do nothing (`true`) against a raw execa loop
 *   starting the same processes (information: the floor of starting a process).
 * - `live.<n>-agents`: N agents live at once (each sleeps 5 s, then commits), maxConcurrent
 *   N: wall against the script at the same concurrency, the time from the first agent's start
 *   to the N-th's (each agent stamps its start), and orch's own CPU (this process only).
 * - `linear.<n>-tasks.c50`: orch's own CPU per task (goal at the largest size: within 1.2x of
 *   200) and CPU per task with its children (no-op agents) at 200 tasks; 1,000 and 2,000 with
 *   `ORCH_BENCH_LARGE=1` (they take minutes on a small machine). Through the CLI, each size
 *   in a fresh process (`node bin/run.js spawn`, its own CPU from the exit hook).
 * - `merge.<n>-ready-branches`: merging N branches that each add one file, through
 *   `WorkspaceManager.mergeTask`, against a plain `git merge --no-ff` loop.
 */

const CONCURRENCY = 20;

/**
 * Directories of finished runs, removed when the whole bench is done, not between runs. On an
 * ext4 file system without a journal (as on the machines this was measured on), for a minute
 * or more after many files are deleted, every new file's inode allocation steps over the
 * recently freed ones (the kernel's `recently_deleted` check): removing one run's repository
 * (thousands of files) made the next run's file creations — git's, orch's and the script's
 * alike — up to ~40% of all CPU in `perf`, and whichever side ran next paid it.
 */
const leftovers: string[] = [];
function discard(dir: string): void {
  leftovers.push(dir);
}

const CLK_TCK = 100;

/** CPU seconds used so far by this process (self) and by its waited-for children (cumulative). */
function cpuNow(): { self: number; children: number } {
  const u = process.cpuUsage();
  let children = 0;
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 16 and 17 of /proc/<pid>/stat (cutime, cstime); `rest` starts at field 3.
    children = (Number(rest[13]) + Number(rest[14])) / CLK_TCK;
  } catch {
    children = Number.NaN; // not Linux: the CPU figures say NaN rather than lie
  }
  return { self: (u.user + u.system) / 1e6, children };
}

interface Measured {
  wallMs: number;
  cpuS: number;
  selfCpuS: number;
}

/** CPU seconds of the helper processes a run has ended (they start its git commands and agents). */
function helperCpuS(): number {
  const h = spawnProcessCpu();
  return (h.user + h.system) / 1e6;
}

async function measure(fn: () => Promise<void>): Promise<Measured> {
  const c0 = cpuNow();
  const h0 = helperCpuS();
  const t0 = performance.now();
  await fn();
  const wallMs = performance.now() - t0;
  const c1 = cpuNow();
  return {
    wallMs,
    cpuS: c1.self - c0.self + (c1.children - c0.children),
    // orch's own: this process's, and its helper's (the rest of the children are git and agents).
    selfCpuS: c1.self - c0.self + (helperCpuS() - h0),
  };
}

function makeRepo(n: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-bench-spawn-'));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'bench');
  git('config', 'user.email', 'bench@orch.invalid');
  git('config', 'gc.auto', '0');
  git('config', 'maintenance.auto', 'false');
  const tasks = Array.from(
    { length: n },
    (_, i) => `          - { id: T${i + 1}, title: task ${i + 1}, role: dev }`,
  );
  fs.writeFileSync(
    path.join(dir, 'plan.yaml'),
    `name: Bench\nmilestones:\n  - id: M1\n    title: All\n    phases:\n      - id: P1\n        title: Everything\n        dependsOn: []\n        tasks:\n${tasks.join('\n')}\n`,
  );
  fs.writeFileSync(path.join(dir, '.gitignore'), '.state/\n');
  git('add', '-A');
  git('commit', '-q', '-m', 'bench plan');
  return dir;
}

/** The agent's work in shell: optionally stamp the start and sleep, then commit one file. */
function agentScript(o: { stamps?: string; sleepS?: number }): string {
  const parts: string[] = [];
  if (o.stamps) parts.push(`date +%s%N > '${o.stamps}'/"$ORCH_TASK_ID"`);
  if (o.sleepS) parts.push(`sleep ${o.sleepS}`);
  parts.push(
    'echo "$ORCH_TASK_ID" > "f-$ORCH_TASK_ID" && git add -- "f-$ORCH_TASK_ID" && git commit -q -m "$ORCH_TASK_ID"',
  );
  return parts.join('; ');
}

/**
 * The fair baseline: the same git work per task, in shell. Each task: a worktree on a new
 * branch from the integration branch, the agent's commit, and a `--no-ff` merge in an
 * integration worktree under a lock; `xargs -P` keeps `concurrency` tasks going. The
 * script's CPU is what bash's `times` reports for its children.
 */
const SCRIPT = `
set -e
repo=$1; n=$2; c=$3; sleeps=$4; stamps=$5
cd "$repo"
git branch integration main
mkdir -p .state/sandbox
git worktree add -q .state/sandbox/.integration integration
one() {
  set -e
  i=$1
  wt=.state/sandbox/T$i
  flock .state/worktree.lock git worktree add -q --no-track -b "orch/T$i" "$wt" integration
  (
    cd "$wt"
    export ORCH_TASK_ID=T$i
    if [ -n "$stamps" ]; then date +%s%N > "$stamps/T$i"; fi
    if [ "$sleeps" != 0 ]; then sleep "$sleeps"; fi
    echo "$ORCH_TASK_ID" > "f-$ORCH_TASK_ID" && git add -- "f-$ORCH_TASK_ID" && git commit -q -m "$ORCH_TASK_ID"
  )
  flock .state/merge.lock git -C .state/sandbox/.integration merge -q --no-ff --no-edit -m "Merge T$i" "orch/T$i"
}
export -f one
export sleeps stamps
seq 1 "$n" | xargs -P "$c" -I{} bash -c 'one {}'
times
`;

/** bash's `times`: the second line is the children's user and system time. */
function parseTimes(out: string): number {
  const lines = out.trim().split('\n');
  const last = lines[lines.length - 1] ?? '';
  const secs = [...last.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  if (secs.length !== 2) throw new Error(`unexpected output of times: ${out}`);
  return secs[0]! + secs[1]!;
}

async function scriptRun(
  n: number,
  concurrency: number,
  o: { sleepS?: number; stamps?: string } = {},
): Promise<Measured> {
  const repo = makeRepo(0);
  try {
    const t0 = performance.now();
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(
        'bash',
        ['-c', SCRIPT, 'bench', repo, String(n), String(concurrency), String(o.sleepS ?? 0), o.stamps ?? ''],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) =>
        code === 0 ? resolve(stdout) : reject(new Error(`baseline script exited ${code}: ${stderr}`)),
      );
    });
    const wallMs = performance.now() - t0;
    const merged = execFileSync('git', ['rev-list', '--count', '--merges', 'integration'], { cwd: repo })
      .toString()
      .trim();
    if (Number(merged) !== n) throw new Error(`baseline script merged ${merged} of ${n}`);
    return { wallMs, cpuS: parseTimes(out), selfCpuS: 0 };
  } finally {
    discard(repo);
  }
}

async function rawLoop(n: number): Promise<number> {
  const start = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next += 1;
      await execa('true', [], { detached: true, stdin: 'ignore', reject: true });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return performance.now() - start;
}

async function orchRun(
  n: number,
  concurrency: number,
  command: string[],
  check: 'merged' | 'done' = 'done',
): Promise<Measured> {
  const repo = makeRepo(n);
  try {
    const config = OrchestratorConfigSchema.parse({
      planDir: 'plan.yaml',
      maxConcurrent: concurrency,
      retryInterval: 0,
      agents: { default: { command } },
    });
    let exit = 0;
    let reason = '';
    const m = await measure(async () => {
      const outcome = await new Orchestrator({ repoDir: repo, config }).run();
      exit = outcome.exitCode;
      reason = String(outcome.reason);
    });
    if (exit !== 0) throw new Error(`bench run did not complete: ${reason}`);
    if (check === 'merged') {
      const merged = execFileSync('git', ['rev-list', '--count', '--merges', 'integration'], { cwd: repo })
        .toString()
        .trim();
      if (Number(merged) !== n) throw new Error(`orch merged ${merged} of ${n}`);
    }
    return m;
  } finally {
    discard(repo);
  }
}

/** The built CLI, as a user runs it (`npm run build` first). */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(root, 'bin', 'run.js');

/**
 * `orch spawn` through the built CLI (`node bin/run.js spawn` in the repository, the config in
 * `orch.config.json`): wall time, CPU of the CLI process and everything under it (reaped into
 * this process's children times), and the CLI's own CPU (written by a `--import`ed hook at exit).
 */
async function cliRun(
  n: number,
  concurrency: number,
  command: string[],
  check: 'merged' | 'done' = 'merged',
): Promise<Measured> {
  if (!fs.existsSync(path.join(root, 'dist', 'cli', 'commands', 'spawn.js')))
    throw new Error('dist/cli/commands/spawn.js is missing: run `npm run build` before this bench');
  const repo = makeRepo(n);
  const cpuFile = path.join(repo, '.state-cpu.json');
  const hook = path.join(repo, '.cpu-at-exit.mjs');
  try {
    fs.writeFileSync(
      path.join(repo, 'orch.config.json'),
      JSON.stringify({
        planDir: 'plan.yaml',
        maxConcurrent: concurrency,
        retryInterval: 0,
        agents: { default: { command } },
      }),
    );
    fs.writeFileSync(
      hook,
      // orch's own CPU: its process, plus the helper process that starts its git commands and
      // agents (reported by orch when it ends the helper; see src/runtime/system/spawn-thread.ts).
      `import fs from 'node:fs';\nprocess.on('exit', () => { const u = process.cpuUsage(); const h = globalThis[Symbol.for('orch.spawnProcessCpu')] ?? { user: 0, system: 0 }; fs.writeFileSync(${JSON.stringify(cpuFile)}, JSON.stringify({ user: u.user + h.user, system: u.system + h.system })); });\n`,
    );
    execFileSync('git', ['add', 'orch.config.json'], { cwd: repo });
    execFileSync('git', ['commit', '-q', '-m', 'orch config'], { cwd: repo });
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
    delete env['NODE_ENV'];
    delete env['NODE_OPTIONS'];
    const c0 = cpuNow();
    const t0 = performance.now();
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', pathToFileURL(hook).href, BIN, 'spawn'], {
        cwd: repo,
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('exit', (c) =>
        c === 0 ? resolve(c) : reject(new Error(`orch spawn exited ${c}: ${stderr.slice(-500)}`)),
      );
    });
    const wallMs = performance.now() - t0;
    const c1 = cpuNow();
    if (code !== 0) throw new Error(`orch spawn exited ${code}`);
    if (check === 'merged') {
      const merged = execFileSync('git', ['rev-list', '--count', '--merges', 'integration'], { cwd: repo })
        .toString()
        .trim();
      if (Number(merged) !== n) throw new Error(`orch merged ${merged} of ${n}`);
    }
    const own = JSON.parse(fs.readFileSync(cpuFile, 'utf8')) as { user: number; system: number };
    return { wallMs, cpuS: c1.children - c0.children, selfCpuS: (own.user + own.system) / 1e6 };
  } finally {
    discard(repo);
  }
}

/** Milliseconds from the first stamp to the last (each agent's start, `date +%s%N`). */
function spread(stamps: string, n: number): number {
  const ns = fs.readdirSync(stamps).map((f) => BigInt(fs.readFileSync(path.join(stamps, f), 'utf8').trim()));
  if (ns.length !== n) throw new Error(`${ns.length} of ${n} agents stamped their start`);
  const min = ns.reduce((a, b) => (a < b ? a : b));
  const max = ns.reduce((a, b) => (a > b ? a : b));
  return Number(max - min) / 1e6;
}

/** A repository with `n` branches `orch/T<i>` off main, each adding one file (git fast-import). */
function makeBranches(n: number): string {
  const repo = makeRepo(0);
  const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo }).toString().trim();
  const blocks: string[] = [];
  for (let i = 1; i <= n; i++) {
    const body = `T${i}\n`;
    blocks.push(
      `commit refs/heads/orch/T${i}\ncommitter bench <bench@orch.invalid> 1700000000 +0000\ndata ${body.length}\n${body}from ${head}\nM 100644 inline f-T${i}\ndata ${body.length}\n${body}\n`,
    );
  }
  execFileSync('git', ['fast-import', '--quiet'], { cwd: repo, input: blocks.join('') });
  execFileSync('git', ['branch', 'integration', 'main'], { cwd: repo });
  return repo;
}

async function mergeOrch(n: number): Promise<Measured> {
  const repo = makeBranches(n);
  try {
    return await measure(async () => {
      // As in a run: git is started from the run's helper process (its start is measured too).
      useSpawnProcess();
      try {
        const ws = await WorkspaceManager.open({
          repoDir: repo,
          sandboxDir: '.state/sandbox',
          integrationBranch: 'integration',
          baseBranch: 'main',
        });
        for (let i = 1; i <= n; i++) {
          const r = await ws.mergeTask(`T${i}`, `Merge T${i}`);
          if (r.status !== 'merged') throw new Error(`T${i}: ${r.status}`);
        }
      } finally {
        await closeSpawnProcess();
      }
    });
  } finally {
    discard(repo);
  }
}

async function mergeLoop(n: number): Promise<Measured> {
  const repo = makeBranches(n);
  try {
    return await measure(async () => {
      await execa(
        'bash',
        [
          '-c',
          `set -e; git worktree add -q .state/sandbox/.integration integration; cd .state/sandbox/.integration
           for i in $(seq 1 ${n}); do git merge -q --no-ff --no-edit -m "Merge T$i" "orch/T$i"; done`,
        ],
        { cwd: repo },
      );
    });
  } finally {
    discard(repo);
  }
}

const ratio = (a: number, b: number) => a / b;

/** The best of several runs of one side, figure by figure (the least disturbed by the machine's drift). */
const best = (ms: readonly Measured[]): Measured => ({
  wallMs: Math.min(...ms.map((m) => m.wallMs)),
  cpuS: Math.min(...ms.map((m) => m.cpuS)),
  selfCpuS: Math.min(...ms.map((m) => m.selfCpuS)),
});

const runParts: BenchModule = async ({ quick }) => {
  const n = quick ? 40 : 200;
  const results: BenchResult[] = [];
  const commit = ['sh', '-c', agentScript({})];

  // ORCH_BENCH_SPAWN_PARTS=linear,merge runs only those parts (fair, noop, live, linear, merge).
  const only = process.env['ORCH_BENCH_SPAWN_PARTS']?.split(',').map((p) => p.trim());
  const want = (part: string) => only === undefined || only.includes(part);

  if (want('fair')) {
    // 1. The fair baseline: same git work per task, same concurrency.
    process.stderr.write(`  ${n} commit tasks: script, then orch\n`);
    await scriptRun(5, CONCURRENCY); // warm caches
    // Alternated, best of two each (quick: one): this machine's speed drifts by 2x over minutes,
    // and a single pair can land on either side of a drift.
    const scripts: Measured[] = [];
    const orchs: Measured[] = [];
    for (let round = 0; round < (quick ? 1 : 2); round++) {
      scripts.push(await scriptRun(n, CONCURRENCY));
      orchs.push(await cliRun(n, CONCURRENCY, commit));
    }
    // Information: the orchestrator in this process (under tsx, which transpiles what it loads).
    const inProcess = await orchRun(n, CONCURRENCY, commit, 'merged');
    const script = best(scripts);
    const orch = best(orchs);
    const baselineName = `shell script: worktree add -b, the agent's commit, flock'd merge --no-ff; xargs -P ${CONCURRENCY}`;
    results.push(
      {
        name: `spawn.${n}-commit-tasks.c${CONCURRENCY}.wall`,
        unit: 'ms',
        value: orch.wallMs,
        baseline: script.wallMs,
        ratio: ratio(orch.wallMs, script.wallMs),
        better: 'lower',
        goal: '<= 1.3x script',
        met: ratio(orch.wallMs, script.wallMs) <= 1.3,
        baselineName,
      },
      {
        name: `spawn.${n}-commit-tasks.c${CONCURRENCY}.cpu`,
        unit: 's',
        value: orch.cpuS,
        baseline: script.cpuS,
        ratio: ratio(orch.cpuS, script.cpuS),
        better: 'lower',
        goal: '<= 1.5x script',
        met: ratio(orch.cpuS, script.cpuS) <= 1.5,
        baselineName: `${baselineName} (CPU: orch process + children; script's children)`,
      },
      {
        name: `spawn.${n}-commit-tasks.c${CONCURRENCY}.orch-self-cpu`,
        unit: 's',
        value: orch.selfCpuS,
        baseline: orch.cpuS,
        ratio: ratio(orch.selfCpuS, orch.cpuS),
        better: 'lower',
        baselineName: 'orch total CPU (self + children), same run',
      },
      {
        name: `spawn.${n}-commit-tasks.c${CONCURRENCY}.in-process.wall (self ${inProcess.selfCpuS.toFixed(1)} s)`,
        unit: 'ms',
        value: inProcess.wallMs,
        baseline: script.wallMs,
        ratio: ratio(inProcess.wallMs, script.wallMs),
        better: 'lower',
        baselineName: 'the script (information: the Orchestrator in the bench process, under tsx)',
      },
    );
  }

  if (want('noop')) {
    // 2. Information: no-op agents against starting the same processes raw.
    process.stderr.write(`  ${n} no-op tasks: raw execa loop, then orch\n`);
    await rawLoop(10);
    const raw = await rawLoop(n);
    const noop = await orchRun(n, CONCURRENCY, ['true']);
    results.push({
      name: `spawn.${n}-noop-tasks.c${CONCURRENCY}`,
      unit: 'ms',
      value: noop.wallMs,
      baseline: raw,
      ratio: ratio(noop.wallMs, raw),
      better: 'lower',
      baselineName: `raw execa loop, ${n} × true, concurrency ${CONCURRENCY} (information)`,
    });
  }

  if (want('live')) {
    // 3. N agents live at once.
    process.stderr.write(`  ${n} agents live at once (sleep 5 s, commit): script, then orch\n`);
    const stampsScript = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-bench-stamps-'));
    const stampsOrch = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-bench-stamps-'));
    try {
      const liveScript = await scriptRun(n, n, { sleepS: 5, stamps: stampsScript });
      const liveOrch = await orchRun(
        n,
        n,
        ['sh', '-c', agentScript({ stamps: stampsOrch, sleepS: 5 })],
        'merged',
      );
      const sScript = spread(stampsScript, n);
      const sOrch = spread(stampsOrch, n);
      results.push(
        {
          name: `live.${n}-agents.wall`,
          unit: 'ms',
          value: liveOrch.wallMs,
          baseline: liveScript.wallMs,
          ratio: ratio(liveOrch.wallMs, liveScript.wallMs),
          better: 'lower',
          baselineName: `the shell script, xargs -P ${n}`,
        },
        {
          name: `live.${n}-agents.first-to-last-start`,
          unit: 'ms',
          value: sOrch,
          baseline: sScript,
          ratio: ratio(sOrch, sScript),
          better: 'lower',
          baselineName: `the shell script, xargs -P ${n}`,
        },
        {
          name: `live.${n}-agents.orch-self-cpu`,
          unit: 's',
          value: liveOrch.selfCpuS,
          baseline: liveScript.cpuS,
          ratio: ratio(liveOrch.selfCpuS, liveScript.cpuS),
          better: 'lower',
          baselineName: 'the shell script, total CPU of its children',
        },
      );
    } finally {
      discard(stampsScript);
      discard(stampsOrch);
    }
  }

  if (want('linear')) {
    // 4. Linear cost: CPU per task as the plan grows.
    const sizes = quick ? [40] : process.env['ORCH_BENCH_LARGE'] === '1' ? [200, 1000, 2000] : [200];
    let first: { total: number; self: number } | null = null;
    // Information: what a run costs whatever its size (start-up, plan, log, snapshots), which
    // the per-task figures include (it weighs most on the smallest run).
    const fixed = await cliRun(1, 50, ['true'], 'done');
    results.push({
      name: 'linear.1-noop-task.orch-self-cpu',
      unit: 'ms',
      value: fixed.selfCpuS * 1000,
      baseline: fixed.selfCpuS * 1000,
      ratio: 1,
      better: 'lower',
      baselineName: "orch's own CPU for a one-task run (its fixed cost; information)",
    });
    for (const size of sizes) {
      process.stderr.write(`  linear: ${size} no-op tasks, c50\n`);
      // Through the CLI, each size in a fresh process, as a user runs it: in this process the
      // earlier parts' heap (and tsx) would make the later sizes' forks dearer than orch's own.
      const m = await cliRun(size, 50, ['true'], 'done');
      const perTask = (m.cpuS / size) * 1000;
      const selfPerTask = (m.selfCpuS / size) * 1000;
      first ??= { total: perTask, self: selfPerTask };
      const largest = size === sizes[sizes.length - 1] && sizes.length > 1;
      results.push(
        {
          // The goal: orch's own process (deciding, folding, the plan index, the gardener, its forks).
          name: `linear.${size}-noop-tasks.c50.orch-self-cpu-per-task`,
          unit: 'ms',
          value: selfPerTask,
          baseline: first.self,
          ratio: ratio(selfPerTask, first.self),
          better: 'lower',
          ...(largest ? { goal: `<= 1.2x at ${sizes[0]}`, met: ratio(selfPerTask, first.self) <= 1.2 } : {}),
          baselineName: `orch's own CPU per task at ${sizes[0]} tasks, same run`,
        },
        {
          // Information: with orch's git and agent children (git worktree add reads every worktree).
          name: `linear.${size}-noop-tasks.c50.total-cpu-per-task`,
          unit: 'ms',
          value: perTask,
          baseline: first.total,
          ratio: ratio(perTask, first.total),
          better: 'lower',
          baselineName: `CPU per task with children at ${sizes[0]} tasks, same run`,
        },
      );
    }
  }

  if (want('merge')) {
    // 5. Merging N ready branches.
    process.stderr.write(`  merging ${n} ready branches: git loop, then orch (alternated, best of three)\n`);
    // A merge loop of 200 took 2.5 to 6.8 s on this project's machine between minutes: alternated
    // rounds, the best of each side (quick: one round).
    const loops: Measured[] = [];
    const orchMerges: Measured[] = [];
    for (let round = 0; round < (quick ? 1 : 3); round++) {
      loops.push(await mergeLoop(n));
      orchMerges.push(await mergeOrch(n));
    }
    const loop = best(loops);
    const merged = best(orchMerges);
    results.push(
      {
        name: `merge.${n}-ready-branches.wall`,
        unit: 'ms',
        value: merged.wallMs,
        baseline: loop.wallMs,
        ratio: ratio(merged.wallMs, loop.wallMs),
        better: 'lower',
        baselineName: 'bash loop of git merge --no-ff in a worktree of the integration branch',
      },
      {
        name: `merge.${n}-ready-branches.cpu`,
        unit: 's',
        value: merged.cpuS,
        baseline: loop.cpuS,
        ratio: ratio(merged.cpuS, loop.cpuS),
        better: 'lower',
        baselineName: 'bash loop of git merge --no-ff (CPU of bash and its children)',
      },
    );
  }
  return results;
};

const bench: BenchModule = async (options) => {
  try {
    return await runParts(options);
  } finally {
    for (const dir of leftovers.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  }
};

export default bench;
