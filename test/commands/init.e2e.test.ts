import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { git, orchEnv, runOrch } from '../fixtures/agents/e2e-repo.js';

/**
 * `orch init` through the built CLI (`npm run build` first), as a new user runs it: in a
 * fresh repository with no coding agent on PATH, then `orch spawn` on the starter plan.
 */

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A PATH holding only node and git, so no coding agent of this machine is found. */
function barePath(root: string): string {
  const bin = path.join(root, 'bin');
  fs.mkdirSync(bin);
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  const gitPath = (process.env['PATH'] ?? '')
    .split(path.delimiter)
    .map((d) => path.join(d, 'git'))
    .find((f) => fs.existsSync(f));
  fs.symlinkSync(gitPath!, path.join(bin, 'git'));
  return bin;
}

describe('orch init (built CLI)', () => {
  it('sets a fresh repository up, runs its starter plan with orch-sim, and keeps the runtime out of git status', async () => {
    const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-init-e2e-')));
    dirs.push(root);
    const repo = path.join(root, 'repo');
    fs.mkdirSync(repo);
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'config', 'user.name', 'Test User');
    git(repo, 'config', 'user.email', 'test@example.invalid');
    const env = orchEnv({ PATH: barePath(root) });

    const first = await runOrch(['init', '--repo', repo, '--format', 'yaml'], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('wrote plan.yaml');
    expect(first.stdout).toContain('wrote orch.config.json');
    expect(first.stdout).toContain('the default agent is orch-sim');
    expect(first.stdout).toContain('git add -A && git commit'); // no commit yet: said what to do

    const again = await runOrch(['init', '--repo', repo, '--format', 'yaml', '--json'], { env });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ written: [], defaultAgent: null, plan: 'plan.yaml' });
    const text = await runOrch(['init', '--repo', repo], { env });
    expect(text.stdout).toMatch(
      /^orch init: nothing to do in .*: plan\.yaml, orch\.config\.json, \.state\/\.gitignore already exist/,
    );

    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'orch init');
    const spawn = await runOrch(['spawn', '--repo', repo, '--retry-interval', '0', '-q'], { env });
    expect(spawn.code, spawn.stdout + spawn.stderr).toBe(0);
    // Only the statuses orch wrote back into the plan: no log, lease, agent log or worktree.
    expect(git(repo, 'status', '--porcelain', '--untracked-files=all')).toBe('M plan.yaml');
  });

  it('with Codex on PATH: writes it as a preset and says so', async () => {
    const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-init-preset-')));
    dirs.push(root);
    const repo = path.join(root, 'repo');
    fs.mkdirSync(repo);
    git(repo, 'init', '-q', '-b', 'main');
    const bin = barePath(root);
    fs.symlinkSync(path.resolve('test/fixtures/agents/codex/codex'), path.join(bin, 'codex'));
    const r = await runOrch(['init', '--repo', repo], { env: orchEnv({ PATH: bin }) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      'Default agent: preset "codex", codex exec --json --sandbox workspace-write {prompt}.',
    );
    const config = JSON.parse(fs.readFileSync(path.join(repo, 'orch.config.json'), 'utf8')) as {
      agents: unknown;
    };
    expect(config.agents).toEqual({ default: { preset: 'codex' } });
  });

  it('outside a git repository: exit 1, one clear error, nothing written', async () => {
    const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-init-nogit-')));
    dirs.push(dir);
    const r = await runOrch(['init', '--repo', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${dir} is not inside a git repository`);
    expect(r.stderr).toContain('Hint: run `git init`');
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
