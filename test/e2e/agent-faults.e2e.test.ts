import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/core/envelope.js';
import { replay } from '../../src/core/replayer.js';
import { readAgentExit } from '../../src/runtime/agents/runner.js';
import { findProcessesByEnv } from '../../src/runtime/system/find-processes.js';
import { agentLogPath } from '../../src/runtime/system/state-paths.js';
import { openSqliteEventStore } from '../../src/store/sqlite/open.js';
import { git, gitRepo, ORCH_BIN, orchEnv, sleep } from '../fixtures/agents/e2e-repo.js';

// Agents that misbehave against their own processes, under the built CLI (`npm run build` first):
// orch survives them, records how each attempt ended, and leaves no process behind.
const agent = (name: string) => fileURLToPath(new URL(`../fixtures/agents/${name}`, import.meta.url));

let dir: string;
let repo: string;
const children: ChildProcess[] = [];

beforeEach(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-agent-faults-e2e-')));
});

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  // Whatever a failed assertion left running must not outlive the test.
  for (const id of spawnIds(readLog())) for (const pid of findProcessesByEnv('ORCH_SPAWN_ID', id)) kill(pid);
  for (const pid of markedProcesses(path.basename(dir))) kill(pid);
  fs.rmSync(dir, { recursive: true, force: true });
});

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone.
  }
}

function setup(tasks: string[], config: Record<string, unknown>): void {
  repo = gitRepo(path.join(dir, 'repo'));
  fs.mkdirSync(path.join(repo, '.state', 'plans'), { recursive: true });
  const lines = tasks.map((id) => `          - { id: ${id}, title: Task ${id}, role: dev }`).join('\n');
  fs.writeFileSync(
    path.join(repo, '.state', 'plans', 'plan.yaml'),
    `name: Faults\nmilestones:\n  - id: M1\n    title: One\n    phases:\n      - id: S1\n        title: All\n        tasks:\n${lines}\n`,
  );
  fs.writeFileSync(path.join(repo, 'orch.config.json'), JSON.stringify({ retryInterval: 0, ...config }));
}

function readLog(): RecordedEvent[] {
  if (repo === undefined) return [];
  const file = path.join(repo, '.state', 'orch.db');
  if (!fs.existsSync(file)) return [];
  try {
    const store = openSqliteEventStore(file, { readonly: true });
    try {
      return [...store.readAll()];
    } finally {
      store.close();
    }
  } catch {
    return [];
  }
}

function spawnIds(events: RecordedEvent[]): string[] {
  return events
    .filter((e) => e.type === 'AgentSpawnRequested')
    .map((e) => (e.data as { spawnId: string }).spawnId);
}

/** Pids of live processes whose argv contains `marker`. */
function markedProcesses(marker: string): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const state = /^State:\s+(\S)/m.exec(fs.readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1];
      if (argv.includes(marker) && state !== 'Z') out.push(Number(entry));
    } catch {
      // Gone.
    }
  }
  return out;
}

/** Resident memory of a process in bytes (VmRSS), or undefined once it is gone. */
function rssOf(pid: number): number | undefined {
  try {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

interface Run {
  child: ChildProcess;
  done: Promise<{ code: number | null; out: string }>;
}

function orchSpawn(): Run {
  const child = spawn(process.execPath, [ORCH_BIN, 'spawn', '--repo', repo, '--quiet'], {
    cwd: repo,
    env: orchEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  return { child, done: new Promise((resolve) => child.once('exit', (code) => resolve({ code, out }))) };
}

function data<T>(events: RecordedEvent[], type: string): T[] {
  return events.filter((e) => e.type === type).map((e) => e.data as T);
}

function merges(task: string): number {
  const subjects = git(repo, 'log', '--first-parent', '--merges', '--format=%s', 'integration').split('\n');
  return subjects.filter((s) => s.startsWith(`orch: merge task ${task} `)).length;
}

it('an agent that SIGKILLs its own process group: orch survives, records each end, retries per maxRetries', async () => {
  setup(['T1', 'T2'], {
    maxConcurrent: 2,
    maxRetries: 2,
    agents: {
      default: {
        command: [process.execPath, agent('kill-group.mjs')],
        // T1: killed twice, then done on its third attempt; T2 is never done (3 attempts in all).
        env: { KILL_TIMES: '2', WORK_MS: '50' },
      },
      other: { command: [process.execPath, agent('kill-group.mjs')], env: { KILL_TIMES: '99' } },
    },
  });
  // T2 runs as role `other`, which kills its group on every attempt.
  const plan = path.join(repo, '.state', 'plans', 'plan.yaml');
  fs.writeFileSync(plan, fs.readFileSync(plan, 'utf8').replace('Task T2, role: dev', 'Task T2, role: other'));
  const run = orchSpawn();
  const r = await run.done;
  // orch itself ended normally (an exit code, not a signal) and said why: T2 failed.
  expect(r.code, r.out).not.toBeNull();
  expect(r.code, r.out).not.toBe(0);

  const events = readLog();
  const exits = data<{ spawnId: string; exitCode: number | null; signal: string | null }>(
    events,
    'AgentExited',
  );
  const requested = data<{ spawnId: string; taskId: string; attempt: number }>(events, 'AgentSpawnRequested');
  const taskOf = new Map(requested.map((q) => [q.spawnId, q]));
  const endsOf = (task: string) =>
    exits
      .filter((e) => taskOf.get(e.spawnId)?.taskId === task)
      .map((e) => `${taskOf.get(e.spawnId)!.attempt}:${e.signal ?? e.exitCode}`)
      .sort();
  expect(endsOf('T1')).toEqual(['1:SIGKILL', '2:SIGKILL', '3:0']);
  expect(endsOf('T2')).toEqual(['1:SIGKILL', '2:SIGKILL', '3:SIGKILL']);
  expect(events.filter((e) => e.type === 'AgentLost')).toEqual([]);
  const state = replay(events);
  expect(state.tasks['T1']?.value).toBe('complete');
  expect(state.tasks['T2']?.value).toBe('failed');
  expect(merges('T1')).toBe(1);
  expect(spawnIds(events).flatMap((id) => findProcessesByEnv('ORCH_SPAWN_ID', id))).toEqual([]);
  expect(markedProcesses('orch-test-sleeper').filter((pid) => isOurs(pid))).toEqual([]);
}, 120_000);

/** A process started from this test's repository (its cwd is under it). */
function isOurs(pid: number): boolean {
  try {
    return fs.readlinkSync(`/proc/${pid}/cwd`).startsWith(dir);
  } catch {
    return false;
  }
}

it('an agent that leaves a daemon (double fork, new session, ignores SIGHUP/SIGTERM): the daemon does not outlive the attempt', async () => {
  const pidDir = path.join(dir, 'daemons');
  const marker = `orch-test-daemon-${path.basename(dir)}`;
  setup(['T1', 'T2'], {
    maxConcurrent: 2,
    maxRetries: 0,
    agents: {
      default: {
        command: [process.execPath, agent('daemon.mjs')],
        // T1 reports `orch signal complete` before it exits 0; T2 just exits 0.
        env: { DAEMON_PID_DIR: pidDir, DAEMON_MARKER: marker, WORK_MS: '50', SIGNAL_COMPLETE: 'T1' },
      },
    },
  });
  const r = await orchSpawn().done;
  expect(r.code, r.out).toBe(0);
  const events = readLog();
  expect(data(events, 'BreakpointReported')).toHaveLength(1);
  for (const task of ['T1', 'T2']) expect(merges(task), task).toBe(1);
  const daemons = fs.readdirSync(pidDir).map(Number);
  expect(daemons).toHaveLength(2);
  // Each daemon had left its agent's process group and session; the pid files and the
  // marker in argv both say none is left.
  expect(markedProcesses(marker)).toEqual([]);
  for (const pid of daemons) expect(fs.existsSync(`/proc/${pid}`) && !isZombie(pid), String(pid)).toBe(false);
  expect(spawnIds(events).flatMap((id) => findProcessesByEnv('ORCH_SPAWN_ID', id))).toEqual([]);
}, 120_000);

function isZombie(pid: number): boolean {
  try {
    return /^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}

it('an agent that prints 1 GiB: orch stays small, the log on disk is rotated at agentLogMaxMB, nothing left', async () => {
  const mib = 1024;
  const capMiB = 16;
  setup(['T1'], {
    maxRetries: 0,
    agentLogMaxMB: capMiB,
    agents: { default: { command: [process.execPath, agent('flood.mjs')], env: { FLOOD_MB: String(mib) } } },
  });
  const run = orchSpawn();
  const orchPid = run.child.pid!;
  let orchPeak = 0;
  let wrapperPeak = 0;
  let wrapperPid: number | undefined;
  let samples = 0;
  let finished = false;
  const sampling = (async () => {
    while (!finished) {
      orchPeak = Math.max(orchPeak, rssOf(orchPid) ?? 0);
      wrapperPid ??= data<{ pid: number }>(readLog(), 'AgentStarted')[0]?.pid;
      if (wrapperPid !== undefined) wrapperPeak = Math.max(wrapperPeak, rssOf(wrapperPid) ?? 0);
      samples++;
      await sleep(50);
    }
  })();
  const r = await run.done;
  finished = true;
  await sampling;
  expect(r.code, r.out).not.toBeNull();

  const events = readLog();
  const [exit] = data<{ spawnId: string; exitCode: number | null; outputTail: string }>(
    events,
    'AgentExited',
  );
  expect(exit?.exitCode).toBe(0);
  // The last line comes after the flood settles (flood.mjs): the newest output is what rotation keeps.
  expect(exit?.outputTail.endsWith('flood finished\n')).toBe(true);
  const logFile = agentLogPath(path.join(repo, '.state'), 'T1', 1);
  const expected = mib * 1024 * 1024 + 'flood finished\n'.length;
  // orch rotates the log at the cap while the agent writes it (see runner.int.test.ts): what
  // passes a quarter over the cap during a copy is dropped and counted; a write in flight at
  // the instant of a truncation is lost uncounted (allowed: 5%).
  const status = readAgentExit(logFile, exit!.spawnId)!;
  expect(status.rotations ?? 0).toBeGreaterThanOrEqual(2);
  expect(status.outputBytes).toBeLessThanOrEqual(expected);
  expect(status.outputBytes).toBeGreaterThanOrEqual(expected * 0.95);
  // On disk: the current log and the one rotated before it (and the rotation count).
  const onDisk = fs
    .readdirSync(path.dirname(logFile))
    .filter((f) => f.startsWith('1.log') && !f.endsWith('.rot'))
    .map((f) => fs.statSync(path.join(path.dirname(logFile), f)).size);
  expect(onDisk.length).toBe(2);
  for (const size of onDisk) expect(size).toBeLessThanOrEqual(capMiB * 1.25 * 1024 * 1024);
  console.log(
    `agent-faults flood: ${mib} MiB printed, ${onDisk.reduce((a, b) => a + b, 0)} bytes kept on disk; ` +
      `peak RSS orch ${(orchPeak / 2 ** 20).toFixed(0)} MiB, wrapper ${(wrapperPeak / 2 ** 20).toFixed(0)} MiB (${samples} samples)`,
  );
  expect(samples).toBeGreaterThan(3);
  expect(orchPeak).toBeGreaterThan(0);
  expect(orchPeak).toBeLessThan(300 * 2 ** 20);
  expect(wrapperPeak).toBeLessThan(300 * 2 ** 20);
  expect(spawnIds(events).flatMap((id) => findProcessesByEnv('ORCH_SPAWN_ID', id))).toEqual([]);
}, 300_000);
