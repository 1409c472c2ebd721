import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { OrchestratorConfigSchema } from '../../../src/core/config.js';
import { Orchestrator } from '../../../src/runtime/orchestrator/orchestrator.js';
import type { Clock } from '../../../src/runtime/system/clock.js';
import { fixtureAgent, makePlanRepo, removeDir, repoEvents, tempDir } from '../helpers.js';

/**
 * The wall clock jumps an hour mid-run (an injected clock: no hour is waited): a retry's
 * timer waits its `retryInterval` on the monotonic clock, neither hanging for the hour nor
 * firing at once; the times recorded stay wall-clock (they show the jump).
 */

const FAIL_ONCE = fixtureAgent('fail-n.mjs');
const PLAN = `name: Clock
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
const HOUR = 3_600_000;
const RETRY_S = 2;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

/** Runs one task whose first attempt fails; the wall clock jumps by `jumpMs` once its retry is scheduled. */
async function runWithJump(jumpMs: number) {
  const root = tempDir('clock');
  dirs.push(root);
  const repo = makePlanRepo(root, PLAN);
  let offset = 0;
  const clock: Clock = {
    now: () => new Date(Date.now() + offset),
    monotonicMs: () => performance.now(),
  };
  const seen: { type: string; at: number }[] = [];
  const orch = new Orchestrator({
    repoDir: repo,
    clock,
    config: OrchestratorConfigSchema.parse({
      planDir: 'plan.yaml',
      retryInterval: RETRY_S,
      maxRetries: 1,
      agents: { dev: { command: [FAIL_ONCE], env: { FAIL_TIMES: '1' } } },
    }),
    onEvent: (event) => {
      seen.push({ type: event.type, at: performance.now() });
      if (event.type === 'RetryScheduled' && offset === 0) offset = jumpMs;
    },
  });
  const outcome = await orch.waitForCompletion(60_000);
  const exited = seen.find((e) => e.type === 'RetryScheduled');
  const spawns = seen.filter((e) => e.type === 'AgentSpawnRequested');
  return { outcome, repo, waitedMs: (spawns[1]?.at ?? NaN) - (exited?.at ?? NaN), spawns: spawns.length };
}

describe('a wall clock that jumps mid-run', () => {
  it('back an hour: the retry comes after retryInterval, not an hour later', async () => {
    const { outcome, repo, waitedMs, spawns } = await runWithJump(-HOUR);
    expect(outcome.exitCode, outcome.reason).toBe(0);
    expect(spawns).toBe(2);
    expect(waitedMs).toBeGreaterThanOrEqual(RETRY_S * 1000 - 50);
    // Recorded times are wall-clock: the events after the jump are an hour "earlier".
    const log = repoEvents(repo);
    const at = (type: string) => Date.parse(log.find((e) => e.type === type)!.recordedAt);
    const second = log.filter((e) => e.type === 'AgentSpawnRequested')[1]!;
    expect(at('AgentExited') - Date.parse(second.recordedAt)).toBeGreaterThan(HOUR - 60_000);
  }, 90_000);

  it('forward an hour: the retry still waits retryInterval (it does not fire at once)', async () => {
    const { outcome, waitedMs, spawns } = await runWithJump(HOUR);
    expect(outcome.exitCode, outcome.reason).toBe(0);
    expect(spawns).toBe(2);
    expect(waitedMs).toBeGreaterThanOrEqual(RETRY_S * 1000 - 50);
  }, 90_000);
});
