import { AttemptFold } from '../../core/attempt-history.js';
import type { Attempt, LogMoment } from '../../core/attempt-history.js';
import { lastSummary } from '../../core/attempt-history.js';
import type { RecordedEvent } from '../../core/envelope.js';
import { Replayer } from '../../core/replayer.js';
import type { OrchState } from '../../core/state.js';
import { statusView } from '../../core/status-view.js';
import type { StatusView } from '../../core/status-view.js';
import { StateRecorder } from './states.js';
import type { ReportStates } from './states.js';
import { laneState } from '../render/task-story.js';

/**
 * The data the post-mortem report embeds, gathered in one pass of orch's own fold: the
 * events the page draws (cut down to the fields it reads), every attempt from the attempt
 * fold, what the scrubber shows at each position (as changes, see `states.ts`), and the
 * final status that colours the dependency graph. Times are milliseconds after
 * {@link ReportData.epoch} (null when a `recordedAt` does not parse).
 */

/** One embedded event: `[position, type, time, data]`. */
export type ReportEvent = [number, string, number | null, Record<string, unknown>];

/** Where an attempt's event is in the log: `[position, time]`. */
export type ReportMoment = [number, number | null];

/**
 * One attempt as the page draws it: its request, start and outcome (those events are not
 * embedded again) and what it left. Fields without a value are left out.
 */
export interface ReportAttempt {
  spawnId: string;
  task: string;
  attempt: number;
  /** Best of N: `lane 2/3 superseded` (the lane, the attempt's lanes, what the lane came to). */
  lane?: string;
  role?: string;
  requested: ReportMoment;
  started?: ReportMoment;
  ended?: ReportMoment;
  end?:
    | { kind: 'exit'; code: number | null; signal: string | null }
    | { kind: 'lost' | 'spawn_failed'; text: string };
  durationMs?: number;
  usage?: { inputTokens?: number; outputTokens?: number; costUsd?: number };
  tail?: string;
  summary?: string;
  /** `passed`, `skipped` or `failed (exit 1)`. */
  gate?: string;
  /** `merged 1a2b3c4d5e` or `conflict (2 file(s))`. */
  merge?: string;
  /** `WorkspacePrepared` of the spawn: the worktree's set-up (`workspace.copy`, `workspace.setup`). */
  setup?: ReportSetup;
  /** `PortsAssigned` of the spawn: `40000-40003`. */
  ports?: string;
}

/** A spawn's workspace set-up as the page shows it. */
export interface ReportSetup {
  /** The set-up command (argv joined by spaces), null when only files were copied. */
  commandLine: string | null;
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  /** How many files `workspace.copy` copied. */
  copied: number;
  tail?: string;
}

/** The `notify` deliveries of one rule: each (event, rule) pair counted by its last word. */
export interface ReportNotificationRule {
  /** The rule (what it is on and what it runs). */
  rule: string;
  delivered: number;
  /** Deliveries whose last attempt failed with attempts left. */
  retrying: number;
  givenUp: number;
  /** Failed attempts in all (delivered or not). */
  failedAttempts: number;
  /** The error of the last failed attempt. */
  lastError?: string;
}

/** `RunForked`: where the log was forked from. */
export interface ReportFork {
  stateDir: string;
  runId: string | null;
  position: number;
  repo: string;
  forkedAt: string;
}

/** Everything the page script reads (JSON). */
export interface ReportData {
  version: 2;
  title: string;
  /** The last log position folded. */
  to: number;
  /** How many events the log had up to `to` (embedded or not). */
  eventCount: number;
  /** Epoch milliseconds of the first event: times are counted from it. */
  epoch: number;
  /** The events drawn, but for the attempts' own (their request, start and outcome). */
  events: ReportEvent[];
  /** In spawn order. */
  attempts: ReportAttempt[];
  /** What the scrubber shows at each position, from orch's fold. */
  states: ReportStates;
  /** `statusView` of orch's fold at `to`. */
  final: StatusView;
  /** The log's `RunForked` (null: not a fork). */
  fork: ReportFork | null;
  /** `notify` outcomes per rule, in the order the rules first appear. */
  notifications: ReportNotificationRule[];
}

/** Options of {@link buildReportData}. */
export interface ReportDataOptions {
  /** Stop after this position (default: the end of the log). */
  to?: number;
  /** The page title (default: `orch report: <plan name>`). */
  title?: string;
  /** Longest text kept per field (default 500; output tails keep their end). */
  maxText?: number;
  /**
   * Characters of output tails the page may hold in all (default 4,000,000): past it every
   * tail is cut further, to no less than 100 characters, so a long log stays openable.
   */
  tailBudget?: number;
}

/** The event types a report embeds: those the page draws (timeline, labels); the rest only move `position`. */
const REPORT_EVENT_TYPES: ReadonlySet<string> = new Set([
  'PlanLoaded',
  'PlanRevised',
  'RunStarted',
  'RunStopped',
  'AgentSpawnRequested',
  'AgentStarted',
  'AgentExited',
  'AgentLost',
  'AgentSpawnFailed',
  'BreakpointReported',
  'SignalRejected',
  'RateLimited',
  'BudgetExhausted',
  'GateStarted',
  'GatePassed',
  'GateFailed',
  'MergeRequested',
  'BranchMerged',
  'MergeConflicted',
  'RetryScheduled',
  'TaskUnblocked',
  'TaskCompleted',
  'TaskFailed',
  'TaskCancelled',
  'TaskReopened',
  'TaskRetryRequested',
  'BudgetRaised',
  'CiCompleted',
  'MilestoneCompleted',
  'PullRequestRequested',
  'PullRequestOpened',
  'ReviewReceived',
  'ReviewAnswered',
  'RunForked',
  'NotificationFailed',
]);

// The events of an attempt's request, start and outcome: the attempt carries them. Any
// other (a duplicate, a stale report) is embedded with the ids its label names.
const AGENT_EVENTS = new Set([
  'AgentSpawnRequested',
  'AgentStarted',
  'AgentExited',
  'AgentLost',
  'AgentSpawnFailed',
]);
// Bulky fields the page never shows.
const DROPPED = new Set([
  'command',
  'workspace',
  'config',
  'pidStartTime',
  'logPath',
  'host',
  'diff',
  'branches',
]);
// Identity fields are compared by the page: never shortened.
const IDENTITY = new Set(['spawnId', 'taskId', 'phaseId', 'milestoneId', 'runId', 'kind', 'result']);

/**
 * Folds the log with orch's Replayer and its attempt fold and gathers the report's data in
 * one pass.
 *
 * @example
 * const data = buildReportData(store.readAll(), { to: 120 });
 * data.final.tasks.length; // tasks of the plan at position 120
 */
export function buildReportData(
  events: Iterable<RecordedEvent>,
  options: ReportDataOptions = {},
): ReportData {
  const to = options.to ?? Number.POSITIVE_INFINITY;
  const replayer = new Replayer();
  const collector = new ReportCollector();
  for (const event of events) {
    if (event.position > to) break;
    collector.before(event, replayer.state);
    replayer.apply(event);
    collector.after(event, replayer.state);
  }
  return collector.data(replayer.state, options);
}

/**
 * The report's data gathered event by event beside a fold that someone else drives (the
 * report's own `Replayer`, or a followed log, `LiveLog.follow`): call
 * {@link ReportCollector.before} with each event and the state before it, then
 * {@link ReportCollector.after} with the state after it; {@link ReportCollector.data} gives
 * the page's data at any point, as {@link buildReportData} would for the events so far.
 *
 * @example
 * const collector = new ReportCollector();
 * collector.before(event, replayer.state);
 * replayer.apply(event);
 * collector.after(event, replayer.state);
 * collector.data(replayer.state).to; // event.position
 */
export class ReportCollector {
  private readonly attempts = new AttemptFold();
  private readonly recorder = new StateRecorder();
  private readonly kept: RecordedEvent<string, object>[] = [];
  private epoch: number | null = null;
  private count = 0;
  private readonly setups = new Map<string, RecordedEvent>();
  private readonly ports = new Map<string, string>();
  private fork: ReportFork | null = null;
  // Per (event position, rule): the last word, the failed attempts, the last error.
  private readonly deliveries = new Map<
    string,
    { rule: string; last: 'delivered' | 'retrying' | 'givenUp'; failed: number; error?: string }
  >();

  /** Folds the event into the attempts, with orch's state before it (for CI verdicts). */
  before(event: RecordedEvent, state: OrchState): void {
    this.attempts.apply(event, state);
  }

  /** Records what the event changed, with orch's state after it. */
  after(event: RecordedEvent, state: OrchState): void {
    this.recorder.record(event, state);
    this.count += 1;
    this.epoch ??= Date.parse(event.recordedAt);
    const data = event.data;
    this.extras(event);
    // A failed notification is drawn only when it is given up (retries are counted).
    if (event.type === 'NotificationFailed' && (data as { final?: unknown }).final !== true) return;
    if (
      REPORT_EVENT_TYPES.has(event.type) &&
      typeof data === 'object' &&
      data !== null &&
      !Array.isArray(data)
    )
      this.kept.push(event as RecordedEvent<string, object>);
  }

  // The events the fold does not keep: workspace set-up, ports, the fork, notifications.
  private extras(event: RecordedEvent): void {
    const d = event.data as Record<string, unknown>;
    if (typeof d !== 'object' || d === null) return;
    switch (event.type) {
      case 'WorkspacePrepared':
        if (typeof d.spawnId === 'string') this.setups.set(d.spawnId, event);
        return;
      case 'PortsAssigned':
        if (typeof d.spawnId === 'string' && typeof d.base === 'number' && typeof d.count === 'number')
          this.ports.set(d.spawnId, `${d.base}-${d.base + d.count - 1}`);
        return;
      case 'RunForked': {
        const from = d.from as { stateDir?: unknown; runId?: unknown; position?: unknown } | undefined;
        if (from === undefined || typeof from.stateDir !== 'string' || typeof from.position !== 'number')
          return;
        this.fork = {
          stateDir: from.stateDir,
          runId: typeof from.runId === 'string' ? from.runId : null,
          position: from.position,
          repo: typeof d.repo === 'string' ? d.repo : '',
          forkedAt: typeof d.forkedAt === 'string' ? d.forkedAt : '',
        };
        return;
      }
      case 'NotificationDelivered':
      case 'NotificationFailed': {
        if (typeof d.rule !== 'string') return;
        const key = `${String(d.position)}|${d.rule}`;
        const entry = this.deliveries.get(key) ?? { rule: d.rule, last: 'retrying' as const, failed: 0 };
        if (event.type === 'NotificationDelivered') entry.last = 'delivered';
        else {
          entry.failed += 1;
          if (typeof d.error === 'string') entry.error = d.error;
          if (entry.last !== 'delivered') entry.last = d.final === true ? 'givenUp' : 'retrying';
        }
        this.deliveries.set(key, entry);
        return;
      }
      default:
        return;
    }
  }

  private notificationRules(maxText: number): ReportNotificationRule[] {
    const rules = new Map<string, ReportNotificationRule>();
    for (const e of this.deliveries.values()) {
      const r = rules.get(e.rule) ?? {
        rule: capText('rule', e.rule, maxText),
        delivered: 0,
        retrying: 0,
        givenUp: 0,
        failedAttempts: 0,
      };
      r[e.last] += 1;
      r.failedAttempts += e.failed;
      if (e.error !== undefined) r.lastError = capText('outputTail', e.error, maxText);
      rules.set(e.rule, r);
    }
    return [...rules.values()];
  }

  /** The page's data for the events collected so far; `state` is orch's state after the last. */
  data(state: OrchState, options: Omit<ReportDataOptions, 'to'> = {}): ReportData {
    const maxText = options.maxText ?? 500;
    const epoch = this.epoch;
    const base = epoch !== null && Number.isFinite(epoch) ? epoch : 0;
    const time = (recordedAt: string): number | null => {
      const ms = Date.parse(recordedAt);
      return Number.isFinite(ms) ? ms - base : null;
    };
    const own = new Set<number>();
    const drawn = this.attempts.attempts.map((a) => {
      for (const m of [a.requested, a.started, a.end]) if (m !== null) own.add(m.position);
      const out = reportAttempt(a, maxText, time);
      const setup = this.setups.get(a.spawnId);
      if (setup !== undefined) out.setup = reportSetup(setup.data as Record<string, unknown>, maxText);
      const ports = this.ports.get(a.spawnId);
      if (ports !== undefined) out.ports = ports;
      return out;
    });
    const embedded = this.kept
      .filter((e) => !(AGENT_EVENTS.has(e.type) && own.has(e.position)))
      .map((e): ReportEvent => [
        e.position,
        e.type,
        time(e.recordedAt),
        compactData(e.type, e.data, maxText),
      ]);
    shareTailBudget(embedded, drawn, options.tailBudget ?? 4_000_000);
    const final = statusView(state);
    return {
      version: 2,
      title: options.title ?? `orch report: ${final.plan?.name ?? 'no plan recorded'}`,
      to: state.position,
      eventCount: this.count,
      epoch: base,
      events: embedded,
      attempts: drawn,
      // A copy: the page's data must not change under a caller that keeps it.
      states: {
        values: [...this.recorder.states.values],
        ids: [...this.recorder.states.ids],
        changes: [...this.recorder.states.changes],
      },
      final,
      fork: this.fork === null ? null : { ...this.fork },
      notifications: this.notificationRules(maxText),
    };
  }
}

function reportSetup(d: Record<string, unknown>, maxText: number): ReportSetup {
  const out: ReportSetup = {
    commandLine: Array.isArray(d.command)
      ? capText('command', d.command.map(String).join(' '), maxText)
      : null,
    exitCode: typeof d.exitCode === 'number' ? d.exitCode : null,
    timedOut: d.timedOut === true,
    durationMs: typeof d.durationMs === 'number' ? d.durationMs : 0,
    copied: Array.isArray(d.copied) ? d.copied.length : 0,
  };
  if (typeof d.outputTail === 'string' && d.outputTail !== '')
    out.tail = capText('outputTail', d.outputTail, maxText);
  return out;
}

function reportAttempt(a: Attempt, maxText: number, time: (at: string) => number | null): ReportAttempt {
  const moment = (m: LogMoment): ReportMoment => [m.position, time(m.at)];
  const out: ReportAttempt = {
    spawnId: a.spawnId,
    task: a.taskId,
    attempt: a.attempt,
    requested: moment(a.requested),
  };
  if (a.role !== null) out.role = capText('role', a.role, maxText);
  if (a.lane) out.lane = `lane ${a.lane.lane}/${a.lane.lanes} ${laneState(a)}`;
  if (a.started !== null) out.started = moment(a.started);
  const end = a.end;
  if (end !== null) {
    out.ended = moment(end);
    if (end.kind === 'exited') {
      out.end = { kind: 'exit', code: end.exitCode, signal: end.signal };
      if (end.durationMs !== null) out.durationMs = end.durationMs;
      if (end.usage !== null) {
        const u = end.usage;
        out.usage = {
          ...(u.inputTokens === null ? {} : { inputTokens: u.inputTokens }),
          ...(u.outputTokens === null ? {} : { outputTokens: u.outputTokens }),
          ...(u.costUsd === null ? {} : { costUsd: u.costUsd }),
        };
      }
      if (end.outputTail) out.tail = capText('outputTail', end.outputTail, maxText);
    } else {
      const text = (end.kind === 'lost' ? end.reason : end.error) ?? '';
      out.end = { kind: end.kind, text: capText('text', text, maxText) };
    }
  }
  const summary = lastSummary(a);
  if (summary !== null) out.summary = capText('summary', summary, maxText);
  const gate = a.gate;
  if (gate?.status === 'passed') out.gate = gate.skipped ? 'skipped' : 'passed';
  if (gate?.status === 'failed')
    out.gate = `failed${gate.exitCode === null ? '' : ` (exit ${gate.exitCode})`}`;
  const merge = a.merge;
  if (merge?.status === 'merged') out.merge = `merged ${String(merge.commit).slice(0, 10)}`;
  if (merge?.status === 'conflicted') out.merge = `conflict (${merge.files.length} file(s))`;
  return out;
}

// Output tails (events' `outputTail`, attempts' `tail`) share one budget.
function shareTailBudget(events: ReportEvent[], attempts: ReportAttempt[], budget: number): void {
  const tails = [
    ...events.flatMap(([, , , d]) =>
      typeof d.outputTail === 'string'
        ? [{ text: d.outputTail, set: (t: string) => (d.outputTail = t) }]
        : [],
    ),
    ...attempts.flatMap((a) =>
      a.tail === undefined ? [] : [{ text: a.tail, set: (t: string) => (a.tail = t) }],
    ),
    ...attempts.flatMap((a) => {
      const setup = a.setup;
      return setup?.tail === undefined ? [] : [{ text: setup.tail, set: (t: string) => (setup.tail = t) }];
    }),
  ];
  const total = tails.reduce((n, t) => n + t.text.length, 0);
  if (total <= budget) return;
  const each = Math.max(100, Math.floor(budget / tails.length));
  for (const t of tails) t.set(capText('outputTail', t.text, each));
}

function compactData(type: string, data: object, maxText: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // A plan is drawn from the states; an agent event outside the attempts by its ids only.
  if (type === 'PlanLoaded' || type === 'PlanRevised') return out;
  const idsOnly = AGENT_EVENTS.has(type);
  for (const [key, value] of Object.entries(data)) {
    if (idsOnly ? key !== 'spawnId' && key !== 'taskId' : DROPPED.has(key)) continue;
    out[key] = IDENTITY.has(key) ? value : capValue(key, value, maxText, 0);
  }
  return out;
}

function capValue(key: string, value: unknown, maxText: number, depth: number): unknown {
  if (typeof value === 'string') return capText(key, value, maxText);
  if (depth > 2 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const items = value.slice(0, 50).map((v) => capValue(key, v, maxText, depth + 1));
    return value.length > 50 ? [...items, `… ${value.length - 50} more`] : items;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = capValue(k, v, maxText, depth + 1);
  return out;
}

function capText(key: string, text: string, maxText: number): string {
  if (text.length <= maxText) return text;
  // A tail is read from its end: keep the last lines, which say why it stopped.
  return key === 'outputTail' ? `…${text.slice(text.length - maxText)}` : `${text.slice(0, maxText)}…`;
}
