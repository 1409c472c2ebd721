import { describe, expect, it } from 'vitest';
import { makePlan, testConfig } from './fixtures.js';
import { Sim } from './sim.js';

const plan = () =>
  makePlan([
    {
      id: 'M1',
      phases: [{ id: 'P1', tasks: [{ id: 'T1' }, { id: 'T2' }, { id: 'T3', deps: ['T1'] }] }],
    },
  ]);

describe('decide and CI results', () => {
  it('a task blocked on CI waits through a fail and resumes on the next pass', () => {
    const sim = new Sim(plan(), { ...testConfig, maxConcurrent: 1 });
    sim.settle();
    sim.start('T1').record('BreakpointReported', { spawnId: 's1', kind: 'blocked', on: ['ci'] });
    sim.exit('T1', 0);
    sim.record('CiCompleted', { result: 'fail' }, 'ci');
    expect(sim.decide().filter((c) => c.type === 'UnblockTask')).toEqual([]);
    expect(sim.state.tasks['T1']?.value).toBe('blocked');
    sim.record('CiCompleted', { result: 'pass' }, 'ci');
    expect(sim.decide()[0]).toEqual({ type: 'UnblockTask', taskId: 'T1', reason: 'ci' });
  });

  it('a fail reopens exactly the tasks merged since the previous result, alone, once', () => {
    const sim = new Sim(plan(), { ...testConfig, maxConcurrent: 2 });
    sim.settle();
    sim.finish('T1');
    sim.record('CiCompleted', { result: 'pass', ref: 'aaa' }, 'ci');
    sim.finish('T2');
    const failAt = sim.record('CiCompleted', { result: 'fail', ref: 'bbbbbbbbbbbbbbbb' }, 'ci').state
      .position;
    // T2 was merged after the pass: it alone is reopened, and nothing else is decided with it.
    const reopen = sim.decide();
    expect(reopen).toEqual([
      {
        type: 'ReopenTask',
        taskId: 'T2',
        spawnId: sim.spawnOf('T2'),
        reason: 'CI failed after its merge (bbbbbbbbbbbb)',
        ciPosition: failAt,
      },
    ]);
    sim.perform(reopen);
    const t2 = sim.state.tasks['T2'];
    expect(t2?.value).toBe('retrying');
    expect(t2?.context.lastFailure).toMatchObject({
      kind: 'ci',
      detail: 'CI failed after its merge (bbbbbbbbbbbb)',
    });
    expect(sim.state.ci?.toReopen).toEqual([]);
    // The retry is scheduled like any failed attempt, and the task is not reopened again.
    const next = sim.decide();
    expect(next.filter((c) => c.type === 'ReopenTask')).toEqual([]);
    expect(next.find((c) => c.type === 'ScheduleRetry')).toMatchObject({ taskId: 'T2', attempt: 2 });
    expect(sim.state.tasks['T1']?.value).toBe('complete');
  });

  it('a result judges the merge of the commit it tested and those before it, not later merges', () => {
    const sim = new Sim(plan(), { ...testConfig, maxConcurrent: 2 });
    sim.settle();
    sim.finish('T1', 'c1');
    sim.finish('T2', 'c2');
    // CI of T1's merge commit fails after T2 has merged too: only T1 is reopened.
    sim.record('CiCompleted', { result: 'fail', ref: 'c1' }, 'ci');
    expect(
      sim
        .decide()
        .filter((c) => c.type === 'ReopenTask')
        .map((c) => c.taskId),
    ).toEqual(['T1']);
    expect(sim.state.mergesSinceCi).toEqual([{ taskId: 'T2', commit: 'c2' }]);
    sim.perform(sim.decide());
    // T2's own result then judges T2 alone; a pass clears it.
    sim.record('CiCompleted', { result: 'pass', ref: 'c2' }, 'ci');
    expect(sim.state.mergesSinceCi).toEqual([]);
    expect(sim.decide().filter((c) => c.type === 'ReopenTask')).toEqual([]);
    expect(sim.state.tasks['T2']?.value).toBe('complete');
  });

  it('a result naming no merged commit (external CI, another ref) judges every merge not yet judged', () => {
    const sim = new Sim(plan(), { ...testConfig, maxConcurrent: 2 });
    sim.settle();
    sim.finish('T1', 'c1');
    sim.finish('T2', 'c2');
    sim.record('CiCompleted', { result: 'fail', ref: 'refs/heads/integration' }, 'ci');
    expect(
      sim
        .decide()
        .filter((c) => c.type === 'ReopenTask')
        .map((c) => c.taskId)
        .sort(),
    ).toEqual(['T1', 'T2']);
    expect(sim.state.mergesSinceCi).toEqual([]);
  });

  it('a fail with nothing merged since the last result reopens nothing', () => {
    const sim = new Sim(plan());
    sim.settle();
    sim.finish('T1');
    sim.record('CiCompleted', { result: 'pass' }, 'ci');
    sim.record('CiCompleted', { result: 'fail' }, 'ci');
    expect(sim.decide().filter((c) => c.type === 'ReopenTask')).toEqual([]);
  });
});

describe('milestone pull requests and CI', () => {
  const onePhase = () =>
    makePlan([{ id: 'M1', phases: [{ id: 'P1', tasks: [{ id: 'T1' }, { id: 'T2' }] }] }]);

  it('with CI configured, the PR waits until CI passed on every merge of the milestone', () => {
    const sim = new Sim(onePhase(), { ...testConfig, ci: { provider: 'external' } });
    sim.settle();
    sim.finish('T1', 'c1');
    sim.finish('T2', 'c2');
    sim.settle();
    expect(sim.state.milestones['M1']?.value).toBe('complete');
    expect(sim.decide().some((c) => c.type === 'RequestPullRequest')).toBe(false);
    // A pass on T1's merge alone still leaves T2's merge unjudged.
    sim.record('CiCompleted', { result: 'pass', ref: 'c1' }, 'ci');
    expect(sim.decide().some((c) => c.type === 'RequestPullRequest')).toBe(false);
    // A fail on T2's merge reopens it: still no PR, until its fix is merged and passes.
    sim.record('CiCompleted', { result: 'fail', ref: 'c2' }, 'ci');
    sim.settle();
    expect(sim.state.milestones['M1']?.value).toBe('complete');
    expect(sim.state.tasks['T2']?.value).not.toBe('complete');
    sim.now += 60_000;
    sim.settle();
    sim.finish('T2', 'c3');
    sim.settle();
    expect(sim.state.milestones['M1']?.value).toBe('complete');
    sim.record('CiCompleted', { result: 'pass', ref: 'c3' }, 'ci');
    expect(sim.decide()).toContainEqual({ type: 'RequestPullRequest', milestoneId: 'M1' });
  });

  it('a late result on an older, already judged merge commit judges none of the later merges', () => {
    const sim = new Sim(onePhase(), { ...testConfig, ci: { provider: 'external' } });
    sim.settle();
    sim.finish('T1', 'c1');
    sim.record('CiCompleted', { result: 'pass', ref: 'c1' }, 'ci');
    sim.finish('T2', 'c2');
    sim.settle();
    expect(sim.state.milestones['M1']?.value).toBe('complete');
    // CI of c1 ran again (or its result came late): it says nothing about T2's merge c2.
    sim.record('CiCompleted', { result: 'pass', ref: 'c1' }, 'ci');
    expect(sim.state.mergesSinceCi).toEqual([{ taskId: 'T2', commit: 'c2' }]);
    expect(sim.decide().some((c) => c.type === 'RequestPullRequest')).toBe(false);
    // Nor does a late fail of c1 reopen T2 (T1's merge was judged already).
    sim.record('CiCompleted', { result: 'fail', ref: 'c1' }, 'ci');
    expect(sim.decide().filter((c) => c.type === 'ReopenTask')).toEqual([]);
    sim.record('CiCompleted', { result: 'pass', ref: 'c2' }, 'ci');
    expect(sim.decide()).toContainEqual({ type: 'RequestPullRequest', milestoneId: 'M1' });
  });

  it('without CI (provider none) the PR is requested as soon as the milestone completes', () => {
    const sim = new Sim(onePhase(), { ...testConfig, ci: { provider: 'none' } });
    sim.settle();
    sim.finish('T1', 'c1');
    sim.finish('T2', 'c2');
    sim.settle();
    expect(sim.state.milestones['M1']?.value).toBe('prRequested');
  });
});
