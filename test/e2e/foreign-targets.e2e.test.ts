import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, gitRepo, runOrch } from '../fixtures/agents/e2e-repo.js';

/**
 * The `config/targets.yaml` of the project orch's roadmap format comes from, through the built
 * CLI (`npm run build` first): `orch plan` and `orch spawn` work with it as it is and say once,
 * on stderr, which of its keys orch ignores.
 */

const agent = fileURLToPath(new URL('../fixtures/agents/target-agent.mjs', import.meta.url));

let dir: string;
let app: string;
let api: string;

const roadmap = (title: string, role: string) => `# ${title}

## Batch 1 (Work)

### Phase 1.1: Work
- **Status:** ⚪ Not Started
- **Assigned To:** ${role}
- **Depends On:** none
- **Tasks:**
  - [ ] Do the work
`;

beforeAll(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-foreign-targets-e2e-')));
  app = gitRepo(path.join(dir, 'app'));
  api = gitRepo(path.join(dir, 'api'));
  fs.writeFileSync(path.join(api, 'roadmap.md'), roadmap('API', 'coder'));
  git(api, 'add', '-A');
  git(api, 'commit', '-q', '-m', 'roadmap');
  const write = (rel: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(app, rel)), { recursive: true });
    fs.writeFileSync(path.join(app, rel), text);
  };
  write('plans/roadmap.md', roadmap('App', 'coder'));
  write('.claude/agents/coder_agent.md', '---\nname: coder\nmodel: sonnet\n---\nWrite the code.\n');
  write(
    'config/targets.yaml',
    `default_target: self
targets:
  self:
    name: App
    path: "."
    description: this repository
    roadmap: plans/roadmap.md
    devlog: docs/devlog.md
  api:
    name: API
    path: ../api
    roadmap: roadmap.md
defaults:
  coder_agent: .claude/agents/coder_agent.md
task_intake:
  watch_proposals: true
  poll_interval_seconds: 30
  nats_subjects: [tasks.proposed]
`,
  );
  write(
    'orch.config.json',
    JSON.stringify({
      maxRetries: 0,
      retryInterval: 0,
      agents: { coder: { command: [process.execPath, agent, '{promptFile}'] } },
    }),
  );
  git(app, 'add', '-A');
  git(app, 'commit', '-q', '-m', 'project files');
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("that project's own config/targets.yaml through the CLI", () => {
  it('orch plan and orch spawn work and name the ignored keys once', async () => {
    const plan = await runOrch(['plan', '--json', '--repo', app]);
    expect(plan.code, plan.stderr).toBe(0);
    const doc = JSON.parse(plan.stdout) as { tasks: { id: string; target: string | null }[] };
    expect(doc.tasks.map((t) => [t.id, t.target])).toEqual([
      ['1.1.1', null],
      ['api:1.1.1', 'api'],
    ]);
    const note =
      /orch: .*config\/targets\.yaml: orch ignores task_intake, targets\.self\.name, targets\.self\.description, targets\.api\.name/;
    expect(plan.stderr).toMatch(note);
    expect(plan.stderr.match(/orch ignores/g)).toHaveLength(1);

    const spawn = await runOrch(['spawn', '-q', '--repo', app]);
    expect(spawn.code, spawn.stderr + spawn.stdout).toBe(0);
    expect(spawn.stderr).toMatch(note);
    expect(spawn.stderr.match(/orch ignores/g)).toHaveLength(1);
    const self = JSON.parse(git(app, 'show', 'integration:work/1.1.1.json')) as {
      target: Record<string, string>;
    };
    expect(self.target).toMatchObject({
      TARGET_ID: 'self',
      TARGET_DEVLOG: path.join(app, 'docs', 'devlog.md'),
    });
    expect(git(api, 'ls-tree', '--name-only', 'integration', 'work/')).toBe('work/api_1.1.1.json');
  });
});
