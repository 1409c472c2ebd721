import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RecordedEvent } from '../../src/core/envelope.js';
import { openSqliteEventStore } from '../../src/store/index.js';

/** Absolute path of a test agent in test/fixtures/agents. */
export function fixtureAgent(name: string): string {
  return fileURLToPath(new URL(`../fixtures/agents/${name}`, import.meta.url));
}

/** A fresh temp directory; remember to remove it (see `removeDir`). */
export function tempDir(prefix: string): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `orch-${prefix}-`)));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Runs git in `cwd` and returns trimmed stdout. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** A git repo on branch `main` with one commit (README.md) and a local identity. */
export function makeRepo(dir: string, branch = 'main'): string {
  fs.mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', branch);
  git(dir, 'config', 'user.name', 'Test User');
  git(dir, 'config', 'user.email', 'test@example.invalid');
  fs.writeFileSync(path.join(dir, 'README.md'), '# test repo\n');
  git(dir, 'add', '--', 'README.md');
  git(dir, 'commit', '-q', '-m', 'initial commit');
  return dir;
}

/** Commits `content` to `file` in the worktree `cwd`. */
export function commitFile(cwd: string, file: string, content: string, message = `edit ${file}`): string {
  fs.mkdirSync(path.dirname(path.join(cwd, file)), { recursive: true });
  fs.writeFileSync(path.join(cwd, file), content);
  git(cwd, 'add', '--', file);
  git(cwd, 'commit', '-q', '-m', message);
  return git(cwd, 'rev-parse', 'HEAD');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A repo made by `makeRepo` at `<root>/repo` holding `plan.yaml` (committed) and ignoring `.state/`. */
export function makePlanRepo(root: string, plan: string): string {
  const repo = makeRepo(path.join(root, 'repo'));
  fs.writeFileSync(path.join(repo, '.gitignore'), '.state/\n');
  fs.writeFileSync(path.join(repo, 'plan.yaml'), plan);
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'plan');
  return repo;
}

/** Every event of the repo's log, read read-only. */
export function repoEvents(repo: string): RecordedEvent[] {
  const store = openSqliteEventStore(path.join(repo, '.state', 'orch.db'), { readonly: true });
  try {
    return [...store.readAll()];
  } finally {
    store.close();
  }
}
