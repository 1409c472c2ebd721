import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, gitRepo, runOrch } from '../fixtures/agents/e2e-repo.js';

/**
 * Two clones of one bare remote, each with `"remote": "origin"` in its config, each running
 * `orch spawn` (the built CLI; `npm run build` first) at the same time on its own plan: every
 * task of both is merged into the remote's integration branch exactly once, local CI ran on
 * each merge commit where it was made, and each milestone branch is on the remote.
 */

const agent = fileURLToPath(new URL('../fixtures/agents/env-commit.mjs', import.meta.url));

let dir: string;
let bare: string;

function planYaml(prefix: string): string {
  return `name: Plan ${prefix}
milestones:
  - id: M${prefix}
    title: Everything of ${prefix}
    phases:
      - id: P${prefix}1
        title: First
        tasks:
          - { id: ${prefix}1, title: One, role: dev }
          - { id: ${prefix}2, title: Two, role: dev }
      - id: P${prefix}2
        title: Second
        dependsOn: [P${prefix}1]
        tasks:
          - { id: ${prefix}3, title: Three, role: dev, dependsOn: [] }
`;
}

/** A clone of the remote configured as one worker: its own plan, agent, CI and `remote`. */
function worker(name: string, prefix: string): string {
  const clone = path.join(dir, name);
  git(dir, 'clone', '-q', bare, clone);
  git(clone, 'config', 'user.name', `worker ${name}`);
  git(clone, 'config', 'user.email', `${name}@example.invalid`);
  const echo = path.join(dir, `echo-${name}`);
  fs.mkdirSync(echo);
  fs.writeFileSync(
    path.join(clone, 'orch.config.json'),
    JSON.stringify({
      planDir: `plan-${prefix}.yaml`,
      remote: 'origin',
      autoMerge: true,
      retryInterval: 0,
      agents: { dev: { command: [process.execPath, agent], env: { ECHO_DIR: echo } } },
      ci: { provider: 'local', command: [process.execPath, '-e', 'process.exit(0)'] },
    }),
  );
  return clone;
}

beforeAll(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-remote-e2e-')));
  const seed = gitRepo(path.join(dir, 'seed'));
  fs.writeFileSync(path.join(seed, 'plan-A.yaml'), planYaml('A'));
  fs.writeFileSync(path.join(seed, 'plan-B.yaml'), planYaml('B'));
  fs.appendFileSync(path.join(seed, '.gitignore'), 'orch.config.json\n');
  git(seed, 'add', '-A');
  git(seed, 'commit', '-q', '-m', 'plans');
  bare = path.join(dir, 'remote.git');
  git(dir, 'clone', '-q', '--bare', seed, bare);
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('orch spawn with "remote": "origin" in two clones at once', () => {
  it('merges every task of both into the remote integration branch exactly once', async () => {
    const a = worker('a', 'A');
    const b = worker('b', 'B');
    const [ra, rb] = await Promise.all([
      runOrch(['spawn', '-q', '--repo', a]),
      runOrch(['spawn', '-q', '--repo', b]),
    ]);
    expect(ra.code, ra.stdout + ra.stderr).toBe(0);
    expect(rb.code, rb.stdout + rb.stderr).toBe(0);

    const merges = git(bare, 'log', '--first-parent', '--merges', '--format=%H %P', 'refs/heads/integration')
      .split('\n')
      .map((l) => l.split(' '));
    const tasks = ['A1', 'A2', 'A3', 'B1', 'B2', 'B3'];
    expect(merges).toHaveLength(tasks.length);
    const merged = new Set(merges.map((m) => m[2]));
    for (const [clone, ids] of [
      [a, ['A1', 'A2', 'A3']],
      [b, ['B1', 'B2', 'B3']],
    ] as const) {
      for (const id of ids) {
        const tip = git(clone, 'rev-parse', `refs/heads/orch/${id}`);
        expect(merged.has(tip), `${id} merged`).toBe(true);
      }
    }
    const files = git(bare, 'ls-tree', '--name-only', 'refs/heads/integration').split('\n');
    for (const id of tasks) expect(files).toContain(`${id}.txt`);
    // Local CI ran where each merge was made, on exactly its merge commit.
    for (const [clone, prefix] of [
      [a, 'A'],
      [b, 'B'],
    ] as const) {
      let checked = 0;
      for (const [commit, , tip] of merges) {
        const mine = git(
          clone,
          'for-each-ref',
          '--points-at',
          tip!,
          '--format=%(refname)',
          'refs/heads/orch',
        );
        if (!mine.startsWith(`refs/heads/orch/${prefix}`)) continue;
        expect(fs.existsSync(path.join(clone, '.state', 'logs', 'ci', `${commit!.slice(0, 12)}.log`))).toBe(
          true,
        );
        checked++;
      }
      expect(checked).toBe(3);
      // The milestone branch is on the remote, within the integration branch.
      const milestone = git(bare, 'rev-parse', `refs/heads/milestone/M${prefix}`);
      expect(git(bare, 'merge-base', '--is-ancestor', milestone, 'refs/heads/integration')).toBe('');
    }
  });
});
