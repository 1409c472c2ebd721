import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OrchestratorConfigSchema, type OrchestratorConfigInput } from '../../../src/core/config.js';
import { streamIds } from '../../../src/core/events.js';
import { LiveLog } from '../../../src/runtime/log/live-log.js';
import { loadPlan } from '../../../src/runtime/project/plan-loader.js';
import { recordPlan } from '../../../src/runtime/project/plan-recording.js';
import { createPrProvider, descriptionPath } from '../../../src/runtime/git/pr-provider.js';
import { WorkspaceManager } from '../../../src/runtime/git/workspace.js';
import { createMemoryEventStore } from '../../../src/store/index.js';
import { git, makeRepo, removeDir, tempDir } from '../helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

const PLAN = `name: Tiny
milestones:
  - id: M1
    title: Core
    phases:
      - id: P1
        title: First phase
        dependsOn: []
        tasks:
          - { id: T1, title: Make a, role: dev }
`;

async function setup(extra: OrchestratorConfigInput = {}) {
  const root = tempDir('pr');
  dirs.push(root);
  const repo = makeRepo(path.join(root, 'repo'));
  git(repo, 'branch', 'integration');
  const stateDir = path.join(root, 'state');
  fs.writeFileSync(path.join(root, 'plan.yaml'), PLAN);
  const config = OrchestratorConfigSchema.parse({ agents: { dev: { command: ['true'] } }, ...extra });
  const workspaces = await WorkspaceManager.open({
    repoDir: repo,
    sandboxDir: path.join(root, 'sandbox'),
    integrationBranch: config.integrationBranch,
    baseBranch: config.baseBranch,
  });
  // The log of one finished task: two attempts (the first failed), merged, with usage.
  const log = new LiveLog(createMemoryEventStore(), { runId: 'run-1' });
  recordPlan(log, loadPlan(path.join(root, 'plan.yaml')).plan);
  const task = streamIds.task('T1');
  const spawn = (spawnId: string, attempt: number, exitCode: number, costUsd: number) => {
    log.append(task, 'AgentSpawnRequested', {
      spawnId,
      taskId: 'T1',
      attempt,
      role: 'dev',
      command: ['true'],
      workspace: '/w',
    });
    log.append(task, 'AgentStarted', {
      spawnId,
      pid: 4242,
      pidStartTime: null,
      startedAt: '2025-01-01T00:00:00Z',
    });
    log.append(task, 'AgentExited', {
      spawnId,
      exitCode,
      signal: null,
      durationMs: 5,
      outputTail: '',
      usage: { costUsd, inputTokens: 1000 * attempt, outputTokens: 10 },
    });
  };
  log.append(streamIds.phase('P1'), 'PhaseUnblocked', { phaseId: 'P1' });
  log.append(streamIds.phase('P1'), 'PhaseStarted', { phaseId: 'P1' });
  log.append(task, 'TaskUnblocked', { taskId: 'T1', reason: 'dependencies' });
  spawn('spawn-aaaaaaaa-1', 1, 1, 0.25);
  log.append(task, 'RetryScheduled', {
    taskId: 'T1',
    attempt: 2,
    notBefore: '2025-01-01T00:00:00Z',
    reason: 'exit 1',
  });
  spawn('spawn-bbbbbbbb-2', 2, 0, 0.5);
  log.append(task, 'GatePassed', { taskId: 'T1', spawnId: 'spawn-bbbbbbbb-2', skipped: true });
  const commit = git(repo, 'rev-parse', 'integration');
  log.append(task, 'BranchMerged', { taskId: 'T1', spawnId: 'spawn-bbbbbbbb-2', commit });
  log.append(streamIds.phase('P1'), 'PhaseCompleted', { phaseId: 'P1' });
  log.append(streamIds.milestone('M1'), 'MilestoneCompleted', { milestoneId: 'M1' });
  expect(log.state.tasks['T1']?.value).toBe('complete');
  return { root, repo, stateDir, config, workspaces, log, commit };
}

describe('local PR provider', () => {
  it('makes branch milestone/<id> and a description with phases, tasks, commits, agents, attempts, usage', async () => {
    const { repo, stateDir, config, workspaces, log, commit } = await setup();
    const prs = createPrProvider(config, { repoDir: repo, stateDir, workspaces });
    const branch = prs.branchFor('M1');
    expect(branch).toBe('milestone/M1');
    const pr = await prs.open('M1', branch, log.state);
    const file = descriptionPath(stateDir, 'M1');
    expect(pr).toEqual({ url: `file://${file}`, branch });
    expect(git(repo, 'rev-parse', 'milestone/M1')).toBe(commit);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toContain('# M1: Core');
    expect(text).toContain('## Phase P1: First phase');
    expect(text).toContain(
      `| T1 | Make a | 2 | ${commit.slice(0, 12)} | spawn-aa · 1<br>spawn-bb · 0 | 3000 in / 20 out tokens · $0.7500 |`,
    );
    expect(text).toContain(
      'Usage reported by the agents of this milestone: 3000 in / 20 out tokens · $0.7500 over 2 attempt(s).',
    );

    // Opening again (a restart after a crash between request and outcome) finds the branch.
    git(repo, 'commit', '--allow-empty', '-q', '-m', 'later work on main');
    expect(await prs.open('M1', branch, log.state)).toEqual(pr);
    expect(git(repo, 'branch', '--list', 'milestone/*')).toBe('milestone/M1');
    expect(git(repo, 'rev-parse', 'milestone/M1')).toBe(commit);
  });
});

describe('github PR provider', () => {
  /** A stand-in `gh` that records its arguments and remembers the PRs it created. */
  function standInGh(root: string): { gh: string; calls: () => string[][] } {
    const gh = path.join(root, 'gh');
    const record = path.join(root, 'gh-calls.jsonl');
    const prs = path.join(root, 'gh-prs.json');
    fs.writeFileSync(
      gh,
      `#!/usr/bin/env node
const fs = require('node:fs');
const args = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(record)}, JSON.stringify(args) + '\\n');
const prs = fs.existsSync(${JSON.stringify(prs)}) ? JSON.parse(fs.readFileSync(${JSON.stringify(prs)}, 'utf8')) : {};
const flag = (name) => args[args.indexOf(name) + 1];
if (args[0] === 'pr' && args[1] === 'list') {
  const url = prs[flag('--head')];
  process.stdout.write(JSON.stringify(url ? [{ url }] : []));
} else if (args[0] === 'pr' && args[1] === 'create') {
  const url = 'https://github.example/acme/repo/pull/' + (Object.keys(prs).length + 7);
  prs[flag('--head')] = url;
  fs.writeFileSync(${JSON.stringify(prs)}, JSON.stringify(prs));
  process.stdout.write('Creating pull request\\n' + url + '\\n');
} else {
  process.stderr.write('unexpected: ' + args.join(' '));
  process.exit(2);
}
`,
      { mode: 0o755 },
    );
    const calls = () =>
      fs.existsSync(record)
        ? fs
            .readFileSync(record, 'utf8')
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l) as string[])
        : [];
    return { gh, calls };
  }

  it('pushes the branch and runs gh pr create once, with the description; a second open finds it', async () => {
    const { root, repo, stateDir, config, workspaces, log } = await setup({ pr: { provider: 'github' } });
    const origin = path.join(root, 'origin.git');
    git(root, 'init', '-q', '--bare', origin);
    git(repo, 'remote', 'add', 'origin', origin);
    const { gh, calls } = standInGh(root);
    const prs = createPrProvider(config, { repoDir: repo, stateDir, workspaces, ghCommand: gh });

    const pr = await prs.open('M1', 'milestone/M1', log.state);
    expect(pr).toEqual({ url: 'https://github.example/acme/repo/pull/7', branch: 'milestone/M1' });
    expect(git(origin, 'rev-parse', 'milestone/M1')).toBe(git(repo, 'rev-parse', 'integration'));
    const file = descriptionPath(stateDir, 'M1');
    expect(calls()).toEqual([
      ['pr', 'list', '--head', 'milestone/M1', '--state', 'all', '--json', 'url', '--limit', '1'],
      [
        'pr',
        'create',
        '--base',
        'main',
        '--head',
        'milestone/M1',
        '--title',
        'M1: Core',
        '--body-file',
        file,
      ],
    ]);
    expect(fs.readFileSync(file, 'utf8')).toContain('| T1 | Make a | 2 |');

    expect(await prs.open('M1', 'milestone/M1', log.state)).toEqual(pr);
    expect(calls().filter((c) => c[1] === 'create')).toHaveLength(1);
  });

  it('a failing gh pr create (gh from ORCH_GH) is an error naming the milestone', async () => {
    const { root, repo, stateDir, config, workspaces, log } = await setup({ pr: { provider: 'github' } });
    const origin = path.join(root, 'origin.git');
    git(root, 'init', '-q', '--bare', origin);
    git(repo, 'remote', 'add', 'origin', origin);
    const gh = path.join(root, 'gh-broken');
    fs.writeFileSync(
      gh,
      '#!/bin/sh\n[ "$2" = list ] && { echo "[]"; exit 0; }\necho "not logged in" >&2\nexit 1\n',
      {
        mode: 0o755,
      },
    );
    // The executable comes from ORCH_GH when no command is passed in.
    const saved = process.env['ORCH_GH'];
    process.env['ORCH_GH'] = gh;
    let prs: ReturnType<typeof createPrProvider>;
    try {
      prs = createPrProvider(config, { repoDir: repo, stateDir, workspaces });
    } finally {
      if (saved === undefined) delete process.env['ORCH_GH'];
      else process.env['ORCH_GH'] = saved;
    }
    await expect(prs.open('M1', 'milestone/M1', log.state)).rejects.toMatchObject({
      code: 'PR_CREATE_FAILED',
      message: expect.stringContaining('milestone M1: not logged in') as string,
    });
  });
});
