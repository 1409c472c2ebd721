import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { presetCommand, type AgentPreset } from '../../../src/core/agent-presets.js';
import type { AgentIdentity } from '../../../src/runtime/agents/command.js';
import {
  readAgentExit,
  readAgentOutput,
  runAgent,
  startAgent,
  type RunningAgent,
} from '../../../src/runtime/agents/runner.js';
import { findProcessesByEnv, killSpawnProcesses } from '../../../src/runtime/system/find-processes.js';
import { isProcessAlive, isSameProcessAlive } from '../../../src/runtime/system/process-identity.js';
import { fixtureAgent, removeDir, sleep, tempDir } from '../helpers.js';

const node = process.execPath;
let dir: string;
let stateDir: string;
let workspace: string;
const started: RunningAgent[] = [];

function identity(over: Partial<AgentIdentity> = {}): AgentIdentity {
  return {
    runId: 'run-1',
    taskId: 'T001',
    spawnId: 'spawn-1',
    role: 'implementer',
    attempt: 1,
    stateDir,
    workspace,
    ...over,
  };
}

async function start(...args: Parameters<typeof startAgent>): Promise<RunningAgent> {
  const agent = await startAgent(...args);
  started.push(agent);
  return agent;
}

beforeEach(() => {
  dir = tempDir('runner');
  stateDir = path.join(dir, 'state');
  workspace = path.join(dir, 'ws');
  fs.mkdirSync(workspace);
});

afterEach(async () => {
  // Never leave an agent behind, even when an assertion failed.
  await Promise.all(started.splice(0).map((a) => a.stop()));
  // Nor a daemon one left outside its group.
  await killSpawnProcesses('spawn-1', 0);
  removeDir(dir);
});

describe('argv, environment and files', () => {
  it('substitutes placeholders literally, without a shell, and sets the ORCH_* variables', async () => {
    const prompt = 'do it; $(touch pwned) `touch pwned2` && rm -rf ./x | cat {taskId} "quoted" \'single\'';
    const result = await runAgent({
      command: [
        node,
        fixtureAgent('echo-env.mjs'),
        '{prompt}',
        '--task={taskId}',
        '{role}',
        '{promptFile}',
        '$HOME',
      ],
      prompt,
      identity: identity({
        targetEnv: { TARGET_ID: 'api', TARGET_PATH: '/srv/api', TARGET_PATH_WEB_APP: '/srv/web' },
      }),
      env: { EXTRA_FLAG: 'yes' },
    });
    expect(result.exitCode).toBe(0);
    const echo = JSON.parse(fs.readFileSync(path.join(workspace, 'echo.json'), 'utf8'));
    expect(echo.argv).toEqual([prompt, '--task=T001', 'implementer', result.promptFile, '$HOME']);
    expect(echo.cwd).toBe(workspace);
    expect(echo.env).toMatchObject({
      ORCH_RUN_ID: 'run-1',
      ORCH_TASK_ID: 'T001',
      ORCH_SPAWN_ID: 'spawn-1',
      ORCH_ROLE: 'implementer',
      ORCH_ATTEMPT: '1',
      ORCH_STATE_DIR: stateDir,
      ORCH_WORKSPACE: workspace,
      TARGET_ID: 'api',
      TARGET_PATH: '/srv/api',
      TARGET_PATH_WEB_APP: '/srv/web',
      EXTRA_FLAG: 'yes',
    });
    expect(fs.existsSync(echo.env.ORCH_CLI)).toBe(true);
    expect(path.basename(echo.env.ORCH_CLI)).toBe('run.js');
    expect(fs.existsSync(path.join(workspace, 'pwned'))).toBe(false);
    expect(fs.existsSync(path.join(workspace, 'pwned2'))).toBe(false);
    expect(result.promptFile).toBe(path.join(stateDir, 'prompts', 'T001', '1.md'));
    expect(fs.readFileSync(result.promptFile, 'utf8')).toBe(prompt);
    expect(result.logFile).toBe(path.join(stateDir, 'logs', 'T001', '1.log'));
  });

  it('passes a prompt too long for argv through the prompt file instead', async () => {
    const prompt = 'p'.repeat(200_000);
    const result = await runAgent({
      command: [node, fixtureAgent('echo-env.mjs'), '{prompt}'],
      prompt,
      identity: identity(),
    });
    const echo = JSON.parse(fs.readFileSync(path.join(workspace, 'echo.json'), 'utf8'));
    expect(echo.argv[0]).toContain(result.promptFile);
    expect(echo.argv[0].length).toBeLessThan(1000);
    expect(fs.readFileSync(result.promptFile, 'utf8')).toBe(prompt);
  });

  it('streams stdout and stderr to the log and keeps the tail and last line', async () => {
    const result = await runAgent({
      command: [node, fixtureAgent('succeed.mjs')],
      prompt: 'x',
      identity: identity({ attempt: 3 }),
    });
    expect(result.exitCode).toBe(0);
    expect(result.signal).toBeNull();
    const log = fs.readFileSync(path.join(stateDir, 'logs', 'T001', '3.log'), 'utf8');
    expect(log).toContain('agent T001 attempt 3 starting');
    expect(log).toContain('a line on stderr');
    expect(result.tail).toBe(log);
    expect(result.outputBytes).toBe(Buffer.byteLength(log));
    expect(result.lastLine).toBe('all done');
    expect(result.lastOutputAt).toBeDefined();
    expect(fs.readFileSync(path.join(workspace, 'succeed.txt'), 'utf8')).toBe('done by spawn-1\n');
  });

  it('reports a failing exit code, and the failure count survives in the workspace', async () => {
    const opts = { command: [node, fixtureAgent('fail-n.mjs')], prompt: 'x', env: { FAIL_TIMES: '1' } };
    const first = await runAgent({ ...opts, identity: identity({ attempt: 1 }) });
    const second = await runAgent({ ...opts, identity: identity({ attempt: 2 }) });
    expect(first.exitCode).toBe(1);
    expect(first.lastLine).toContain('failing on purpose');
    expect(second.exitCode).toBe(0);
  });

  it('reports a crash as the killing signal with no exit code', async () => {
    const result = await runAgent({
      command: [node, fixtureAgent('crash.mjs')],
      prompt: 'x',
      identity: identity(),
    });
    expect(result.exitCode).toBeNull();
    expect(result.signal).toBe('SIGKILL');
    expect(result.tail).toContain('about to crash');
  });

  it('throws AGENT_SPAWN_FAILED when the command does not exist', async () => {
    await expect(
      startAgent({ command: ['orch-no-such-agent-xyz', '{prompt}'], prompt: 'x', identity: identity() }),
    ).rejects.toMatchObject({ code: 'AGENT_SPAWN_FAILED' });
  });
});

describe('process groups', () => {
  it('kills the whole group on timeout, grandchild included', async () => {
    const pidFile = path.join(dir, 'gc.pid');
    const t0 = Date.now();
    const agent = await start({
      command: [node, fixtureAgent('grandchild.mjs')],
      prompt: 'x',
      identity: identity(),
      env: { GRANDCHILD_PID_FILE: pidFile },
      // Long enough for two Node processes to start on a loaded machine.
      timeoutMs: 2500,
      killGraceMs: 1000,
    });
    expect(agent.startTime).toBeDefined();
    expect(isSameProcessAlive(agent.pid, agent.startTime!)).toBe(true);
    const result = await agent.done;
    expect(result.timedOut).toBe(true);
    expect(result.signal).toBe('SIGTERM');
    expect(Date.now() - t0).toBeLessThan(8000);
    const grandchild = Number(fs.readFileSync(pidFile, 'utf8'));
    expect(grandchild).toBeGreaterThan(1);
    expect(isProcessAlive(grandchild)).toBe(false);
    expect(isSameProcessAlive(agent.pid, agent.startTime!)).toBe(false);
  });

  it('kills what an agent left running after it exited, and does not wait for its open stdout', async () => {
    const pidFile = path.join(dir, 'gc.pid');
    const t0 = Date.now();
    const result = await runAgent({
      command: [node, fixtureAgent('grandchild.mjs')],
      prompt: 'x',
      identity: identity(),
      env: { GRANDCHILD_PID_FILE: pidFile, GRANDCHILD_THEN: 'exit' },
      killGraceMs: 1000,
    });
    expect(result.exitCode).toBe(0);
    expect(result.leftoversKilled).toBe(true);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(isProcessAlive(Number(fs.readFileSync(pidFile, 'utf8')))).toBe(false);
  });

  it('kills a daemon the agent left in another session (double fork, ignoring SIGHUP and SIGTERM)', async () => {
    const pidDir = path.join(dir, 'daemons');
    const result = await runAgent({
      command: [node, fixtureAgent('daemon.mjs')],
      prompt: 'x',
      identity: identity(),
      env: { DAEMON_PID_DIR: pidDir, DAEMON_MARKER: `orch-test-daemon-${path.basename(dir)}` },
      killGraceMs: 500,
    });
    // work.mjs fails outside a git repository; the daemon was started before that.
    expect(result.tail).toContain('daemon: left a daemon behind');
    const daemons = fs.readdirSync(pidDir).map(Number);
    expect(daemons).toHaveLength(1);
    // It left the agent's session and group: only its ORCH_SPAWN_ID gave it away.
    expect(isProcessAlive(daemons[0]!)).toBe(false);
    expect(result.leftoversKilled).toBe(true);
    expect(findProcessesByEnv('ORCH_SPAWN_ID', 'spawn-1')).toEqual([]);
  });

  it('an agent that SIGKILLs its own process group (wrapper included) still ends with a result', async () => {
    const result = await runAgent({
      command: [node, fixtureAgent('kill-group.mjs')],
      prompt: 'x',
      identity: identity(),
      killGraceMs: 500,
    });
    expect(result.exitCode).toBeNull();
    expect(result.signal).toBe('SIGKILL');
    expect(result.tail).toContain('killing my process group');
    expect(findProcessesByEnv('ORCH_SPAWN_ID', 'spawn-1')).toEqual([]);
  });

  it('stop() escalates to SIGKILL when SIGTERM is ignored, and progress() shows the last line', async () => {
    const agent = await start({
      command: [node, fixtureAgent('hang.mjs')],
      prompt: 'x',
      identity: identity(),
      env: { IGNORE_TERM: '1' },
      killGraceMs: 400,
    });
    for (let i = 0; i < 100 && agent.progress().outputBytes === 0; i++) await sleep(20);
    // agent.pid is the wrapper (the group leader); the agent itself is its child.
    expect(agent.progress().lastLine).toMatch(/^hanging \(pid \d+\)$/);
    const result = await agent.stop();
    expect(result.stopped).toBe(true);
    expect(result.timedOut).toBe(false);
    expect(result.signal).toBe('SIGKILL');
    expect(result.tail).toContain('ignoring SIGTERM');
    expect(isProcessAlive(agent.pid)).toBe(false);
  });
});

describe('output flood', () => {
  it('writes hundreds of MB to the log while memory stays bounded', async () => {
    const mib = 200;
    const tailBytes = 32 * 1024;
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const result = await runAgent({
      command: [node, fixtureAgent('flood.mjs')],
      prompt: 'x',
      identity: identity(),
      env: { FLOOD_MB: String(mib) },
      tailBytes,
    });
    clearInterval(sampler);
    const expected = mib * 1024 * 1024 + 'flood finished\n'.length;
    expect(result.exitCode).toBe(0);
    // orch rotates the log (the agent writes it directly) at the default 64 MiB: copied to
    // `.1`, then truncated. What arrives during the copy is dropped and counted
    // up to a quarter of the cap follows into `.1`, the rest is dropped and counted
    // (droppedBytes); the writes in flight at the instant of the truncation (1 MiB each here)
    // are lost uncounted, which the bound below allows (5% of the output). The log can pass the cap by what arrives before orch looks.
    const cap = 64 * 1024 * 1024;
    const status = readAgentExit(result.logFile, 'spawn-1')!;
    const rotations = status.rotations ?? 0;
    console.log(
      `flood: outputBytes ${result.outputBytes} of ${expected}, rotations ${rotations}, ` +
        `log ${fs.statSync(result.logFile).size}, .1 ${fs.statSync(`${result.logFile}.1`).size}`,
    );
    expect(rotations).toBeGreaterThanOrEqual(1);
    expect(result.outputBytes).toBe(status.outputBytes);
    expect(result.outputBytes).toBeLessThanOrEqual(expected);
    expect(result.outputBytes).toBeGreaterThanOrEqual(expected * 0.95);
    // On disk: what was kept plus what was dropped is what was counted.
    expect(fs.statSync(result.logFile).size + (status.droppedBytes ?? 0)).toBeLessThanOrEqual(
      result.outputBytes,
    );
    expect(fs.statSync(result.logFile).size).toBeLessThan(cap);
    expect(fs.statSync(`${result.logFile}.1`).size).toBeGreaterThanOrEqual(cap);
    expect(fs.statSync(`${result.logFile}.1`).size).toBeLessThanOrEqual(cap * 1.25);
    expect(Buffer.byteLength(result.tail)).toBeLessThanOrEqual(tailBytes);
    expect(result.lastLine).toBe('flood finished');
    const growthMiB = (peak - baseline) / 1024 / 1024;
    console.log(`flood: ${mib} MiB through the runner, peak RSS growth ${growthMiB.toFixed(1)} MiB`);
    expect(growthMiB).toBeLessThan(64);
  });
});

describe('Claude Code output', () => {
  const claude = fixtureAgent('claude-code/claude');

  it('asks Claude Code for JSON and records the usage it reports', async () => {
    const argvFile = path.join(dir, 'argv.json');
    const result = await runAgent({
      command: [claude, '-p', '--dangerously-skip-permissions', '{prompt}'],
      prompt: 'build it',
      identity: identity(),
      env: { FAKE_CLAUDE_ARGV: argvFile },
    });
    expect(JSON.parse(fs.readFileSync(argvFile, 'utf8'))).toEqual([
      '--output-format',
      'json',
      '-p',
      '--dangerously-skip-permissions',
      'build it',
    ]);
    expect(result.exitCode).toBe(0);
    expect(result.usage).toEqual({
      inputTokens: 1200,
      outputTokens: 345,
      cacheCreationInputTokens: 7924,
      cacheReadInputTokens: 13368,
      costUsd: 0.1234,
      numTurns: 3,
      durationMs: 1234,
    });
    expect(result.claude?.text).toBe('Implemented the task and committed.');
    expect(result.rateLimit).toBeUndefined();
  });

  it('keeps an output format the command already chose (stream-json) and still finds the result', async () => {
    const result = await runAgent({
      command: [claude, '-p', '--output-format', 'stream-json', '{prompt}'],
      prompt: 'x',
      identity: identity(),
    });
    expect(result.usage?.costUsd).toBe(0.1234);
  });

  it('detects a usage limit and its reset time (epoch form)', async () => {
    const result = await runAgent({
      command: [claude, '-p', '{prompt}'],
      prompt: 'x',
      identity: identity(),
      env: { FAKE_CLAUDE_MODE: 'rate-limit', RESET_EPOCH: '1893456000' },
    });
    expect(result.exitCode).toBe(1);
    expect(result.rateLimit).toEqual({
      message: 'usage limit reached|1893456000',
      resetAt: '2030-01-01T00:00:00.000Z',
    });
  });

  it('detects a usage limit with a wall-clock reset time, relative to the clock', async () => {
    const clock = { now: () => new Date('2030-05-01T16:00:00Z') };
    const result = await runAgent({
      command: [claude, '-p', '{prompt}'],
      prompt: 'x',
      identity: identity(),
      env: { FAKE_CLAUDE_MODE: 'hit-limit' },
      clock,
    });
    // 3pm UTC has passed on May 1st, so the limit resets on May 2nd.
    expect(result.rateLimit?.resetAt).toBe('2030-05-02T15:00:00.000Z');
  });

  it('detects a limit message from any agent that exits non-zero', async () => {
    const clock = { now: () => new Date('2030-05-01T12:00:00Z') };
    const result = await runAgent({
      command: [node, fixtureAgent('rate-limited.mjs')],
      prompt: 'x',
      identity: identity(),
      clock,
    });
    expect(result.exitCode).toBe(1);
    expect(result.usage).toBeUndefined();
    expect(result.rateLimit?.resetAt).toBe('2030-05-01T17:00:00.000Z');
  });
});

describe('Codex, Gemini CLI and aider output (presets, stand-ins named like the tools)', () => {
  // A PATH with the stand-in first, as a real install would be found.
  const onPath = (tool: string) => ({
    PATH: `${path.dirname(fixtureAgent(`${tool}/${tool}`))}${path.delimiter}${process.env['PATH'] ?? ''}`,
  });
  const usageOf = async (preset: AgentPreset, env: Record<string, string> = {}) => {
    const argvFile = path.join(dir, `${preset}-argv.json`);
    const result = await runAgent({
      command: presetCommand(preset, { model: 'm1' }),
      prompt: 'build it',
      identity: identity(),
      env: { ...onPath(preset), FAKE_AGENT_ARGV: argvFile, ...env },
    });
    return { result, argv: JSON.parse(fs.readFileSync(argvFile, 'utf8')) as string[] };
  };

  it('codex exec --json: the usage of turn.completed', async () => {
    const { result, argv } = await usageOf('codex');
    expect(argv).toEqual(['exec', '--json', '--sandbox', 'workspace-write', '--model', 'm1', 'build it']);
    expect(result.exitCode).toBe(0);
    expect(result.usage).toEqual({ inputTokens: 26549, cacheReadInputTokens: 22272, outputTokens: 1590 });
    expect(result.claude).toBeUndefined();
  });

  it('gemini --output-format json: the tokens of every model in stats.models, summed', async () => {
    const { result, argv } = await usageOf('gemini');
    expect(argv).toEqual(['--yolo', '--output-format', 'json', '--model', 'm1', '--prompt', 'build it']);
    expect(result.usage).toEqual({ inputTokens: 26000, outputTokens: 100, cacheReadInputTokens: 21263 });
  });

  it('aider --message: tokens summed over its lines, the cost of the session', async () => {
    const { result, argv } = await usageOf('aider');
    expect(argv).toEqual(['--yes-always', '--model', 'm1', '--message', 'build it']);
    expect(result.usage).toEqual({
      inputTokens: 14300,
      outputTokens: 1345,
      cacheCreationInputTokens: 1100,
      cacheReadInputTokens: 2500,
      costUsd: 0.0056,
    });
  });

  it('read back from a log file alone (crash recovery reads an ended agent this way)', () => {
    const logFile = path.join(dir, 'aider.log');
    fs.writeFileSync(
      logFile,
      'Aider v0.86.1\nTokens: 900 sent, 12 received. Cost: $0.01 message, $0.02 session.\n',
    );
    expect(readAgentOutput(logFile, { tailBytes: 100, usageOf: 'aider' }).usage).toEqual({
      inputTokens: 900,
      outputTokens: 12,
      costUsd: 0.02,
    });
    // Without usageOf (a program orch does not know) nothing is read.
    expect(readAgentOutput(logFile, { tailBytes: 100 }).usage).toBeUndefined();
  });

  it('a failed run still records what it reported', async () => {
    const { result } = await usageOf('aider', { FAKE_AGENT_MODE: 'error' });
    expect(result.exitCode).toBe(1);
    expect(result.usage).toEqual({ inputTokens: 2300, outputTokens: 145, costUsd: 0.0012 });
    const codex = await usageOf('codex', { FAKE_AGENT_MODE: 'error' });
    expect(codex.result.exitCode).toBe(1);
    expect(codex.result.usage).toBeUndefined();
  });
});
