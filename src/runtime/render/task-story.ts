import type { Attempt, AttemptUsage, TaskHistory, TaskNote } from '../../core/attempt-history.js';
import { duration, seconds, terminalSafe, usd } from './format.js';

/**
 * The story of a task for `orch log --task ID`, as text: every attempt of its history
 * (`core/attempt-history.ts`) with its spawn, start, end, duration, exit, breakpoints,
 * gate, merge, the CI result that judged the merge, usage and notes, between the task's
 * own events.
 */

/**
 * How an attempt's process ended: `exit code 1`, `killed by SIGTERM`, `stalled (idle …, last line: …), killed by SIGTERM`, `lost: …`,
 * `spawn failed: …`, or null while it is live.
 *
 * @example
 * attemptEnd(attempt); // 'exit code 1'
 */
export function attemptEnd(a: Attempt): string | null {
  const end = a.end;
  if (end === null) return null;
  if (end.kind === 'lost') return `lost: ${end.reason}`;
  if (end.kind === 'spawn_failed') return `spawn failed: ${end.error}`;
  const how = end.signal !== null ? `killed by ${end.signal}` : `exit code ${String(end.exitCode)}`;
  if (end.stalled === undefined) return how;
  const last =
    end.stalled.lastOutputLine === '' ? 'it printed nothing' : `last line: ${end.stalled.lastOutputLine}`;
  return `stalled (idle ${seconds(end.stalled.idleMs)}, ${last}), ${how}`;
}

/**
 * The attempt's gate: `passed in 4.2s`, `failed (exit code 1)`, `skipped (no gate
 * configured)`, `started, no result recorded`, or null.
 *
 * @example
 * attemptGate(attempt); // 'passed in 4.2s'
 */
export function attemptGate(a: Attempt): string | null {
  const gate = a.gate;
  if (gate === null) return null;
  if (gate.status === 'started') return 'started, no result recorded';
  const took = gate.durationMs === null ? '' : ` in ${seconds(gate.durationMs)}`;
  if (gate.status === 'passed') return gate.skipped ? 'skipped (no gate configured)' : `passed${took}`;
  const code = gate.exitCode === null ? '' : ` (exit code ${gate.exitCode})`;
  return `failed${code}${took}`;
}

/**
 * The attempt's merge: `merged as <commit>`, `conflicted in 2 file(s): …`, `requested
 * (<branch>), no result recorded`, or null.
 *
 * @example
 * attemptMerge(attempt); // 'merged as 1a2b3c'
 */
export function attemptMerge(a: Attempt): string | null {
  const merge = a.merge;
  if (merge === null) return null;
  if (merge.status === 'requested')
    return `requested${merge.branch ? ` (${merge.branch})` : ''}, no result recorded`;
  if (merge.status === 'merged') return `merged as ${merge.commit}`;
  const files = merge.files;
  return `conflicted in ${files.length} file(s)${files.length > 0 ? `: ${files.slice(0, 5).join(', ')}` : ''}`;
}

/**
 * The CI result that judged the attempt's merge: `pass on 1a2b3c4d5e6f (#42) <url>`, or null.
 *
 * @example
 * attemptCi(attempt); // 'fail on integration (#42)'
 */
export function attemptCi(a: Attempt): string | null {
  const ci = a.ci;
  if (ci === null) return null;
  const r = ci.ref;
  const shown = r === null ? '' : ` on ${/^[0-9a-f]{40,64}$/.test(r) ? r.slice(0, 12) : r}`;
  return `${ci.result}${shown} (#${ci.position})${ci.url === null ? '' : ` ${ci.url}`}`;
}

/**
 * A note as one line: `#12 retry scheduled: attempt 2 not before … (exit code 1)`.
 *
 * @example
 * noteText({ kind: 'event', position: 3, type: 'TaskUnblocked', reason: 'dependencies' }); // '#3 TaskUnblocked: dependencies'
 */
export function noteText(n: TaskNote): string {
  switch (n.kind) {
    case 'signalRejected':
      return `#${n.position} signal ${n.signal ?? ''} from spawn ${n.spawnId ?? '?'} rejected: ${n.reason}`;
    case 'retryScheduled':
      return `#${n.position} retry scheduled: attempt ${String(n.attempt)} not before ${n.notBefore} (${n.reason})`;
    case 'rateLimited':
      return `#${n.position} rate limited until ${n.resetAt ?? 'unknown'}`;
    case 'event':
      return `#${n.position} ${n.type}${n.reason === null ? '' : `: ${n.reason}`}`;
  }
}

/**
 * The story as text.
 *
 * @example
 * console.log(renderTaskStory(taskHistory(store.readAll(), 'T1')));
 */
export function renderTaskStory(history: TaskHistory): string {
  // Best of N: the lanes of one attempt are one attempt, each its own entry below.
  const n = new Set(history.attempts.map((a) => a.attempt)).size;
  const agents = history.attempts.length;
  const lanes = agents > n ? `, ${agents} agents` : '';
  const lines = [`Task ${history.taskId}: ${n} attempt${n === 1 ? '' : 's'}${lanes}`];
  for (const entry of history.timeline) {
    if (entry.kind !== 'attempt') {
      lines.push(noteText(entry));
      continue;
    }
    const a = entry.attempt;
    // Best of N: each lane is its own entry, `Attempt 2 lane 1/3`, with its state.
    const lane = a.lane ? ` lane ${a.lane.lane}/${a.lane.lanes} (${laneState(a)})` : '';
    lines.push(`Attempt ${a.attempt}${lane}  spawn ${a.spawnId}${a.role === null ? '' : `  (${a.role})`}`);
    const started =
      a.started === null
        ? 'not started'
        : `started ${a.started.startedAt}${a.started.pid === null ? '' : ` (pid ${a.started.pid})`}`;
    const ended = a.end === null ? 'still live' : `ended ${a.end.at}`;
    const ms = a.end?.kind === 'exited' ? a.end.durationMs : null;
    const took = ms === null ? '' : ` · took ${duration(ms)}`;
    lines.push(
      `  requested ${a.requested.at} · ${started} · ${ended}${took} · ${attemptEnd(a) ?? 'no exit yet'}`,
    );
    for (const b of a.breakpoints) {
      const on = b.on === null ? '' : ` on ${b.on.join(', ')}`;
      const url = b.url === null ? '' : ` ${b.url}`;
      lines.push(`  breakpoint ${b.kind}${on}${url}${b.summary === null ? '' : `: ${b.summary}`}`);
    }
    const gate = attemptGate(a);
    const merge = attemptMerge(a);
    const ci = attemptCi(a);
    const usage = a.end?.kind === 'exited' ? a.end.usage : null;
    if (gate !== null) lines.push(`  gate: ${gate}`);
    if (merge !== null) lines.push(`  merge: ${merge}`);
    if (a.superseded)
      lines.push(
        `  superseded ${a.superseded.at}${a.superseded.winnerLane === null ? '' : ` by lane ${a.superseded.winnerLane}`}`,
      );
    if (ci !== null) lines.push(`  ci: ${ci}`);
    if (usage !== null) lines.push(`  usage: ${usageText(usage)}`);
    for (const note of a.notes) lines.push(`  ${noteText(note)}`);
  }
  return terminalSafe(lines.join('\n'));
}

function usageText(u: AttemptUsage): string {
  const parts: string[] = [];
  if (u.inputTokens !== null) parts.push(`${u.inputTokens} input tokens`);
  if (u.outputTokens !== null) parts.push(`${u.outputTokens} output tokens`);
  if (u.costUsd !== null) parts.push(usd(u.costUsd));
  return parts.length === 0 ? 'none reported' : parts.join(', ');
}

/**
 * What a best-of-N lane came to: `merged`, `won` (its gate passed), `superseded`, `failed`,
 * or `running` while it runs.
 *
 * @example
 * laneState(attempt); // 'superseded'
 */
export function laneState(a: Attempt): string {
  if (a.merge?.status === 'merged') return 'merged';
  if (a.superseded) return 'superseded';
  if (a.gate?.status === 'passed') return 'won';
  if (a.gate?.status === 'failed') return 'failed';
  if (a.end === null) return 'running';
  if (a.end.kind !== 'exited' || a.end.exitCode !== 0 || a.end.signal !== null) return 'failed';
  return 'exited';
}
