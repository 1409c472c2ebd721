import type { RecordedEvent } from './envelope.js';
import { streamIds } from './events.js';
import { mergesJudged } from './fold.js';
import { Replayer } from './replayer.js';
import type { OrchState } from './state.js';

/**
 * The history of a task's attempts, folded once from its stream (`task-<id>`): for every
 * spawn its request, start, outcome, breakpoints, gate, merge, the CI result that judged
 * the merge and a reopening, plus the task's own events in log order. `orch log --task`
 * tells it, the report's attempts table draws it and the prompt of the next attempt
 * quotes it.
 *
 * Each spawn keeps the first start and the first outcome recorded for it; a start or a
 * breakpoint reported after its outcome is stale and ignored, as orch's fold ignores it. Which CI result judged which merge is not
 * worked out here: it is read from orch's own fold (`OrchState.mergesSinceCi`, see
 * {@link mergesJudged}) when {@link AttemptFold.apply} is given the state before each event.
 */

/** Where something happened in the log. */
export interface LogMoment {
  position: number;
  /** The event's `recordedAt`. */
  at: string;
}

/** Tokens and cost an agent reported on exit (null: not reported). */
export interface AttemptUsage {
  inputTokens: number | null;
  outputTokens: number | null;
  costUsd: number | null;
}

/** How an attempt's process ended. */
export type AttemptEnd = LogMoment &
  (
    | {
        kind: 'exited';
        exitCode: number | null;
        signal: string | null;
        durationMs: number | null;
        outputTail: string | null;
        usage: AttemptUsage | null;
        /** Stopped by the stall watchdog: idle this long, with this last output line. */
        stalled?: { idleMs: number; lastOutputLine: string };
      }
    | { kind: 'lost'; reason: string | null }
    | { kind: 'spawn_failed'; error: string | null }
  );

/** The latest gate event of an attempt. */
export type AttemptGate = LogMoment &
  (
    | { status: 'started' }
    | { status: 'passed'; skipped: boolean; durationMs: number | null }
    | { status: 'failed'; exitCode: number | null; durationMs: number | null; outputTail: string | null }
  );

/** The latest merge event of an attempt. */
export type AttemptMerge = LogMoment &
  (
    | { status: 'requested'; branch: string | null }
    | { status: 'merged'; commit: string | null }
    | { status: 'conflicted'; files: string[] }
  );

/** A breakpoint an agent reported. */
export interface AttemptBreakpoint extends LogMoment {
  kind: string;
  summary: string | null;
  on: string[] | null;
  url: string | null;
}

/** The CI result that judged a merge. */
export interface CiVerdict extends LogMoment {
  result: string;
  ref: string | null;
  url: string | null;
}

/** Something that happened to a task beside its attempts' own events. */
export type TaskNote =
  | {
      kind: 'signalRejected';
      position: number;
      signal: string | null;
      spawnId: string | null;
      reason: string | null;
    }
  | {
      kind: 'retryScheduled';
      position: number;
      attempt: number | null;
      notBefore: string | null;
      reason: string | null;
    }
  | { kind: 'rateLimited'; position: number; resetAt: string | null }
  /** Any other event of the task's stream (unblocked, completed, failed, cancelled, reopened, …). */
  | { kind: 'event'; position: number; type: string; reason: string | null };

/** One attempt (one spawn) of a task. */
export interface Attempt {
  taskId: string;
  spawnId: string;
  attempt: number;
  role: string | null;
  requested: LogMoment;
  /** `startedAt` is the agent's own start time (the event's time when absent). */
  started: (LogMoment & { startedAt: string; pid: number | null }) | null;
  end: AttemptEnd | null;
  breakpoints: AttemptBreakpoint[];
  gate: AttemptGate | null;
  merge: AttemptMerge | null;
  /** The CI result that judged this attempt's merge (only when folded with orch's state). */
  ci: CiVerdict | null;
  /** CI failed after its merge and the task was reopened (`TaskReopened` for this spawn). */
  reopened:
    | (LogMoment & {
        reason: string | null;
        ciLogTail: string | null;
        /** The review comments that reopened it (`pr.reviews`), as text; null when CI did. */
        review?: string | null;
      })
    | null;
  /** Rejected signals, retries and rate limits during or after it (until the next attempt). */
  notes: TaskNote[];
  /** Best of N: the spawn's lane and the attempt's lanes (null: a one-agent attempt). */
  lane?: { lane: number; lanes: number } | null;
  /** Best of N: another lane won first (`LaneSuperseded`), so this lane's work was not merged. */
  superseded?: (LogMoment & { winnerLane: number | null }) | null;
}

/** A task's history. */
export interface TaskHistory {
  taskId: string;
  /** In spawn order. */
  attempts: Attempt[];
  /** In log order: the attempts and the task's notes that belong to no attempt. */
  timeline: ({ kind: 'attempt'; attempt: Attempt } | TaskNote)[];
}

type Data = Record<string, unknown>;
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
const TASK_STREAM = streamIds.task('');

// `WorkspacePrepared`: `set-up failed (exit 3) in 0.1 s: npm ci; 2 file(s) copied`;
// `PortsAssigned`: `ports 41000-41003`.
function workspaceText(type: string, d: Data): string | null {
  if (type === 'PortsAssigned') {
    const base = num(d['base']);
    const count = num(d['count']);
    return base === null || count === null ? null : `ports ${base}-${base + count - 1}`;
  }
  const parts: string[] = [];
  const command = d['command'];
  if (Array.isArray(command)) {
    const code = num(d['exitCode']);
    const how =
      code === 0
        ? 'done'
        : d['timedOut'] === true
          ? 'timed out'
          : code === null
            ? 'failed (killed or not started)'
            : `failed (exit ${code})`;
    const ms = num(d['durationMs']);
    const took = ms === null ? '' : ` in ${(ms / 1000).toFixed(1)} s`;
    parts.push(`set-up ${how}${took}: ${command.map(String).join(' ')}`);
  }
  const copied = d['copied'];
  if (Array.isArray(copied) && copied.length > 0) parts.push(`${copied.length} file(s) copied`);
  return parts.length === 0 ? null : parts.join('; ');
}

/**
 * The last summary an attempt's agent reported, or null.
 *
 * @example
 * lastSummary(attempt); // 'API designed'
 */
export function lastSummary(attempt: Attempt): string | null {
  for (let i = attempt.breakpoints.length - 1; i >= 0; i--) {
    const summary = attempt.breakpoints[i]?.summary;
    if (summary) return summary;
  }
  return null;
}

/**
 * The attempt fold: feed it events in log order (the whole log, or one task's stream).
 *
 * @example
 * const fold = new AttemptFold();
 * const replayer = new Replayer();
 * for (const event of store.readAll()) {
 *   fold.apply(event, replayer.state); // the state before the event: CI verdicts come from it
 *   replayer.apply(event);
 * }
 * fold.history('T1').attempts[0]?.ci?.result; // 'pass'
 */
export class AttemptFold {
  private readonly tasks = new Map<string, TaskHistory>();
  private readonly all: Attempt[] = [];
  /** Every spawn requested: its attempt (when its task is folded) and its task. */
  private readonly spawns = new Map<string, { taskId: string; attempt: Attempt | null }>();

  /** @param only fold this task only (other events still feed CI verdicts). */
  constructor(private readonly only?: string) {}

  /** Every attempt of every task, in spawn order. */
  get attempts(): readonly Attempt[] {
    return this.all;
  }

  /** The tasks seen, in the order they first appeared. */
  histories(): TaskHistory[] {
    return [...this.tasks.values()];
  }

  /** One task's history (empty when no event named it). */
  history(taskId: string): TaskHistory {
    return this.tasks.get(taskId) ?? { taskId, attempts: [], timeline: [] };
  }

  /**
   * Folds one event. It belongs to the task whose stream it is in (`task-<id>`); an event
   * outside task streams, to the task its data names (`taskId`, or its spawn's task).
   *
   * @param before orch's state before this event; with it, a `CiCompleted` gives its verdict
   *   to the attempts whose merges the fold says it judged.
   */
  apply(event: RecordedEvent, before?: OrchState): this {
    if (event.type === 'CiCompleted') {
      if (before !== undefined) this.judge(event, before);
      return this;
    }
    const d = (typeof event.data === 'object' && event.data !== null ? event.data : {}) as Data;
    const spawnId = str(d['spawnId']);
    const spawn = spawnId === null ? undefined : this.spawns.get(spawnId);
    const taskId = event.streamId.startsWith(TASK_STREAM)
      ? event.streamId.slice(TASK_STREAM.length)
      : (str(d['taskId']) ?? spawn?.taskId ?? null);
    if (taskId === null) return this;
    const folded = this.only === undefined || taskId === this.only;
    // A spawn id is used once: a second request with it changes nothing.
    if (event.type === 'AgentSpawnRequested' && spawnId !== null && spawn === undefined) {
      const attempt = folded ? this.newAttempt(taskId, spawnId, event, d) : null;
      this.spawns.set(spawnId, { taskId, attempt });
      return this;
    }
    if (!folded) return this;
    this.fold(this.historyOf(taskId), spawn?.taskId === taskId ? spawn.attempt : null, event, d);
    return this;
  }

  /** Folds every event in order (without orch's state: no CI verdicts). */
  applyAll(events: Iterable<RecordedEvent>): this {
    for (const event of events) this.apply(event);
    return this;
  }

  private historyOf(taskId: string): TaskHistory {
    let history = this.tasks.get(taskId);
    if (history === undefined) {
      history = { taskId, attempts: [], timeline: [] };
      this.tasks.set(taskId, history);
    }
    return history;
  }

  private newAttempt(taskId: string, spawnId: string, e: RecordedEvent, d: Data): Attempt {
    const history = this.historyOf(taskId);
    const attempt: Attempt = {
      taskId,
      spawnId,
      attempt: num(d['attempt']) ?? history.attempts.length + 1,
      role: str(d['role']),
      requested: { position: e.position, at: e.recordedAt },
      started: null,
      end: null,
      breakpoints: [],
      gate: null,
      merge: null,
      ci: null,
      reopened: null,
      notes: [],
      lane: num(d['lane']) === null ? null : { lane: num(d['lane']) ?? 1, lanes: num(d['lanes']) ?? 1 },
      superseded: null,
    };
    history.attempts.push(attempt);
    history.timeline.push({ kind: 'attempt', attempt });
    this.all.push(attempt);
    return attempt;
  }

  private judge(e: RecordedEvent, before: OrchState): void {
    const d = (typeof e.data === 'object' && e.data !== null ? e.data : {}) as Data;
    const ref = str(d['ref']);
    const merges = before.mergesSinceCi ?? [];
    const verdict: CiVerdict = {
      position: e.position,
      at: e.recordedAt,
      result: str(d['result']) ?? '?',
      ref,
      url: str(d['url']),
    };
    for (const merge of merges.slice(0, mergesJudged(merges, ref, before.ciJudgedCommits))) {
      const attempts = this.tasks.get(merge.taskId)?.attempts ?? [];
      const merged = attempts.findLast(
        (a) => a.merge?.status === 'merged' && a.merge.commit === merge.commit,
      );
      if (merged !== undefined) merged.ci = verdict;
    }
  }

  // Notes about a spawn go with its attempt (or the latest one); before any attempt, on the timeline.
  private note(history: TaskHistory, n: TaskNote, of: Attempt | null): void {
    const owner = of ?? history.attempts.at(-1);
    if (owner === undefined) history.timeline.push(n);
    else owner.notes.push(n);
  }

  private fold(history: TaskHistory, a: Attempt | null, e: RecordedEvent, d: Data): void {
    const spawnId = str(d['spawnId']);
    const position = e.position;
    const at = e.recordedAt;
    switch (e.type) {
      case 'AgentSpawnRequested':
        return;
      case 'AgentStarted':
        if (a === null || a.started !== null || a.end !== null) return;
        a.started = { position, at, startedAt: str(d['startedAt']) ?? e.recordedAt, pid: num(d['pid']) };
        return;
      case 'AgentExited': {
        if (a === null || a.end !== null) return;
        const usage = (
          typeof d['usage'] === 'object' && d['usage'] !== null ? d['usage'] : null
        ) as Data | null;
        const stalled = (
          typeof d['stalled'] === 'object' && d['stalled'] !== null ? d['stalled'] : null
        ) as Data | null;
        a.end = {
          position,
          at,
          kind: 'exited',
          exitCode: num(d['exitCode']),
          signal: str(d['signal']),
          durationMs: num(d['durationMs']),
          outputTail: str(d['outputTail']),
          usage:
            usage === null
              ? null
              : {
                  inputTokens: num(usage['inputTokens']),
                  outputTokens: num(usage['outputTokens']),
                  costUsd: num(usage['costUsd']),
                },
          ...(stalled === null
            ? {}
            : {
                stalled: {
                  idleMs: num(stalled['idleMs']) ?? 0,
                  lastOutputLine: str(stalled['lastOutputLine']) ?? '',
                },
              }),
        };
        return;
      }
      case 'AgentLost':
        if (a !== null && a.end === null) a.end = { position, at, kind: 'lost', reason: str(d['reason']) };
        return;
      case 'AgentSpawnFailed':
        if (a !== null && a.end === null)
          a.end = { position, at, kind: 'spawn_failed', error: str(d['error']) };
        return;
      case 'BreakpointReported':
        if (a === null || a.end !== null) return;
        a.breakpoints.push({
          position,
          at,
          kind: str(d['kind']) ?? '?',
          summary: str(d['summary']),
          on: Array.isArray(d['on']) ? (d['on'] as string[]) : null,
          url: str(d['url']),
        });
        return;
      case 'GateStarted':
        if (a !== null) a.gate = { position, at, status: 'started' };
        return;
      case 'GatePassed':
        if (a !== null)
          a.gate = {
            position,
            at,
            status: 'passed',
            skipped: d['skipped'] === true,
            durationMs: num(d['durationMs']),
          };
        return;
      case 'GateFailed':
        if (a !== null)
          a.gate = {
            position,
            at,
            status: 'failed',
            exitCode: num(d['exitCode']),
            durationMs: num(d['durationMs']),
            outputTail: str(d['outputTail']),
          };
        return;
      case 'MergeRequested':
        if (a !== null) a.merge = { position, at, status: 'requested', branch: str(d['branch']) };
        return;
      case 'BranchMerged':
        if (a !== null) a.merge = { position, at, status: 'merged', commit: str(d['commit']) };
        return;
      case 'MergeConflicted':
        if (a !== null)
          a.merge = {
            position,
            at,
            status: 'conflicted',
            files: Array.isArray(d['files']) ? (d['files'] as string[]) : [],
          };
        return;
      case 'SignalRejected':
        this.note(
          history,
          {
            kind: 'signalRejected',
            position: e.position,
            signal: str(d['kind']),
            spawnId,
            reason: str(d['reason']),
          },
          a,
        );
        return;
      case 'RetryScheduled':
        this.note(
          history,
          {
            kind: 'retryScheduled',
            position: e.position,
            attempt: num(d['attempt']),
            notBefore: str(d['notBefore']),
            reason: str(d['reason']),
          },
          null,
        );
        return;
      case 'RateLimited':
        this.note(history, { kind: 'rateLimited', position: e.position, resetAt: str(d['resetAt']) }, a);
        return;
      case 'WorkspacePrepared':
      case 'PortsAssigned':
        this.note(history, { kind: 'event', position, type: e.type, reason: workspaceText(e.type, d) }, a);
        return;
      case 'LaneSuperseded':
        if (a !== null && !a.superseded) a.superseded = { position, at, winnerLane: num(d['winnerLane']) };
        return;
      case 'TaskReopened':
        if (a !== null)
          a.reopened = {
            position,
            at,
            reason: str(d['reason']),
            ciLogTail: str(d['ciLogTail']),
            review: reviewText(d['reviews']),
          };
        history.timeline.push({
          kind: 'event',
          position: e.position,
          type: e.type,
          reason: str(d['reason']),
        });
        return;
      default:
        history.timeline.push({
          kind: 'event',
          position: e.position,
          type: e.type,
          reason: str(d['reason']),
        });
    }
  }
}

/**
 * A task's history from the log, with the CI verdicts of orch's own fold: the whole log is
 * replayed alongside (pass only the task's stream when no verdicts are wanted).
 *
 * @example
 * const history = taskHistory(store.readAll(), 'T1');
 * history.attempts.length; // 2
 */
export function taskHistory(log: Iterable<RecordedEvent>, taskId: string): TaskHistory {
  const fold = new AttemptFold(taskId);
  const replayer = new Replayer();
  for (const event of log) {
    fold.apply(event, replayer.state);
    replayer.apply(event);
  }
  return fold.history(taskId);
}

/**
 * The review comments of a `TaskReopened` as text, one paragraph each:
 * `alice on src/a.ts:3:` then the comment; null when there are none.
 *
 * @example
 * reviewText([{ reviewId: 'comment-1', author: 'alice', path: 'a.ts', line: 3, body: 'use const' }]);
 * // 'alice on a.ts:3:\nuse const'
 */
export function reviewText(reviews: unknown): string | null {
  if (!Array.isArray(reviews) || reviews.length === 0) return null;
  return reviews
    .map((r: { author?: unknown; path?: unknown; line?: unknown; body?: unknown }) => {
      const who = typeof r.author === 'string' ? r.author : 'a reviewer';
      const where =
        typeof r.path === 'string' ? ` on ${r.path}${typeof r.line === 'number' ? `:${r.line}` : ''}` : '';
      return `${who}${where}:\n${typeof r.body === 'string' ? r.body.trim() : ''}`;
    })
    .join('\n\n');
}
