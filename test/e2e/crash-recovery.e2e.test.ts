import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/core/envelope.js';
import { checkInvariants } from '../../src/core/invariants.js';
import { replay } from '../../src/core/replayer.js';
import { findProcessesByEnv } from '../../src/runtime/system/find-processes.js';
import { openSqliteEventStore } from '../../src/store/sqlite/open.js';
import { crashPlanYaml, git, gitRepo, orchEnv, sleep } from '../fixtures/agents/e2e-repo.js';

// The built CLI (`npm run build` first), killed with SIGKILL at many moments of one real run.
const bin = fileURLToPath(new URL('../../bin/run.js', import.meta.url));
const workAgent = fileURLToPath(new URL('../fixtures/agents/work.mjs', import.meta.url));
const TASKS = ['T1', 'T2', 'T3', 'T4', 'T5', 'T6', 'T7', 'T8'];
const config = {
  maxConcurrent: 3,
  maxRetries: 20,
  retryInterval: 0,
  agents: {
    default: {
      command: [process.execPath, workAgent],
      env: { WORK_MS: '200-600', FAIL_FIRST: 'T2,T5,T7', SIGNAL_COMPLETE: 'T1,T4,T6,T8' },
    },
  },
  gate: { command: [process.execPath, '-e', 'setTimeout(() => {}, 150)'] },
};

/** When to SIGKILL a run: the n-th event of a type in that run, or some time after its RunStarted. */
type Trigger = { type: string; n: number } | { afterStartMs: number };
const TRIGGERS: Trigger[] = [
  { type: 'AgentSpawnRequested', n: 1 }, // the intent is written, the process maybe not started
  { type: 'AgentStarted', n: 1 }, // an agent is running
  { afterStartMs: 0 }, // just after the restart's RunStarted: reconciliation in flight
  { type: 'GateStarted', n: 1 }, // a gate is running
  { type: 'MergeRequested', n: 1 }, // a merge is in progress
  { type: 'AgentExited', n: 1 },
  { type: 'BranchMerged', n: 1 }, // merged, the task not yet completed
  { type: 'AgentSpawnRequested', n: 2 },
  { type: 'GatePassed', n: 1 },
  { afterStartMs: 700 },
  { type: 'AgentStarted', n: 3 },
  { type: 'RetryScheduled', n: 1 },
  { type: 'TaskCompleted', n: 1 },
];

let dir: string;
let repo: string;
const children: ChildProcess[] = [];

beforeAll(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-crash-e2e-')));
  repo = gitRepo(path.join(dir, 'repo'));
  fs.mkdirSync(path.join(repo, '.state', 'plans'), { recursive: true });
  fs.writeFileSync(path.join(repo, '.state', 'plans', 'plan.yaml'), crashPlanYaml());
  fs.writeFileSync(path.join(repo, 'orch.config.json'), JSON.stringify(config, null, 2));
});

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  // Whatever a failed assertion left running must not outlive the test.
  for (const spawnId of spawnIdsIn(readLog())) {
    for (const pid of findProcessesByEnv('ORCH_SPAWN_ID', spawnId)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone.
      }
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

function dbFile(): string {
  return path.join(repo, '.state', 'orch.db');
}

function readLog(): RecordedEvent[] {
  if (!fs.existsSync(dbFile())) return [];
  let store;
  try {
    store = openSqliteEventStore(dbFile(), { readonly: true });
  } catch (err) {
    // The first run is still creating the log.
    const code = (err as { code?: string }).code;
    if (code === 'LOG_NOT_FOUND' || code === 'SCHEMA_OUTDATED' || code === 'NOT_AN_ORCH_LOG') return [];
    throw err;
  }
  try {
    return [...store.readAll()];
  } finally {
    store.close();
  }
}

function spawnIdsIn(events: RecordedEvent[]): string[] {
  return events
    .filter((e) => e.type === 'AgentSpawnRequested')
    .map((e) => (e.data as { spawnId: string }).spawnId);
}

/** Starts `orch spawn`, kills it when `trigger` fires; resolves to how the run ended. */
async function runOnce(
  trigger: Trigger | undefined,
): Promise<{ killed: boolean; code: number | null; stderr: string }> {
  const from = readLog().length;
  const child = spawn(process.execPath, [bin, 'spawn', '--repo', repo, '--quiet'], {
    cwd: repo,
    env: orchEnv(),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let ended = false;
  void exited.then(() => (ended = true));
  let killed = false;
  if (trigger) {
    let startedAt: number | null = null;
    while (!ended) {
      const fresh = readLog().slice(from);
      if (startedAt === null && fresh.some((e) => e.type === 'RunStarted')) startedAt = Date.now();
      const fire =
        'type' in trigger
          ? fresh.filter((e) => e.type === trigger.type).length >= trigger.n
          : startedAt !== null && Date.now() - startedAt >= trigger.afterStartMs;
      if (fire) {
        killed = child.kill('SIGKILL');
        break;
      }
      await sleep(5);
    }
  }
  const code = await exited;
  return { killed: killed && code === null, code, stderr };
}

it('survives SIGKILL at many moments of a real run: every task done once, nothing lost, no orphans', async () => {
  const acknowledged = new Map<number, string>();
  let kills = 0;
  const fired: string[] = [];
  let final: { code: number | null; stderr: string } | undefined;
  for (const trigger of [...TRIGGERS, undefined]) {
    const r = await runOnce(trigger);
    for (const e of readLog()) acknowledged.set(e.position, `${e.id} ${e.type}`);
    if (r.killed) {
      kills += 1;
      fired.push(
        trigger && 'type' in trigger ? `${trigger.type}#${trigger.n}` : `+${trigger?.afterStartMs}ms`,
      );
      continue;
    }
    expect(r.code, r.stderr).toBe(0);
    final = r;
    break;
  }
  // Not finished within the triggers: one more run to the end.
  final ??= await runOnce(undefined);
  expect(final.code, final.stderr).toBe(0);
  expect(kills).toBeGreaterThanOrEqual(10);

  const events = readLog();
  // Gapless positions, and every event a killed run had committed is still there, unchanged.
  expect(events.map((e) => e.position)).toEqual(events.map((_, i) => i + 1));
  for (const [position, identity] of acknowledged) {
    const e = events[position - 1];
    expect(e && `${e.id} ${e.type}`).toBe(identity);
  }
  const runs = events.filter((e) => e.type === 'RunStarted').length;
  expect(runs).toBeGreaterThanOrEqual(kills + 1);

  const count = (type: string) => events.filter((e) => e.type === type).length;
  // Some agents reported with `orch signal complete` (their reports survived the kills too).
  expect(count('BreakpointReported')).toBeGreaterThanOrEqual(1);
  const state = replay(events);
  for (const id of TASKS) expect(state.tasks[id]?.value, id).toBe('complete');
  // No two live agents for one task, never more than maxConcurrent, attempts within limits…
  expect(
    checkInvariants(events, { maxConcurrent: config.maxConcurrent, maxRetries: config.maxRetries }),
  ).toEqual([]);

  // Agents outlive a killed run: some exits were recorded by a later run, from the wrapper's .exit file.
  const spawnedBy = new Map(
    events
      .filter((e) => e.type === 'AgentSpawnRequested')
      .map((e) => [(e.data as { spawnId: string }).spawnId, e.metadata.runId]),
  );
  const exitsAfterRestart = events.filter(
    (e) =>
      e.type === 'AgentExited' && spawnedBy.get((e.data as { spawnId: string }).spawnId) !== e.metadata.runId,
  );
  expect(exitsAfterRestart.length).toBeGreaterThanOrEqual(1);

  // No agent (wrapper or agent process) of any spawn is left alive.
  const spawnIds = spawnIdsIn(events);
  expect(spawnIds.length).toBeGreaterThanOrEqual(TASKS.length);
  expect(spawnIds.flatMap((id) => findProcessesByEnv('ORCH_SPAWN_ID', id))).toEqual([]);

  // The integration branch has each task merged exactly once, and its work.
  const merges = git(repo, 'log', '--first-parent', '--merges', '--format=%s', 'integration').split('\n');
  for (const id of TASKS) {
    expect(
      merges.filter((s) => s.startsWith(`orch: merge task ${id} `)),
      id,
    ).toHaveLength(1);
    expect(git(repo, 'show', `integration:work/${id}.md`)).toContain(`${id} attempt`);
  }

  if (fs.existsSync(fileURLToPath(new URL('../../dist/cli/commands/replay.js', import.meta.url)))) {
    const verify = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const c = spawn(process.execPath, [bin, 'replay', '--verify', '--repo', repo], { env: orchEnv() });
      let out = '';
      c.stdout.on('data', (b: Buffer) => (out += b.toString()));
      c.stderr.on('data', (b: Buffer) => (out += b.toString()));
      c.once('exit', (code) => resolve({ code, out }));
    });
    expect(verify.code, verify.out).toBe(0);
  }
  console.log(
    `crash-recovery: ${kills} SIGKILLs (${fired.join(', ')}), ${runs} runs, ${events.length} events, ` +
      `${spawnIds.length} spawns, ${count('AgentExited')} exits, ${count('AgentLost')} lost, ${exitsAfterRestart.length} exits recorded after a restart, ${count('BreakpointReported')} breakpoints`,
  );
}, 120_000);
