import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OrchestratorConfigSchema, type OrchestratorConfigInput } from '../../../src/core/config.js';
import type { RecordedEvent } from '../../../src/core/envelope.js';
import { checkInvariants } from '../../../src/core/invariants.js';
import { replay } from '../../../src/core/replayer.js';
import { usageTotals } from '../../../src/core/usage-totals.js';
import { Orchestrator } from '../../../src/runtime/orchestrator/orchestrator.js';
import { promptFilePath } from '../../../src/runtime/system/state-paths.js';
import { fixtureAgent, makePlanRepo, removeDir, repoEvents, tempDir } from '../helpers.js';

/**
 * Agent presets and `resume` through the real Orchestrator: the stand-ins of Codex, Gemini
 * CLI and aider found on PATH by their names, their reported usage in `AgentExited.usage`,
 * the budget counting aider's cost; a resumed Claude Code session on the next attempt.
 */

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

const PLAN = `name: Presets
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
  const root = tempDir('presets');
  dirs.push(root);
  return { repo: makePlanRepo(root, plan), root };
}

const pathWith = (dir: string) => `${dir}${path.delimiter}${process.env['PATH'] ?? ''}`;
const toolDir = (tool: string) => path.dirname(fixtureAgent(`${tool}/${tool}`));

function config(extra: OrchestratorConfigInput) {
  return OrchestratorConfigSchema.parse({
    planDir: 'plan.yaml',
    retryInterval: 0,
    maxRetries: 0,
    maxConcurrent: 1,
    ...extra,
  });
}

const ofType = (log: RecordedEvent[], type: string) => log.filter((e) => e.type === type);
const data = (e: RecordedEvent | undefined) => (e?.data ?? {}) as Record<string, unknown>;

describe('agent presets', () => {
  it('aider by preset name: its usage is recorded and the budget counts its cost', async () => {
    const { repo } = setup();
    // Each aider run reports $0.0056 for the session: the second reaches the budget of $0.01.
    const cfg = config({
      budget: 0.01,
      agents: { default: { preset: 'aider', model: 'sonnet', env: { PATH: pathWith(toolDir('aider')) } } },
    });
    expect(cfg.agents['default']?.command).toEqual([
      'aider',
      '--yes-always',
      '--model',
      'sonnet',
      '--message',
      '{prompt}',
    ]);
    const outcome = await new Orchestrator({ repoDir: repo, config: cfg }).run();
    expect(outcome.exitCode).toBe(2);
    expect(outcome.reason).toContain('budget of $0.01 reached');
    const log = repoEvents(repo);
    expect(ofType(log, 'AgentSpawnRequested').map((e) => data(e).command)).toEqual([
      cfg.agents['default']!.command,
      cfg.agents['default']!.command,
    ]);
    const aider = {
      inputTokens: 14300,
      outputTokens: 1345,
      cacheCreationInputTokens: 1100,
      cacheReadInputTokens: 2500,
      costUsd: 0.0056,
    };
    expect(ofType(log, 'AgentExited').map((e) => data(e).usage)).toEqual([aider, aider]);
    expect(ofType(log, 'BudgetExhausted').map((e) => e.data)).toEqual([{ spentUsd: 0.0112, budget: 0.01 }]);
    expect(checkInvariants(log, cfg)).toEqual([]);
  }, 60_000);

  it('codex and gemini per role: their tokens are recorded and totalled (no cost reported)', async () => {
    const { repo } = setup(
      PLAN.replace('role: dev }\n          - { id: T2', 'role: coder }\n          - { id: T2'),
    );
    const env = { PATH: pathWith(`${toolDir('codex')}${path.delimiter}${toolDir('gemini')}`) };
    const cfg = config({ agents: { default: { preset: 'gemini', env }, coder: { preset: 'codex', env } } });
    const outcome = await new Orchestrator({ repoDir: repo, config: cfg }).run();
    expect(outcome.exitCode).toBe(0);
    const log = repoEvents(repo);
    const byTask = Object.fromEntries(
      ofType(log, 'AgentSpawnRequested').map((e) => [data(e).taskId, data(e).command as string[]]),
    );
    expect(byTask['T1']?.slice(0, 2)).toEqual(['codex', 'exec']);
    expect(byTask['T2']?.[0]).toBe('gemini');
    const usage = ofType(log, 'AgentExited').map((e) => data(e).usage);
    expect(usage).toContainEqual({ inputTokens: 26549, cacheReadInputTokens: 22272, outputTokens: 1590 });
    expect(usage).toContainEqual({ inputTokens: 26000, cacheReadInputTokens: 21263, outputTokens: 100 });
    const totals = usageTotals(replay(log));
    expect(totals.run).toEqual({
      inputTokens: 26549 + 2 * 26000,
      outputTokens: 1590 + 200,
      costUsd: 0,
      attempts: 3,
    });
  }, 60_000);
});

/**
 * A `claude` that acts out the stand-in Claude Code in error mode on its first run and ok
 * afterwards, appending each run's argv as a line of JSON to `$ARGV_LOG`.
 */
function recordingClaude(root: string): string {
  const bin = path.join(root, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(
    path.join(bin, 'claude'),
    `#!/usr/bin/env node
import fs from 'node:fs';
const log = process.env.ARGV_LOG;
const n = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\\n').filter(Boolean).length : 0;
fs.appendFileSync(log, JSON.stringify(process.argv.slice(2)) + '\\n');
process.env.FAKE_CLAUDE_MODE = n === 0 ? (process.env.FIRST_MODE ?? 'error') : 'ok';
await import(${JSON.stringify(fixtureAgent('claude-code/claude'))});
`,
    { mode: 0o755 },
  );
  return bin;
}

const ONE_TASK = `name: Resume
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

describe('agents.<role>.resume', () => {
  const SESSION = '7c6a3c5e-0000-4000-8000-000000000001';

  async function twoAttempts(agent: Record<string, unknown>, firstMode = 'error') {
    const { repo, root } = setup(ONE_TASK);
    const argvLog = path.join(root, 'argv.log');
    const env = { PATH: pathWith(recordingClaude(root)), ARGV_LOG: argvLog, FIRST_MODE: firstMode };
    const cfg = config({ maxRetries: 1, agents: { default: { ...agent, env } as never } });
    const outcome = await new Orchestrator({ repoDir: repo, config: cfg }).run();
    const argvs = fs
      .readFileSync(argvLog, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as string[]);
    const prompt2 = fs.readFileSync(promptFilePath(path.join(repo, '.state'), 'T1', 2), 'utf8');
    return { outcome, argvs, prompt2, log: repoEvents(repo) };
  }

  it('continues the previous attempt’s session: --resume <session_id>, recorded, and said in the prompt', async () => {
    const { outcome, argvs, prompt2, log } = await twoAttempts({ preset: 'claude', resume: true });
    expect(outcome.exitCode).toBe(0);
    expect(argvs).toHaveLength(2);
    expect(argvs[0]).not.toContain('--resume');
    expect(argvs[1]!.slice(0, 2)).toEqual(['--resume', SESSION]);
    const exits = ofType(log, 'AgentExited');
    expect(exits.map((e) => data(e).sessionId)).toEqual([SESSION, SESSION]);
    // The intent records the argv the agent got.
    expect(data(ofType(log, 'AgentSpawnRequested')[1]).command).toEqual(
      expect.arrayContaining(['--resume', SESSION]),
    );
    expect(prompt2).toContain('You are resuming your previous session');
    expect(prompt2).toContain(SESSION);
  }, 60_000);

  it('by default each attempt is a fresh agent', async () => {
    const { argvs, prompt2, log } = await twoAttempts({ preset: 'claude' });
    expect(argvs.map((a) => a.includes('--resume'))).toEqual([false, false]);
    expect(prompt2).not.toContain('resuming');
    // The session is recorded all the same.
    expect(data(ofType(log, 'AgentExited')[0]).sessionId).toBe(SESSION);
  }, 60_000);

  it('no session recorded (the first attempt printed no result) → a fresh agent', async () => {
    const { argvs, prompt2 } = await twoAttempts({ preset: 'claude', resume: true, args: [] }, 'crash');
    expect(argvs.map((a) => a.includes('--resume'))).toEqual([false, false]);
    expect(prompt2).not.toContain('resuming');
  }, 60_000);
});
