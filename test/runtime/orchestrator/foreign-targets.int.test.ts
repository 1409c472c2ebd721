import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Orchestrator } from '../../../src/runtime/orchestrator/orchestrator.js';
import { loadConfig } from '../../../src/runtime/project/config.js';
import { orchPlan } from '../../../src/runtime/operations/plan.js';
import { promptFilePath } from '../../../src/runtime/system/state-paths.js';
import { fixtureAgent, git, makeRepo, removeDir, repoEvents, tempDir } from '../helpers.js';

/**
 * A repository whose `config/targets.yaml` has the shape of the project orch's roadmap
 * format comes from (`default_target: self`, `self` at `path: "."`, `defaults` with Claude
 * Code agent files as `coder_agent`/`pm_agent`, `task_intake`), read as it is: `orch plan`
 * works and names the keys it ignores, the self tasks run in the main repository and the
 * other target's in its own, agents get `TARGET_DEVLOG`, and a coder task's prompt holds the
 * coder agent file's body and the identity context.
 */

const AGENT = fixtureAgent('target-agent.mjs');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

const TARGETS_YAML = `# The orchestrating project's own targets file.
default_target: self

targets:
  self:
    name: App
    path: "."
    description: The orchestrating repository itself
    roadmap: docs/roadmap.md
    devlog: docs/devlog.md
    identity_context: "You are the APP-IDENTITY-7 team's agent."
  api:
    name: API
    path: ../api
    description: The API service
    roadmap: roadmap.md
    devlog: DEVLOG.md
    conventions: CONVENTIONS.md
    identity_context:

defaults:
  coder_agent: .claude/agents/coder_agent.md
  pm_agent: .claude/agents/pm_agent.md

task_intake:
  watch_proposals: true
  poll_interval_seconds: 30
  nats_subjects:
    - tasks.proposed
`;

const CODER_AGENT = `---
name: coder-agent
description: Writes the code of a task
tools: Read, Edit, Bash
model: sonnet
---

You are CODER-PERSONA-BODY: write small, tested changes.
`;

const PM_AGENT = `---
name: pm-agent
description: Keeps the roadmap honest
---

You are PM-PERSONA-BODY.
`;

const roadmap = (title: string, phases: Array<[string, string, string]>) =>
  [
    `# ${title}`,
    '',
    '## Batch 1 (Work)',
    '',
    ...phases.flatMap(([id, name, role]) => [
      `### Phase ${id}: ${name}`,
      '- **Status:** ⚪ Not Started',
      `- **Assigned To:** ${role}`,
      '- **Depends On:** none',
      '- **Tasks:**',
      `  - [ ] ${name} work`,
      '',
    ]),
  ].join('\n');

function setup() {
  const root = tempDir('foreign-targets');
  dirs.push(root);
  const app = makeRepo(path.join(root, 'app'));
  const api = makeRepo(path.join(root, 'api'));
  const write = (dir: string, rel: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  };
  write(app, '.gitignore', '.state/\n');
  write(app, 'config/targets.yaml', TARGETS_YAML);
  write(app, '.claude/agents/coder_agent.md', CODER_AGENT);
  write(app, '.claude/agents/pm_agent.md', PM_AGENT);
  write(
    app,
    'docs/roadmap.md',
    roadmap('App Roadmap', [
      ['1.1', 'Build', 'coder'],
      ['1.2', 'Plan', 'pm'],
    ]),
  );
  write(app, 'docs/devlog.md', '# Devlog\n');
  const agent = (name: string) => ({
    command: [process.execPath, AGENT, '{promptFile}'],
    env: { AGENT_NAME: name },
  });
  write(
    app,
    'orch.config.json',
    JSON.stringify({ retryInterval: 0, maxRetries: 1, agents: { coder: agent('coder'), pm: agent('pm') } }),
  );
  git(app, 'add', '-A');
  git(app, 'commit', '-q', '-m', 'project files');
  write(api, 'roadmap.md', roadmap('API Roadmap', [['1.1', 'Endpoint', 'coder']]));
  write(api, 'CONVENTIONS.md', 'API RULE 7: every handler is tested.\n');
  write(api, 'DEVLOG.md', '# API devlog\n');
  git(api, 'add', '-A');
  git(api, 'commit', '-q', '-m', 'roadmap');
  return { root, app, api };
}

const record = (repo: string, file: string) =>
  JSON.parse(git(repo, 'show', `integration:work/${file}.json`)) as {
    commonDir: string;
    agent: string;
    target: Record<string, string>;
    conventionsInPrompt: boolean;
  };

describe("that project's own config/targets.yaml", () => {
  it('loads as it is: default target, defaults merged, snake_case keys, the ignored keys told once', () => {
    const { app } = setup();
    const notes: string[] = [];
    const config = loadConfig(app, {}, { onNote: (n) => notes.push(n) });
    expect(config.defaultTarget).toBe('self');
    expect(config.targets?.['self']).toEqual({
      path: '.',
      roadmap: 'docs/roadmap.md',
      devlog: 'docs/devlog.md',
      identityContext: "You are the APP-IDENTITY-7 team's agent.",
      personas: { coder: '.claude/agents/coder_agent.md', pm: '.claude/agents/pm_agent.md' },
    });
    expect(config.targets?.['api']).toMatchObject({
      path: '../api',
      conventions: 'CONVENTIONS.md',
      devlog: 'DEVLOG.md',
      personas: { coder: '.claude/agents/coder_agent.md', pm: '.claude/agents/pm_agent.md' },
    });
    expect(notes).toHaveLength(1);
    expect(notes[0]).toContain(path.join(app, 'config', 'targets.yaml'));
    for (const key of ['task_intake', 'targets.self.name', 'targets.self.description', 'targets.api.name']) {
      expect(notes[0]).toContain(key);
    }
  });

  it('orch plan reads the self roadmap as the main plan and the api roadmap as target api', async () => {
    const { app } = setup();
    const notes: string[] = [];
    const view = await orchPlan({
      repoDir: app,
      stateDir: path.join(app, '.state'),
      onNote: (n) => notes.push(n),
    });
    expect(view.plan.source).toBe(`docs/roadmap.md + ${path.join('..', 'api', 'roadmap.md')}`);
    expect(view.tasks.map((t) => [t.id, t.target])).toEqual([
      ['1.1.1', null],
      ['1.2.1', null],
      ['api:1.1.1', 'api'],
    ]);
    expect(notes.join('\n')).toMatch(/orch ignores .*task_intake/);
  });

  it('a run puts the self tasks in the main repository and the api tasks in its own, with devlog, persona and identity', async () => {
    const { app, api } = setup();
    const config = loadConfig(app);
    const orch = new Orchestrator({ repoDir: app, config, pollIntervalMs: 20 });
    const outcome = await orch.run();
    expect(outcome.exitCode, outcome.reason).toBe(0);

    const files = (repo: string) =>
      git(repo, 'ls-tree', '--name-only', 'integration', 'work/').split('\n').sort();
    expect(files(app)).toEqual(['work/1.1.1.json', 'work/1.2.1.json']);
    expect(files(api)).toEqual(['work/api_1.1.1.json']);

    const build = record(app, '1.1.1');
    expect(build.commonDir).toBe(path.join(app, '.git'));
    expect(build.target).toMatchObject({
      TARGET_ID: 'self',
      TARGET_PATH: app,
      TARGET_DEVLOG: path.join(app, 'docs', 'devlog.md'),
      TARGET_ROADMAP: path.join(app, 'docs', 'roadmap.md'),
    });
    const endpoint = record(api, 'api_1.1.1');
    expect(endpoint.commonDir).toBe(path.join(api, '.git'));
    expect(endpoint.target).toMatchObject({ TARGET_ID: 'api', TARGET_DEVLOG: path.join(api, 'DEVLOG.md') });
    expect(endpoint.conventionsInPrompt).toBe(true);

    const stateDir = path.join(app, '.state');
    const prompt = (task: string) => fs.readFileSync(promptFilePath(stateDir, task, 1), 'utf8');
    const coder = prompt('1.1.1');
    expect(coder).toContain('# Your role: coder-agent');
    expect(coder).toContain('You are CODER-PERSONA-BODY: write small, tested changes.');
    expect(coder).not.toContain('model: sonnet');
    expect(coder).toContain("## Identity and context\n\nYou are the APP-IDENTITY-7 team's agent.");
    expect(prompt('1.2.1')).toContain('You are PM-PERSONA-BODY.');
    // The api target has no identity context; its coder task still gets the coder persona.
    const apiCoder = prompt('api:1.1.1');
    expect(apiCoder).toContain('CODER-PERSONA-BODY');
    expect(apiCoder).not.toContain('APP-IDENTITY-7');

    // Not loaded a second time as a namespaced `self:` plan.
    const recorded = repoEvents(app).filter((e) => e.type === 'AgentSpawnRequested');
    expect(recorded.map((e) => (e.data as { taskId: string }).taskId).sort()).toEqual([
      '1.1.1',
      '1.2.1',
      'api:1.1.1',
    ]);
  });

  it('refuses an unknown default_target and a wrong type, naming the file, the key and what to write', () => {
    const { app } = setup();
    const file = path.join(app, 'config', 'targets.yaml');
    fs.writeFileSync(file, TARGETS_YAML.replace('default_target: self', 'default_target: web'));
    expect(() => loadConfig(app)).toThrow(/targets\.yaml: default_target: there is no target "web"/);
    fs.writeFileSync(file, TARGETS_YAML.replace('devlog: DEVLOG.md', 'devlog: [a, b]'));
    expect(() => loadConfig(app)).toThrow(/targets\.yaml: targets\.api\.devlog: must be text/);
  });
});
