import type { RecordedEvent } from './envelope.js';
import { isOrchEventType } from './events.js';

/**
 * Which events a `notify` rule is about: event types of the catalog, or aliases for the
 * common cases (docs/cli.md, "Notifications"). Pure: the runtime's notifier decides with
 * these what to deliver.
 */

type Data = Record<string, unknown>;

/** An alias: the event types it covers and, for some, which of those events. */
interface Alias {
  types: readonly string[];
  when?: (data: Data) => boolean;
}

/** The aliases a rule's `on` may name, besides event types. */
export const NOTIFY_ALIASES: Readonly<Record<string, Alias>> = {
  /** A task failed for good (attempts used up, or failed by a person). */
  'task.failed': { types: ['TaskFailed'] },
  /** A task was cancelled by a person. */
  'task.cancelled': { types: ['TaskCancelled'] },
  /** A task's branch was merged (or a person marked it complete). */
  'task.completed': { types: ['BranchMerged', 'TaskCompleted'] },
  /** An agent reported it waits on a person (`orch signal blocked` with no `--on`, or `--on person`). */
  'task.blocked': {
    types: ['BreakpointReported'],
    when: (d) =>
      d['kind'] === 'blocked' &&
      (!Array.isArray(d['on']) || d['on'].length === 0 || d['on'].includes('person')),
  },
  'milestone.completed': { types: ['MilestoneCompleted'] },
  'milestone.pr_opened': { types: ['PullRequestOpened'] },
  'budget.exhausted': { types: ['BudgetExhausted'] },
  'ci.failed': { types: ['CiCompleted'], when: (d) => d['result'] === 'fail' },
  'plan.refused': { types: ['PlanRevisionRefused'] },
  'run.started': { types: ['RunStarted'] },
  'run.stopped': { types: ['RunStopped'] },
};

/** Event types a rule may not name: a notification about a notification could never end. */
export const UNNOTIFIABLE: readonly string[] = ['NotificationDelivered', 'NotificationFailed'];

/**
 * Why a rule's `on` entry is not valid, or null when it names an event type or an alias.
 *
 * @example
 * notifyTargetProblem('task.failed'); // null
 * notifyTargetProblem('TaskFaild'); // 'unknown event type or alias "TaskFaild"'
 */
export function notifyTargetProblem(name: string): string | null {
  if (UNNOTIFIABLE.includes(name)) return `${name} cannot be notified (it is about notifications)`;
  if (Object.hasOwn(NOTIFY_ALIASES, name) || isOrchEventType(name)) return null;
  return `unknown event type or alias "${name}"`;
}

/**
 * The event types a rule's `on` covers (for reading the log by type).
 *
 * @example
 * notifyTypes(['task.failed', 'RunStopped']); // ['TaskFailed', 'RunStopped']
 */
export function notifyTypes(on: readonly string[]): string[] {
  const out = new Set<string>();
  for (const name of on) {
    const alias = Object.hasOwn(NOTIFY_ALIASES, name) ? NOTIFY_ALIASES[name] : undefined;
    for (const t of alias?.types ?? [name]) out.add(t);
  }
  return [...out];
}

/**
 * The first entry of `on` that `event` matches (an event type, or an alias whose types and
 * condition it meets), or null.
 *
 * @example
 * notifyMatch(['task.failed'], { type: 'TaskFailed', data: { taskId: 'T1', reason: 'x' } } as RecordedEvent); // 'task.failed'
 */
export function notifyMatch(
  on: readonly string[],
  event: Pick<RecordedEvent, 'type' | 'data'>,
): string | null {
  const data = (typeof event.data === 'object' && event.data !== null ? event.data : {}) as Data;
  for (const name of on) {
    if (name === event.type) return name;
    const alias = Object.hasOwn(NOTIFY_ALIASES, name) ? NOTIFY_ALIASES[name] : undefined;
    if (alias?.types.includes(event.type) && (alias.when === undefined || alias.when(data))) return name;
  }
  return null;
}

/**
 * The key that names a rule in the log (`RunStarted.config.notify`, `Notification*.rule`):
 * what it is on and what it runs. Two rules with the same key are one rule.
 *
 * @example
 * notifyRuleKey({ on: ['task.failed'], command: ['notify-send', 'orch'] }); // '["task.failed"] ["notify-send","orch"]'
 */
export function notifyRuleKey(rule: { on: readonly string[]; command: readonly string[] }): string {
  return `${JSON.stringify([...rule.on].sort())} ${JSON.stringify(rule.command)}`;
}
