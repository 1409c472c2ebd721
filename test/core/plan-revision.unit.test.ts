import { describe, expect, it } from 'vitest';
import { planDiff, planRecord } from '../../src/core/plan-revision.js';
import type { Plan } from '../../src/plan/model.js';
import { makePlan } from './fixtures.js';

const base = () =>
  makePlan([{ id: 'M1', phases: [{ id: 'P1', tasks: [{ id: 'T1' }, { id: 'T2', deps: ['T1'] }] }] }]);

/** The plan with T9 added to P1 and T2 depending on it too. */
function withT9(plan: Plan): Plan {
  return {
    ...plan,
    phases: plan.phases.map((p) => (p.id === 'P1' ? { ...p, tasks: [...p.tasks, 'T9'] } : p)),
    tasks: [
      ...plan.tasks.map((t) => (t.id === 'T2' ? { ...t, dependsOn: ['T1', 'T9'] } : t)),
      { ...plan.tasks[0]!, id: 'T9', title: 'Task T9' },
    ],
  };
}

describe('plan revisions', () => {
  it('records the first plan as PlanLoaded', () => {
    const plan = base();
    expect(planRecord(null, plan)).toEqual({ type: 'PlanLoaded', data: { plan } });
  });

  it('records a change of meaning as PlanRevised with what was added, removed and changed', () => {
    const before = base();
    const after = withT9(before);
    expect(planRecord(before, after)).toEqual({
      type: 'PlanRevised',
      data: { plan: after, diff: { added: ['T9'], removed: [], changed: ['P1', 'T2'] } },
    });
    expect(planDiff(after, before)).toEqual({ added: [], removed: ['T9'], changed: ['P1', 'T2'] });
  });

  it('records nothing for the same plan, declared statuses or moved lines', () => {
    const before = base();
    expect(planRecord(before, base())).toBeNull();
    const written = {
      ...before,
      tasks: before.tasks.map((t) => ({
        ...t,
        status: 'complete' as const,
        source: { file: 'plan.yaml', line: 9 },
      })),
    };
    expect(planDiff(before, written)).toEqual({ added: [], removed: [], changed: [] });
    expect(planRecord(before, written)).toBeNull();
  });

  it('records a change of the plan-wide fields even when no entity changed', () => {
    const before = base();
    const renamed = { ...before, name: 'Renamed plan' };
    expect(planRecord(before, renamed)).toEqual({
      type: 'PlanRevised',
      data: { plan: renamed, diff: { added: [], removed: [], changed: [] } },
    });
  });
});
