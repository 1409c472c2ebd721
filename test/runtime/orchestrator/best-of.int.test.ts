import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OrchestratorConfigSchema, type OrchestratorConfigInput } from '../../../src/core/config.js';
import type { RecordedEvent } from '../../../src/core/envelope.js';
import { checkInvariants } from '../../../src/core/invariants.js';
import { replay } from '../../../src/core/replayer.js';
import { orchLog } from '../../../src/runtime/operations/log.js';
import { orchStatus } from '../../../src/runtime/operations/status.js';
import { Orchestrator } from '../../../src/runtime/orchestrator/orchestrator.js';
import { renderStatusText } from '../../../src/runtime/render/status-text.js';
import { buildReportData } from '../../../src/runtime/report/data.js';
import { renderTaskStory } from '../../../src/runtime/render/task-story.js';
import { isProcessGroupAlive } from '../../../src/runtime/system/process-identity.js';
import { promptFilePath } from '../../../src/runtime/system/state-paths.js';
import { fixtureAgent, git, makePlanRepo, removeDir, repoEvents, tempDir } from '../helpers.js';

/**
 * Best of N through the real Orchestrator: real lane agents (`lanes/claude`, whose behaviour
 * depends on `ORCH_LANE`), each in its own real worktree, a real gate, real merges.
 */

const LANES = fixtureAgent('lanes/claude');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

const plan = (bestOf: string) => `name: Best of
milestones:
  - id: M1
    title: One
    phases:
      - id: P1
        title: First
        dependsOn: []
        tasks:
          - { id: T1, title: Make a, role: dev${bestOf} }
`;

// The gate passes when the lane committed its work.
const GATE = [process.execPath, '-e', "process.exit(require('fs').existsSync('lane.txt') ? 0 : 1)"];

function run(planBestOf: string, modes: string, extra: OrchestratorConfigInput = {}) {
  const root = tempDir('bestof');
  dirs.push(root);
  const repo = makePlanRepo(root, plan(planBestOf));
  const pidDir = path.join(root, 'pids');
  fs.mkdirSync(pidDir);
  const config = OrchestratorConfigSchema.parse({
    planDir: 'plan.yaml',
    retryInterval: 0,
    maxRetries: 1,
    maxConcurrent: 3,
    gate: { command: GATE },
    agents: {
      default: {
        command: [LANES, '-p', '{prompt}'],
        env: { LANE_MODES: modes, LANE_PID_DIR: pidDir, FAST_MS: '300', SLOW_MS: '60000' },
      },
    },
    ...extra,
  });
  const orch = new Orchestrator({ repoDir: repo, config, killGraceMs: 500 });
  return { repo, orch, pidDir };
}

const ofType = (log: RecordedEvent[], type: string) =>
  log.filter((e) => e.type === type).map((e) => e.data as Record<string, unknown>);

describe('best of N', () => {
  it('runs 3 lanes at once: the fast one is merged, the slow one stopped and superseded, every lane in the budget', async () => {
    const { repo, orch, pidDir } = run(', bestOf: 3', 'fail,slow,fast');
    const outcome = await orch.run();
    expect(outcome.exitCode).toBe(0);
    const log = repoEvents(repo);
    const spawns = ofType(log, 'AgentSpawnRequested');
    expect(spawns.map((s) => [s['attempt'], s['lane'], s['lanes']])).toEqual([
      [1, 1, 3],
      [1, 2, 3],
      [1, 3, 3],
    ]);
    const spawnOf = (lane: number) => spawns.find((s) => s['lane'] === lane)?.['spawnId'];
    // Each lane worked in its own worktree.
    expect(new Set(spawns.map((s) => s['workspace'])).size).toBe(3);
    expect(spawns.map((s) => path.basename(String(s['workspace'])))).toEqual([
      'T1+lane1',
      'T1+lane2',
      'T1+lane3',
    ]);
    // One merge: lane 3's branch.
    const merged = ofType(log, 'BranchMerged');
    expect(merged).toHaveLength(1);
    expect(merged[0]?.['spawnId']).toBe(spawnOf(3));
    expect(ofType(log, 'MergeRequested')[0]?.['branch']).toBe('orch/T1+lane3');
    expect(git(repo, 'show', 'integration:lane.txt').trim()).toBe('lane 3 attempt 1');
    // Lane 2 was superseded by lane 3 and its process group killed.
    expect(ofType(log, 'LaneSuperseded')).toEqual([
      { taskId: 'T1', spawnId: spawnOf(2), lane: 2, winner: spawnOf(3), winnerLane: 3 },
    ]);
    const slowPid = Number(fs.readFileSync(path.join(pidDir, 'slow-2.pid'), 'utf8'));
    expect(isProcessGroupAlive(slowPid)).toBe(false);
    const slowExit = ofType(log, 'AgentExited').find((e) => e['spawnId'] === spawnOf(2));
    expect(slowExit?.['signal']).not.toBeNull();
    // Lane 1's gate never ran (it failed); lane 3's passed.
    expect(ofType(log, 'GatePassed').map((e) => e['spawnId'])).toEqual([spawnOf(3)]);
    // The failing lane's cost and the winner's both count.
    const state = replay(log);
    expect(state.costUsd).toBeCloseTo(0.02 + 0.1234, 6);
    expect(state.tasks['T1']?.value).toBe('complete');
    expect(state.tasks['T1']?.context.attempts).toBe(1);
    expect(checkInvariants(log, { maxConcurrent: 3, maxRetries: 1 })).toEqual([]);
    // Replaying twice gives the same state, byte for byte.
    expect(JSON.stringify(replay(log))).toBe(JSON.stringify(state));

    // orch status: the lanes with state and usage, as text and JSON.
    const status = await orchStatus(path.join(repo, '.state'));
    const doc = JSON.parse(status.json) as { tasks: { id: string; lanes?: unknown[] }[] };
    expect(doc.tasks[0]?.lanes).toEqual([
      expect.objectContaining({ lane: 1, state: 'failed', failure: 'exit code 1', costUsd: 0.02 }),
      expect.objectContaining({ lane: 2, state: 'superseded', costUsd: null }),
      expect.objectContaining({
        lane: 3,
        state: 'won',
        costUsd: 0.1234,
        inputTokens: 1200,
        outputTokens: 345,
      }),
    ]);
    const text = renderStatusText(JSON.parse(status.documentJson));
    expect(text).toMatch(/lane 1 {2}failed {2}\$0\.02/);
    expect(text).toMatch(/lane 2 {2}superseded/);
    expect(text).toMatch(/lane 3 {2}won {2}\$0\.12 {2}1200 in \/ 345 out tokens/);

    // The HTML report's attempts: each lane and what it came to.
    expect(buildReportData(log).attempts.map((a) => [a.attempt, a.lane])).toEqual([
      [1, 'lane 1/3 failed'],
      [1, 'lane 2/3 superseded'],
      [1, 'lane 3/3 merged'],
    ]);

    // orch log --task: each lane, what it came to.
    const listing = orchLog({ stateDir: path.join(repo, '.state'), task: 'T1' });
    try {
      const story = renderTaskStory(listing.story()!);
      expect(story).toContain('Task T1: 1 attempt, 3 agents');
      expect(story).toContain('Attempt 1 lane 1/3 (failed)');
      expect(story).toContain('Attempt 1 lane 2/3 (superseded)');
      expect(story).toContain('Attempt 1 lane 3/3 (merged)');
      expect(story).toMatch(/superseded .* by lane 3/);
    } finally {
      listing.close();
    }
  }, 60_000);

  it('all lanes failing fail the attempt once; the retry is told every lane, and its winner is merged (roles.<role>.bestOf)', async () => {
    const { repo, orch } = run('', 'fail,fail;fail,fast', { roles: { dev: { bestOf: 2 } } });
    const outcome = await orch.run();
    expect(outcome.exitCode).toBe(0);
    const log = repoEvents(repo);
    expect(ofType(log, 'AgentSpawnRequested').map((s) => [s['attempt'], s['lane']])).toEqual([
      [1, 1],
      [1, 2],
      [2, 1],
      [2, 2],
    ]);
    const retries = ofType(log, 'RetryScheduled');
    expect(retries).toHaveLength(1);
    expect(retries[0]?.['reason']).toBe('all 2 lanes failed: lane 1: exit code 1; lane 2: exit code 1');
    expect(ofType(log, 'BranchMerged')).toHaveLength(1);
    expect(git(repo, 'show', 'integration:lane.txt').trim()).toBe('lane 2 attempt 2');
    // Every lane of the retry is told what each lane of the failed attempt did.
    const prompt = fs.readFileSync(promptFilePath(path.join(repo, '.state'), 'T1', 2, 1), 'utf8');
    expect(prompt).toContain('### Attempt 1, lane 1: failed with exit code 1');
    expect(prompt).toContain('### Attempt 1, lane 2: failed with exit code 1');
    expect(prompt).toContain('- Lane: 1 of 2 (best of 2:');
    const state = replay(log);
    expect(state.costUsd).toBeCloseTo(0.02 * 3 + 0.1234, 6);
    expect(checkInvariants(log, { maxConcurrent: 3, maxRetries: 1 })).toEqual([]);
  }, 60_000);

  it('with maxRetries 0 an attempt whose lanes all fail fails the task; the plan bestOf wins over the role', async () => {
    const { repo, orch } = run(', bestOf: 2', 'fail', { maxRetries: 0, roles: { dev: { bestOf: 3 } } });
    const outcome = await orch.run();
    expect(outcome.exitCode).toBe(1);
    const log = repoEvents(repo);
    expect(ofType(log, 'AgentSpawnRequested')).toHaveLength(2);
    expect(ofType(log, 'TaskFailed')[0]?.['reason']).toMatch(
      /^retries used up after 1 attempt\(s\); last: all 2 lanes failed/,
    );
  }, 60_000);

  it('maxConcurrent counts every lane: with 2 slots a 3-lane attempt starts its third lane once a slot frees', async () => {
    const { repo, orch } = run(', bestOf: 3', 'fail,fail,fast', { maxConcurrent: 2 });
    const outcome = await orch.run();
    expect(outcome.exitCode).toBe(0);
    const log = repoEvents(repo);
    expect(checkInvariants(log, { maxConcurrent: 2, maxRetries: 1 })).toEqual([]);
    // The third lane was requested only after one of the first two ended.
    const third = log.findIndex(
      (e) => e.type === 'AgentSpawnRequested' && (e.data as { lane?: number }).lane === 3,
    );
    const firstEnd = log.findIndex((e) => e.type === 'AgentExited');
    expect(firstEnd).toBeGreaterThan(-1);
    expect(third).toBeGreaterThan(firstEnd);
    expect(ofType(log, 'BranchMerged')).toHaveLength(1);
  }, 60_000);
});
