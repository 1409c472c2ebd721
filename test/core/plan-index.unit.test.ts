import { describe, expect, it } from 'vitest';
import { dependencyMet, planIndex, unmetDependencies } from '../../src/core/plan-index.js';
import { replay } from '../../src/core/replayer.js';
import { LogBuilder, makePlan } from './fixtures.js';

describe('planIndex', () => {
  const plan = makePlan([
    {
      id: 'M1',
      phases: [
        { id: 'P10', tasks: [{ id: 'T10' }, { id: 'T9', deps: ['T10'] }, { id: 'T8', deps: ['T9'] }] },
        { id: 'P2', tasks: [{ id: 'T2' }] },
        { id: 'P1', priority: 'priority', tasks: [{ id: 'T1' }] },
      ],
    },
    { id: 'M2', phases: [{ id: 'B', priority: 'bootstrap', deps: ['P2'], tasks: [{ id: 'T20' }] }] },
  ]);

  it('orders tasks by bootstrap, priority, critical path, then natural id', () => {
    const index = planIndex(plan);
    // T2 heads a chain through P2 → B (T20): 2 tasks long, like T9; T10 heads 3.
    expect(index.criticalPath.get('T10')).toBe(3);
    expect(index.criticalPath.get('T2')).toBe(2);
    expect(index.taskOrder).toEqual(['T20', 'T1', 'T10', 'T2', 'T9', 'T8']);
    expect(index.phaseOrder).toEqual(['B', 'P1', 'P10', 'P2']);
  });

  it('groups tasks by phase and phases by milestone, and is memoised per plan', () => {
    const index = planIndex(plan);
    expect(index.phaseTasks.get('P10')).toEqual(['T10', 'T9', 'T8']);
    expect(index.milestonePhases.get('M2')).toEqual(['B']);
    expect(planIndex(plan)).toBe(index);
    expect(planIndex(structuredClone(plan))).not.toBe(index);
  });

  it('treats a dependency on a phase id as that phase being complete', () => {
    const p = makePlan([
      {
        id: 'M1',
        phases: [
          { id: 'P1', tasks: [{ id: 'T1' }] },
          { id: 'P2', tasks: [{ id: 'T2', deps: ['P1', 'X?'] }] },
        ],
      },
    ]);
    const b = new LogBuilder();
    b.add('PlanLoaded', { plan: p });
    const index = planIndex(p);
    const task = index.tasks.get('T2')!;
    let state = replay(b.events);
    expect(unmetDependencies(state, index, task)).toEqual(['P1']);
    b.add('PhaseUnblocked', { phaseId: 'P1' });
    b.add('PhaseCompleted', { phaseId: 'P1' });
    state = replay(b.events);
    expect(dependencyMet(state, index, 'P1')).toBe(true);
    expect(unmetDependencies(state, index, task)).toEqual([]);
  });
});
