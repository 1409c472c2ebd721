import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OrchestratorConfigSchema, type OrchestratorConfigInput } from '../../../src/core/config.js';
import type { RecordedEvent } from '../../../src/core/envelope.js';
import { Orchestrator } from '../../../src/runtime/orchestrator/orchestrator.js';
import { fixtureAgent, git, makePlanRepo, removeDir, repoEvents, tempDir } from '../helpers.js';

/**
 * Faults a person causes while a run goes on, through the real Orchestrator: real git
 * repositories, real agent processes (test/fixtures/agents/fault.mjs plays the person).
 */

const FAULT = fixtureAgent('fault.mjs');
const PLAN = `name: Faults
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
          - { id: T3, title: Make c, role: dev, dependsOn: [T2] }
`;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

/** A repo with PLAN, the fault agent for every role, and `script` as its FAULT_SCRIPT (built from the repo path). */
function setUp(script: (repo: string) => Record<string, unknown>, extra: OrchestratorConfigInput = {}) {
  const root = tempDir('faults');
  dirs.push(root);
  const repo = makePlanRepo(root, PLAN);
  const scriptFile = path.join(root, 'script.json');
  fs.writeFileSync(scriptFile, JSON.stringify(script(repo)));
  const config = OrchestratorConfigSchema.parse({
    planDir: 'plan.yaml',
    retryInterval: 0,
    maxRetries: 2,
    maxConcurrent: 1,
    agents: { dev: { command: [FAULT], env: { FAULT_SCRIPT: scriptFile } } },
    ...extra,
  });
  const orch = new Orchestrator({ repoDir: repo, config });
  return { repo, orch };
}

const ofType = (log: RecordedEvent[], type: string) => log.filter((e) => e.type === type);

describe('a plan file replaced by binary garbage mid-run', () => {
  for (const noNul of [false, true]) {
    it(`is refused as a revision, said once, and the run goes on with the last good plan (${noNul ? 'no NUL bytes, not UTF-8' : 'with NUL bytes'})`, async () => {
      const { repo, orch } = setUp((r) => ({ T1: { garbage: { file: path.join(r, 'plan.yaml'), noNul } } }));
      const outcome = await orch.waitForCompletion(90_000);
      expect(outcome.exitCode, outcome.reason).toBe(0);
      expect(outcome.status.tasks.map((t) => [t.id, t.status])).toEqual([
        ['T1', 'complete'],
        ['T2', 'complete'],
        ['T3', 'complete'],
      ]);
      const warnings = orch.warnings();
      expect(warnings, JSON.stringify(warnings)).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ code: 'PLAN_REVISION_REFUSED' });
      expect(warnings[0]?.message).toMatch(/plan\.yaml is not a text file/);
      const log = repoEvents(repo);
      expect(ofType(log, 'PlanRevisionRefused')).toHaveLength(1);
      expect(ofType(log, 'PlanRevised')).toHaveLength(0);
      // The garbage is left as the person wrote it (the gardener does not write over a file it cannot read).
      expect(fs.readFileSync(path.join(repo, 'plan.yaml')).length).toBe(4096);
    }, 120_000);
  }
});

describe("a task's worktree deleted by a person while its agent runs", () => {
  it('is said, the attempt recorded as lost with the reason, the worktree recreated from the branch for the retry', async () => {
    const { repo, orch } = setUp(() => ({ T2: { deleteWorktree: true } }));
    const outcome = await orch.waitForCompletion(90_000);
    expect(outcome.exitCode, outcome.reason).toBe(0);
    expect(outcome.status.tasks.every((t) => t.status === 'complete')).toBe(true);
    const warnings = orch.warnings();
    expect(warnings.map((w) => w.code)).toEqual(['WORKSPACE_DELETED']);
    expect(warnings[0]?.message).toMatch(
      /^task T2: its worktree .*T2 was deleted while it ran \(the agent ended with exit code 0\)/,
    );
    const log = repoEvents(repo);
    const lost = ofType(log, 'AgentLost');
    expect(lost).toHaveLength(1);
    expect(lost[0]?.streamId).toBe('task-T2');
    expect((lost[0]?.data as { reason: string }).reason).toContain('recreated from branch orch/T2');
    // T2 ran twice, in the same place; the second attempt's work is merged.
    const spawns = ofType(log, 'AgentSpawnRequested').filter((e) => e.streamId === 'task-T2');
    expect(spawns).toHaveLength(2);
    const worktree = path.join(repo, '.state', 'sandbox', 'T2');
    expect(fs.existsSync(path.join(worktree, '.git'))).toBe(true);
    expect(git(repo, 'show', 'integration:work/T2.md')).toBe('T2 attempt 2');
    expect(ofType(log, 'BranchMerged').map((e) => e.streamId)).toEqual(['task-T1', 'task-T2', 'task-T3']);
  }, 120_000);
});

describe('the integration branch reset by a person mid-run', () => {
  it('stops with INTEGRATION_REWRITTEN before merging on top; refuses to start until the merges are back; then completes', async () => {
    const { repo, orch } = setUp((r) => ({
      T2: { moveBranch: { repo: r, branch: 'integration', to: 'main' } },
    }));
    const error = await orch.run().then(
      () => null,
      (err: unknown) => err as { code?: string; message: string; hint?: string },
    );
    expect(error?.code).toBe('INTEGRATION_REWRITTEN');
    expect(error?.message).toMatch(
      /^the integration branch integration in .* was reset or rewritten: it no longer contains the merge commit\(s\) orch made of T1 \([0-9a-f]{12}\) \(its head is now [0-9a-f]{12}\); orch stops/,
    );
    expect(error?.hint).toMatch(/git reset --hard [0-9a-f]{40}.*orch\/T1.*run orch spawn again/);
    const log = repoEvents(repo);
    // T2's work was not merged on top of the rewritten branch; the stop is in the log.
    expect(ofType(log, 'BranchMerged').map((e) => e.streamId)).toEqual(['task-T1']);
    const stopped = ofType(log, 'RunStopped').at(-1)?.data as { reason: string };
    expect(stopped.reason).toContain('no longer contains the merge commit(s) orch made of T1');
    const t1Merge = (ofType(log, 'BranchMerged')[0]?.data as { commit: string }).commit;
    expect(git(repo, 'rev-parse', 'integration')).toBe(git(repo, 'rev-parse', 'main'));

    // A new run refuses to start while the merge is missing.
    const config = OrchestratorConfigSchema.parse({
      planDir: 'plan.yaml',
      retryInterval: 0,
      agents: { dev: { command: [FAULT] } },
    });
    const refused = await new Orchestrator({ repoDir: repo, config }).run().then(
      () => null,
      (err: unknown) => err as { code?: string },
    );
    expect(refused?.code).toBe('INTEGRATION_REWRITTEN');

    // The person puts the merge back as the hint says: the next run completes with every task's work.
    git(repo, 'branch', '-f', 'integration', t1Merge);
    const outcome = await new Orchestrator({ repoDir: repo, config }).waitForCompletion(90_000);
    expect(outcome.exitCode, outcome.reason).toBe(0);
    for (const t of ['T1', 'T2', 'T3'])
      expect(git(repo, 'show', `integration:work/${t}.md`)).toMatch(/attempt 1$/);
  }, 150_000);
});

describe("a stale lock on the integration branch's ref mid-run", () => {
  it('is removed before the next merge (no git process holds it), said once, and the run completes', async () => {
    // Merges update the integration branch without a checkout (update-ref): its ref lock is what a crashed git leaves.
    const lock = (r: string) => path.join(r, '.git', 'refs', 'heads', 'integration.lock');
    const { repo, orch } = setUp((r) => ({ T2: { leaveFile: lock(r) } }));
    const outcome = await orch.waitForCompletion(90_000);
    expect(outcome.exitCode, outcome.reason).toBe(0);
    const warnings = orch.warnings();
    expect(warnings.map((w) => w.code)).toEqual(['STALE_GIT_LOCK_REMOVED']);
    expect(warnings[0]?.message.replace(/\(\d+ s old\)/, '(N s old)')).toBe(
      `removed the stale git lock ${lock(repo)} (N s old): no git process runs in ${repo}, so a crashed git left it`,
    );
    expect(ofType(repoEvents(repo), 'BranchMerged')).toHaveLength(3);
    expect(fs.existsSync(lock(repo))).toBe(false);
  }, 120_000);
});
