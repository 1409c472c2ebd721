import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OrchestratorConfigSchema, type OrchestratorConfigInput } from '../../../src/core/config.js';
import type { RecordedEvent } from '../../../src/core/envelope.js';
import { Orchestrator } from '../../../src/runtime/orchestrator/orchestrator.js';
import { isProcessGroupAlive } from '../../../src/runtime/system/process-identity.js';
import { promptFilePath } from '../../../src/runtime/system/state-paths.js';
import { fixtureAgent, makePlanRepo, removeDir, repoEvents, tempDir } from '../helpers.js';

/**
 * The stall watchdog through the real Orchestrator: real agent processes in real worktrees,
 * `stallTimeout: 1` and a watchdog that looks every 100 ms.
 */

const HANG = fixtureAgent('hang.mjs');
const TICK = fixtureAgent('tick.mjs');
const TOUCH = fixtureAgent('touch.mjs');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

const PLAN = `name: Stall
milestones:
  - id: M1
    title: One
    phases:
      - id: P1
        title: First
        dependsOn: []
        tasks:
          - { id: T1, title: Make a, role: dev }
`;

function run(extra: OrchestratorConfigInput) {
  const root = tempDir('stall');
  dirs.push(root);
  const repo = makePlanRepo(root, PLAN);
  const config = OrchestratorConfigSchema.parse({
    planDir: 'plan.yaml',
    retryInterval: 0,
    maxRetries: 0,
    maxConcurrent: 1,
    stallTimeout: 1,
    ...extra,
  });
  const orch = new Orchestrator({ repoDir: repo, config, killGraceMs: 500, stallPollMs: 100 });
  return { repo, orch };
}

const exits = (log: RecordedEvent[]) =>
  log.filter((e) => e.type === 'AgentExited').map((e) => e.data as Record<string, unknown>);

describe('stall watchdog', () => {
  it('stops an agent that printed once and hangs, records it as stalled, retries with a note, then fails for good', async () => {
    const { repo, orch } = run({ maxRetries: 1, agents: { default: { command: [HANG] } } });
    const started = Date.now();
    const outcome = await orch.run();
    const elapsed = Date.now() - started;
    expect(outcome.exitCode).toBe(1);
    // Two attempts of about 1 s idle each, plus start-up: well under the 10 s a hang would take.
    expect(elapsed).toBeLessThan(10_000);
    const log = repoEvents(repo);
    const ended = exits(log);
    expect(ended).toHaveLength(2);
    for (const e of ended) {
      expect(e['stalled']).toMatchObject({ lastOutputLine: expect.stringMatching(/^hanging \(pid \d+\)$/) });
      expect((e['stalled'] as { idleMs: number }).idleMs).toBeGreaterThanOrEqual(1000);
    }
    // No process is left: every agent's process group is gone.
    const pids = log.filter((e) => e.type === 'AgentStarted').map((e) => (e.data as { pid: number }).pid);
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(isProcessGroupAlive(pid)).toBe(false);
    // The retry's prompt says the first attempt stalled and what it printed last.
    const prompt = fs.readFileSync(promptFilePath(path.join(repo, '.state'), 'T1', 2), 'utf8');
    expect(prompt).toContain('### Attempt 1: stalled and was stopped');
    expect(prompt).toMatch(/It stalled: it printed nothing and changed nothing in its worktree for \d+ s/);
    expect(prompt).toMatch(/The last thing it printed: hanging \(pid \d+\)/);
  }, 30_000);

  it('with maxRetries 0 a stalled agent fails its task for good after one attempt', async () => {
    const { repo, orch } = run({ agents: { default: { command: [HANG] } } });
    const outcome = await orch.run();
    expect(outcome.exitCode).toBe(1);
    const log = repoEvents(repo);
    expect(exits(log)).toHaveLength(1);
    expect(exits(log)[0]?.['stalled']).toBeDefined();
    expect(log.filter((e) => e.type === 'AgentSpawnRequested')).toHaveLength(1);
    expect(log.some((e) => e.type === 'TaskFailed')).toBe(true);
  }, 30_000);

  it('does not stop an agent that keeps printing for longer than the stall timeout', async () => {
    // A stall timeout of 2 s here (the agent prints at once, then every 300 ms for 3.6 s): on a
    // loaded 2-core machine a Node agent's start-up alone has taken more than a second.
    const { repo, orch } = run({
      stallTimeout: 2,
      agents: {
        default: {
          command: [TICK],
          env: { TICK_AT_START: '1', TICK_MS: '300', TICKS: '12', EXIT_CODE: '3' },
        },
      },
    });
    await orch.run();
    const ended = exits(repoEvents(repo));
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ exitCode: 3, signal: null });
    expect(ended[0]?.['stalled']).toBeUndefined();
  }, 30_000);

  it('does not stop an agent that prints nothing but keeps changing a file in its worktree', async () => {
    const { repo, orch } = run({
      agents: { default: { command: [TOUCH], env: { TOUCH_MS: '300', TOUCHES: '10', EXIT_CODE: '3' } } },
    });
    await orch.run();
    const ended = exits(repoEvents(repo));
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ exitCode: 3, signal: null });
    expect(ended[0]?.['stalled']).toBeUndefined();
  }, 30_000);

  it('stallTimeout 0 (here per role, over a global 1) never stops an idle agent', async () => {
    const { repo, orch } = run({
      agents: { default: { command: [HANG], stallTimeout: 0, timeout: 3 } },
    });
    const outcome = await orch.run();
    expect(outcome.exitCode).toBe(1);
    const ended = exits(repoEvents(repo));
    expect(ended).toHaveLength(1);
    // Ended by its 3 s timeout, not by the watchdog.
    expect(ended[0]?.['stalled']).toBeUndefined();
    expect(ended[0]?.['durationMs']).toBeGreaterThanOrEqual(3000);
  }, 30_000);
});
