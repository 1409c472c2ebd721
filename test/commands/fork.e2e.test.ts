import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/core/envelope.js';
import { openSqliteEventStore } from '../../src/store/index.js';
import { fixtureAgent, git, makePlanRepo, removeDir, tempDir } from '../runtime/helpers.js';
import { assertBuilt, orch } from './helpers/cli.js';

/**
 * `orch replay --to N --fork DIR` through the built CLI: a real run (`orch spawn`, a scripted
 * agent committing in real worktrees) to the end, a fork at a position where no agent is
 * live, `orch status` of the fork naming its origin, `orch spawn` on the fork to the end,
 * the original log byte for byte as it was, and the refusal of a non-empty directory.
 */

const ENV_COMMIT = fixtureAgent('env-commit.mjs');
const PLAN = `name: Fork e2e
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

let root: string;
let repo: string;
let stateDir: string;
beforeAll(async () => {
  assertBuilt();
  root = tempDir('fork-e2e');
  repo = makePlanRepo(root, PLAN);
  stateDir = path.join(repo, '.state');
  const echo = path.join(root, 'echo');
  fs.mkdirSync(echo);
  fs.writeFileSync(
    path.join(repo, 'orch.config.json'),
    JSON.stringify({
      planDir: 'plan.yaml',
      retryInterval: 0,
      maxRetries: 0,
      maxConcurrent: 1,
      stallTimeout: 0,
      agents: { dev: { command: [process.execPath, ENV_COMMIT], env: { ECHO_DIR: echo } } },
    }),
  );
  const run = await orch(['spawn', '--repo', repo, '--quiet']);
  expect(run.exitCode, run.stderr).toBe(0);
}, 180_000);
afterAll(() => {
  if (root) removeDir(root);
});

describe('orch replay --fork (built binary)', () => {
  it('forks where no agent is live; status names the origin; spawn on the fork finishes; the original is unchanged', async () => {
    const original = events(stateDir);
    const before = {
      rows: sha(original),
      db: fs.readFileSync(path.join(stateDir, 'orch.db')),
      integration: git(repo, 'rev-parse', 'integration'),
    };
    // Right after T1's agent exited: no agent is live, T1 is not merged yet, T2 not started.
    const t1Exit = original.find((e) => e.type === 'AgentExited')!;
    const n = t1Exit.position;
    const dir = path.join(root, 'fork');
    const forked = await orch(['replay', '--repo', repo, '--to', String(n), '--fork', dir, '--json']);
    expect(forked.exitCode, forked.stderr).toBe(0);
    const result = JSON.parse(forked.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({
      stateDir: dir,
      repo: path.join(dir, 'repo'),
      position: n,
      events: n,
      sourceRunId: original[0]!.metadata.runId,
    });
    expect((result.branches as Record<string, string>)['orch/T1']).toBe(
      (t1Exit.data as { head: string }).head,
    );

    const status = await orch(['status', '--state-dir', dir, '--json']);
    expect(status.exitCode, status.stderr).toBe(0);
    const doc = JSON.parse(status.stdout) as {
      position: number;
      tasks: { id: string; status: string }[];
      extras?: { fork?: unknown };
    };
    expect(doc.position).toBe(n + 1);
    expect(doc.extras?.fork).toEqual({ stateDir, runId: original[0]!.metadata.runId, position: n });
    const text = await orch(['status', '--state-dir', dir]);
    expect(text.stdout).toContain(`forked from ${stateDir} at position ${n}`);
    // The original's status has no fork.
    const own = JSON.parse((await orch(['status', '--repo', repo, '--json'])).stdout) as { extras?: unknown };
    expect(own.extras).toBeUndefined();

    const goOn = await orch(['spawn', '--repo', path.join(dir, 'repo'), '--state-dir', dir, '--quiet']);
    expect(goOn.exitCode, goOn.stderr).toBe(0);
    const after = events(dir);
    expect(after.slice(0, n)).toEqual(original.slice(0, n));
    expect(after[n]?.type).toBe('RunForked');
    const later = after.slice(n + 1);
    expect(
      later.filter((e) => e.type === 'AgentSpawnRequested').map((e) => (e.data as { taskId: string }).taskId),
    ).toEqual(['T2']);
    const done = JSON.parse((await orch(['status', '--state-dir', dir, '--json'])).stdout) as typeof doc;
    expect(done.tasks.map((t) => [t.id, t.status])).toEqual([
      ['T1', 'complete'],
      ['T2', 'complete'],
    ]);
    expect(git(path.join(dir, 'repo'), 'ls-tree', '-r', '--name-only', 'integration').split('\n')).toEqual(
      expect.arrayContaining(['T1.txt', 'T2.txt']),
    );

    // The original log and repository are as they were.
    expect(sha(events(stateDir))).toBe(before.rows);
    expect(fs.readFileSync(path.join(stateDir, 'orch.db')).equals(before.db)).toBe(true);
    expect(git(repo, 'rev-parse', 'integration')).toBe(before.integration);
  }, 180_000);

  it('refuses a directory that is not empty, with exit 1 and what to do, writing nothing', async () => {
    const full = path.join(root, 'full');
    fs.mkdirSync(full);
    fs.writeFileSync(path.join(full, 'keep.txt'), 'mine');
    const r = await orch(['replay', '--repo', repo, '--to', '3', '--fork', full]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`${full} exists and is not an empty directory`);
    expect(r.stderr).toContain('name a new (or empty) directory for the fork');
    expect(fs.readdirSync(full)).toEqual(['keep.txt']);
    const json = await orch(['replay', '--repo', repo, '--to', '3', '--fork', full, '--json']);
    expect(json.exitCode).toBe(1);
    expect(JSON.parse(json.stdout || json.stderr)).toMatchObject({ error: { code: 'FORK_REFUSED' } });
  }, 60_000);
});
