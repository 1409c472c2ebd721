import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, gitRepo, runOrch, type OrchResult } from '../fixtures/agents/e2e-repo.js';

/**
 * Multi-repo targets through the built CLI (`npm run build` first): a main repository `app`
 * with a YAML plan and `config/targets.yaml`, and a target repository `api` with its own
 * format-B roadmap. `orch plan` shows both plans as one (the api ids as `api:<id>`), `orch
 * spawn --target api` runs only the api work, `orch status` groups by repository, and the
 * api roadmap gets its statuses written back.
 */

const agent = fileURLToPath(new URL('../fixtures/agents/target-agent.mjs', import.meta.url));

let dir: string;
let app: string;
let api: string;

function orch(...args: string[]): Promise<OrchResult> {
  return runOrch([...args, '--repo', app]);
}

const ROADMAP = `# API Roadmap

## Batch 1 (Endpoints)

### Phase 1.1: Health
- **Status:** ⚪ Not Started
- **Assigned To:** dev
- **Depends On:** none
- **Tasks:**
  - [ ] Add the health endpoint
  - [ ] Document it
`;

beforeAll(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-targets-e2e-')));
  app = gitRepo(path.join(dir, 'app'));
  api = gitRepo(path.join(dir, 'api'));
  fs.mkdirSync(path.join(api, 'docs'));
  fs.writeFileSync(path.join(api, 'docs', 'roadmap.md'), ROADMAP);
  fs.writeFileSync(path.join(api, 'CONVENTIONS.md'), 'API RULE 7: every handler is tested.\n');
  git(api, 'add', '-A');
  git(api, 'commit', '-q', '-m', 'roadmap');
  fs.writeFileSync(
    path.join(app, 'plan.yaml'),
    `name: App
milestones:
  - id: M1
    title: App
    phases:
      - id: P1
        title: Use the health endpoint
        dependsOn: ["api:1.1"]
        tasks:
          - { id: T1, title: Call /health, role: dev }
`,
  );
  fs.writeFileSync(
    path.join(app, 'orch.config.json'),
    JSON.stringify({
      planDir: 'plan.yaml',
      maxRetries: 0,
      retryInterval: 0,
      agents: { dev: { command: [process.execPath, agent, '{promptFile}'] } },
    }),
  );
  fs.mkdirSync(path.join(app, 'config'));
  fs.writeFileSync(
    path.join(app, 'config', 'targets.yaml'),
    'targets:\n  api:\n    path: ../api\n    roadmap: docs/roadmap.md\n    conventions: CONVENTIONS.md\n',
  );
  git(app, 'add', '-A');
  git(app, 'commit', '-q', '-m', 'plan and targets');
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('orch with a target repository', () => {
  it('plans both repositories as one, runs --target api alone, then the rest; status groups by target', async () => {
    const plan = await orch('plan', '--json');
    expect(plan.code, plan.stderr).toBe(0);
    const doc = JSON.parse(plan.stdout) as { tasks: { id: string; target?: string }[] };
    expect(doc.tasks.map((t) => [t.id, t.target ?? null])).toEqual([
      ['T1', null],
      ['api:1.1.1', 'api'],
      ['api:1.1.2', 'api'],
    ]);

    const first = await orch('spawn', '--target', 'api', '-q');
    expect(first.code, first.stderr + first.stdout).toBe(0);
    expect(git(api, 'ls-tree', '--name-only', 'integration', 'work/').split('\n')).toEqual([
      'work/api_1.1.1.json',
      'work/api_1.1.2.json',
    ]);
    const record = JSON.parse(git(api, 'show', 'integration:work/api_1.1.1.json')) as {
      target: Record<string, string>;
      conventionsInPrompt: boolean;
    };
    expect(record.target).toMatchObject({
      TARGET_ID: 'api',
      TARGET_PATH: api,
      TARGET_ROADMAP: path.join(api, 'docs', 'roadmap.md'),
    });
    expect(record.conventionsInPrompt).toBe(true);
    // The gardener wrote the statuses back into the api roadmap, and nothing else.
    const roadmap = fs.readFileSync(path.join(api, 'docs', 'roadmap.md'), 'utf8');
    expect(roadmap).toMatch(/- \*\*Status:\*\* ✅ Complete/);
    expect(roadmap).toMatch(/\[[x✅]\] Add the health endpoint/);
    expect(roadmap.split('\n').length).toBe(ROADMAP.split('\n').length);

    const status = await orch('status', '--json');
    const s = JSON.parse(status.stdout) as {
      targets: { id: string | null; tasks: Record<string, number> }[];
    };
    expect(s.targets.map((g) => [g.id, g.tasks['complete'], g.tasks['ready']])).toEqual([
      [null, 0, 1],
      ['api', 2, 0],
    ]);

    const rest = await orch('spawn', '-q');
    expect(rest.code, rest.stderr + rest.stdout).toBe(0);
    expect(git(app, 'ls-tree', '--name-only', 'integration', 'work/')).toBe('work/T1.json');
    const text = await orch('status');
    expect(text.stdout).toMatch(
      /^Targets:\n {2}main: 1 task \(1 complete\).*\n {2}api: 2 tasks \(2 complete\)/m,
    );
    expect(text.stdout).toMatch(/^\[api\]\napi:batch-1 /m);

    // The health check reads the target's plan too: it agrees, until a task with history
    // disappears from the api roadmap.
    const agree = await orch('plan', '--check');
    expect(agree.code, agree.stdout + agree.stderr).toBe(0);
    const roadmapFile = path.join(api, 'docs', 'roadmap.md');
    fs.writeFileSync(
      roadmapFile,
      fs.readFileSync(roadmapFile, 'utf8').replace(/ {2}- \[.\] Document it\n/, ''),
    );
    const disagree = await orch('plan', '--check', '--json');
    expect(disagree.code).toBe(1);
    const check = (
      JSON.parse(disagree.stdout) as { check: { problems: { kind: string; message: string }[] } }
    ).check;
    expect(check.problems.map((p) => p.kind)).toEqual(['task-disappeared']);
    expect(check.problems[0]?.message).toMatch(/api:1\.1\.2/);

    const unknown = await orch('spawn', '--target', 'web');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/there is no target "web".*\n.*configured targets: api/);
  });
});
