/**
 * Set-up for the multi-worker tests: one throwaway PostgreSQL database (the shared log), one
 * bare remote, and N clones of it, each configured as a worker (`remote: origin`,
 * `store.url`, a scripted agent), plus readers of the outcome: the merges on the remote and
 * the log's events.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RecordedEvent } from '../../src/core/envelope.js';
import { openPostgresSyncStore } from '../../src/store/postgres/sync-store.js';
import { git, gitRepo, orchEnv } from '../fixtures/agents/e2e-repo.js';

export const AGENT = fileURLToPath(new URL('../fixtures/agents/worker-commit.sh', import.meta.url));
const ORCH_BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url));

/** A plan of `tasks` tasks in `phases` phases (each phase after the one before), every 5th task depending on the one before it. */
export function workerPlan(tasks: number, phases: number): string {
  const per = Math.ceil(tasks / phases);
  const lines = ['name: Workers', 'milestones:', '  - id: M1', '    title: All', '    phases:'];
  for (let p = 1; p <= phases; p++) {
    lines.push(`      - id: P${p}`, `        title: Phase ${p}`);
    if (p > 1) lines.push(`        dependsOn: [P${p - 1}]`);
    lines.push('        tasks:');
    for (let i = (p - 1) * per + 1; i <= Math.min(tasks, p * per); i++) {
      const dep = i % 5 === 0 && i > (p - 1) * per + 1 ? `, dependsOn: [T${i - 1}]` : '';
      lines.push(`          - { id: T${i}, title: Task ${i}, role: dev${dep} }`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The shared pieces of one multi-worker run. */
export interface WorkerSetup {
  dir: string;
  bare: string;
  url: string;
  clone(name: string, config?: Record<string, unknown>): string;
}

/** A seed repository with the plan, pushed to a bare remote; clones made on demand. */
export function workerSetup(url: string, plan: string, base: Record<string, unknown>): WorkerSetup {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-workers-')));
  const seed = gitRepo(path.join(dir, 'seed'));
  fs.writeFileSync(path.join(seed, 'plan.yaml'), plan);
  fs.appendFileSync(path.join(seed, '.gitignore'), 'orch.config.json\n');
  git(seed, 'add', '-A');
  git(seed, 'commit', '-q', '-m', 'plan');
  const bare = path.join(dir, 'remote.git');
  git(dir, 'clone', '-q', '--bare', seed, bare);
  return {
    dir,
    bare,
    url,
    clone(name, config = {}) {
      const clone = path.join(dir, name);
      git(dir, 'clone', '-q', bare, clone);
      git(clone, 'config', 'user.name', `worker ${name}`);
      git(clone, 'config', 'user.email', `${name}@example.invalid`);
      fs.writeFileSync(
        path.join(clone, 'orch.config.json'),
        JSON.stringify({
          planDir: 'plan.yaml',
          remote: 'origin',
          store: { url },
          autoMerge: true,
          retryInterval: 0,
          agents: { dev: { command: ['/bin/sh', AGENT] } },
          ...base,
          ...config,
        }),
      );
      return clone;
    },
  };
}

/** A worker process: `orch spawn --worker NAME -q` in `clone`. */
export interface WorkerProcess {
  name: string;
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

export function startWorker(clone: string, name: string, env: Record<string, string> = {}): WorkerProcess {
  const child = spawn(process.execPath, [ORCH_BIN, 'spawn', '-q', '--worker', name, '--repo', clone], {
    env: orchEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { name, child, done };
}

/** Every event of the shared log, in position order. */
export function readLog(url: string): RecordedEvent[] {
  const store = openPostgresSyncStore(url, { readonly: true });
  try {
    return [...store.readAll()];
  } finally {
    store.close();
  }
}

/** The tasks merged into the remote's integration branch, one entry per merge commit, in order. */
export function remoteMerges(bare: string): string[] {
  const out = git(bare, 'log', '--first-parent', '--merges', '--format=%s', 'refs/heads/integration');
  return out
    .split('\n')
    .filter(Boolean)
    .map((subject) => /^orch: merge task (\S+)/.exec(subject)?.[1] ?? `?${subject}`)
    .reverse();
}

/**
 * Checks no task ever had two live agents: per task, each spawn's life (its request to its
 * outcome) must end before the next spawn of that task is requested. Returns the overlaps.
 */
export function overlappingAgents(events: readonly RecordedEvent[]): string[] {
  const live = new Map<string, string>();
  const taskOf = new Map<string, string>();
  const problems: string[] = [];
  for (const e of events) {
    const d = e.data as { spawnId?: string; taskId?: string };
    if (e.type === 'AgentSpawnRequested' && d.spawnId && d.taskId) {
      const other = live.get(d.taskId);
      const lane = (e.data as { lane?: number }).lane;
      if (other !== undefined && lane === undefined)
        problems.push(`${d.taskId}: ${d.spawnId} while ${other} live`);
      live.set(d.taskId, d.spawnId);
      taskOf.set(d.spawnId, d.taskId);
    }
    if (['AgentExited', 'AgentLost', 'AgentSpawnFailed'].includes(e.type) && d.spawnId) {
      const task = taskOf.get(d.spawnId);
      if (task !== undefined && live.get(task) === d.spawnId) live.delete(task);
    }
  }
  return problems;
}

/** Polls the log until `until(events)` returns a value (not undefined), or fails after `timeoutMs`. */
export async function waitForLog<T>(
  url: string,
  until: (events: readonly RecordedEvent[]) => T | undefined,
  timeoutMs = 60_000,
): Promise<T> {
  let store: ReturnType<typeof openPostgresSyncStore> | undefined;
  try {
    const events: RecordedEvent[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        store ??= openPostgresSyncStore(url, { readonly: true });
      } catch (err) {
        // The first worker has not created the log yet.
        if ((err as { code?: string }).code !== 'LOG_NOT_FOUND') throw err;
      }
      if (store !== undefined)
        for (const e of store.readAll({ from: (events.at(-1)?.position ?? 0) + 1 })) events.push(e);
      const found = until(events);
      if (found !== undefined) return found;
      if (Date.now() > deadline)
        throw new Error(`the log did not show what was awaited within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    store?.close();
  }
}

/** The membership (run id) a worker named `name` joined with, the latest first. */
export function membershipsOf(events: readonly RecordedEvent[], name: string): string[] {
  return events
    .filter((e) => e.type === 'WorkerJoined' && (e.data as { worker: string }).worker === name)
    .map((e) => (e.data as { runId: string }).runId)
    .reverse();
}
