import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OrchestratorConfigSchema } from '../../../src/core/config.js';
import type { RecordedEvent } from '../../../src/core/envelope.js';
import { orchFork } from '../../../src/runtime/operations/fork.js';
import { orchStatus } from '../../../src/runtime/operations/status.js';
import { Orchestrator } from '../../../src/runtime/orchestrator/orchestrator.js';
import { openSqliteEventStore } from '../../../src/store/index.js';
import { fixtureAgent, git, makePlanRepo, removeDir, tempDir } from '../helpers.js';

/**
 * `orch replay --fork` on the log of a real run (real agents committing in real
 * worktrees), then a real run on the fork to the end.
 */

const ENV_COMMIT = fixtureAgent('env-commit.mjs');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

const PLAN = `name: Fork
milestones:
  - id: M1
    title: One
    phases:
      - id: P1
        title: First
        dependsOn: []
        tasks:
          - { id: T1, title: Make T1, role: dev }
          - { id: T2, title: Make T2, role: dev }
`;

function events(stateDir: string): RecordedEvent[] {
  const store = openSqliteEventStore(path.join(stateDir, 'orch.db'), { readonly: true });
  try {
    return [...store.readAll()];
  } finally {
    store.close();
  }
}
const sha = (rows: RecordedEvent[]) => createHash('sha256').update(JSON.stringify(rows)).digest('hex');

async function finishedRun() {
  const root = tempDir('fork');
  dirs.push(root);
  const repo = makePlanRepo(root, PLAN);
  const echo = (name: string) => {
    const dir = path.join(root, name);
    fs.mkdirSync(dir);
    return dir;
  };
  const config = (echoDir: string) =>
    OrchestratorConfigSchema.parse({
      planDir: 'plan.yaml',
      retryInterval: 0,
      maxRetries: 0,
      maxConcurrent: 1,
      stallTimeout: 0,
      agents: { default: { command: [ENV_COMMIT], env: { ECHO_DIR: echoDir } } },
    });
  const outcome = await new Orchestrator({
    repoDir: repo,
    config: config(echo('echo')),
    killGraceMs: 500,
  }).run();
  expect(outcome.exitCode).toBe(0);
  const stateDir = path.join(repo, '.state');
  return { root, repo, stateDir, config, echo };
}

describe('orch replay --fork', () => {
  it('forks mid-run into a new state directory and clone; a run on the fork goes on to the end; the original is untouched', async () => {
    const { root, repo, stateDir, config, echo } = await finishedRun();
    const original = events(stateDir);
    const before = {
      rows: sha(original),
      db: fs.readFileSync(path.join(stateDir, 'orch.db')),
      integration: git(repo, 'rev-parse', 'integration'),
    };
    // Fork right after T1's agent exited: its branch is not merged yet, T2 not started.
    const t1Exit = original.find((e) => e.type === 'AgentExited')!;
    expect((t1Exit.data as { head?: string }).head).toMatch(/^[0-9a-f]{40}$/);
    const dir = path.join(root, 'fork');
    const fork = await orchFork({ repoDir: repo, stateDir, dir, to: String(t1Exit.position) });
    expect(fork).toMatchObject({
      stateDir: dir,
      repo: path.join(dir, 'repo'),
      position: t1Exit.position,
      events: t1Exit.position,
    });
    expect(fork.branches['orch/T1']).toBe((t1Exit.data as { head: string }).head);
    // The fork's log: the source's first events as they were, then RunForked naming the origin.
    const forked = events(dir);
    expect(forked.slice(0, t1Exit.position)).toEqual(original.slice(0, t1Exit.position));
    expect(forked[t1Exit.position]).toMatchObject({
      type: 'RunForked',
      data: {
        from: { stateDir, position: t1Exit.position, runId: original[0]!.metadata.runId as string },
        repo: fork.repo,
      },
    });
    const forkStatus = await orchStatus(dir);
    expect(forkStatus.position).toBe(t1Exit.position + 1);
    expect(forkStatus.extras.fork).toEqual({
      stateDir,
      runId: original[0]!.metadata.runId,
      position: t1Exit.position,
    });
    expect((await orchStatus(stateDir)).extras).toEqual({});
    // Go on from there in the fork, with another agent set-up.
    const outcome = await new Orchestrator({
      repoDir: fork.repo,
      stateDir: dir,
      config: config(echo('echo-fork')),
      killGraceMs: 500,
    }).run();
    expect(outcome.exitCode).toBe(0);
    const after = events(dir).slice(t1Exit.position + 1);
    // T1's work was taken from its recorded branch head (merged, not redone); T2 ran in the fork.
    const spawned = after
      .filter((e) => e.type === 'AgentSpawnRequested')
      .map((e) => (e.data as { taskId: string }).taskId);
    expect(spawned).toEqual(['T2']);
    expect(
      after.filter((e) => e.type === 'BranchMerged').map((e) => (e.data as { taskId: string }).taskId),
    ).toEqual(['T1', 'T2']);
    const merged = git(fork.repo, 'ls-tree', '-r', '--name-only', 'integration').split('\n');
    expect(merged).toEqual(expect.arrayContaining(['T1.txt', 'T2.txt']));
    // The original log and repository are as they were.
    expect(sha(events(stateDir))).toBe(before.rows);
    expect(fs.readFileSync(path.join(stateDir, 'orch.db')).equals(before.db)).toBe(true);
    expect(git(repo, 'rev-parse', 'integration')).toBe(before.integration);
  }, 120_000);

  it('refuses a non-empty directory, a position beyond the log, and a position where an agent was live', async () => {
    const { root, repo, stateDir } = await finishedRun();
    const log = events(stateDir);
    const full = path.join(root, 'full');
    fs.mkdirSync(full);
    fs.writeFileSync(path.join(full, 'x'), 'x');
    await expect(orchFork({ repoDir: repo, stateDir, dir: full, to: '3' })).rejects.toMatchObject({
      code: 'FORK_REFUSED',
      message: expect.stringContaining('exists and is not an empty directory'),
    });
    const dir = path.join(root, 'fork');
    await expect(
      orchFork({ repoDir: repo, stateDir, dir, to: String(log.length + 5) }),
    ).rejects.toMatchObject({
      code: 'REPLAY_TARGET_INVALID',
    });
    const started = log.find((e) => e.type === 'AgentStarted')!;
    await expect(
      orchFork({ repoDir: repo, stateDir, dir, to: String(started.position) }),
    ).rejects.toMatchObject({
      code: 'FORK_REFUSED',
      message: expect.stringMatching(/task T1 has a live agent \(attempt 1/),
    });
    expect(fs.existsSync(dir)).toBe(false);
  }, 120_000);
});
