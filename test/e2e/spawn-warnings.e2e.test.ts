import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { git, gitRepo, runOrch } from '../fixtures/agents/e2e-repo.js';

// The built CLI (`npm run build` first): the orchestrator's warnings reach stderr through
// `orch spawn`'s sink, as `orch: <message>`, and stay out of the --json document.
const AGENT = fileURLToPath(new URL('../fixtures/roadmap-e2e/agent.mjs', import.meta.url));
const PLAN = `name: Warned
milestones:
  - id: M1
    title: One
    phases:
      - id: P1
        title: First
        dependsOn: []
        tasks:
          - { id: T1, title: Make a, role: dev }
          - { id: T2, title: Make b, role: dev, dependsOn: [T1] }
`;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A repo whose agent for T1 edits plan.yaml into an invalid plan (T2 depends on T404). */
function repoWithInvalidEdit(): string {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-warn-e2e-')));
  dirs.push(root);
  const repo = gitRepo(path.join(root, 'repo'));
  const script = path.join(root, 'script.json');
  fs.writeFileSync(
    script,
    JSON.stringify({
      T1: {
        editPlan: {
          file: path.join(repo, 'plan.yaml'),
          from: 'dependsOn: [T1] }',
          to: 'dependsOn: [T1, T404] }',
        },
      },
    }),
  );
  fs.writeFileSync(path.join(repo, 'plan.yaml'), PLAN);
  fs.writeFileSync(
    path.join(repo, 'orch.config.json'),
    JSON.stringify({
      planDir: 'plan.yaml',
      retryInterval: 0,
      agents: { dev: { command: [process.execPath, AGENT], env: { ROADMAP_SCRIPT: script } } },
    }),
  );
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'plan');
  return repo;
}

describe('orch spawn prints the run warnings on stderr', () => {
  it('a refused plan edit: one warning with its problems, the run goes on (also with --json)', async () => {
    const warning =
      /^orch: the edited plan is not valid; continuing on the last valid plan: .*\n {2}plan\.yaml:\d+: .*T404.*$/m;
    const text = await runOrch(['spawn', '--repo', repoWithInvalidEdit()]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr).toMatch(warning);
    expect(text.stderr.match(/orch: the edited plan is not valid/g)).toHaveLength(1);
    expect(text.stdout).not.toContain('not valid');
    const json = await runOrch(['spawn', '--json', '--repo', repoWithInvalidEdit()]);
    expect(json.code, json.stderr).toBe(0);
    expect(json.stderr).toMatch(warning);
    expect(JSON.parse(json.stdout)).toMatchObject({ exitCode: 0 });
  });
});
