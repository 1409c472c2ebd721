import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OrchestratorConfigSchema, type OrchestratorConfigInput } from '../../../src/core/config.js';
import { checkInvariants } from '../../../src/core/invariants.js';
import { replay } from '../../../src/core/replayer.js';
import { Orchestrator } from '../../../src/runtime/orchestrator/orchestrator.js';
import { statusDocument } from '../../../src/core/status-document.js';
import { renderStatusText } from '../../../src/runtime/render/status-text.js';
import { fixtureAgent, git, makePlanRepo, makeRepo, removeDir, repoEvents, tempDir } from '../helpers.js';

/**
 * Multi-repo targets with two real repositories: the main one (`app`, holding the plan and
 * the log) and a target (`api`). Tasks with a `target` (their own or their phase's) run in
 * worktrees of the target repository, with its agents, its conventions and `TARGET_*` set,
 * and merge into its integration branch; one log records both.
 */

const AGENT = fixtureAgent('target-agent.mjs');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

const PLAN = `name: Two repos
milestones:
  - id: M1
    title: App and API
    phases:
      - id: P1
        title: First
        tasks:
          - { id: T1, title: App work, role: dev }
          - { id: T2, title: API work asked by the app, role: dev, target: api }
      - id: P2
        title: API follow-up
        dependsOn: [P1]
        target: api
        tasks:
          - { id: A1, title: API follow-up, role: dev }
`;

function setup(extra: OrchestratorConfigInput = {}) {
  const root = tempDir('targets');
  dirs.push(root);
  const app = makePlanRepo(root, PLAN);
  const api = makeRepo(path.join(root, 'api'), 'trunk');
  fs.writeFileSync(
    path.join(api, 'CONVENTIONS.md'),
    '# API conventions\n\nAPI RULE 7: every handler is tested.\n',
  );
  git(api, 'add', '-A');
  git(api, 'commit', '-q', '-m', 'conventions');
  const agent = (name: string) => ({
    command: [process.execPath, AGENT, '{promptFile}'],
    env: { AGENT_NAME: name },
  });
  const config = OrchestratorConfigSchema.parse({
    planDir: 'plan.yaml',
    retryInterval: 0,
    maxRetries: 1,
    agents: { dev: agent('main-dev') },
    targets: {
      api: {
        path: '../api',
        baseBranch: 'trunk',
        conventions: 'CONVENTIONS.md',
        agents: { dev: agent('api-dev') },
      },
    },
    ...extra,
  });
  return { root, app, api, config };
}

const record = (repo: string, task: string) =>
  JSON.parse(git(repo, 'show', `integration:work/${task}.json`)) as {
    cwd: string;
    commonDir: string;
    agent: string;
    workspace: string;
    target: Record<string, string>;
    conventionsInPrompt: boolean;
  };

describe('multi-repo targets', () => {
  it('runs target tasks in the target repository and merges them there; one log covers both', async () => {
    const { app, api, config } = setup();
    const orch = new Orchestrator({ repoDir: app, config, pollIntervalMs: 20 });
    const outcome = await orch.run();
    expect(outcome.exitCode, outcome.reason).toBe(0);

    // Each repository's integration branch holds exactly its own tasks' work.
    const files = (repo: string) =>
      git(repo, 'ls-tree', '--name-only', 'integration', 'work/').split('\n').sort();
    expect(files(app)).toEqual(['work/T1.json']);
    expect(files(api)).toEqual(['work/A1.json', 'work/T2.json']);
    // The target's integration branch came from its own base branch (trunk).
    expect(git(api, 'merge-base', '--is-ancestor', 'trunk', 'integration')).toBe('');

    const t1 = record(app, 'T1');
    expect(t1.agent).toBe('main-dev');
    expect(t1.commonDir).toBe(path.join(app, '.git'));
    expect(t1.target).toEqual({ TARGETS: 'api', TARGET_PATH_MAIN: app, TARGET_PATH_API: api });
    expect(t1.conventionsInPrompt).toBe(false);

    for (const task of ['T2', 'A1']) {
      const r = record(api, task);
      expect(r.agent).toBe('api-dev');
      // A worktree of the api repository, under the main repo's sandbox.
      expect(r.commonDir).toBe(path.join(api, '.git'));
      expect(r.cwd).toBe(path.join(app, '.state', 'sandbox', '.targets', 'api', task));
      expect(r.target).toEqual({
        TARGETS: 'api',
        TARGET_PATH_MAIN: app,
        TARGET_PATH_API: api,
        TARGET_ID: 'api',
        TARGET_PATH: api,
        TARGET_ROADMAP: '',
        TARGET_CONVENTIONS: path.join(api, 'CONVENTIONS.md'),
        TARGET_DEVLOG: '',
        TARGET_INTEGRATION_BRANCH: 'integration',
        TARGET_BASE_BRANCH: 'trunk',
      });
      expect(r.conventionsInPrompt).toBe(true);
    }
    // The merge commits name the task, in the repository it belongs to.
    expect(git(api, 'log', '--merges', '--format=%s', 'integration')).toMatch(/task T2/);
    expect(git(app, 'log', '--merges', '--format=%s', 'integration')).not.toMatch(/task T2|task A1/);

    // One log, in the main repository's state directory, covers every task.
    const events = repoEvents(app);
    expect(fs.existsSync(path.join(api, '.state'))).toBe(false);
    const spawned = events
      .filter((e) => e.type === 'AgentSpawnRequested')
      .map((e) => (e.data as { taskId: string }).taskId);
    expect(spawned.sort()).toEqual(['A1', 'T1', 'T2']);
    expect(checkInvariants(events, config)).toEqual([]);

    // Status groups the work by repository.
    const doc = statusDocument(replay(events));
    expect(doc.tasks.map((t) => [t.id, t.target])).toEqual([
      ['T1', null],
      ['T2', 'api'],
      ['A1', 'api'],
    ]);
    expect(doc.targets.map((g) => [g.id, g.tasks.complete, g.attempts])).toEqual([
      [null, 1, 1],
      ['api', 2, 2],
    ]);
    const text = renderStatusText(doc);
    expect(text).toMatch(/^Targets:\n {2}main: 1 task \(1 complete\).*\n {2}api: 2 tasks \(2 complete\)/m);
  });

  it('--target runs only that target’s tasks; an unknown target is refused before anything is written', async () => {
    const { app, api, config } = setup();
    const orch = new Orchestrator({ repoDir: app, config, target: 'api', pollIntervalMs: 20 });
    const outcome = await orch.run();
    // A1 waits for P1, which needs T1 (main, not selected): the run waits on work outside it.
    expect(outcome.exitCode).toBe(2);
    const spawned = repoEvents(app)
      .filter((e) => e.type === 'AgentSpawnRequested')
      .map((e) => (e.data as { taskId: string }).taskId);
    expect(spawned).toEqual(['T2']);
    expect(git(api, 'ls-tree', '--name-only', 'integration', 'work/')).toBe('work/T2.json');

    const before = fs.statSync(path.join(app, '.state', 'orch.db')).size;
    const bad = new Orchestrator({ repoDir: app, config, target: 'nope' });
    await expect(bad.run()).rejects.toMatchObject({ code: 'UNKNOWN_TARGET', exitCode: 2 });
    expect(fs.statSync(path.join(app, '.state', 'orch.db')).size).toBe(before);
  });

  it('with defaultTarget, a task that names no target runs in that target with its agents', async () => {
    const { app, api, config } = setup({ defaultTarget: 'api' });
    const outcome = await new Orchestrator({ repoDir: app, config, pollIntervalMs: 20 }).run();
    expect(outcome.exitCode, outcome.reason).toBe(0);
    expect(git(api, 'ls-tree', '--name-only', 'integration', 'work/').split('\n').sort()).toEqual([
      'work/A1.json',
      'work/T1.json',
      'work/T2.json',
    ]);
    const t1 = record(api, 'T1');
    expect(t1.agent).toBe('api-dev');
    expect(t1.target['TARGET_ID']).toBe('api');
  });

  it('a target path that is not a git repository, or a plan naming an unconfigured target, is a clear error', async () => {
    const { root, app, config } = setup();
    fs.mkdirSync(path.join(root, 'plain'));
    const notGit = OrchestratorConfigSchema.parse({ ...config, targets: { api: { path: '../plain' } } });
    await expect(new Orchestrator({ repoDir: app, config: notGit }).run()).rejects.toMatchObject({
      code: 'NOT_A_GIT_REPO',
      message: expect.stringMatching(/^target api: .*plain is not a git repository/),
    });
    const missing = OrchestratorConfigSchema.parse({ ...config, targets: { api: { path: '../gone' } } });
    await expect(new Orchestrator({ repoDir: app, config: missing }).run()).rejects.toMatchObject({
      code: 'TARGET_INVALID',
    });
    // A target at the main repository is an alias of it (foreign-targets.int.test.ts), not an error.
  });
});
