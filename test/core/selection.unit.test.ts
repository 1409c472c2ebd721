import { describe, expect, it } from 'vitest';
import {
  goalSelection,
  isSelectionProblem,
  selectedTasks,
  selectionProblem,
  unknownTaskProblem,
} from '../../src/core/selection.js';
import { buildPlanGraph } from '../../src/plan/graph.js';
import type { Plan } from '../../src/plan/model.js';
import { makePlan } from './fixtures.js';

/** T1 (dev) and T2 (tester) in P1 of target api; T3 (dev, own target web) and T4 (dev) in P2. */
function plan(): Plan {
  const p = makePlan([
    {
      id: 'M1',
      phases: [
        {
          id: 'P1',
          tasks: [
            { id: 'T1', role: 'dev' },
            { id: 'T2', role: 'tester' },
          ],
        },
        {
          id: 'P2',
          tasks: [
            { id: 'T3', role: 'dev' },
            { id: 'T4', role: 'dev' },
          ],
        },
      ],
    },
  ]);
  return {
    ...p,
    phases: p.phases.map((x) => (x.id === 'P1' ? { ...x, target: 'api' } : x)),
    tasks: p.tasks.map((t) => (t.id === 'T3' ? { ...t, target: 'web' } : t)),
  };
}

describe('task selection', () => {
  it('selects nothing in particular (every task) without filters, or with an empty task list', () => {
    expect(selectedTasks(plan(), {})).toBeNull();
    expect(selectedTasks(plan(), { tasks: [] })).toBeNull();
  });

  it('keeps the tasks every given filter picks, in plan order', () => {
    expect([...(selectedTasks(plan(), { tasks: ['T4', 'T1'] }) ?? [])]).toEqual(['T1', 'T4']);
    expect([...(selectedTasks(plan(), { role: 'dev' }) ?? [])]).toEqual(['T1', 'T3', 'T4']);
    // A task's own target, else its phase's.
    expect([...(selectedTasks(plan(), { target: 'api' }) ?? [])]).toEqual(['T1', 'T2']);
    expect([...(selectedTasks(plan(), { target: 'web' }) ?? [])]).toEqual(['T3']);
    expect([...(selectedTasks(plan(), { role: 'dev', target: 'api' }) ?? [])]).toEqual(['T1']);
    // With a default target, the tasks that name none belong to it.
    expect([...(selectedTasks(plan(), { target: 'self', defaultTarget: 'self' }) ?? [])]).toEqual(['T4']);
    expect(selectionProblem(plan(), { target: 'self', defaultTarget: 'self' })).toBeNull();
    expect([...(selectedTasks(plan(), { tasks: ['T2'], role: 'dev' }) ?? [])]).toEqual([]);
  });

  it('says how a selection does not fit the plan', () => {
    expect(selectionProblem(plan(), { tasks: ['T1', 'T9'], role: 'qa' })).toEqual(unknownTaskProblem('T9'));
    expect(unknownTaskProblem('T9')).toEqual({
      code: 'UNKNOWN_TASK',
      message: 'there is no task "T9" in the plan',
      hint: 'see `orch plan` for the task ids',
    });
    expect(selectionProblem(plan(), { role: 'qa' })).toEqual({
      code: 'UNKNOWN_ROLE',
      message: 'no task of the plan has the role qa',
      hint: 'see `orch plan` for the tasks and their roles',
    });
    expect(selectionProblem(plan(), { target: 'docs' })).toEqual({
      code: 'UNKNOWN_TARGET',
      message: 'no task of the plan runs in target docs',
      hint: 'give tasks or phases `target: docs`, or a plan to the target (targets.docs.roadmap)',
    });
  });

  it('finds no problem with a selection that fits, even one that picks no task', () => {
    expect(selectionProblem(plan(), {})).toBeNull();
    expect(selectionProblem(plan(), { tasks: ['T2'], role: 'tester', target: 'api' })).toBeNull();
    expect(selectionProblem(plan(), { tasks: ['T2'], role: 'dev' })).toBeNull();
  });
});

describe('goalSelection', () => {
  /** T1 ← T2 ← T3 (a chain), T4 alone; titles give the goal something to match. */
  function chain(): Plan {
    const p = makePlan([
      {
        id: 'M1',
        phases: [
          {
            id: 'P1',
            tasks: [
              { id: 'T1', role: 'dev' },
              { id: 'T2', role: 'dev', deps: ['T1'] },
              { id: 'T3', role: 'dev', deps: ['T2'] },
              { id: 'T4', role: 'dev' },
            ],
          },
        ],
      },
    ]);
    const titles: Record<string, string> = {
      T1: 'Lay out the module',
      T2: 'Write the tokenizer',
      T3: 'Add the unicorn parser',
      T4: 'Write the docs',
    };
    return { ...p, tasks: p.tasks.map((t) => ({ ...t, title: titles[t.id] ?? t.title })) };
  }

  it('selects the match and every incomplete task it depends on, transitively, dependencies first', () => {
    const p = chain();
    const choice = goalSelection(p, buildPlanGraph(p), 'unicorn parser', new Set());
    if (isSelectionProblem(choice)) throw new Error(choice.message);
    expect(choice.tasks).toEqual(['T1', 'T2', 'T3']);
    expect(choice.recommendation.matches.map((m) => [m.kind, m.id, m.terms])).toEqual([
      ['task', 'T3', ['unicorn', 'pars']],
    ]);
  });

  it('leaves out completed dependencies but keeps a completed match, so a reached goal still selects', () => {
    const p = chain();
    const partly = goalSelection(p, buildPlanGraph(p), 'unicorn parser', new Set(['T1']));
    expect(isSelectionProblem(partly) ? null : partly.tasks).toEqual(['T2', 'T3']);
    const reached = goalSelection(p, buildPlanGraph(p), 'unicorn parser', new Set(['T1', 'T2', 'T3']));
    expect(isSelectionProblem(reached) ? null : [reached.recommendation.tasks, reached.tasks]).toEqual([
      [],
      ['T3'],
    ]);
  });

  it('is a NO_GOAL_MATCH problem when nothing matches', () => {
    const p = chain();
    const none = goalSelection(p, buildPlanGraph(p), 'quantum teleporter', new Set());
    expect(isSelectionProblem(none) ? none.code : null).toBe('NO_GOAL_MATCH');
  });
});
