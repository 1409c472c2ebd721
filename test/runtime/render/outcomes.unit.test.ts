import { describe, expect, it } from 'vitest';
import {
  ciRecordedLine,
  planProblemsText,
  planText,
  signalRecordedLine,
  verifiedLine,
  type PlanShown,
} from '../../../src/runtime/render/outcomes.js';

describe('the lines that confirm what was recorded', () => {
  it('ci', () => {
    expect(ciRecordedLine({ result: 'fail', position: 7, streamId: 'run-external' })).toBe(
      'recorded CI fail at log position 7 (run-external)',
    );
  });

  it('signal: a report (with what it waits on), a release, a cancellation', () => {
    expect(signalRecordedLine({ kind: 'pr', taskId: 'T1', spawnId: 's1', on: null, position: 3 })).toBe(
      'recorded pr for task T1 (spawn s1) at log position 3',
    );
    expect(
      signalRecordedLine({ kind: 'blocked', taskId: 'T1', spawnId: 's1', on: ['ci', 'T0'], position: 4 }),
    ).toBe('recorded blocked on ci, T0 for task T1 (spawn s1) at log position 4');
    expect(signalRecordedLine({ kind: 'unblock', taskId: 'T1', wasBlockedOn: ['person'], position: 5 })).toBe(
      'released task T1 (blocked on person) at log position 5; orch spawn gives it a fresh agent',
    );
    expect(signalRecordedLine({ kind: 'cancel', taskId: 'T1', was: 'retryWait', position: 6 })).toBe(
      'cancelled task T1 (it was retryWait) at log position 6; a running orch stops its agent',
    );
  });
});

describe('verifiedLine', () => {
  it('says how much the pure fold covered and which caches matched', () => {
    expect(
      verifiedLine({ events: 9, pureEvents: 9, invariants: ['a'], snapshot: null, statusCache: null }),
    ).toBe(
      'verified 9 events, 1 invariants (pure evolve re-folded all of them; no state snapshot to check; no status cache to check)',
    );
    expect(verifiedLine({ events: 9, pureEvents: 5, invariants: [], snapshot: 4, statusCache: 8 })).toBe(
      'verified 9 events, 0 invariants (pure evolve re-folded the first 5; state snapshot at 4 matches; status cache at 8 matches)',
    );
  });
});

describe('plan text', () => {
  const view: PlanShown = {
    plan: { name: 'Calc', source: 'plans', format: 'yaml' },
    milestones: [],
    phases: [],
    tasks: [],
    ready: ['T1'],
  };

  it('shows the check first, then the graph, then the goal, else the tree', () => {
    expect(planText({ ...view, check: { log: false, problems: [] }, graph: 'g' })).toBe(
      'Calc (plans): the plan files agree with itself (no log yet).',
    );
    expect(
      planText({
        ...view,
        check: {
          log: true,
          problems: [
            { file: 'plans/plan.yaml', line: 3, message: 'a' },
            { file: 'plans/plan.yaml', line: 0, message: 'b' },
          ],
        },
      }),
    ).toBe('Calc (plans): 2 disagreement(s) with the log:\n  plans/plan.yaml:3: a\n  plans/plan.yaml: b');
    expect(planText({ ...view, graph: 'flowchart TD' })).toBe('flowchart TD');
    expect(planText(view)).toMatch(/^Calc {2}\(yaml plan, plans\)/);
  });

  it('lists an invalid plan’s problems one per line, or one on the error line itself', () => {
    const p = (line: number, message: string) => ({ file: 'plan.yaml', line, message });
    expect(planProblemsText('plan plans is invalid', [p(2, 'no id')], undefined)).toBe(
      'Error: plan.yaml:2: no id\n',
    );
    expect(planProblemsText('plan plans is invalid', [p(2, 'no id'), p(0, 'empty')], 'fix it')).toBe(
      'Error: plan plans is invalid:\n  plan.yaml:2: no id\n  plan.yaml: empty\nHint: fix it\n',
    );
  });
});
