/**
 * `orch serve` following a busy run, against the terminal dashboard (`orch status --watch`)
 * following the same run: CPU time of each process (from `/proc/<pid>/stat`) over the same
 * window, as a share of one core. The built binary runs both (`npm run build` first).
 *
 * The run: 50 tasks with 50 live agents, each agent's output file growing by a line every
 * 200 ms, and 10 events a second appended to the log (agents reporting). `orch serve` has
 * one page's worth of client: the event stream, and on every new position the report data
 * and the status document fetched as the page does. The dashboard runs on a terminal
 * (`script` gives it one), so it redraws on every change as a person sees it. No goal: the
 * figures say what following a run in a browser costs beside the terminal dashboard.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OrchEventData, OrchEventType } from '../src/core/events.js';
import { EVENT_INFO, streamIds } from '../src/core/events.js';
import { agentLogPath } from '../src/runtime/system/state-paths.js';
import { openSqliteEventStore } from '../src/store/index.js';
import type { EventStore } from '../src/store/index.js';
import { makePlan } from './replay.bench.js';
import type { BenchModule, BenchResult } from './types.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'run.js');
const AGENTS = 50;
/** Clock ticks per second of `/proc/<pid>/stat` (USER_HZ, 100 on Linux). */
const TICK = 100;

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK;
}

function append<T extends OrchEventType>(store: EventStore, type: T, data: OrchEventData<T>): void {
  const d = data as Record<string, string>;
  const stream =
    EVENT_INFO[type].stream === 'run'
      ? streamIds.run('bench')
      : EVENT_INFO[type].stream === 'plan'
        ? streamIds.plan()
        : EVENT_INFO[type].stream === 'phase'
          ? streamIds.phase(d['phaseId']!)
          : streamIds.task(d['taskId'] ?? spawnTask.get(d['spawnId']!)!);
  store.append(stream, [
    { id: `${type}-${Math.random()}`, type, data, metadata: { actor: 'orch', runId: 'bench' } },
  ]);
}
const spawnTask = new Map<string, string>();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const bench: BenchModule = async ({ quick }) => {
  if (!fs.existsSync(path.join(root, 'dist', 'cli', 'commands', 'serve.js'))) {
    throw new Error('dist/cli/commands/serve.js is missing: run `npm run build` before this bench');
  }
  const seconds = quick ? 8 : 20;
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-serve-bench-')));
  const repo = path.join(dir, 'repo');
  const stateDir = path.join(repo, '.state');
  fs.mkdirSync(stateDir, { recursive: true });
  const children: ChildProcess[] = [];
  const store = openSqliteEventStore(path.join(stateDir, 'orch.db'), { durability: 'normal' });
  try {
    const plan = makePlan(2);
    for (const p of plan.phases) p.dependsOn = [];
    for (const t of plan.tasks) t.dependsOn = [];
    const now = () => new Date().toISOString();
    append(store, 'RunStarted', { runId: 'bench', pid: process.pid, startedAt: now(), config: {} });
    append(store, 'PlanLoaded', { plan });
    for (const p of plan.phases) append(store, 'PhaseUnblocked', { phaseId: p.id });
    for (const t of plan.tasks) append(store, 'TaskUnblocked', { taskId: t.id, reason: 'dependencies' });
    for (const p of plan.phases) append(store, 'PhaseStarted', { phaseId: p.id });
    const spawns = plan.tasks.slice(0, AGENTS).map((t, i) => {
      const spawnId = `bench-spawn-${i}`;
      spawnTask.set(spawnId, t.id);
      append(store, 'AgentSpawnRequested', {
        spawnId,
        taskId: t.id,
        attempt: 1,
        role: t.role,
        command: ['agent'],
        workspace: repo,
      });
      append(store, 'AgentStarted', { spawnId, pid: process.pid, pidStartTime: null, startedAt: now() });
      const file = agentLogPath(stateDir, t.id, 1);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, `agent ${i} starting\n`);
      return { spawnId, file };
    });

    const env = { ...process.env };
    delete env['NODE_ENV'];
    const tokenFile = path.join(dir, 'token');
    fs.writeFileSync(tokenFile, 'bench-token-0123456789abcdef');
    const server = spawn(process.execPath, [bin, 'serve', '--repo', repo, '--token-file', tokenFile], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(server);
    let printed = '';
    server.stdout.on('data', (c: Buffer) => (printed += c.toString()));
    // The dashboard on a terminal: `script` runs it on a pseudo-terminal (its output is discarded).
    const watch = spawn(
      'script',
      ['-qfec', `exec ${process.execPath} ${bin} status --watch --repo ${repo}`, '/dev/null'],
      { env: { ...env, COLUMNS: '160', LINES: '60' }, stdio: ['pipe', 'ignore', 'ignore'] },
    );
    children.push(watch);
    let origin = '';
    for (let i = 0; i < 200 && origin === ''; i++) {
      await sleep(100);
      origin = /open (http:\/\/127\.0\.0\.1:\d+)\//.exec(printed)?.[1] ?? '';
    }
    if (origin === '') throw new Error(`orch serve printed no URL: ${printed}`);
    const watchPid = Number(
      fs.readFileSync(`/proc/${watch.pid}/task/${watch.pid}/children`, 'utf8').trim().split(' ')[0],
    );
    if (!Number.isInteger(watchPid) || watchPid <= 0) throw new Error('could not find the dashboard process');

    // One page's worth of client: the stream, and the page's fetches on every new position.
    const headers = { authorization: 'Bearer bench-token-0123456789abcdef' };
    const stop = new AbortController();
    let fetches = 0;
    const client = (async () => {
      const res = await fetch(`${origin}/api/events?token=bench-token-0123456789abcdef`, {
        signal: stop.signal,
      });
      const reader = res.body!.getReader();
      let text = '';
      let shown = -1;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += new TextDecoder().decode(value);
        const updates = [...text.matchAll(/data: (\{.*\})\n\n/g)];
        text = text.slice(text.lastIndexOf('\n\n') + 2);
        const last = updates.at(-1);
        if (last === undefined) continue;
        const position = (JSON.parse(last[1]!) as { position: number }).position;
        if (position === shown) continue;
        shown = position;
        await (await fetch(`${origin}/api/report`, { headers })).arrayBuffer();
        await (await fetch(`${origin}/api/status?to=${position}`, { headers })).arrayBuffer();
        fetches += 1;
      }
    })().catch((err: unknown) => {
      if (!stop.signal.aborted) throw err;
    });

    await sleep(3000); // both have opened the log and drawn once
    const serve0 = cpuSeconds(server.pid!);
    const watch0 = cpuSeconds(watchPid);
    const start = performance.now();
    let n = 0;
    while (performance.now() - start < seconds * 1000) {
      // 10 events a second; every agent's output grows by a line every 200 ms.
      const s = spawns[n % AGENTS]!;
      append(store, 'BreakpointReported', {
        spawnId: s.spawnId,
        kind: 'blocked',
        on: ['person'],
        summary: `step ${n}`,
      });
      if (n % 2 === 0) for (const a of spawns) fs.appendFileSync(a.file, `line ${n}\n`);
      n += 1;
      await sleep(100);
    }
    const wall = (performance.now() - start) / 1000;
    const serveCpu = (cpuSeconds(server.pid!) - serve0) / wall;
    const watchCpu = (cpuSeconds(watchPid) - watch0) / wall;
    stop.abort();
    await client;
    if (fetches === 0) throw new Error('the bench client never saw the log move');
    const result: BenchResult = {
      name: `serve: CPU following ${AGENTS} live agents, ${n} events in ${wall.toFixed(0)} s, one page (${fetches} refreshes)`,
      unit: '% of a core',
      value: serveCpu * 100,
      baseline: watchCpu * 100,
      ratio: watchCpu === 0 ? null : serveCpu / watchCpu,
      better: 'lower',
      baselineName: 'orch status --watch on a terminal, following the same run',
    };
    return [result];
  } finally {
    store.close();
    for (const c of children) {
      if (c.exitCode === null) {
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGTERM');
        await Promise.race([exited, sleep(5000)]);
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
};

export default bench;
