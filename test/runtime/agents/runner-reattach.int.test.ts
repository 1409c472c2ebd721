import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OrchestratorConfigSchema } from '../../../src/core/config.js';
import type { RecordedEvent } from '../../../src/core/envelope.js';
import { readAgentExit } from '../../../src/runtime/agents/runner.js';
import { findProcessesByEnv } from '../../../src/runtime/system/find-processes.js';
import { Orchestrator } from '../../../src/runtime/orchestrator/orchestrator.js';
import { isProcessGroupAlive, isSameProcessAlive } from '../../../src/runtime/system/process-identity.js';
import { openSqliteEventStore } from '../../../src/store/sqlite/open.js';
import { fixtureAgent, makeRepo, removeDir, sleep, tempDir } from '../helpers.js';

const node = process.execPath;
const projectRoot = path.resolve(fixtureAgent('.'), '../../..');
let dir: string;
const groups: number[] = [];

beforeEach(() => {
  dir = tempDir('reattach');
});

afterEach(() => {
  // Never leave an agent behind, even when an assertion failed.
  for (const pgid of groups.splice(0)) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  removeDir(dir);
});

async function until<T>(what: string, probe: () => T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe('agents outlive the orchestrator', () => {
  it('keeps running and writing after its parent is SIGKILLed, and its exit status is written', async () => {
    const workspace = path.join(dir, 'ws');
    fs.mkdirSync(workspace);
    const options = {
      command: [node, fixtureAgent('tick.mjs')],
      identity: {
        runId: 'run-1',
        taskId: 'T1',
        spawnId: 'spawn-orphan',
        role: 'dev',
        attempt: 1,
        stateDir: path.join(dir, 'state'),
        workspace,
      },
      env: { TICKS: '16', TICK_MS: '50', EXIT_CODE: '3' },
    };
    const parent = spawn(node, ['--import', 'tsx', fixtureAgent('orch-parent.ts'), JSON.stringify(options)], {
      cwd: projectRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: parent.stdout }).once('line', resolve);
      parent.once('exit', (code) => reject(new Error(`the parent exited early (${code})`)));
    });
    const started = JSON.parse(first) as {
      pid: number;
      startTime: string;
      logFile: string;
      exitFile: string;
    };
    groups.push(started.pid);
    parent.kill('SIGKILL');
    await new Promise((resolve) => parent.once('exit', resolve));
    // The parent is gone, the agent is not: no pipe to die of.
    expect(isSameProcessAlive(started.pid, started.startTime)).toBe(true);
    const status = await until('the exit file', () => readAgentExit(started.logFile, 'spawn-orphan'));
    expect(status).toMatchObject({ spawnId: 'spawn-orphan', exitCode: 3, signal: null });
    expect(Number.isNaN(Date.parse(status.endedAt))).toBe(false);
    const log = fs.readFileSync(started.logFile, 'utf8');
    // Every tick reached the file, most of them written after the parent died.
    expect(log.trim().split('\n')).toEqual(Array.from({ length: 16 }, (_, i) => `tick ${i + 1}`));
    expect(fs.readdirSync(path.dirname(started.exitFile)).filter((f) => f.includes('.tmp'))).toEqual([]);
    await until('the group to end', () => (isProcessGroupAlive(started.pid) ? undefined : true));
  });
});

describe('re-attaching after a restart', () => {
  function setup(ticks: number): { repo: string; config: ReturnType<typeof OrchestratorConfigSchema.parse> } {
    const repo = makeRepo(path.join(dir, 'repo'));
    fs.mkdirSync(path.join(repo, '.state', 'plans'), { recursive: true });
    fs.writeFileSync(
      path.join(repo, '.state', 'plans', 'plan.yaml'),
      [
        'name: Reattach',
        'milestones:',
        '  - id: M1',
        '    title: One',
        '    phases:',
        '      - id: S1',
        '        title: Only',
        '        tasks:',
        '          - { id: T1, title: Tick, role: dev }',
        '',
      ].join('\n'),
    );
    const config = OrchestratorConfigSchema.parse({
      maxRetries: 0,
      retryInterval: 0,
      agents: {
        default: {
          command: [node, fixtureAgent('tick.mjs')],
          env: { TICKS: String(ticks), TICK_MS: '50', EXIT_CODE: '3' },
        },
      },
    });
    return { repo, config };
  }

  async function firstRunLeavesAgent(
    repo: string,
    config: ReturnType<typeof OrchestratorConfigSchema.parse>,
  ) {
    let started: RecordedEvent | undefined;
    const first = new Orchestrator({
      repoDir: repo,
      config,
      leaveAgentsOnStop: true,
      pollIntervalMs: 20,
      onEvent: (e) => {
        if (e.type === 'AgentStarted') started = e;
      },
    });
    void first.run();
    await until('AgentStarted', () => started);
    await first.stop('test: leave the agent');
    const data = started!.data as { spawnId: string; pid: number; pidStartTime: string };
    groups.push(data.pid);
    expect(isSameProcessAlive(data.pid, String(data.pidStartTime))).toBe(true);
    return data;
  }

  function agentOutcomes(repo: string, spawnId: string): RecordedEvent[] {
    const store = openSqliteEventStore(path.join(repo, '.state', 'orch.db'), { readonly: true });
    try {
      return [...store.readAll()].filter(
        (e) =>
          ['AgentExited', 'AgentLost'].includes(e.type) &&
          (e.data as { spawnId?: string }).spawnId === spawnId,
      );
    } finally {
      store.close();
    }
  }

  it('watches a live agent of an earlier run and records its real exit code', async () => {
    const { repo, config } = setup(30);
    const agent = await firstRunLeavesAgent(repo, config);
    const second = new Orchestrator({ repoDir: repo, config, pollIntervalMs: 20 });
    const outcome = await second.waitForCompletion(20_000);
    expect(outcome.exitCode).toBe(1);
    const outcomes = agentOutcomes(repo, agent.spawnId);
    expect(outcomes.map((e) => e.type)).toEqual(['AgentExited']);
    expect(outcomes[0]!.data).toMatchObject({ exitCode: 3, signal: null });
    expect((outcomes[0]!.data as { outputTail: string }).outputTail).toContain('tick 30');
    expect(findProcessesByEnv('ORCH_SPAWN_ID', agent.spawnId)).toEqual([]);
  });

  it('watches a re-attached agent for stalls too: one that hangs is stopped and recorded as stalled', async () => {
    const { repo } = setup(1);
    const hang = (stallTimeout: number) =>
      OrchestratorConfigSchema.parse({
        maxRetries: 0,
        retryInterval: 0,
        stallTimeout,
        agents: { default: { command: [node, fixtureAgent('hang.mjs')] } },
      });
    // The first run never looks for stalls; the second, with stallTimeout 1, does.
    const agent = await firstRunLeavesAgent(repo, hang(0));
    const second = new Orchestrator({ repoDir: repo, config: hang(1), pollIntervalMs: 20, stallPollMs: 100 });
    const outcome = await second.waitForCompletion(20_000);
    expect(outcome.exitCode).toBe(1);
    const outcomes = agentOutcomes(repo, agent.spawnId);
    expect(outcomes.map((e) => e.type)).toEqual(['AgentExited']);
    expect(outcomes[0]!.data).toMatchObject({
      stalled: { lastOutputLine: expect.stringMatching(/^hanging \(pid \d+\)$/) },
    });
    expect(isProcessGroupAlive(agent.pid)).toBe(false);
    expect(findProcessesByEnv('ORCH_SPAWN_ID', agent.spawnId)).toEqual([]);
  });

  it('records the exit status of an agent that ended while no orchestrator ran', async () => {
    const { repo, config } = setup(4);
    const agent = await firstRunLeavesAgent(repo, config);
    const logFile = path.join(repo, '.state', 'logs', 'T1', '1.log');
    await until('the exit file', () => readAgentExit(logFile, agent.spawnId));
    const second = new Orchestrator({ repoDir: repo, config, pollIntervalMs: 20 });
    const outcome = await second.waitForCompletion(20_000);
    expect(outcome.exitCode).toBe(1);
    const outcomes = agentOutcomes(repo, agent.spawnId);
    expect(outcomes.map((e) => e.type)).toEqual(['AgentExited']);
    expect(outcomes[0]!.data).toMatchObject({ exitCode: 3 });
  });
});
