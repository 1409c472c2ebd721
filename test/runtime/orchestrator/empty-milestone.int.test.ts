import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Orchestrator } from '../../../src/runtime/orchestrator/orchestrator.js';
import { loadConfig } from '../../../src/runtime/project/config.js';
import { fixtureAgent, makePlanRepo, removeDir, repoEvents, tempDir } from '../helpers.js';

/** A milestone whose phases were all removed from the plan: nothing was done for it. */
const PLAN = `name: Empty milestone
milestones:
  - id: M1
    title: Work
    phases:
      - id: P1
        title: One task
        tasks:
          - { id: T1, title: First, role: dev }
  - id: M2
    title: Not written yet
    phases: []
`;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

describe('a milestone with no phases', () => {
  it('is not complete and gets no pull request; the run of the rest still ends with exit 0', async () => {
    const root = tempDir('empty-milestone');
    dirs.push(root);
    const repo = makePlanRepo(root, PLAN);
    fs.writeFileSync(
      path.join(repo, 'orch.config.json'),
      JSON.stringify({
        planDir: 'plan.yaml',
        retryInterval: 0,
        autoMerge: true,
        agents: { dev: { command: [process.execPath, fixtureAgent('work.mjs')], env: { WORK_MS: '20' } } },
      }),
    );
    const outcome = await new Orchestrator({ repoDir: repo, config: loadConfig(repo) }).run();
    expect(outcome.exitCode, outcome.reason).toBe(0);
    const milestones = Object.fromEntries(
      outcome.status.milestones.map((m) => [m.id, [m.status, m.pr !== null]]),
    );
    expect(milestones).toEqual({ M1: ['complete', true], M2: ['open', false] });
    const events = repoEvents(repo);
    expect(
      events
        .filter((e) => e.type === 'MilestoneCompleted')
        .map((e) => (e.data as Record<string, unknown>)['milestoneId']),
    ).toEqual(['M1']);
    expect(
      events
        .filter((e) => e.type === 'PullRequestRequested')
        .map((e) => (e.data as Record<string, unknown>)['milestoneId']),
    ).toEqual(['M1']);
  });
});
