import type { RecordedEvent } from '../../core/envelope.js';
import { fileLine, seconds, terminalSafe, usd } from './format.js';

/**
 * One line per event for `orch log`: position, time, stream and version, type, actor
 * (when not orch), the way a request came in (`via mcp`) and the fields that matter for that type.
 */

type Data = Record<string, unknown>;

/**
 * The text line of an event.
 *
 * @example
 * formatEventLine(event); // '#12  2025-01-01T00:00:12.000Z  task-T1 v4  AgentExited  spawn=s1 exit=1 duration=60.0s cost=$0.0100'
 */
export function formatEventLine(event: RecordedEvent): string {
  const actor =
    typeof event.metadata.actor === 'string' && event.metadata.actor !== 'orch'
      ? `  by ${event.metadata.actor}`
      : '';
  const via = typeof event.metadata['via'] === 'string' ? ` via ${event.metadata['via']}` : '';
  const fields = keyFields(event);
  return terminalSafe(
    `#${event.position}  ${event.recordedAt}  ${event.streamId} v${event.streamVersion}  ${event.type}${actor}${via}${fields === '' ? '' : `  ${fields}`}`,
  );
}

/**
 * The fields of an event worth a glance, as `key=value` words.
 *
 * @example
 * keyFields({ type: 'RetryScheduled', data: { attempt: 2, notBefore: 't', reason: 'exit code 1' } } as RecordedEvent);
 * // 'attempt=2 notBefore=t reason="exit code 1"'
 */
export function keyFields(event: RecordedEvent): string {
  const d: Data = typeof event.data === 'object' && event.data !== null ? (event.data as Data) : {};
  const pick = (...keys: string[]) => words(d, keys);
  switch (event.type) {
    case 'RunStarted':
      return pick('runId', 'pid', 'host');
    case 'RunStopped':
      return pick('runId', 'reason');
    case 'BudgetExhausted':
      return pick('spentUsd', 'budget');
    case 'CiCompleted':
      return pick('result', 'ref', 'url');
    case 'ReviewReceived':
      return words({
        milestone: d['milestoneId'],
        review: d['reviewId'],
        kind: d['kind'],
        by: d['author'],
        on:
          typeof d['path'] === 'string'
            ? `${d['path']}${typeof d['line'] === 'number' ? `:${d['line']}` : ''}`
            : undefined,
        task: d['taskId'],
      });
    case 'ReviewAnswered':
      return words({
        milestone: d['milestoneId'],
        task: d['taskId'],
        commit: typeof d['commit'] === 'string' ? d['commit'].slice(0, 12) : undefined,
        reviews: Array.isArray(d['reviewIds']) ? d['reviewIds'].join(',') : undefined,
      });
    case 'PlanLoaded':
    case 'PlanRevised':
      return planFields(d);
    case 'PlanRevisionRefused': {
      const first = Array.isArray(d['problems']) ? (d['problems'][0] as Data | undefined) : undefined;
      return words({
        problems: d['count'],
        // The problem as recorded: a line 0 (the file as a whole) shows as `:0`.
        first:
          first === undefined
            ? undefined
            : `${fileLine({ file: String(first['file']), line: Number(first['line']) }, { showZero: true })} ${String(first['message'])}`,
      });
    }
    case 'PlanDraftRequested':
      return words({ goal: d['goal'], file: d['file'], format: d['format'] });
    case 'PlanDraftAttempted': {
      const usage = (typeof d['usage'] === 'object' && d['usage'] !== null ? d['usage'] : {}) as Data;
      return words({
        attempt: d['attempt'],
        exit: d['exitCode'],
        problems: d['problemCount'],
        cost: usage['costUsd'],
      });
    }
    case 'PlanDraftAccepted':
      return words({ attempt: d['attempt'], tasks: d['tasks'], phases: d['phases'] });
    case 'PlanDraftFailed':
      return words({ attempts: d['attempts'], reason: d['reason'] });
    case 'AgentSpawnRequested':
      return words({
        spawn: d['spawnId'],
        task: d['taskId'],
        attempt: d['attempt'],
        lane: typeof d['lane'] === 'number' ? `${d['lane']}/${Number(d['lanes'])}` : undefined,
        role: d['role'],
      });
    case 'AgentStarted':
      return words({ spawn: d['spawnId'], pid: d['pid'] });
    case 'AgentExited':
      return exitFields(d);
    case 'AgentLost':
      return words({ spawn: d['spawnId'], reason: d['reason'] });
    case 'AgentSpawnFailed':
      return words({ spawn: d['spawnId'], error: d['error'] });
    case 'BreakpointReported':
      return words({
        spawn: d['spawnId'],
        kind: d['kind'],
        on: Array.isArray(d['on']) ? d['on'].join(',') : undefined,
        url: d['url'],
        summary: d['summary'],
      });
    case 'SignalRejected':
      return words({ spawn: d['spawnId'], kind: d['kind'], reason: d['reason'] });
    case 'RateLimited':
      return words({ spawn: d['spawnId'], resetAt: d['resetAt'] });
    case 'GateStarted':
    case 'GatePassed':
    case 'GateFailed':
      return words({
        spawn: d['spawnId'],
        skipped: d['skipped'],
        exit: d['exitCode'],
        duration: secondsOf(d['durationMs']),
      });
    case 'MergeRequested':
    case 'BranchMerged':
      return words({ spawn: d['spawnId'], branch: d['branch'], commit: d['commit'] });
    case 'MergeConflicted':
      return words({
        spawn: d['spawnId'],
        files: Array.isArray(d['files']) ? d['files'].join(',') : undefined,
      });
    case 'WorkspacePrepared':
      return words({
        spawn: d['spawnId'],
        copied: Array.isArray(d['copied']) && d['copied'].length > 0 ? d['copied'].join(',') : undefined,
        exit: Array.isArray(d['command']) ? d['exitCode'] : undefined,
        timedOut: d['timedOut'],
        duration: secondsOf(d['durationMs']),
      });
    case 'PortsAssigned':
      return words({
        spawn: d['spawnId'],
        ports:
          typeof d['base'] === 'number' && typeof d['count'] === 'number'
            ? `${d['base']}-${d['base'] + d['count'] - 1}`
            : undefined,
      });
    case 'NotificationDelivered':
      return words({ event: `#${String(d['position'])}`, type: d['eventType'], attempts: d['attempts'] });
    case 'NotificationFailed':
      return words({
        event: `#${String(d['position'])}`,
        type: d['eventType'],
        attempt: d['attempt'],
        final: d['final'],
        error: d['error'],
      });
    default:
      return genericFields(d);
  }
}

function planFields(d: Data): string {
  const plan = (typeof d['plan'] === 'object' && d['plan'] !== null ? d['plan'] : {}) as Data;
  const count = (k: string) => (Array.isArray(plan[k]) ? (plan[k] as unknown[]).length : 0);
  const diff = (typeof d['diff'] === 'object' && d['diff'] !== null ? d['diff'] : null) as Data | null;
  const changes =
    diff === null
      ? {}
      : {
          added: Array.isArray(diff['added']) ? diff['added'].length : undefined,
          removed: Array.isArray(diff['removed']) ? diff['removed'].length : undefined,
          changed: Array.isArray(diff['changed']) ? diff['changed'].length : undefined,
        };
  return words({
    plan: plan['name'],
    milestones: count('milestones'),
    phases: count('phases'),
    tasks: count('tasks'),
    ...changes,
  });
}

function exitFields(d: Data): string {
  const usage = (typeof d['usage'] === 'object' && d['usage'] !== null ? d['usage'] : {}) as Data;
  const cost = typeof usage['costUsd'] === 'number' ? usd(usage['costUsd']) : undefined;
  const stalled = (typeof d['stalled'] === 'object' && d['stalled'] !== null ? d['stalled'] : undefined) as
    Data | undefined;
  return words({
    spawn: d['spawnId'],
    exit: d['exitCode'],
    signal: d['signal'],
    duration: secondsOf(d['durationMs']),
    cost,
    stalled: stalled === undefined ? undefined : `idle ${secondsOf(stalled['idleMs']) ?? '?'}`,
    last: stalled?.['lastOutputLine'] === '' ? undefined : stalled?.['lastOutputLine'],
  });
}

/** Every short scalar field (ids, reasons, counts), for event types without a rule of their own. */
function genericFields(d: Data): string {
  const scalars = Object.keys(d).filter((k) => ['string', 'number', 'boolean'].includes(typeof d[k]));
  return words(d, scalars.slice(0, 6));
}

function secondsOf(ms: unknown): string | undefined {
  return typeof ms === 'number' ? seconds(ms) : undefined;
}

/** `key=value` words; strings with spaces are quoted, long ones cut, null/undefined left out. */
function words(d: Data, keys: readonly string[] = Object.keys(d)): string {
  const out: string[] = [];
  for (const key of keys) {
    const value = d[key];
    if (value === undefined || value === null || value === false) continue;
    out.push(`${key}=${show(value)}`);
  }
  return out.join(' ');
}

/**
 * A value as one word: whitespace runs as one space, cut at 80 characters, quoted (with `"`
 * and `\` escaped) when it holds a space, `"` or `=`, and made safe for a terminal.
 */
function show(value: unknown): string {
  let text = typeof value === 'string' ? value : JSON.stringify(value);
  text = text.replace(/\s+/g, ' ').trim();
  if (text.length > 80) text = `${text.slice(0, 79)}…`;
  const quoted = text === '' || /[\s"=]/.test(text) ? `"${text.replace(/["\\]/g, '\\$&')}"` : text;
  return terminalSafe(quoted);
}
