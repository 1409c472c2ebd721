import { describe, expect, it } from 'vitest';
import { notifyMatch, notifyRuleKey, notifyTargetProblem, notifyTypes } from '../../src/core/notify.js';

describe('notify rules', () => {
  const blocked = (on?: string[]) => ({
    type: 'BreakpointReported',
    data: { spawnId: 's', kind: 'blocked', ...(on === undefined ? {} : { on }) },
  });

  it('task.blocked matches a wait on a person (no --on, or --on person), not on CI or a task', () => {
    expect(notifyMatch(['task.blocked'], blocked())).toBe('task.blocked');
    expect(notifyMatch(['task.blocked'], blocked(['person']))).toBe('task.blocked');
    expect(notifyMatch(['task.blocked'], blocked(['ci']))).toBeNull();
    expect(notifyMatch(['task.blocked'], blocked(['T2']))).toBeNull();
    expect(
      notifyMatch(['task.blocked'], { type: 'BreakpointReported', data: { kind: 'complete' } }),
    ).toBeNull();
  });

  it('matches event types by name and aliases by their types and condition, first entry first', () => {
    const failedCi = { type: 'CiCompleted', data: { result: 'fail' } };
    expect(notifyMatch(['ci.failed'], failedCi)).toBe('ci.failed');
    expect(notifyMatch(['ci.failed'], { type: 'CiCompleted', data: { result: 'pass' } })).toBeNull();
    expect(notifyMatch(['CiCompleted', 'ci.failed'], failedCi)).toBe('CiCompleted');
    expect(notifyMatch(['task.failed'], { type: 'TaskFailed', data: { taskId: 'T1', reason: 'x' } })).toBe(
      'task.failed',
    );
    expect(notifyMatch(['task.failed'], { type: 'TaskCancelled', data: { taskId: 'T1' } })).toBeNull();
  });

  it('lists the event types of a rule, and names what is wrong with an entry', () => {
    expect(notifyTypes(['task.completed', 'RunStopped', 'run.stopped']).sort()).toEqual([
      'BranchMerged',
      'RunStopped',
      'TaskCompleted',
    ]);
    expect(notifyTargetProblem('milestone.pr_opened')).toBeNull();
    expect(notifyTargetProblem('PullRequestOpened')).toBeNull();
    expect(notifyTargetProblem('pr.opened')).toBe('unknown event type or alias "pr.opened"');
    expect(notifyTargetProblem('NotificationDelivered')).toMatch(/cannot be notified/);
  });

  it('names a rule by what it is on (in any order) and what it runs', () => {
    expect(notifyRuleKey({ on: ['b', 'a'], command: ['x'] })).toBe(
      notifyRuleKey({ on: ['a', 'b'], command: ['x'] }),
    );
    expect(notifyRuleKey({ on: ['a'], command: ['x'] })).not.toBe(
      notifyRuleKey({ on: ['a'], command: ['y'] }),
    );
  });
});
