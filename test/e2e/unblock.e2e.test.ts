import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteEventStore } from '../../src/store/index.js';
import { git, gitRepo, runOrch, type OrchResult } from '../fixtures/agents/e2e-repo.js';

/**
 * A task blocked on a person, through the built CLI (`npm run build` first): the agent asks a
 * question and reports `blocked`; the run stops waiting (exit 2); a person releases the task
 * with `orch signal unblock --task`; the next run gives it a fresh agent, which finishes.
 */

const agent = fileURLToPath(new URL('../fixtures/agents/block-person.mjs', import.meta.url));

let dir: string;
let repo: string;

function orch(...args: string[]): Promise<OrchResult> {
  return runOrch([...args, '--repo', repo]);
}

beforeAll(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-unblock-e2e-')));
  repo = gitRepo(path.join(dir, 'repo'));
  fs.writeFileSync(
    path.join(repo, 'plan.yaml'),
    `name: Unblock
milestones:
  - id: M1
    title: One
    phases:
      - id: P1
        title: Decide and build
        tasks:
          - { id: T1, title: Pick the database, role: dev }
          - { id: T2, title: Build on it, role: dev, dependsOn: [T1] }
`,
  );
  fs.writeFileSync(
    path.join(repo, 'orch.config.json'),
    JSON.stringify({
      planDir: 'plan.yaml',
      maxRetries: 1,
      retryInterval: 0,
      agents: { dev: { command: [process.execPath, agent] } },
    }),
  );
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'plan');
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('a task blocked on a person', () => {
  it('waits (exit 2) until a person runs orch signal unblock, then gets a fresh agent', async () => {
    const first = await orch('spawn', '-q');
    expect(first.code, first.stdout + first.stderr).toBe(2);
    expect(first.stdout + first.stderr).toMatch(/T1 is blocked on person/);

    // Refused, with nothing recorded: a task that is not blocked, and one that does not exist.
    const notBlocked = await orch('signal', 'unblock', '--task', 'T2');
    expect(notBlocked.code).toBe(1);
    expect(notBlocked.stderr).toMatch(/task T2 is not blocked \(it is pending\)/);
    const unknown = await orch('signal', 'unblock', '--task', 'nope');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/there is no task "nope"/);
    const noTask = await orch('signal', 'unblock');
    expect(noTask.code).not.toBe(0);
    expect(noTask.stderr).toMatch(/needs --task ID/);

    const release = await orch('signal', 'unblock', '--task', 'T1', '--summary', 'sqlite');
    expect(release.code, release.stderr).toBe(0);
    expect(release.stdout).toMatch(/^released task T1 \(blocked on person\) at log position \d+/);
    // Releasing twice is refused: it is no longer blocked.
    expect((await orch('signal', 'unblock', '--task', 'T1')).code).toBe(1);

    const second = await orch('spawn', '-q');
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(git(repo, 'ls-tree', '--name-only', 'integration').split('\n')).toEqual(
      expect.arrayContaining(['T1.draft.txt', 'T1.done.txt', 'T2.done.txt']),
    );

    const store = openSqliteEventStore(path.join(repo, '.state', 'orch.db'), { readonly: true });
    try {
      const events = [...store.readAll()];
      const t1Spawns = events.filter(
        (e) => e.type === 'AgentSpawnRequested' && (e.data as { taskId: string }).taskId === 'T1',
      );
      expect(t1Spawns.map((e) => (e.data as { attempt: number }).attempt)).toEqual([1, 2]);
      const unblocks = events.filter(
        (e) => e.type === 'TaskUnblocked' && (e.data as { reason: string }).reason === 'person',
      );
      expect(unblocks).toHaveLength(1);
      expect(unblocks[0]?.data).toEqual({ taskId: 'T1', reason: 'person' });
      expect(unblocks[0]?.metadata).toMatchObject({ actor: 'user', summary: 'sqlite' });
    } finally {
      store.close();
    }
  });
});
