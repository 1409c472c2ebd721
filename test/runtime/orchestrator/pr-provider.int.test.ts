import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { OrchestratorConfigSchema } from '../../../src/core/config.js';
import type { RecordedEvent } from '../../../src/core/envelope.js';
import { streamIds } from '../../../src/core/events.js';
import { LiveLog } from '../../../src/runtime/log/live-log.js';
import { Orchestrator } from '../../../src/runtime/orchestrator/orchestrator.js';
import { descriptionPath } from '../../../src/runtime/git/pr-provider.js';
import { openSqliteEventStore } from '../../../src/store/index.js';
import { git, removeDir, tempDir, makePlanRepo, repoEvents } from '../helpers.js';

const AGENT = fileURLToPath(new URL('../../fixtures/roadmap-e2e/agent.mjs', import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

const PLAN = `name: PRs
milestones:
  - id: M1
    title: First
    phases:
      - id: P1
        title: Only
        dependsOn: []
        tasks:
          - { id: T1, title: Make a, role: dev }
  - id: M2
    title: Second
    phases:
      - id: P2
        title: Later
        dependsOn: [P1]
        tasks:
          - { id: T2, title: Make b, role: dev }
`;

function setup() {
  const root = tempDir('pr-orch');
  dirs.push(root);
  const repo = makePlanRepo(root, PLAN);
  const config = (autoMerge: boolean) =>
    OrchestratorConfigSchema.parse({
      planDir: 'plan.yaml',
      retryInterval: 0,
      autoMerge,
      agents: { dev: { command: [process.execPath, AGENT] } },
    });
  return { repo, config };
}

const events = repoEvents;

const count = (log: RecordedEvent[], type: string, milestoneId: string) =>
  log.filter((e) => e.type === type && (e.data as { milestoneId?: string }).milestoneId === milestoneId)
    .length;

describe('milestone pull requests through the Orchestrator', () => {
  it('opens one PR per completed milestone with autoMerge, and getMilestonePr returns it', async () => {
    const { repo, config } = setup();
    const orch = new Orchestrator({ repoDir: repo, config: config(true) });
    const outcome = await orch.run();
    expect(outcome.exitCode).toBe(0);
    const stateDir = path.join(repo, '.state');
    for (const m of ['M1', 'M2']) {
      expect(orch.getMilestonePr(m)).toEqual({
        url: `file://${descriptionPath(stateDir, m)}`,
        branch: `milestone/${m}`,
      });
    }
    expect(outcome.status.milestones.map((m) => m.pr?.branch)).toEqual(['milestone/M1', 'milestone/M2']);
    // A second run finds nothing to do: no second PR.
    expect((await new Orchestrator({ repoDir: repo, config: config(true) }).run()).exitCode).toBe(0);
    const log = events(repo);
    for (const m of ['M1', 'M2']) {
      expect(count(log, 'PullRequestRequested', m)).toBe(1);
      expect(count(log, 'PullRequestOpened', m)).toBe(1);
    }
  });

  it('after a crash between PullRequestRequested and its outcome, the restart opens it once', async () => {
    const { repo, config } = setup();
    // Run without autoMerge: the milestones complete, no PR.
    expect((await new Orchestrator({ repoDir: repo, config: config(false) }).run()).exitCode).toBe(0);
    // What a crash leaves: the intent recorded and the branch made, no PullRequestOpened.
    const store = openSqliteEventStore(path.join(repo, '.state', 'orch.db'));
    const log = new LiveLog(store, { runId: 'crashed-run' });
    log.catchUp();
    log.append(streamIds.milestone('M1'), 'PullRequestRequested', {
      milestoneId: 'M1',
      branch: 'milestone/M1',
    });
    store.close();
    git(repo, 'branch', 'milestone/M1', 'integration');
    const before = git(repo, 'rev-parse', 'milestone/M1');

    const orch = new Orchestrator({ repoDir: repo, config: config(true) });
    expect((await orch.run()).exitCode).toBe(0);
    expect(orch.getMilestonePr('M1')?.branch).toBe('milestone/M1');
    expect(git(repo, 'rev-parse', 'milestone/M1')).toBe(before);
    const after = events(repo);
    expect(count(after, 'PullRequestRequested', 'M1')).toBe(1);
    expect(count(after, 'PullRequestOpened', 'M1')).toBe(1);
    // M2 had no intent yet: it is requested and opened now, once.
    expect(count(after, 'PullRequestRequested', 'M2')).toBe(1);
    expect(count(after, 'PullRequestOpened', 'M2')).toBe(1);
    expect(() => orch.getMilestonePr('M9')).toThrow(/there is no milestone M9/);
  });
});
