/**
 * Writes realistic orch logs through the real SQLite store, for the log commands' tests:
 * a small plan, a run, spawns, exits, a retry, a failed gate, a block on CI, merges,
 * phase and milestone completion, a pull request, and two agents still live.
 * Every event's data is validated against the catalog, and streams come from EVENT_INFO.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Actor } from '../../../src/core/envelope.js';
import { EVENT_INFO, parseEventData, streamIds } from '../../../src/core/events.js';
import type { OrchEventData, OrchEventType } from '../../../src/core/events.js';
import type { Plan } from '../../../src/plan/model.js';
import type { EventStore } from '../../../src/store/index.js';
import { openSqliteEventStore } from '../../../src/store/index.js';

export const T0 = Date.parse('2025-01-01T00:00:00.000Z');
export const iso = (ms: number): string => new Date(ms).toISOString();

/** Appends catalog events one by one, a second apart, to the streams the catalog names. */
export class LogBuilder {
  now = T0;
  runId = 'r1';
  private readonly spawnTask = new Map<string, string>();

  constructor(readonly store: EventStore) {}

  /** Tells the builder which task a spawn it did not request belongs to (for its reports' stream). */
  knowSpawn(spawnId: string, taskId: string): this {
    this.spawnTask.set(spawnId, taskId);
    return this;
  }

  add<T extends OrchEventType>(type: T, data: OrchEventData<T>, actor: Actor = 'orch'): number {
    parseEventData(type, data);
    this.now += 1000;
    if (type === 'AgentSpawnRequested') {
      const d = data as OrchEventData<'AgentSpawnRequested'>;
      this.spawnTask.set(d.spawnId, d.taskId);
    }
    const result = this.store.append(this.streamOf(type, data), [
      {
        id: `${type}-${this.now}-${Math.random().toString(36).slice(2)}`,
        type,
        data,
        metadata: { runId: this.runId, actor },
        recordedAt: iso(this.now),
      },
    ]);
    return result.positions[0]!;
  }

  streamOf(type: OrchEventType, data: unknown): string {
    const d = data as Record<string, string | undefined>;
    switch (EVENT_INFO[type].stream) {
      case 'run':
        return streamIds.run(this.runId);
      case 'worker':
        return streamIds.worker(d['runId'] ?? this.runId);
      case 'plan':
        return streamIds.plan();
      case 'phase':
        return streamIds.phase(d['phaseId'] ?? '');
      case 'milestone':
        return streamIds.milestone(d['milestoneId'] ?? '');
      case 'task':
        return streamIds.task(d['taskId'] ?? this.spawnTask.get(d['spawnId'] ?? '') ?? 'unknown');
    }
  }

  /** One attempt of a task: spawn, start, then `end` (exit code, or 'live' to leave it running). */
  attempt(taskId: string, spawnId: string, attempt: number, end: number | 'live', costUsd = 0.01): void {
    this.add('AgentSpawnRequested', {
      spawnId,
      taskId,
      attempt,
      role: 'implementer',
      command: ['claude', '-p', '{prompt}'],
      workspace: `/ws/${taskId}`,
    });
    this.add('AgentStarted', {
      spawnId,
      pid: 40_000 + attempt,
      pidStartTime: 1234,
      startedAt: iso(this.now),
    });
    if (end === 'live') return;
    this.add('AgentExited', {
      spawnId,
      exitCode: end,
      signal: null,
      durationMs: 61_000,
      outputTail: end === 0 ? 'done' : 'Error: tests failed',
      usage: { inputTokens: 1200, outputTokens: 800, costUsd },
    });
  }

  /** Gate passes and the branch merges: the task completes. */
  finish(taskId: string, spawnId: string): void {
    this.add('GateStarted', { taskId, spawnId, command: ['npm', 'test'] });
    this.add('GatePassed', { taskId, spawnId, durationMs: 4200 });
    this.add('MergeRequested', { taskId, spawnId, branch: `orch/${taskId}` });
    this.add('BranchMerged', { taskId, spawnId, commit: `c0ffee${spawnId}` });
  }
}

/** The plan of the test runs: M1 (S001: T001; S002: T002, T003 ← T002), M2 (S003 ← S002: T004, T005). */
export function calculatorPlan(): Plan {
  const src = { file: 'plan.yaml', line: 1 };
  const phase = (id: string, milestone: string, tasks: string[], dependsOn: string[] = []) => ({
    id,
    title: `Phase ${id}`,
    milestone,
    dependsOn,
    tasks,
    status: 'not_started' as const,
    priority: 'normal' as const,
    acceptanceCriteria: [],
    definitionOfDone: [],
    metadata: {},
    source: src,
  });
  const task = (id: string, phaseId: string, title: string, dependsOn: string[] = []) => ({
    id,
    title,
    role: 'implementer',
    phase: phaseId,
    dependsOn,
    status: 'not_started' as const,
    source: src,
  });
  return {
    name: 'Calculator',
    format: 'yaml',
    source: '.state/plans',
    milestones: [
      { id: 'M1', title: 'Core', phases: ['S001', 'S002'], status: 'not_started', source: src },
      { id: 'M2', title: 'Extras', phases: ['S003'], status: 'not_started', source: src },
    ],
    phases: [
      phase('S001', 'M1', ['T001']),
      phase('S002', 'M1', ['T002', 'T003'], ['S001']),
      phase('S003', 'M2', ['T004', 'T005'], ['S002']),
    ],
    tasks: [
      task('T001', 'S001', 'Design the API'),
      task('T002', 'S002', 'Implement add and subtract'),
      task('T003', 'S002', 'Implement multiply', ['T002']),
      task('T004', 'S003', 'Scientific functions'),
      task('T005', 'S003', 'Command line'),
    ],
    personas: [],
  };
}

/** Spawn ids of {@link writeCalculatorRun}: T004's `s7` and T005's `s8` are still live at the end. */
export const LIVE_SPAWNS = ['s7', 's8'] as const;

/**
 * Writes a whole plausible run (about 70 events): T001 in one attempt, T002 after an error
 * exit and a failed gate, T003 blocked on CI then done, M1 complete with its PR, and
 * T004/T005 running. Returns the builder to add more.
 */
export function writeCalculatorRun(store: EventStore): LogBuilder {
  const b = new LogBuilder(store);
  b.add('RunStarted', { runId: 'r1', pid: 999_999, startedAt: iso(b.now), config: { maxConcurrent: 4 } });
  b.add('PlanLoaded', { plan: calculatorPlan() });
  b.add('PhaseUnblocked', { phaseId: 'S001' });
  b.add('TaskUnblocked', { taskId: 'T001', reason: 'dependencies' });
  b.add('PhaseStarted', { phaseId: 'S001' });
  b.attempt('T001', 's1', 1, 'live', 0.05);
  b.add('BreakpointReported', { spawnId: 's1', kind: 'complete', summary: 'API designed' }, 'agent:s1');
  b.add('AgentExited', {
    spawnId: 's1',
    exitCode: 0,
    signal: null,
    durationMs: 90_000,
    outputTail: 'ok',
    usage: { costUsd: 0.05 },
  });
  b.finish('T001', 's1');
  b.add('PhaseCompleted', { phaseId: 'S001' });

  b.add('PhaseUnblocked', { phaseId: 'S002' });
  b.add('TaskUnblocked', { taskId: 'T002', reason: 'dependencies' });
  b.add('PhaseStarted', { phaseId: 'S002' });
  b.attempt('T002', 's2', 1, 1, 0.02);
  b.add('RetryScheduled', {
    taskId: 'T002',
    attempt: 2,
    notBefore: iso(b.now + 30_000),
    reason: 'exit code 1',
  });
  b.attempt('T002', 's3', 2, 0, 0.02);
  b.add('GateStarted', { taskId: 'T002', spawnId: 's3', command: ['npm', 'test'] });
  b.add('GateFailed', { taskId: 'T002', spawnId: 's3', exitCode: 1, outputTail: 'FAIL add.test.ts' });
  b.add('RetryScheduled', {
    taskId: 'T002',
    attempt: 3,
    notBefore: iso(b.now + 30_000),
    reason: 'quality gate failed',
  });
  b.attempt('T002', 's4', 3, 0, 0.03);
  b.finish('T002', 's4');

  b.add('TaskUnblocked', { taskId: 'T003', reason: 'dependencies' });
  b.attempt('T003', 's5', 1, 'live');
  b.add(
    'BreakpointReported',
    { spawnId: 's5', kind: 'blocked', on: ['ci'], summary: 'needs CI' },
    'agent:s5',
  );
  b.add('AgentExited', { spawnId: 's5', exitCode: 0, signal: null, durationMs: 5000, outputTail: '' });
  b.add('CiCompleted', { result: 'pass', ref: 'integration' }, 'ci');
  b.add('TaskUnblocked', { taskId: 'T003', reason: 'ci' });
  b.attempt('T003', 's6', 2, 0);
  b.finish('T003', 's6');
  b.add('PhaseCompleted', { phaseId: 'S002' });
  b.add('MilestoneCompleted', { milestoneId: 'M1' });
  b.add('PullRequestRequested', { milestoneId: 'M1', branch: 'milestone/M1' });
  b.add('PullRequestOpened', { milestoneId: 'M1', url: 'https://example.test/pr/1', branch: 'milestone/M1' });

  b.add('PhaseUnblocked', { phaseId: 'S003' });
  b.add('TaskUnblocked', { taskId: 'T004', reason: 'dependencies' });
  b.add('TaskUnblocked', { taskId: 'T005', reason: 'dependencies' });
  b.add('PhaseStarted', { phaseId: 'S003' });
  b.attempt('T004', 's7', 1, 'live');
  b.attempt('T005', 's8', 1, 'live');
  return b;
}

/** A temp directory with `.state/orch.db` holding {@link writeCalculatorRun}'s log. */
export interface TempLog {
  dir: string;
  repo: string;
  stateDir: string;
  file: string;
  cleanup(): void;
}

/**
 * Makes a temp repo directory and writes a log into its state directory with `write`
 * (default: the calculator run). The store is closed afterwards.
 */
export function tempLog(write: (store: EventStore) => void = (s) => void writeCalculatorRun(s)): TempLog {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-read-'));
  const repo = path.join(dir, 'repo');
  const stateDir = path.join(repo, '.state');
  fs.mkdirSync(stateDir, { recursive: true });
  const file = path.join(stateDir, 'orch.db');
  const store = openSqliteEventStore(file, { durability: 'normal' });
  try {
    write(store);
  } finally {
    store.close();
  }
  return { dir, repo, stateDir, file, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
