import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OrchestratorConfigSchema, type OrchestratorConfigInput } from '../../../src/core/config.js';
import type { RecordedEvent } from '../../../src/core/envelope.js';
import { checkInvariants } from '../../../src/core/invariants.js';
import { replay } from '../../../src/core/replayer.js';
import { usageTotals } from '../../../src/core/usage-totals.js';
import { Orchestrator } from '../../../src/runtime/orchestrator/orchestrator.js';
import { statusDocument } from '../../../src/core/status-document.js';
import { renderStatusText } from '../../../src/runtime/render/status-text.js';
import { fixtureAgent, removeDir, tempDir, makePlanRepo, repoEvents } from '../helpers.js';

/**
 * The budget and rate limits through the real Orchestrator: agent processes, worktrees,
 * merges, the SQLite log. The agent is the stand-in Claude Code (it reports usage and cost
 * in Claude's JSON) or a script that hits a limit on its first run.
 */

const CLAUDE = fixtureAgent('claude-code/claude');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

const PLAN = `name: Budget
milestones:
  - id: M1
    title: One
    phases:
      - id: P1
        title: First
        dependsOn: []
        tasks:
          - { id: T1, title: Make a, role: dev }
          - { id: T2, title: Make b, role: dev }
          - { id: T3, title: Make c, role: dev }
`;

function setup(plan = PLAN): { repo: string; root: string } {
  const root = tempDir('budget');
  dirs.push(root);
  const repo = makePlanRepo(root, plan);
  return { repo, root };
}

function config(command: string[], env: Record<string, string>, extra: OrchestratorConfigInput = {}) {
  return OrchestratorConfigSchema.parse({
    planDir: 'plan.yaml',
    retryInterval: 0,
    maxRetries: 0,
    maxConcurrent: 1,
    agents: { default: { command, env } },
    ...extra,
  });
}

const events = repoEvents;

const ofType = (log: RecordedEvent[], type: string) => log.filter((e) => e.type === type);
const data = (e: RecordedEvent | undefined) => (e?.data ?? {}) as Record<string, unknown>;

/**
 * An agent named `claude` that acts out the stand-in Claude in `first` mode on its first run
 * and in `then` mode afterwards (the run count is kept in `$COUNT_FILE`).
 */
function switchingClaude(root: string): string {
  const file = path.join(root, 'bin', 'claude');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(
    file,
    `#!/usr/bin/env node
import fs from 'node:fs';
const f = process.env.COUNT_FILE;
const n = fs.existsSync(f) ? Number(fs.readFileSync(f, 'utf8')) : 0;
fs.writeFileSync(f, String(n + 1));
process.env.FAKE_CLAUDE_MODE = n === 0 ? process.env.FIRST_MODE : process.env.THEN_MODE;
await import(${JSON.stringify(CLAUDE)});
`,
    { mode: 0o755 },
  );
  return file;
}

describe('budget', () => {
  it('stops spawning once the reported cost reaches the budget, records BudgetExhausted once, and totals usage', async () => {
    const { repo } = setup();
    // Each attempt of the stand-in costs $0.1234 (1200 tokens in, 345 out): the second reaches $0.20.
    const cfg = config([CLAUDE, '-p', '{prompt}'], { FAKE_CLAUDE_MODE: 'ok' }, { budget: 0.2 });
    const outcome = await new Orchestrator({ repoDir: repo, config: cfg }).run();
    expect(outcome.exitCode).toBe(2);
    expect(outcome.reason).toContain('budget of $0.2 reached');
    const log = events(repo);
    expect(ofType(log, 'AgentSpawnRequested').map((e) => data(e).taskId)).toEqual(['T1', 'T2']);
    const exhausted = ofType(log, 'BudgetExhausted');
    expect(exhausted.map((e) => e.data)).toEqual([{ spentUsd: 0.2468, budget: 0.2 }]);
    // It is recorded after the exit that crossed the budget and before nothing else spawns.
    const lastExit = ofType(log, 'AgentExited').at(-1)!;
    expect(exhausted[0]!.position).toBeGreaterThan(lastExit.position);
    expect(data(lastExit).usage).toMatchObject({ inputTokens: 1200, outputTokens: 345, costUsd: 0.1234 });
    const state = replay(log);
    expect(outcome.status.tasks.map((t) => [t.id, t.status])).toEqual([
      ['T1', 'complete'],
      ['T2', 'complete'],
      ['T3', 'ready'],
    ]);
    const totals = usageTotals(state);
    expect(totals.run).toEqual({ inputTokens: 2400, outputTokens: 690, costUsd: 0.2468, attempts: 2 });
    expect(totals.tasks['T3']).toEqual({ inputTokens: 0, outputTokens: 0, costUsd: 0, attempts: 0 });
    expect(totals.phases['P1']).toEqual(totals.run);
    // orch status shows them: `usage` in the JSON document, one line in the text.
    const doc = statusDocument(state);
    expect(doc.usage.milestones['M1']).toEqual(totals.run);
    expect(renderStatusText(doc)).toContain('Usage: 2400 tokens in, 690 out  ·  cost $0.25  (M1 $0.25)');
    expect(checkInvariants(log, cfg)).toEqual([]);
  }, 60_000);
});

describe('rate limits', () => {
  it('a limited attempt does not count: with maxRetries 0 the task waits for the reset and then succeeds', async () => {
    const { repo, root } = setup(PLAN.replace(/\n {10}- \{ id: T[23].*$/gm, ''));
    // An injected clock: the reset is an hour ahead of it, and the test moves the clock past the
    // reset once the retry is scheduled — however slow the machine, the reset cannot pass early.
    let offset = 0;
    const clock = { now: () => new Date(Date.now() + offset) };
    const resetEpoch = Math.ceil(clock.now().getTime() / 1000) + 3600;
    const cfg = config([switchingClaude(root), '-p', '{prompt}'], {
      COUNT_FILE: path.join(root, 'count'),
      FIRST_MODE: 'rate-limit',
      THEN_MODE: 'ok',
      RESET_EPOCH: String(resetEpoch),
    });
    const running = new Orchestrator({ repoDir: repo, config: cfg, clock }).run();
    const deadline = Date.now() + 30_000;
    while (
      !fs.existsSync(path.join(repo, '.state', 'orch.db')) ||
      ofType(events(repo), 'RetryScheduled').length === 0
    ) {
      if (Date.now() > deadline) throw new Error('no RetryScheduled within 30 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    // Still waiting for the reset: no second attempt yet.
    expect(ofType(events(repo), 'AgentSpawnRequested')).toHaveLength(1);
    offset += 3600_000 + 1000;
    const outcome = await running;
    expect(outcome.exitCode).toBe(0);
    const log = events(repo);
    const limited = ofType(log, 'RateLimited');
    const resetAt = new Date(resetEpoch * 1000).toISOString();
    expect(limited.map((e) => data(e).resetAt)).toEqual([resetAt]);
    // RateLimited comes before that spawn's exit.
    const firstExit = ofType(log, 'AgentExited')[0]!;
    expect(limited[0]!.position).toBeLessThan(firstExit.position);
    expect(data(limited[0]).spawnId).toBe(data(firstExit).spawnId);
    const retry = ofType(log, 'RetryScheduled');
    expect(retry.map((e) => [data(e).attempt, data(e).notBefore])).toEqual([[2, resetAt]]);
    const spawns = ofType(log, 'AgentSpawnRequested');
    expect(spawns.map((e) => data(e).attempt)).toEqual([1, 2]);
    expect(Date.parse(spawns[1]!.recordedAt)).toBeGreaterThanOrEqual(resetEpoch * 1000);
    const task = replay(log).tasks['T1']!;
    expect([task.value, task.context.attempts, task.context.rateLimited]).toEqual(['complete', 2, 1]);
    expect(ofType(log, 'TaskFailed')).toEqual([]);
    expect(checkInvariants(log, cfg)).toEqual([]);
  }, 60_000);

  it('without a reset time the retry waits for rateLimitBackoff, then runs; a real failure still fails the task', async () => {
    const { repo, root } = setup(PLAN.replace(/\n {10}- \{ id: T3.*$/gm, ''));
    // First run: an API 429 with no reset time. Later runs: a real error.
    const cfg = config(
      [switchingClaude(root), '-p', '{prompt}'],
      { COUNT_FILE: path.join(root, 'count'), FIRST_MODE: 'error429', THEN_MODE: 'error' },
      { rateLimitBackoff: 1 },
    );
    // The stand-in has no 429 mode: an unknown mode is its plain error; make run 1 print a 429.
    const agent = cfg.agents['default']!.command[0]!;
    fs.writeFileSync(
      agent,
      fs
        .readFileSync(agent, 'utf8')
        .replace(
          'await import(',
          `if (n === 0) { console.error('Error: 429 {"type":"error","error":{"type":"rate_limit_error"}}'); process.exit(1); }\nawait import(`,
        ),
    );
    const outcome = await new Orchestrator({ repoDir: repo, config: cfg }).run();
    expect(outcome.exitCode).toBe(1);
    const log = events(repo);
    const limited = ofType(log, 'RateLimited');
    expect(limited.map((e) => [data(e).resetAt, e.streamId])).toEqual([[null, 'task-T1']]);
    const retries = ofType(log, 'RetryScheduled').filter((e) => data(e).taskId === 'T1');
    expect(retries.map((e) => data(e).reason)).toEqual(['stopped by a usage/rate limit (exit code 1)']);
    // Measured from the limit's record: decide ran after it, at the start of the backoff.
    const wait = Date.parse(String(data(retries[0]).notBefore)) - Date.parse(limited[0]!.recordedAt);
    expect(wait).toBeGreaterThanOrEqual(1000);
    // No spawn at all (T2 included) while the backoff runs.
    const during = ofType(log, 'AgentSpawnRequested').filter(
      (e) =>
        e.position > retries[0]!.position &&
        Date.parse(e.recordedAt) < Date.parse(String(data(retries[0]).notBefore)),
    );
    expect(during).toEqual([]);
    // Attempt 2 of T1 is a real failure: with maxRetries 0 it is the one counted attempt.
    const failed = ofType(log, 'TaskFailed').filter((e) => data(e).taskId === 'T1');
    expect(failed.map((e) => data(e).reason)).toEqual([
      'retries used up after 1 attempt(s) (and 1 stopped by a rate limit); last: exit code 1',
    ]);
    expect(ofType(log, 'AgentSpawnRequested').filter((e) => data(e).taskId === 'T1')).toHaveLength(2);
    expect(checkInvariants(log, cfg)).toEqual([]);
  }, 60_000);
});
