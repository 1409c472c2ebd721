import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/core/envelope.js';
import { checkInvariants } from '../../src/core/invariants.js';
import { replay } from '../../src/core/replayer.js';
import { findProcessesByEnv } from '../../src/runtime/system/find-processes.js';
import { isProcessGroupAlive } from '../../src/runtime/system/process-identity.js';
import { openSqliteEventStore } from '../../src/store/sqlite/open.js';
import { git, gitRepo, orchEnv, sleep } from '../fixtures/agents/e2e-repo.js';

// The built CLI killed with SIGKILL in the middle of a best-of-3 attempt, then run again.
const bin = fileURLToPath(new URL('../../bin/run.js', import.meta.url));
const lanes = fileURLToPath(new URL('../fixtures/agents/lanes/claude', import.meta.url));

const PLAN = `name: Best of crash
milestones:
  - id: M1
    title: One
    phases:
      - id: P1
        title: First
        dependsOn: []
        tasks:
          - { id: T1, title: Make a, role: dev, bestOf: 3 }
`;

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const dir of dirs) {
    const repo = path.join(dir, 'repo');
    for (const e of readLog(repo).filter((x) => x.type === 'AgentSpawnRequested')) {
      for (const pid of findProcessesByEnv('ORCH_SPAWN_ID', (e.data as { spawnId: string }).spawnId)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone.
        }
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

function setUp(slowMs: number): { repo: string; pidDir: string } {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-bestof-e2e-')));
  dirs.push(dir);
  const repo = gitRepo(path.join(dir, 'repo'));
  const pidDir = path.join(dir, 'pids');
  fs.mkdirSync(pidDir);
  fs.mkdirSync(path.join(repo, '.state', 'plans'), { recursive: true });
  fs.writeFileSync(path.join(repo, '.state', 'plans', 'plan.yaml'), PLAN);
  const config = {
    maxConcurrent: 3,
    maxRetries: 2,
    retryInterval: 0,
    gate: { command: [process.execPath, '-e', "process.exit(require('fs').existsSync('lane.txt') ? 0 : 1)"] },
    agents: {
      default: {
        command: [lanes, '-p', '{prompt}'],
        env: { LANE_MODES: 'fail,slow,fast', LANE_PID_DIR: pidDir, FAST_MS: '1500', SLOW_MS: String(slowMs) },
      },
    },
  };
  fs.writeFileSync(path.join(repo, 'orch.config.json'), JSON.stringify(config, null, 2));
  return { repo, pidDir };
}

function readLog(repo: string): RecordedEvent[] {
  const db = path.join(repo, '.state', 'orch.db');
  if (!fs.existsSync(db)) return [];
  let store;
  try {
    store = openSqliteEventStore(db, { readonly: true });
  } catch {
    return [];
  }
  try {
    return [...store.readAll()];
  } finally {
    store.close();
  }
}

/** Runs `orch spawn`; with `killAt`, SIGKILLs it once the log has that many events of that type. */
async function runOnce(repo: string, killAt?: { type: string; n: number }): Promise<{ code: number | null }> {
  const child = spawn(process.execPath, [bin, 'spawn', '--repo', repo, '--quiet'], {
    cwd: repo,
    env: orchEnv(),
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  children.push(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let ended = false;
  void exited.then(() => (ended = true));
  if (killAt) {
    while (!ended) {
      if (readLog(repo).filter((e) => e.type === killAt.type).length >= killAt.n) {
        child.kill('SIGKILL');
        break;
      }
      await sleep(5);
    }
  }
  return { code: await exited };
}

function checkOneMerge(repo: string): RecordedEvent[] {
  const events = readLog(repo);
  const merged = events.filter((e) => e.type === 'BranchMerged');
  expect(merged).toHaveLength(1);
  const merges = git(repo, 'log', '--first-parent', '--merges', '--format=%s', 'integration').split('\n');
  expect(merges.filter((s) => s.startsWith('orch: merge task T1 '))).toHaveLength(1);
  expect(git(repo, 'show', 'integration:lane.txt')).toMatch(/^lane 3 attempt 1/);
  expect(checkInvariants(events, { maxConcurrent: 3, maxRetries: 2 })).toEqual([]);
  const state = replay(events);
  expect(state.tasks['T1']?.value).toBe('complete');
  expect(JSON.stringify(replay(events))).toBe(JSON.stringify(state));
  // No lane process is left.
  const spawnIds = events
    .filter((e) => e.type === 'AgentSpawnRequested')
    .map((e) => (e.data as { spawnId: string }).spawnId);
  expect(spawnIds.flatMap((id) => findProcessesByEnv('ORCH_SPAWN_ID', id))).toEqual([]);
  return events;
}

describe('best of N survives kill -9 of orch', () => {
  it('killed while all 3 lanes run: the next run re-attaches them, merges the fast lane once, stops the slow one', async () => {
    const { repo, pidDir } = setUp(60_000);
    const first = await runOnce(repo, { type: 'AgentStarted', n: 3 });
    expect(first.code).toBeNull();
    const second = await runOnce(repo);
    expect(second.code).toBe(0);
    const events = checkOneMerge(repo);
    // The lanes the killed run started were re-attached, not spawned again.
    expect(events.filter((e) => e.type === 'AgentSpawnRequested')).toHaveLength(3);
    expect(
      events.filter((e) => e.type === 'LaneSuperseded').map((e) => (e.data as { lane: number }).lane),
    ).toEqual([2]);
    const slowPid = Number(fs.readFileSync(path.join(pidDir, 'slow-2.pid'), 'utf8'));
    expect(isProcessGroupAlive(slowPid)).toBe(false);
  }, 120_000);

  it('killed just after the winning gate passed: the next run merges once and stops the superseded lane it re-attached', async () => {
    const { repo, pidDir } = setUp(60_000);
    const first = await runOnce(repo, { type: 'GatePassed', n: 1 });
    expect(first.code).toBeNull();
    const second = await runOnce(repo);
    expect(second.code).toBe(0);
    const events = checkOneMerge(repo);
    expect(events.filter((e) => e.type === 'LaneSuperseded')).toHaveLength(1);
    const slowPid = Number(fs.readFileSync(path.join(pidDir, 'slow-2.pid'), 'utf8'));
    expect(isProcessGroupAlive(slowPid)).toBe(false);
  }, 120_000);
});
