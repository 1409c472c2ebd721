import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { OrchestratorConfigSchema } from '../../../src/core/config.js';
import { checkInvariants } from '../../../src/core/invariants.js';
import { Orchestrator } from '../../../src/runtime/orchestrator/orchestrator.js';
import { git, removeDir, tempDir, makePlanRepo, repoEvents } from '../helpers.js';

const AGENT = fileURLToPath(new URL('../../fixtures/roadmap-e2e/agent.mjs', import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

const PLAN = `name: CI
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

// Local CI: fails while the integration branch holds ci-broken.txt, naming it in its log.
const CI = [
  process.execPath,
  '-e',
  "if (require('fs').existsSync('ci-broken.txt')) { console.log('CI check: ci-broken.txt must not be committed'); process.exit(1); } console.log('CI green');",
];

const events = repoEvents;

describe('Orchestrator with local CI', () => {
  it('a CI fail after a merge reopens that task with the CI log tail in its prompt; a pass ends it', async () => {
    const root = tempDir('orch-ci');
    dirs.push(root);
    const repo = makePlanRepo(root, PLAN);
    const script = path.join(root, 'script.json');
    fs.writeFileSync(script, JSON.stringify({ T1: { breakCiFirst: true } }));
    const prompts = path.join(root, 'prompts.txt');
    const config = OrchestratorConfigSchema.parse({
      planDir: 'plan.yaml',
      retryInterval: 0,
      maxRetries: 2,
      ci: { provider: 'local', command: CI },
      agents: {
        dev: {
          command: [process.execPath, AGENT, '{promptFile}'],
          env: { ROADMAP_SCRIPT: script, ROADMAP_PROMPTS: prompts },
        },
      },
    });

    const outcome = await new Orchestrator({ repoDir: repo, config }).run();
    expect(outcome.exitCode, outcome.reason).toBe(0);
    const [t1, t2] = outcome.status.tasks;
    expect([t1?.id, t1?.status, t1?.attempts]).toEqual(['T1', 'complete', 2]);
    // T2 branched from T1's first (broken) merge: its own merge fails CI too unless T1's fix
    // landed first, and then it gets a second attempt.
    expect([t2?.id, t2?.status]).toEqual(['T2', 'complete']);
    const log = events(repo);
    const ciEvents = log.filter((e) => e.type === 'CiCompleted');
    const ci = ciEvents.map((e) => (e.data as { result: string }).result);
    expect(ci[0]).toBe('fail');
    expect(ci.at(-1)).toBe('pass');
    // CI tested exactly the commit it names: it failed precisely where that tree has the file.
    for (const e of ciEvents) {
      const { result, ref } = e.data as { result: string; ref: string };
      const broken = git(repo, 'ls-tree', '--name-only', ref).split('\n').includes('ci-broken.txt');
      expect([ref, result]).toEqual([ref, broken ? 'fail' : 'pass']);
    }
    // Each reopened task is one whose merge commit a failed CI result tested.
    const reopened = log.filter((e) => e.type === 'TaskReopened');
    expect(reopened[0]?.data).toMatchObject({ taskId: 'T1' });
    expect(reopened.length).toBe((t2?.attempts ?? 0) === 2 ? 2 : 1);
    const failedRefs = ciEvents
      .filter((e) => (e.data as { result: string }).result === 'fail')
      .map((e) => (e.data as { ref: string }).ref.slice(0, 12));
    for (const r of reopened)
      expect(failedRefs).toContain(/\(([0-9a-f]{12})\)/.exec((r.data as { reason: string }).reason)?.[1]);
    expect((reopened[0]?.data as { ciLogTail?: string }).ciLogTail).toContain(
      'CI check: ci-broken.txt must not be committed',
    );
    // T1 was merged twice (its fix after the reopen); T2, waiting on T1, after T1's first merge
    // (CI runs after a merge while work goes on: it is not a gate).
    const merges = git(repo, 'log', '--merges', '--first-parent', '--reverse', '--format=%s', 'integration')
      .split('\n')
      .map((s) => /task (\S+)/.exec(s)?.[1]);
    expect(merges[0]).toBe('T1');
    // (A second T2 attempt that changes nothing has nothing more to merge.)
    expect(merges.filter((m) => m === 'T1')).toHaveLength(2);
    expect(merges.filter((m) => m !== 'T1' && m !== 'T2')).toEqual([]);
    expect(merges).toContain('T2');
    const text = fs.readFileSync(prompts, 'utf8');
    const second = text.slice(text.indexOf('=== T1 attempt 2'));
    expect(second).toContain('CI failed:');
    expect(second).toContain('CI check: ci-broken.txt must not be committed');
    expect(git(repo, 'ls-tree', '--name-only', 'integration')).not.toContain('ci-broken.txt');
    expect(checkInvariants(log, config)).toEqual([]);
  });
});
