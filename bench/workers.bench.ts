/**
 * Throughput of `orch spawn --worker` with 1, 2 and 4 worker processes on one machine, over
 * one PostgreSQL log and one bare git remote (each worker in its own clone, merges pushed
 * to the remote's integration branch with a lease), on N no-op tasks (default 400;
 * `ORCH_BENCH_WORKER_TASKS=100` to try it quickly, `--quick`: 60). A worker count whose run
 * takes longer than `ORCH_BENCH_WORKER_LIMIT_S` (default 900) is stopped and reported so.
 *
 * The no-op agent is test/fixtures/agents/worker-commit.sh without a sleep: it writes
 * `<task>.txt`, `git add`s and commits it, and exits 0. Every task is independent (one phase,
 * no dependencies). Config per worker: maxConcurrent 8, workerTimeout 60, autoMerge, no
 * gates, no CI. Each worker count runs on a fresh database, a fresh bare remote and fresh
 * clones (test/e2e/workers-harness.ts).
 *
 * Figures: `workers.<n>.<N>-noop-tasks` in tasks/s beside the 1-worker figure of the same
 * run (ratio = speed-up; efficiency = speed-up / workers), and `workers.<n>.merged-once`:
 * how many of the N tasks have exactly one merge commit on the remote (goal: all).
 *
 * Where the time goes (printed after the table, on stderr): the worker processes' own CPU
 * and their children's (agents and git), the PostgreSQL server's CPU, the whole machine's
 * busy time (other work on the machine included), all against wall × cores; and from git's
 * own trace (trace2 events, one file per git process, on in every run alike): the pushes to
 * the integration branch — landed and refused by the lease — and the time spent in them.
 * orch drops `GIT_*` variables from git's environment, so the trace is switched on through
 * git's global config: the workers get `XDG_CONFIG_HOME` pointing at a `git/config` with
 * `trace2.eventTarget` (git reads it besides ~/.gitconfig).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { RecordedEvent } from '../src/core/envelope.js';
import {
  readLog,
  remoteMerges,
  startWorker,
  workerSetup,
  type WorkerProcess,
} from '../test/e2e/workers-harness.js';
import { findPostgresBin, startTestPostgres, type TestPostgres } from '../test/setup/postgres.js';
import type { BenchModule, BenchResult } from './types.js';

const WORKER_COUNTS = [1, 2, 4] as const;
const MAX_CONCURRENT = 8;
const CLK_TCK = 100;
const AGENT_SAYS =
  'agent: test/fixtures/agents/worker-commit.sh, no sleep (writes <task>.txt, git add, git commit, exit 0)';

/** N independent tasks in one phase. */
function flatPlan(tasks: number): string {
  const lines = [
    'name: Workers bench',
    'milestones:',
    '  - id: M1',
    '    title: All',
    '    phases:',
    '      - id: P1',
    '        title: Everything',
    '        tasks:',
  ];
  for (let i = 1; i <= tasks; i++) lines.push(`          - { id: T${i}, title: Task ${i}, role: dev }`);
  return `${lines.join('\n')}\n`;
}

/** utime, stime, cutime, cstime of a process in seconds, or undefined when it is gone. */
function procCpu(pid: number): { self: number; children: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // `rest` starts at field 3; utime, stime, cutime, cstime are fields 14-17.
    return {
      self: (Number(rest[11]) + Number(rest[12])) / CLK_TCK,
      children: (Number(rest[13]) + Number(rest[14])) / CLK_TCK,
    };
  } catch {
    return undefined;
  }
}

/** The machine's busy and total CPU time so far (all cores, seconds), from /proc/stat. */
function machineCpu(): { busy: number; total: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest is already in user).
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = f[3]! + f[4]!;
  return { busy: (total - idle) / CLK_TCK, total: total / CLK_TCK };
}

/**
 * The PostgreSQL server's CPU so far: the postmaster's own and its reaped children's
 * (finished backends), plus each live child's own.
 */
function postgresCpu(server: TestPostgres): number {
  try {
    const pid = Number(fs.readFileSync(path.join(server.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const master = procCpu(pid);
    if (master === undefined) return Number.NaN;
    let sum = master.self + master.children;
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
        const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(rest[1]) === pid) sum += (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
      } catch {
        // gone meanwhile
      }
    }
    return sum;
  } catch {
    return Number.NaN;
  }
}

/** CPU of this process's waited-for children (cutime + cstime), seconds. */
function reapedChildrenCpu(): number {
  return procCpu(process.pid)?.children ?? Number.NaN;
}

interface GitCall {
  argv: string[];
  seconds: number;
  code: number;
}

/** The top-level git processes traced into `dir` (GIT_TRACE2_EVENT), with argv, duration, exit code. */
function readGitTrace(dir: string): GitCall[] {
  const calls: GitCall[] = [];
  for (const name of fs.readdirSync(dir)) {
    let argv: string[] | undefined;
    let seconds = Number.NaN;
    let code = Number.NaN;
    let nested = false;
    for (const line of fs.readFileSync(path.join(dir, name), 'utf8').split('\n')) {
      if (line === '') continue;
      let e: { event?: string; sid?: string; argv?: string[]; t_abs?: number; code?: number };
      try {
        e = JSON.parse(line) as typeof e;
      } catch {
        continue; // a line cut short by a process that was killed
      }
      // A git started by git (push → receive-pack) has a sid "parent/child": not counted twice.
      if (e.sid?.includes('/')) nested = true;
      if (e.event === 'start') argv = e.argv;
      if (e.event === 'atexit' && typeof e.t_abs === 'number') {
        seconds = e.t_abs;
        code = e.code ?? Number.NaN;
      }
    }
    if (!nested && argv !== undefined) calls.push({ argv, seconds, code });
  }
  return calls;
}

/** The git subcommand of a call: the first argument after the `-c name=value` options. */
function command(call: GitCall): string | undefined {
  for (let i = 1; i < call.argv.length; i++) {
    if (call.argv[i] === '-c' || call.argv[i] === '-C') i++;
    else if (!call.argv[i]!.startsWith('-')) return call.argv[i];
  }
  return undefined;
}

/** Git time by subcommand, most first: [command, calls, seconds]. */
function byCommand(calls: readonly GitCall[]): [string, number, number][] {
  const sums = new Map<string, [number, number]>();
  for (const c of calls) {
    const key = command(c) ?? '?';
    const [n, s] = sums.get(key) ?? [0, 0];
    sums.set(key, [n + 1, s + (Number.isNaN(c.seconds) ? 0 : c.seconds)]);
  }
  return [...sums].map(([k, [n, s]]): [string, number, number] => [k, n, s]).sort((a, b) => b[2] - a[2]);
}

interface Run {
  workers: number;
  tasks: number;
  wallS: number;
  /** From the first worker's start to the last merge recorded in the log. */
  toLastMergeS: number;
  /** From spawning the processes to the first WorkerJoined. */
  startupS: number;
  /** Tasks/s between the 10th and the 90th percentile merge (start-up and tail left out). */
  steadyRate: number;
  mergedOnce: number;
  duplicates: string[];
  missing: string[];
  exits: string[];
  timedOut: boolean;
  pgTransactions: number;
  gitByCommand: [string, number, number][];
  perWorker: Map<string, number>;
  workerSelfCpuS: number;
  workerTreeCpuS: number;
  postgresCpuS: number;
  machineBusyS: number;
  machineTotalS: number;
  events: number;
  pushes: { landed: number; refused: number; landedS: number; refusedS: number };
  fetches: { count: number; seconds: number };
  gitCalls: number;
  gitS: number;
  agentGitCalls: number;
  mergeLatencyS: number;
  agentLifeS: number;
  loadBefore: number[];
  loadAfter: number[];
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

function pairDurations(events: readonly RecordedEvent[], from: string, to: string): number[] {
  const starts = new Map<string, number>();
  const durations: number[] = [];
  for (const e of events) {
    const d = e.data as { spawnId?: string; taskId?: string };
    const key = d.spawnId ?? d.taskId;
    if (key === undefined) continue;
    if (e.type === from) starts.set(key, Date.parse(e.recordedAt));
    else if (e.type === to && starts.has(key)) {
      durations.push((Date.parse(e.recordedAt) - starts.get(key)!) / 1000);
      starts.delete(key);
    }
  }
  return durations;
}

async function runWorkers(
  server: TestPostgres,
  workers: number,
  tasks: number,
  limitS: number,
): Promise<Run> {
  const url = server.createDatabase(`bench_workers_${workers}_${Date.now() % 1_000_000}`);
  const setup = workerSetup(url, flatPlan(tasks), {
    maxConcurrent: MAX_CONCURRENT,
    workerTimeout: 60,
  });
  try {
    const names = Array.from({ length: workers }, (_, i) => `w${i + 1}`);
    const clones = names.map((name) => setup.clone(name));
    for (const clone of clones) execFileSync('git', ['config', 'gc.auto', '0'], { cwd: clone });
    execFileSync('git', ['config', 'gc.auto', '0'], { cwd: setup.bare });
    const traceDir = path.join(setup.dir, 'git-trace');
    fs.mkdirSync(traceDir);
    const xdg = path.join(setup.dir, 'xdg');
    fs.mkdirSync(path.join(xdg, 'git'), { recursive: true });
    fs.writeFileSync(path.join(xdg, 'git', 'config'), `[trace2]\n\teventTarget = ${traceDir}\n`);

    const loadBefore = os.loadavg();
    const machine0 = machineCpu();
    const pg0 = postgresCpu(server);
    const reaped0 = reapedChildrenCpu();
    const t0 = Date.now();
    const procs: WorkerProcess[] = clones.map((clone, i) =>
      startWorker(clone, names[i]!, { XDG_CONFIG_HOME: xdg }),
    );
    // Each worker's own CPU, sampled until it exits (the last sample is at most 100 ms old).
    const lastSelf = new Map<string, number>();
    const sampler = setInterval(() => {
      for (const p of procs) {
        const cpu = p.child.pid === undefined ? undefined : procCpu(p.child.pid);
        if (cpu !== undefined) lastSelf.set(p.name, cpu.self);
      }
    }, 100);
    // A run that hangs is stopped (SIGTERM, then SIGKILL) and reported, not waited for forever.
    let timedOut = false;
    const guard = setTimeout(() => {
      timedOut = true;
      for (const p of procs) p.child.kill('SIGTERM');
      setTimeout(() => {
        for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
      }, 30_000).unref();
    }, limitS * 1000);
    const outcomes = await Promise.all(procs.map((p) => p.done));
    clearTimeout(guard);
    clearInterval(sampler);
    const wallS = (Date.now() - t0) / 1000;
    const reaped1 = reapedChildrenCpu();
    const pg1 = postgresCpu(server);
    const machine1 = machineCpu();
    const loadAfter = os.loadavg();

    const exits = outcomes.flatMap((o, i) =>
      o.code === 0
        ? []
        : [
            `${names[i]} exited ${o.code ?? o.signal}: ${JSON.stringify(o.stdout.trim().split('\n').at(-1) ?? '')}${o.stderr.trim() === '' ? '' : ` stderr: ${o.stderr.trim().split('\n').slice(-3).join(' | ')}`}`,
          ],
    );

    const merges = remoteMerges(setup.bare);
    const counts = new Map<string, number>();
    for (const task of merges) counts.set(task, (counts.get(task) ?? 0) + 1);
    const all = Array.from({ length: tasks }, (_, i) => `T${i + 1}`);
    const mergedOnce = all.filter((t) => counts.get(t) === 1).length;
    const duplicates = [...counts].filter(([, c]) => c > 1).map(([t, c]) => `${t}×${c}`);
    const missing = all.filter((t) => !counts.has(t));

    const events = readLog(url);
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    // Every worker has exited, so its backends have reported their statistics.
    const stats = await db.query<{ xacts: string }>(
      'SELECT (xact_commit + xact_rollback)::text AS xacts FROM pg_stat_database WHERE datname = current_database()',
    );
    await db.end();
    const pgTransactions = Number(stats.rows[0]?.xacts ?? Number.NaN);
    const workerOfRun = new Map<string, string>();
    for (const e of events)
      if (e.type === 'WorkerJoined') {
        const d = e.data as { runId: string; worker: string };
        workerOfRun.set(d.runId, d.worker);
      }
    const perWorker = new Map<string, number>(names.map((n) => [n, 0]));
    const mergeTimes: number[] = [];
    for (const e of events)
      if (e.type === 'BranchMerged') {
        mergeTimes.push(Date.parse(e.recordedAt));
        const who = workerOfRun.get(e.metadata.runId ?? '') ?? '?';
        perWorker.set(who, (perWorker.get(who) ?? 0) + 1);
      }
    mergeTimes.sort((a, b) => a - b);
    const firstJoin = Math.min(
      ...events.filter((e) => e.type === 'WorkerJoined').map((e) => Date.parse(e.recordedAt)),
    );
    const p10 = mergeTimes[Math.floor(mergeTimes.length * 0.1)];
    const p90 = mergeTimes[Math.floor(mergeTimes.length * 0.9)];
    const steadyCount = Math.floor(mergeTimes.length * 0.9) - Math.floor(mergeTimes.length * 0.1);
    const steadyRate =
      p10 !== undefined && p90 !== undefined && p90 > p10 ? steadyCount / ((p90 - p10) / 1000) : Number.NaN;

    const calls = readGitTrace(traceDir);
    const isIntegrationPush = (c: GitCall) =>
      command(c) === 'push' && c.argv.some((a) => a.endsWith(':refs/heads/integration'));
    const pushes = calls.filter(isIntegrationPush);
    const landed = pushes.filter((c) => c.code === 0);
    const refused = pushes.filter((c) => c.code !== 0);
    const fetches = calls.filter(
      (c) =>
        command(c) === 'fetch' &&
        c.argv.some((a) => a.endsWith('refs/heads/integration:refs/orch/remote/integration')),
    );
    const agentGit = calls.filter(
      (c) => c.argv.includes('commit') && c.argv.some((a) => a.endsWith(': done')),
    );
    const sum = (list: readonly GitCall[]) =>
      list.reduce((a, c) => a + (Number.isNaN(c.seconds) ? 0 : c.seconds), 0);
    const workerSelfCpuS = [...lastSelf.values()].reduce((a, b) => a + b, 0);

    return {
      workers,
      tasks,
      wallS,
      toLastMergeS: mergeTimes.length > 0 ? (mergeTimes.at(-1)! - t0) / 1000 : Number.NaN,
      startupS: (firstJoin - t0) / 1000,
      steadyRate,
      mergedOnce,
      duplicates,
      missing,
      exits,
      perWorker,
      workerSelfCpuS,
      workerTreeCpuS: reaped1 - reaped0,
      postgresCpuS: pg1 - pg0,
      machineBusyS: machine1.busy - machine0.busy,
      machineTotalS: machine1.total - machine0.total,
      events: events.length,
      pushes: {
        landed: landed.length,
        refused: refused.length,
        landedS: sum(landed),
        refusedS: sum(refused),
      },
      fetches: { count: fetches.length, seconds: sum(fetches) },
      gitCalls: calls.length,
      timedOut,
      pgTransactions,
      gitByCommand: byCommand(calls),
      gitS: sum(calls),
      agentGitCalls: agentGit.length,
      mergeLatencyS: mean(pairDurations(events, 'MergeRequested', 'BranchMerged')),
      agentLifeS: mean(pairDurations(events, 'AgentStarted', 'AgentExited')),
      loadBefore,
      loadAfter,
    };
  } finally {
    fs.rmSync(setup.dir, { recursive: true, force: true });
  }
}

function pad(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '))
    .join('\n');
}

function report(runs: readonly Run[], cores: number): string {
  const base = runs[0]!;
  const rate = (r: Run) => r.tasks / r.wallS;
  const f = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '-');
  const throughput = pad([
    ['workers', 'wall s', 'tasks/s', 'speed-up', 'efficiency', 'steady tasks/s', 'merged once', 'exits'],
    ...runs.map((r) => [
      String(r.workers),
      f(r.wallS),
      f(rate(r), 2),
      `${f(rate(r) / rate(base), 2)}x`,
      `${f((100 * rate(r)) / rate(base) / r.workers, 0)}%`,
      f(r.steadyRate, 2),
      `${r.mergedOnce}/${r.tasks}${r.duplicates.length > 0 ? ` dup ${r.duplicates.slice(0, 5).join(',')}` : ''}${r.missing.length > 0 ? ` missing ${r.missing.length}` : ''}`,
      r.timedOut
        ? `stopped after ${f(r.wallS, 0)} s`
        : r.exits.length === 0
          ? 'all 0'
          : `${r.exits.length} failed`,
    ]),
  ]);
  const cpu = pad([
    [
      'workers',
      'worker CPU s',
      'agents+git CPU s',
      'postgres CPU s',
      'CPU s/task',
      'pg xacts/task',
      'cores used',
      'machine busy',
      'of which other',
      'cores/(CPU/task)',
    ],
    ...runs.map((r) => {
      const ours = r.workerTreeCpuS + r.postgresCpuS;
      return [
        String(r.workers),
        f(r.workerSelfCpuS),
        f(r.workerTreeCpuS - r.workerSelfCpuS),
        f(r.postgresCpuS),
        f(ours / r.tasks, 3),
        f(r.pgTransactions / r.tasks, 1),
        f(ours / r.wallS, 2),
        `${f((100 * r.machineBusyS) / r.machineTotalS, 0)}%`,
        `${f((100 * Math.max(0, r.machineBusyS - ours)) / r.machineTotalS, 0)}%`,
        `${f(cores / (ours / r.tasks), 2)} tasks/s`,
      ];
    }),
  ]);
  const git = pad([
    [
      'workers',
      'pushes landed',
      'refused (lease)',
      's in landed',
      's in refused',
      'push s/wall',
      'fetches',
      's in fetches',
      'merge latency s',
      'agent life s',
      'git procs',
      'per worker merged',
    ],
    ...runs.map((r) => [
      String(r.workers),
      String(r.pushes.landed),
      String(r.pushes.refused),
      f(r.pushes.landedS),
      f(r.pushes.refusedS),
      `${f((100 * r.pushes.landedS) / r.wallS, 0)}%`,
      String(r.fetches.count),
      f(r.fetches.seconds),
      f(r.mergeLatencyS, 2),
      f(r.agentLifeS, 2),
      String(r.gitCalls),
      [...r.perWorker].map(([w, n]) => `${w}:${n}`).join(' '),
    ]),
  ]);
  const timing = pad([
    [
      'workers',
      'start-up s (to first join)',
      'to last merge s',
      'exit tail s',
      'events',
      'load before',
      'load after',
    ],
    ...runs.map((r) => [
      String(r.workers),
      f(r.startupS, 2),
      f(r.toLastMergeS),
      f(r.wallS - r.toLastMergeS, 2),
      String(r.events),
      r.loadBefore.map((l) => l.toFixed(2)).join(' '),
      r.loadAfter.map((l) => l.toFixed(2)).join(' '),
    ]),
  ]);
  const failures = runs.flatMap((r) => r.exits.map((e) => `  ${r.workers} workers: ${e}`));
  const notes = runs.map((r) => {
    const ours = r.workerTreeCpuS + r.postgresCpuS;
    const cpuPerTask = ours / r.tasks;
    const landedMean = r.pushes.landed > 0 ? r.pushes.landedS / r.pushes.landed : Number.NaN;
    const fetchMean = r.fetches.count > 0 ? r.fetches.seconds / r.fetches.count : Number.NaN;
    const lines = [
      `  ${r.workers} worker(s): ${f(rate(r), 2)} tasks/s = ${f(rate(r) / rate(base), 2)}x one worker (linear: ${r.workers}x, efficiency ${f((100 * rate(r)) / rate(base) / r.workers, 0)}%).`,
      `    CPU: ${f(cpuPerTask, 3)} s per task (workers ${f(r.workerSelfCpuS / r.tasks, 3)}, agents+git ${f((r.workerTreeCpuS - r.workerSelfCpuS) / r.tasks, 3)}, PostgreSQL ${f(r.postgresCpuS / r.tasks, 3)}): ${cores} cores allow at most ${f(cores / cpuPerTask, 2)} tasks/s with the machine to itself; it was busy ${f((100 * r.machineBusyS) / r.machineTotalS, 0)}% of the run, ${f((100 * Math.max(0, r.machineBusyS - ours)) / r.machineTotalS, 0)}% with work not from this bench.`,
      `    Merges: a landed push took ${f(landedMean, 3)} s and an integration fetch ${f(fetchMean, 3)} s on average; merges land one at a time, so they alone allow at most ${f(1 / (landedMean + fetchMean), 2)} tasks/s; ${r.pushes.refused} push(es) were refused by the lease (another worker moved the head first) and made again: ${f(r.pushes.refusedS)} s of git time.`,
      `    PostgreSQL: ${f(r.pgTransactions / r.tasks, 1)} transactions per task (${r.events} events in the log).`,
    ];
    lines.push(
      `    The bench got ${f(ours / r.wallS, 2)} of the ${cores} cores on average (its CPU / wall); at ${f(cpuPerTask, 3)} s per task that is the ${f(rate(r), 2)} tasks/s measured: the run is bound by the CPU it gets.`,
    );
    if (r.workers > 1)
      lines.push(
        `    Against one worker: worker CPU per task ${f(base.workerSelfCpuS / base.tasks, 3)} → ${f(r.workerSelfCpuS / r.tasks, 3)} s, PostgreSQL transactions per task ${f(base.pgTransactions / base.tasks, 1)} → ${f(r.pgTransactions / r.tasks, 1)}, refused pushes ${base.pushes.refused} → ${r.pushes.refused}.`,
      );
    return lines.join('\n');
  });
  return [
    '',
    `workers bench: ${base.tasks} no-op tasks, maxConcurrent ${MAX_CONCURRENT} per worker, one PostgreSQL log, one bare remote`,
    `  ${AGENT_SAYS}`,
    `  machine: ${cores} cores (os.availableParallelism), ${os.cpus()[0]?.model ?? '?'}; PostgreSQL fsync off`,
    '',
    throughput,
    '',
    'Where the CPU goes (worker CPU: the orch worker processes themselves; agents+git: everything they started;',
    'machine busy: all cores, other work on the machine included; cores used: the bench CPU / wall;',
    'cores/(CPU/task): the rate the cores allow at that CPU cost):',
    cpu,
    '',
    'The remote integration branch serialises merges (a push lands only on the head it was made on):',
    git,
    '',
    timing,
    'git time by command (all workers and agents; calls, seconds):',
    ...runs.map(
      (r) =>
        `  ${r.workers}: ${r.gitByCommand
          .slice(0, 8)
          .map(([c, n, s]) => `${c} ${n}/${f(s)}s`)
          .join(', ')}`,
    ),
    ...(failures.length > 0 ? ['', 'worker failures:', ...failures] : []),
    '',
    'Notes (from the figures above):',
    ...notes,
    '',
  ].join('\n');
}

const workersBench: BenchModule = async ({ quick }) => {
  if (findPostgresBin() === undefined) {
    process.stderr.write('workers: PostgreSQL is not installed here (apt-get install postgresql); skipped\n');
    return [];
  }
  const fromEnv = process.env['ORCH_BENCH_WORKER_TASKS'];
  const tasks = fromEnv !== undefined ? Number(fromEnv) : quick ? 60 : 400;
  if (!Number.isInteger(tasks) || tasks < 1)
    throw new Error(`ORCH_BENCH_WORKER_TASKS must be a positive integer, got ${JSON.stringify(fromEnv)}`);
  const limitText = process.env['ORCH_BENCH_WORKER_LIMIT_S'];
  const limitS = limitText !== undefined ? Number(limitText) : 900;
  if (!(limitS > 0))
    throw new Error(
      `ORCH_BENCH_WORKER_LIMIT_S must be a positive number of seconds, got ${JSON.stringify(limitText)}`,
    );
  const cores = os.availableParallelism();
  const server = await startTestPostgres();
  const runs: Run[] = [];
  try {
    for (const workers of WORKER_COUNTS) {
      process.stderr.write(`  ${workers} worker(s), ${tasks} no-op tasks...\n`);
      const run = await runWorkers(server, workers, tasks, limitS);
      process.stderr.write(
        `    ${run.wallS.toFixed(1)} s, ${(tasks / run.wallS).toFixed(2)} tasks/s, merged once ${run.mergedOnce}/${tasks}${run.exits.length > 0 ? `, ${run.exits.length} worker(s) failed` : ''}\n`,
      );
      runs.push(run);
    }
  } finally {
    server.stop();
  }
  process.stderr.write(report(runs, cores));
  const base = tasks / runs[0]!.wallS;
  return runs.flatMap((r): BenchResult[] => {
    const rate = r.tasks / r.wallS;
    return [
      {
        name: `workers.${r.workers}.${tasks}-noop-tasks`,
        unit: 'tasks/s',
        value: rate,
        baseline: r.workers === 1 ? null : base,
        ratio: r.workers === 1 ? null : rate / base,
        better: 'higher',
        baselineName: `1 worker, same run (linear: ${r.workers}x); ${AGENT_SAYS}`,
      },
      {
        name: `workers.${r.workers}.merged-once`,
        unit: 'tasks',
        value: r.mergedOnce,
        baseline: null,
        ratio: null,
        better: 'higher',
        goal: `= ${tasks}`,
        met: r.mergedOnce === tasks && r.duplicates.length === 0,
        baselineName: 'merge commits on the remote integration branch, one per task',
      },
      {
        name: `workers.${r.workers}.clean-exits`,
        unit: 'workers',
        value: r.workers - r.exits.length,
        baseline: null,
        ratio: null,
        better: 'higher',
        goal: `= ${r.workers}`,
        met: r.exits.length === 0,
        baselineName: 'worker processes that exited 0 once every task was merged',
      },
    ];
  });
};

export default workersBench;
