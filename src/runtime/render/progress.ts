import type { RecordedEvent } from '../../core/envelope.js';
import type { OrchEventData } from '../../core/events.js';
import { getOwn } from '../../core/record.js';
import type { OrchState } from '../../core/state.js';
import type { StatusView } from '../../core/status-view.js';
import { fileLine, seconds, table, terminalSafe, timeOfDay, usd } from './format.js';

/** The one way untrusted text is made safe for a terminal, for the commands that print progress. */
export { terminalSafe } from './format.js';

/**
 * One line for each meaningful event while `orch spawn` runs (null for bookkeeping that
 * says nothing new to a person), e.g. `12:03:04 T002 ▶ attempt 2 (implementer) spawn 1a2b3c4d`.
 *
 * @example
 * const line = progressLine(event, state); if (line) console.log(line);
 */
export function progressLine(event: RecordedEvent, state: OrchState): string | null {
  const time = timeOfDay(event.recordedAt);
  const d = event.data as Record<string, unknown>;
  const task = (spawnId: unknown) =>
    typeof spawnId === 'string' ? (getOwn(state.agents, spawnId)?.task ?? '?') : '?';
  const short = (s: unknown) => (typeof s === 'string' ? s.slice(0, 8) : '');
  // Ids, reasons, summaries and file names come from agents, plans and git: made safe here.
  const say = (who: string, text: string) => terminalSafe(`${time} ${who.padEnd(8)} ${text}`);
  switch (event.type) {
    case 'RunStarted':
      return say('run', `started ${short(d['runId'])} (pid ${String(d['pid'])})`);
    case 'RunStopped':
      return say('run', `stopped: ${String(d['reason'])}`);
    case 'PlanLoaded':
      return say('plan', `loaded "${(d as OrchEventData<'PlanLoaded'>).plan.name}"`);
    case 'PlanRevised': {
      const diff = (d as OrchEventData<'PlanRevised'>).diff;
      return say('plan', `revised: +${diff.added.length} -${diff.removed.length} ~${diff.changed.length}`);
    }
    case 'PlanRevisionRefused': {
      const r = d as OrchEventData<'PlanRevisionRefused'>;
      const first = r.problems[0];
      const where = first === undefined ? '' : `: ${fileLine(first)} ${first.message}`;
      return say(
        'plan',
        `edit refused (${r.count} problem${r.count === 1 ? '' : 's'})${where}; the run keeps its plan`,
      );
    }
    case 'AgentSpawnRequested': {
      const s = d as OrchEventData<'AgentSpawnRequested'>;
      const lane = s.lane === undefined ? '' : ` lane ${s.lane}/${s.lanes ?? s.lane}`;
      return say(s.taskId, `▶ attempt ${s.attempt}${lane} (${s.role}) spawn ${short(s.spawnId)}`);
    }
    case 'AgentStarted':
      return say(task(d['spawnId']), `  running as pid ${String(d['pid'])}`);
    case 'AgentExited': {
      const s = d as OrchEventData<'AgentExited'>;
      const how = s.exitCode !== null ? `exit ${s.exitCode}` : `killed by ${s.signal ?? 'signal'}`;
      const cost = s.usage?.costUsd !== undefined ? `, ${usd(s.usage.costUsd)}` : '';
      const stalled = s.stalled
        ? ` — stalled: idle ${seconds(s.stalled.idleMs)}, stopped${s.stalled.lastOutputLine === '' ? ', it printed nothing' : `; last line: ${s.stalled.lastOutputLine}`}`
        : '';
      return say(task(s.spawnId), `■ ${how} after ${seconds(s.durationMs)}${cost}${stalled}`);
    }
    case 'AgentLost':
      return say(task(d['spawnId']), `✗ agent lost: ${String(d['reason'])}`);
    case 'AgentSpawnFailed':
      return say(task(d['spawnId']), `✗ could not start the agent: ${String(d['error'])}`);
    case 'BreakpointReported': {
      const s = d as OrchEventData<'BreakpointReported'>;
      const extra =
        s.kind === 'blocked' ? ` on ${(s.on ?? ['person']).join(', ')}` : s.url ? ` ${s.url}` : '';
      return say(task(s.spawnId), `◆ ${s.kind}${extra}${s.summary ? `: ${s.summary}` : ''}`);
    }
    case 'SignalRejected':
      return say('signal', `rejected from spawn ${short(d['spawnId'])}: ${String(d['reason'])}`);
    case 'RateLimited':
      return say(
        task(d['spawnId']),
        `⏸ rate limited until ${typeof d['resetAt'] === 'string' ? d['resetAt'] : 'a backoff'}`,
      );
    case 'GatePassed':
      return d['skipped'] ? null : say(String(d['taskId']), '✓ gate passed');
    case 'GateFailed':
      return say(
        String(d['taskId']),
        `✗ gate failed (${d['exitCode'] === null ? 'no exit code: killed or timed out' : `exit ${Number(d['exitCode'])}`})`,
      );
    case 'BranchMerged':
      return say(String(d['taskId']), `⇢ merged ${String(d['commit']).slice(0, 10)}`);
    case 'MergeConflicted':
      return say(
        String(d['taskId']),
        `✗ merge conflict${(d['files'] as string[]).length > 0 ? ` in ${(d['files'] as string[]).join(', ')}` : ''}`,
      );
    case 'TaskReopened':
      return say(String(d['taskId']), `↺ reopened: ${String(d['reason'])}`);
    case 'LaneSuperseded':
      return say(
        String(d['taskId']),
        `  lane ${String(d['lane'])} superseded: lane ${String(d['winnerLane'])} passed its gate first`,
      );
    case 'RetryScheduled':
      return say(
        String(d['taskId']),
        `↻ attempt ${String(d['attempt'])} after ${timeOfDay(String(d['notBefore']))}: ${String(d['reason'])}`,
      );
    case 'TaskUnblocked':
      return d['reason'] === 'dependencies'
        ? null
        : say(String(d['taskId']), `unblocked (${String(d['reason'])})`);
    case 'TaskFailed':
      return say(String(d['taskId']), `✗ failed for good: ${String(d['reason'])}`);
    case 'TaskCancelled':
      return say(String(d['taskId']), 'cancelled');
    case 'TaskRetryRequested':
      return say(
        String(d['taskId']),
        `↻ retried by a person${typeof d['reason'] === 'string' ? `: ${d['reason']}` : ''}`,
      );
    case 'PhaseUnblocked':
      return say(`phase`, `${String(d['phaseId'])} unblocked`);
    case 'PhaseCompleted':
      return say('phase', `${String(d['phaseId'])} complete`);
    case 'MilestoneCompleted':
      return say('milestone', `${String(d['milestoneId'])} complete`);
    case 'PullRequestOpened':
      return say('milestone', `${String(d['milestoneId'])} pull request ${String(d['url'])}`);
    case 'ReviewReceived':
      return say(
        'review',
        `${String(d['milestoneId'])} ${String(d['kind']).replace('_', ' ')}${typeof d['path'] === 'string' ? ` on ${d['path']}` : ''}${typeof d['taskId'] === 'string' ? ` → ${d['taskId']}` : ''}`,
      );
    case 'ReviewAnswered':
      return say(
        'review',
        `${String(d['milestoneId'])} answered: ${String(d['taskId'])} merged as ${String(d['commit']).slice(0, 10)}`,
      );
    case 'CiCompleted':
      return say(
        'ci',
        `${String(d['result'])}${typeof d['ref'] === 'string' ? ` on ${/^[0-9a-f]{12,64}$/.test(d['ref']) ? d['ref'].slice(0, 10) : d['ref']}` : ''}`,
      );
    case 'BudgetExhausted':
      return say(
        'budget',
        `spent ${usd(Number(d['spentUsd']), 2)} of ${usd(Number(d['budget']), 2)}: no new attempts`,
      );
    case 'WorkspacePrepared':
      return d['exitCode'] === 0
        ? null
        : say(
            task(d['spawnId']),
            `✗ workspace.setup ${d['timedOut'] === true ? 'timed out' : `failed (exit ${String(d['exitCode'])})`}`,
          );
    case 'NotificationFailed':
      return d['final'] === true
        ? say(
            'notify',
            `gave up on #${String(d['position'])} ${String(d['eventType'])} after ${String(d['attempt'])} attempts: ${String(d['error'])}`,
          )
        : null;
    case 'BudgetRaised':
      return say('budget', `raised by ${usd(Number(d['amountUsd']), 2)} by a person`);
    default:
      return null;
  }
}

/**
 * The table printed when a run ends: task, status, attempts, agent time.
 *
 * @example
 * console.log(summaryTable(statusView(state), state));
 */
export function summaryTable(status: StatusView, state: OrchState): string {
  const rows = status.tasks.map((t) => {
    let ms = 0;
    for (const a of Object.values(state.agents)) {
      if (a.task !== t.id || !a.startedAt || !a.endedAt) continue;
      ms += Date.parse(a.endedAt) - Date.parse(a.startedAt);
    }
    return [t.id, t.status, String(t.attempts), seconds(ms)];
  });
  return terminalSafe(table(['task', 'status', 'attempts', 'time'], rows, { rule: true }).join('\n'));
}
