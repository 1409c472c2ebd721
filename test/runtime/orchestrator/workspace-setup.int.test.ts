import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OrchestratorConfigSchema, type OrchestratorConfigInput } from '../../../src/core/config.js';
import type { RecordedEvent } from '../../../src/core/envelope.js';
import { orchStatus } from '../../../src/runtime/operations/status.js';
import { Orchestrator } from '../../../src/runtime/orchestrator/orchestrator.js';
import { agentLogPath, promptFilePath } from '../../../src/runtime/system/state-paths.js';
import { taskHistory } from '../../../src/core/attempt-history.js';
import { renderTaskStory } from '../../../src/runtime/render/task-story.js';
import { renderStatusText } from '../../../src/runtime/render/status-text.js';
import { statusDocument } from '../../../src/core/status-document.js';
import { replay } from '../../../src/core/replayer.js';
import { fixtureAgent, git, makePlanRepo, removeDir, repoEvents, sleep, tempDir } from '../helpers.js';

/**
 * `workspace.setup`, `workspace.copy` and `workspace.ports` through the real Orchestrator:
 * real worktrees, real set-up commands and agent processes that record what they saw.
 */

const ENV_COMMIT = fixtureAgent('env-commit.mjs');
const HANG = fixtureAgent('hang.mjs');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

const plan = (tasks: string[]) => `name: Workspace
milestones:
  - id: M1
    title: One
    phases:
      - id: P1
        title: First
        dependsOn: []
        tasks:
${tasks.map((t) => `          - { id: ${t}, title: Make ${t}, role: dev }`).join('\n')}
`;

function setUp(tasks: string[], extra: OrchestratorConfigInput) {
  const root = tempDir('wsprep');
  dirs.push(root);
  const repo = makePlanRepo(root, plan(tasks));
  const echoDir = path.join(root, 'echo');
  fs.mkdirSync(echoDir);
  const config = OrchestratorConfigSchema.parse({
    planDir: 'plan.yaml',
    retryInterval: 0,
    maxRetries: 0,
    maxConcurrent: 2,
    stallTimeout: 0,
    agents: { default: { command: [ENV_COMMIT], env: { ECHO_DIR: echoDir } } },
    ...extra,
  });
  return { root, repo, echoDir, config };
}

const report = (echoDir: string, task: string) =>
  JSON.parse(fs.readFileSync(path.join(echoDir, `${task}.json`), 'utf8')) as {
    env: Record<string, string>;
    files: string[];
  };
const ofType = (log: RecordedEvent[], type: string) =>
  log.filter((e) => e.type === type).map((e) => e.data as Record<string, unknown>);

describe('workspace set-up', () => {
  it('runs workspace.setup once in a new worktree before the agent, with its output in the attempt log', async () => {
    const { repo, echoDir, config } = setUp(['T1'], {
      workspace: {
        setup: [
          'node',
          '-e',
          "require('fs').writeFileSync('generated.txt', 'made'); console.log('setup ran')",
        ],
      },
    });
    const outcome = await new Orchestrator({ repoDir: repo, config, killGraceMs: 500 }).run();
    expect(outcome.exitCode).toBe(0);
    expect(report(echoDir, 'T1').files).toContain('generated.txt');
    const log = repoEvents(repo);
    const setups = ofType(log, 'WorkspacePrepared');
    expect(setups).toHaveLength(1);
    expect(setups[0]).toMatchObject({ taskId: 'T1', exitCode: 0, copied: [] });
    expect(setups[0]?.['outputTail']).toContain('setup ran');
    // Set-up before the agent started; the attempt's log holds both outputs.
    const setUpAt = log.findIndex((e) => e.type === 'WorkspacePrepared');
    const startedAt = log.findIndex((e) => e.type === 'AgentStarted');
    expect(setUpAt).toBeGreaterThan(-1);
    expect(setUpAt).toBeLessThan(startedAt);
    const attemptLog = fs.readFileSync(agentLogPath(path.join(repo, '.state'), 'T1', 1), 'utf8');
    expect(attemptLog).toContain('setup ran');
    expect(attemptLog).toContain('T1 committed');
  }, 60_000);

  it('a failing set-up is a failed attempt whose output the next prompt quotes; the next attempt sets up again', async () => {
    const { root, repo, echoDir, config } = setUp(['T1'], { maxRetries: 1 });
    const counter = path.join(root, 'setup-count');
    const script = [
      "const fs = require('fs'); const f = process.argv[1];",
      "const n = fs.existsSync(f) ? Number(fs.readFileSync(f, 'utf8')) : 0; fs.writeFileSync(f, String(n + 1));",
      "if (n === 0) { console.error('npm ERR! could not resolve left-pad'); process.exit(3); }",
      "console.log('installed');",
    ].join(' ');
    const outcome = await new Orchestrator({
      repoDir: repo,
      config: { ...config, workspace: { setup: ['node', '-e', script, counter] } },
      killGraceMs: 500,
    }).run();
    expect(outcome.exitCode).toBe(0);
    const log = repoEvents(repo);
    const setups = ofType(log, 'WorkspacePrepared');
    expect(setups.map((s) => s['exitCode'])).toEqual([3, 0]);
    const failed = ofType(log, 'AgentSpawnFailed');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.['error']).toMatch(/workspace\.setup .* failed \(exit 3\)/);
    expect(failed[0]?.['error']).toContain('npm ERR! could not resolve left-pad');
    // The first attempt never got an agent; the second's prompt quotes the set-up's output.
    expect(fs.existsSync(promptFilePath(path.join(repo, '.state'), 'T1', 1))).toBe(false);
    const prompt = fs.readFileSync(promptFilePath(path.join(repo, '.state'), 'T1', 2), 'utf8');
    expect(prompt).toContain('npm ERR! could not resolve left-pad');
    expect(report(echoDir, 'T1').env['ORCH_ATTEMPT']).toBe('2');
    expect(fs.readFileSync(agentLogPath(path.join(repo, '.state'), 'T1', 1), 'utf8')).toContain(
      'npm ERR! could not resolve left-pad',
    );
    // orch log --task T1: each attempt says how its set-up went.
    const story = renderTaskStory(taskHistory(log, 'T1')).split('\n');
    const [first, second] = log.filter((e) => e.type === 'WorkspacePrepared').map((e) => e.position);
    const attempt2 = story.findIndex((l) => l.startsWith('Attempt 2'));
    const failedLine = story.findIndex((l) =>
      l.startsWith(`  #${first} WorkspacePrepared: set-up failed (exit 3) in `),
    );
    expect(failedLine, story.join('\n')).toBeGreaterThan(0);
    expect(failedLine).toBeLessThan(attempt2);
    expect(story[failedLine]).toContain(': node -e const fs');
    const doneLine = story.findIndex((l) => l.startsWith(`  #${second} WorkspacePrepared: set-up done in `));
    expect(doneLine).toBeGreaterThan(attempt2);
  }, 60_000);

  it('a task whose set-up failed for good: orch status says so on the task line, orch log --task on the attempt', async () => {
    const { repo, config } = setUp(['T1'], {});
    const script =
      "console.log('resolving'); console.error('npm ERR! could not resolve left-pad'); process.exit(3)";
    const outcome = await new Orchestrator({
      repoDir: repo,
      config: { ...config, workspace: { setup: ['node', '-e', script] } },
      killGraceMs: 500,
    }).run();
    expect(outcome.exitCode).not.toBe(0);
    const log = repoEvents(repo);
    const text = renderStatusText(statusDocument(replay(log)), null).split('\n');
    const line = text.find((l) => l.trim().startsWith('T1  failed'));
    expect(line, text.join('\n')).toMatch(
      /T1 {2}failed {2}1 attempt {2}Make T1 \(dev\) {2}last failure: spawn failed: workspace\.setup \["node","-e",.*\] failed \(exit 3\); the end of its output: … npm ERR! could not resolve left-pad$/,
    );
    // The quoted output does not spill onto lines of its own.
    expect(text.filter((l) => l.includes('npm ERR!'))).toEqual([line]);
    const prepared = log.find((e) => e.type === 'WorkspacePrepared')!;
    expect(renderTaskStory(taskHistory(log, 'T1'))).toContain(
      `\n  #${prepared.position} WorkspacePrepared: set-up failed (exit 3) in `,
    );
  }, 60_000);

  it('copies workspace.copy files into each worktree and never lets them reach the merged branch', async () => {
    const { repo, echoDir, config } = setUp(['T1', 'T2'], {
      workspace: { copy: ['.env', 'conf/local.json'] },
    });
    fs.writeFileSync(path.join(repo, '.env'), 'SECRET=1\n');
    fs.mkdirSync(path.join(repo, 'conf'));
    fs.writeFileSync(path.join(repo, 'conf', 'local.json'), '{"local":true}\n');
    const outcome = await new Orchestrator({ repoDir: repo, config, killGraceMs: 500 }).run();
    expect(outcome.exitCode).toBe(0);
    for (const t of ['T1', 'T2'])
      expect(report(echoDir, t).files).toEqual(expect.arrayContaining(['.env', 'conf']));
    expect(ofType(repoEvents(repo), 'WorkspacePrepared').map((s) => s['copied'])).toEqual([
      ['.env', 'conf/local.json'],
      ['.env', 'conf/local.json'],
    ]);
    // The agents ran `git add -A`: their own files are merged, the copies are not.
    const merged = git(repo, 'ls-tree', '-r', '--name-only', 'integration').split('\n');
    expect(merged).toEqual(expect.arrayContaining(['T1.txt', 'T2.txt']));
    expect(merged).not.toContain('.env');
    expect(merged).not.toContain('conf/local.json');
  }, 60_000);

  it('gives two live agents at once disjoint port blocks (ORCH_PORT_BASE, ORCH_PORTS)', async () => {
    const { repo, echoDir, config } = setUp(['T1', 'T2'], { workspace: { ports: 3, portBase: 31000 } });
    const withEnv = (env: Record<string, string>) => ({
      ...config,
      agents: { default: { command: [ENV_COMMIT], env: { ECHO_DIR: echoDir, ...env } } },
    });
    const outcome = await new Orchestrator({
      repoDir: repo,
      config: withEnv({ WAIT_FOR: '2' }),
      killGraceMs: 500,
    }).run();
    expect(outcome.exitCode).toBe(0);
    const a = report(echoDir, 'T1').env;
    const b = report(echoDir, 'T2').env;
    const ports = (e: Record<string, string>) => (e['ORCH_PORTS'] ?? '').split(',').map(Number);
    expect(ports(a)).toHaveLength(3);
    expect(ports(b)).toHaveLength(3);
    expect(Number(a['ORCH_PORT_BASE'])).toBe(ports(a)[0]);
    expect(ports(a).filter((p) => ports(b).includes(p))).toEqual([]);
    expect([...ports(a), ...ports(b)].sort()).toEqual([31000, 31001, 31002, 31003, 31004, 31005]);
    const log = repoEvents(repo);
    const assigned = ofType(log, 'PortsAssigned');
    expect(assigned.map((p) => p['base']).sort()).toEqual([31000, 31003]);
    // orch log --task: the attempt names its block.
    const t1Ports = log.find(
      (e) => e.type === 'PortsAssigned' && (e.data as { taskId: string }).taskId === 'T1',
    )!;
    const base = (t1Ports.data as { base: number }).base;
    expect(renderTaskStory(taskHistory(log, 'T1'))).toContain(
      `\n  #${t1Ports.position} PortsAssigned: ports ${base}-${base + 2}`,
    );
  }, 60_000);

  it('a block held by an agent left running by a stopped run is not given again after a restart', async () => {
    const { repo, echoDir, config } = setUp(['T1', 'T2'], { workspace: { ports: 2, portBase: 32000 } });
    // Run 1 only runs T1, with a hanging agent, and leaves it running.
    const first = new Orchestrator({
      repoDir: repo,
      config: { ...config, agents: { default: { command: [HANG] } } },
      tasks: ['T1'],
      leaveAgentsOnStop: true,
      killGraceMs: 500,
    });
    const firstRun = first.run();
    const started = () =>
      fs.existsSync(path.join(repo, '.state', 'orch.db')) &&
      repoEvents(repo).some((e) => e.type === 'AgentStarted');
    for (let i = 0; i < 400 && !started(); i++) await sleep(50);
    await first.stop('test: leave T1 running');
    expect((await firstRun).exitCode).toBe(130);
    const held = ofType(repoEvents(repo), 'PortsAssigned');
    expect(held).toEqual([expect.objectContaining({ taskId: 'T1', base: 32000, count: 2 })]);
    // orch status shows the block the still running agent holds.
    expect((await orchStatus(path.join(repo, '.state'))).extras.ports).toEqual([
      expect.objectContaining({ taskId: 'T1', base: 32000, count: 2 }),
    ]);
    // Run 2 re-attaches to T1's agent and spawns T2, which must get another block.
    const second = new Orchestrator({ repoDir: repo, config, tasks: ['T2'], killGraceMs: 500 });
    const secondRun = second.run();
    for (let i = 0; i < 400 && !fs.existsSync(path.join(echoDir, 'T2.json')); i++) await sleep(50);
    await second.stop('test: done');
    await secondRun;
    expect(report(echoDir, 'T2').env['ORCH_PORTS']).toBe('32002,32003');
    const pids = repoEvents(repo)
      .filter((e) => e.type === 'AgentStarted')
      .map((e) => (e.data as { pid: number }).pid);
    for (const pid of pids) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }, 60_000);
});
