import type { RecordedEvent } from '../../core/envelope.js';

/**
 * The story of a task for `orch log --task ID`: every attempt with its spawn, start, end,
 * duration, exit, breakpoints, gate, merge and usage, built from the task's stream.
 */

type Data = Record<string, unknown>;

/** One attempt (one spawn) of a task. */
export interface AttemptStory {
  attempt: number;
  spawnId: string;
  role: string | null;
  requestedAt: string;
  startedAt: string | null;
  pid: number | null;
  endedAt: string | null;
  durationMs: number | null;
  /** `exit code 1`, `killed by SIGTERM`, `lost: …`, `spawn failed: …`, or null while live. */
  end: string | null;
  breakpoints: { kind: string; summary: string | null; on: string[] | null; url: string | null }[];
  gate: string | null;
  merge: string | null;
  /** The CI result that judged this attempt's merge (`pass on 1a2b3c4d5e6f (#42)`), or null. */
  ci: string | null;
  /** Where its merge is in the log, and the merge commit (to find its CI result). */
  mergedAt?: { position: number; commit: string };
  usage: { inputTokens: number | null; outputTokens: number | null; costUsd: number | null } | null;
  /** Other things that happened during or after this attempt (retries, rejected signals, …). */
  notes: string[];
}

/** A task's story. */
export interface TaskStory {
  taskId: string;
  attempts: AttemptStory[];
  /** In log order: task-level events as sentences (unblocked, completed, failed, …) and the attempts. */
  timeline: (string | AttemptStory)[];
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);

/**
 * Builds the story from the events of stream `task-<taskId>`, in order, and the log's
 * `CiCompleted` events (to name the CI result that judged each merge).
 *
 * @example
 * const story = taskStory('T1', [...store.readStream('task-T1')]);
 * story.attempts[0]?.end; // 'exit code 1'
 */
export function taskStory(
  taskId: string,
  events: Iterable<RecordedEvent>,
  ciResults: Iterable<RecordedEvent> = [],
): TaskStory {
  const story: TaskStory = { taskId, attempts: [], timeline: [] };
  const bySpawn = new Map<string, AttemptStory>();
  // Notes about a spawn go with its attempt (or the latest one); before any attempt, on the timeline.
  const noteOf = (spawnId: string | null) => {
    const a = (spawnId === null ? undefined : bySpawn.get(spawnId)) ?? story.attempts.at(-1);
    return a === undefined ? story.timeline : a.notes;
  };
  for (const e of events) {
    const d = (typeof e.data === 'object' && e.data !== null ? e.data : {}) as Data;
    const spawnId = str(d['spawnId']);
    const a = spawnId === null ? undefined : bySpawn.get(spawnId);
    switch (e.type) {
      case 'AgentSpawnRequested': {
        if (spawnId === null || a !== undefined) break;
        const attempt = newAttempt(
          spawnId,
          num(d['attempt']) ?? story.attempts.length + 1,
          str(d['role']),
          e,
        );
        bySpawn.set(spawnId, attempt);
        story.attempts.push(attempt);
        story.timeline.push(attempt);
        break;
      }
      case 'AgentStarted':
        if (a === undefined) break;
        a.startedAt = str(d['startedAt']) ?? e.recordedAt;
        a.pid = num(d['pid']);
        break;
      case 'AgentExited': {
        if (a === undefined) break;
        const signal = str(d['signal']);
        a.end = signal !== null ? `killed by ${signal}` : `exit code ${String(d['exitCode'])}`;
        a.endedAt = e.recordedAt;
        a.durationMs = num(d['durationMs']);
        const usage = (
          typeof d['usage'] === 'object' && d['usage'] !== null ? d['usage'] : null
        ) as Data | null;
        if (usage !== null) {
          a.usage = {
            inputTokens: num(usage['inputTokens']),
            outputTokens: num(usage['outputTokens']),
            costUsd: num(usage['costUsd']),
          };
        }
        break;
      }
      case 'AgentLost':
      case 'AgentSpawnFailed':
        if (a === undefined) break;
        a.end = e.type === 'AgentLost' ? `lost: ${str(d['reason'])}` : `spawn failed: ${str(d['error'])}`;
        a.endedAt = e.recordedAt;
        break;
      case 'BreakpointReported':
        if (a === undefined) break;
        a.breakpoints.push({
          kind: str(d['kind']) ?? '?',
          summary: str(d['summary']),
          on: Array.isArray(d['on']) ? (d['on'] as string[]) : null,
          url: str(d['url']),
        });
        break;
      case 'GateStarted':
      case 'GatePassed':
      case 'GateFailed':
        if (a !== undefined) a.gate = gateText(e.type, d);
        break;
      case 'MergeRequested':
      case 'BranchMerged':
      case 'MergeConflicted':
        if (a === undefined) break;
        a.merge = mergeText(e.type, d);
        if (e.type === 'BranchMerged' && str(d['commit']) !== null)
          a.mergedAt = { position: e.position, commit: str(d['commit']) ?? '' };
        break;
      case 'SignalRejected':
        noteOf(spawnId).push(
          `#${e.position} signal ${str(d['kind']) ?? ''} from spawn ${spawnId ?? '?'} rejected: ${str(d['reason'])}`,
        );
        break;
      case 'RetryScheduled':
        noteOf(null).push(
          `#${e.position} retry scheduled: attempt ${String(d['attempt'])} not before ${str(d['notBefore'])} (${str(d['reason'])})`,
        );
        break;
      case 'RateLimited':
        noteOf(spawnId).push(`#${e.position} rate limited until ${str(d['resetAt']) ?? 'unknown'}`);
        break;
      default: {
        const reason = str(d['reason']);
        story.timeline.push(`#${e.position} ${e.type}${reason === null ? '' : `: ${reason}`}`);
      }
    }
  }
  judgeMerges(story, [...ciResults]);
  return story;
}

/**
 * Gives each merged attempt the CI result that judged it: the first result after the merge
 * naming its commit, else the first after it naming no merge commit of this task (external
 * CI, a branch name), as the fold judges merges.
 */
function judgeMerges(story: TaskStory, ci: readonly RecordedEvent[]): void {
  if (ci.length === 0) return;
  const commits = new Set(story.attempts.flatMap((a) => (a.mergedAt ? [a.mergedAt.commit] : [])));
  for (const a of story.attempts) {
    const merged = a.mergedAt;
    if (merged === undefined) continue;
    const after = ci.filter((e) => e.type === 'CiCompleted' && e.position > merged.position);
    const ref = (e: RecordedEvent): string | null => str((e.data as Data)['ref']);
    const judged =
      after.find((e) => ref(e) === merged.commit) ??
      after.find((e) => {
        const r = ref(e);
        return r === null || !(commits.has(r) || /^[0-9a-f]{40,64}$/.test(r));
      });
    if (judged === undefined) continue;
    const d = judged.data as Data;
    const r = ref(judged);
    const shown = r === null ? '' : ` on ${/^[0-9a-f]{40,64}$/.test(r) ? r.slice(0, 12) : r}`;
    const url = str(d['url']);
    a.ci = `${str(d['result']) ?? '?'}${shown} (#${judged.position})${url === null ? '' : ` ${url}`}`;
  }
}

function newAttempt(spawnId: string, attempt: number, role: string | null, e: RecordedEvent): AttemptStory {
  return {
    attempt,
    spawnId,
    role,
    requestedAt: e.recordedAt,
    startedAt: null,
    pid: null,
    endedAt: null,
    durationMs: null,
    end: null,
    breakpoints: [],
    gate: null,
    merge: null,
    ci: null,
    usage: null,
    notes: [],
  };
}

function gateText(type: string, d: Data): string {
  const took = typeof d['durationMs'] === 'number' ? ` in ${(d['durationMs'] / 1000).toFixed(1)}s` : '';
  if (type === 'GateStarted') return 'started, no result recorded';
  if (type === 'GatePassed') return d['skipped'] === true ? 'skipped (no gate configured)' : `passed${took}`;
  const code = typeof d['exitCode'] === 'number' ? ` (exit code ${d['exitCode']})` : '';
  return `failed${code}${took}`;
}

function mergeText(type: string, d: Data): string {
  if (type === 'MergeRequested')
    return `requested${str(d['branch']) ? ` (${str(d['branch'])})` : ''}, no result recorded`;
  if (type === 'BranchMerged') return `merged as ${str(d['commit'])}`;
  const files = Array.isArray(d['files']) ? (d['files'] as string[]) : [];
  return `conflicted in ${files.length} file(s)${files.length > 0 ? `: ${files.slice(0, 5).join(', ')}` : ''}`;
}

/**
 * The story as text.
 *
 * @example
 * console.log(renderTaskStory(taskStory('T1', events)));
 */
export function renderTaskStory(story: TaskStory): string {
  const n = story.attempts.length;
  const lines = [`Task ${story.taskId}: ${n} attempt${n === 1 ? '' : 's'}`];
  for (const a of story.timeline) {
    if (typeof a === 'string') {
      lines.push(a);
      continue;
    }
    lines.push(`Attempt ${a.attempt}  spawn ${a.spawnId}${a.role === null ? '' : `  (${a.role})`}`);
    const started =
      a.startedAt === null
        ? 'not started'
        : `started ${a.startedAt}${a.pid === null ? '' : ` (pid ${a.pid})`}`;
    const ended = a.endedAt === null ? 'still live' : `ended ${a.endedAt}`;
    const took = a.durationMs === null ? '' : ` · took ${duration(a.durationMs)}`;
    lines.push(`  requested ${a.requestedAt} · ${started} · ${ended}${took} · ${a.end ?? 'no exit yet'}`);
    for (const b of a.breakpoints) {
      const on = b.on === null ? '' : ` on ${b.on.join(', ')}`;
      const url = b.url === null ? '' : ` ${b.url}`;
      lines.push(`  breakpoint ${b.kind}${on}${url}${b.summary === null ? '' : `: ${b.summary}`}`);
    }
    if (a.gate !== null) lines.push(`  gate: ${a.gate}`);
    if (a.merge !== null) lines.push(`  merge: ${a.merge}`);
    if (a.ci !== null) lines.push(`  ci: ${a.ci}`);
    if (a.usage !== null) lines.push(`  usage: ${usageText(a.usage)}`);
    for (const note of a.notes) lines.push(`  ${note}`);
  }
  return lines.join('\n');
}

function usageText(u: NonNullable<AttemptStory['usage']>): string {
  const parts: string[] = [];
  if (u.inputTokens !== null) parts.push(`${u.inputTokens} input tokens`);
  if (u.outputTokens !== null) parts.push(`${u.outputTokens} output tokens`);
  if (u.costUsd !== null) parts.push(`$${u.costUsd.toFixed(4)}`);
  return parts.length === 0 ? 'none reported' : parts.join(', ');
}

/**
 * A duration as `1m 5s` / `3.2s`.
 *
 * @example
 * duration(65_000); // '1m 5s'
 */
export function duration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h ${m}m ${s % 60}s` : `${m}m ${s % 60}s`;
}
