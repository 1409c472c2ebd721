import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/core/envelope.js';
import { findProcessesByEnv } from '../../src/runtime/system/find-processes.js';
import { isProcessGroupAlive, isSameProcessAlive } from '../../src/runtime/system/process-identity.js';
import { openSqliteEventStore } from '../../src/store/sqlite/open.js';
import { gitRepo, orchEnv, sleep } from '../fixtures/agents/e2e-repo.js';

// The built CLI (`npm run build` first): the lease, and what SIGINT/SIGTERM do to a run and its agents.
const bin = fileURLToPath(new URL('../../bin/run.js', import.meta.url));
const agent = (name: string) => fileURLToPath(new URL(`../fixtures/agents/${name}`, import.meta.url));

let dir: string;
let repo: string;
const children: ChildProcess[] = [];

function setup(command: string[], env: Record<string, string> = {}): void {
  repo = gitRepo(path.join(dir, 'repo'));
  fs.mkdirSync(path.join(repo, '.state', 'plans'), { recursive: true });
  fs.writeFileSync(
    path.join(repo, '.state', 'plans', 'plan.yaml'),
    `name: Signals
milestones:
  - id: M1
    title: One
    phases:
      - id: S1
        title: Two tasks
        tasks:
          - { id: T1, title: First, role: dev }
          - { id: T2, title: Second, role: dev }
`,
  );
  const config = { maxConcurrent: 2, maxRetries: 0, retryInterval: 0, agents: { default: { command, env } } };
  fs.writeFileSync(path.join(repo, 'orch.config.json'), JSON.stringify(config));
}

beforeEach(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-signals-e2e-')));
});

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const e of readLog().filter((x) => x.type === 'AgentSpawnRequested')) {
    for (const pid of findProcessesByEnv('ORCH_SPAWN_ID', (e.data as { spawnId: string }).spawnId)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone.
      }
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

function readLog(): RecordedEvent[] {
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
    // Still being created by the first run.
    return [];
  }
}

interface Run {
  child: ChildProcess;
  done: Promise<{ code: number | null; out: string }>;
}

function orchSpawn(...extra: string[]): Run {
  const child = spawn(process.execPath, [bin, 'spawn', '--repo', repo, '--quiet', ...extra], {
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

async function startedAgents(n: number): Promise<{ spawnId: string; pid: number; pidStartTime: string }[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const started = readLog().filter((e) => e.type === 'AgentStarted');
    if (started.length >= n) {
      return started.map((e) => {
        const d = e.data as { spawnId: string; pid: number; pidStartTime: number | string };
        return { spawnId: d.spawnId, pid: d.pid, pidStartTime: String(d.pidStartTime) };
      });
    }
    if (Date.now() > deadline) throw new Error(`fewer than ${n} agents started`);
    await sleep(20);
  }
}

it('a second orch spawn exits 3 naming the holder; SIGTERM stops the agents, records RunStopped, exits 130', async () => {
  setup([process.execPath, agent('hang.mjs')]);
  const first = orchSpawn();
  const agents = await startedAgents(2);
  const second = await orchSpawn().done;
  expect(second.code, second.out).toBe(3);
  expect(second.out).toContain(`pid ${first.child.pid}`);

  first.child.kill('SIGTERM');
  const r = await first.done;
  expect(r.code, r.out).toBe(130);
  for (const a of agents) {
    expect(isProcessGroupAlive(a.pid)).toBe(false);
    expect(findProcessesByEnv('ORCH_SPAWN_ID', a.spawnId)).toEqual([]);
  }
  const events = readLog();
  const stopped = events.filter((e) => e.type === 'RunStopped');
  expect(stopped).toHaveLength(1);
  expect((stopped[0]!.data as { reason: string }).reason).toContain('SIGTERM');
  // The stopped agents' ends are recorded before RunStopped.
  const ends = events.filter((e) => e.type === 'AgentExited');
  expect(ends.map((e) => (e.data as { signal: string | null }).signal)).toEqual(['SIGTERM', 'SIGTERM']);
  expect(Math.max(...ends.map((e) => e.position))).toBeLessThan(stopped[0]!.position);
});

it('SIGINT stops the run the same way', async () => {
  setup([process.execPath, agent('hang.mjs')]);
  const run = orchSpawn();
  const agents = await startedAgents(2);
  run.child.kill('SIGINT');
  const r = await run.done;
  expect(r.code, r.out).toBe(130);
  for (const a of agents) expect(isProcessGroupAlive(a.pid)).toBe(false);
  const stopped = readLog().filter((e) => e.type === 'RunStopped');
  expect((stopped[0]!.data as { reason: string }).reason).toContain('SIGINT');
});

it('--leave-agents leaves them running, and the next run re-attaches and records their real exits', async () => {
  setup([process.execPath, agent('tick.mjs')], { TICKS: '40', TICK_MS: '50', EXIT_CODE: '0' });
  const run = orchSpawn('--leave-agents');
  const agents = await startedAgents(2);
  run.child.kill('SIGINT');
  const r = await run.done;
  expect(r.code, r.out).toBe(130);
  for (const a of agents) expect(isSameProcessAlive(a.pid, a.pidStartTime)).toBe(true);
  expect(readLog().filter((e) => e.type === 'RunStopped')).toHaveLength(1);

  const next = await orchSpawn().done;
  expect(next.code, next.out).toBe(0);
  const events = readLog();
  // No new agent: the two left running finished the work.
  expect(events.filter((e) => e.type === 'AgentSpawnRequested')).toHaveLength(2);
  expect(events.filter((e) => e.type === 'AgentLost')).toEqual([]);
  const exits = events
    .filter((e) => e.type === 'AgentExited')
    .map((e) => e.data as { spawnId: string; exitCode: number });
  expect(exits.map((e) => e.spawnId).sort()).toEqual(agents.map((a) => a.spawnId).sort());
  expect(exits.every((e) => e.exitCode === 0)).toBe(true);
  const tail = (events.find((e) => e.type === 'AgentExited')!.data as { outputTail: string }).outputTail;
  expect(tail).toContain('tick 40');
  for (const a of agents) expect(findProcessesByEnv('ORCH_SPAWN_ID', a.spawnId)).toEqual([]);
});
