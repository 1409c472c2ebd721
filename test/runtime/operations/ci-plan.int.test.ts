import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { PlanValidationError, type PlanProblem } from '../../../src/plan/errors.js';
import { loadPlan } from '../../../src/runtime/project/plan-loader.js';
import { EXTERNAL_RUN_ID, orchCi } from '../../../src/runtime/operations/ci.js';
import { orchPlan } from '../../../src/runtime/operations/plan.js';
import { openSqliteEventStore, StoreError } from '../../../src/store/index.js';
import { LogBuilder, tempLog, type TempLog } from '../../commands/helpers/log-builder.js';

const plans = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'plans');

let log: TempLog | undefined;
afterEach(() => log?.cleanup());

function events(from: number) {
  const store = openSqliteEventStore(log!.file, { readonly: true });
  try {
    return [...store.readAll({ from })];
  } finally {
    store.close();
  }
}

describe('orchCi', () => {
  it('records the result on the last run’s stream, as a fact', () => {
    log = tempLog((s) => {
      const b = new LogBuilder(s);
      b.add('RunStarted', { runId: 'r1', pid: 1, startedAt: '2025-01-01T00:00:00.000Z', config: {} });
      b.runId = 'r2';
      b.add('RunStarted', { runId: 'r2', pid: 2, startedAt: '2025-01-01T01:00:00.000Z', config: {} });
    });
    const outcome = orchCi(log.stateDir, {
      result: 'fail',
      ref: 'integration',
      url: 'https://ci/1',
      actor: 'ci',
    });
    expect(outcome).toEqual({
      position: 3,
      streamId: 'run-r2',
      result: 'fail',
      ref: 'integration',
      url: 'https://ci/1',
      actor: 'ci',
    });
    expect(events(3).map((e) => [e.type, e.data, e.metadata])).toEqual([
      [
        'CiCompleted',
        { result: 'fail', ref: 'integration', url: 'https://ci/1' },
        { runId: 'r2', actor: 'ci' },
      ],
    ]);
  });

  it('without a run, records on run-external with no run id; a missing log is not created', () => {
    log = tempLog((s) => void new LogBuilder(s).add('CiCompleted', { result: 'pass' }, 'ci'));
    const outcome = orchCi(log.stateDir, { result: 'pass', actor: 'user' });
    expect(outcome).toMatchObject({
      streamId: `run-${EXTERNAL_RUN_ID}`,
      ref: null,
      url: null,
      actor: 'user',
    });
    expect(events(2)[0]?.metadata).toEqual({ actor: 'user' });
    const nowhere = path.join(log.dir, 'nowhere');
    expect(() => orchCi(nowhere, { result: 'pass', actor: 'user' })).toThrow(StoreError);
    expect(fs.existsSync(nowhere)).toBe(false);
  });
});

describe('orchPlan', () => {
  function repoWith(fixture: string): { repoDir: string; stateDir: string } {
    log = tempLog(() => undefined);
    fs.cpSync(path.join(plans, fixture), path.join(log.stateDir, 'plans'), { recursive: true });
    fs.rmSync(log.file);
    return { repoDir: log.repo, stateDir: log.stateDir };
  }

  it('shows the view of the files, its files named from the repository', async () => {
    const result = await orchPlan(repoWith('directory'));
    expect(Object.keys(result)).toEqual(['plan', 'milestones', 'phases', 'tasks', 'ready']);
    expect(result.plan).toMatchObject({ name: 'Calculator', source: '.state/plans', format: 'directory' });
    expect(result.ready).toEqual(['T002', 'T004']);
    expect(result.tasks[0]?.source.file).toMatch(/^\.state\/plans\//);
  });

  it('adds the goal report, the graph text and the check when asked', async () => {
    const request = repoWith('directory');
    const result = await orchPlan({ ...request, goal: 'calculator', graph: 'mermaid', check: true });
    expect(result.goal).toBeDefined();
    expect(result.graph).toMatch(/^flowchart/);
    expect(result.check).toEqual({ log: false, problems: [] });
    expect((await orchPlan({ ...request, graph: 'dot' })).graph).toMatch(/^digraph/);
  });

  it('checks the files against a log that disagrees with them', async () => {
    const request = repoWith('directory');
    const { plan } = loadPlan(path.join(request.stateDir, 'plans'));
    const ready = plan.tasks.find((t) => t.status !== 'complete')!;
    const db = openSqliteEventStore(path.join(request.stateDir, 'orch.db'));
    try {
      const b = new LogBuilder(db);
      b.add('PlanLoaded', { plan });
      b.add('TaskCompleted', { taskId: ready.id, reason: 'done by hand' });
    } finally {
      db.close();
    }
    const { check } = await orchPlan({ ...request, check: true });
    expect(check?.log).toBe(true);
    expect(check?.problems).toContainEqual(
      expect.objectContaining({
        kind: 'complete-in-log-only',
        file: expect.stringMatching(/^\.state\/plans\//),
      }),
    );
  });

  it('throws every problem of an invalid plan, each at file:line from the repository', async () => {
    const failure = orchPlan(repoWith('invalid-directory'));
    await expect(failure).rejects.toBeInstanceOf(PlanValidationError);
    const problems: PlanProblem[] = await failure.then(
      () => [],
      (err: PlanValidationError) => err.problems,
    );
    expect(problems.length).toBeGreaterThan(1);
    for (const p of problems) expect(p.file).toMatch(/^\.state\/plans\//);
  });
});
