import type { RecordedEvent } from '../../core/envelope.js';
import { Replayer } from '../../core/replayer.js';
import { statusView, taskStatus } from '../../core/status-view.js';
import type { StatusView } from '../../core/status-view.js';
import { taskMachineConfig } from '../../machines/task-machine.js';
import type { Plan } from '../../plan/model.js';

/**
 * The data the post-mortem report embeds: the events the page folds and draws, cut down
 * to the fields it reads, plus the task machine's transition table and the final status
 * (from orch's own fold) that colours the dependency graph.
 */

/** One embedded event: `[position, type, recordedAt, data]`. */
export type ReportEvent = [number, string, string, Record<string, unknown>];

/** A plan as the page needs it (no descriptions, criteria or sources). */
export interface ReportPlan {
  name: string;
  milestones: { id: string; title: string; status: string }[];
  phases: { id: string; title: string; milestone: string; status: string; dependsOn: string[] }[];
  tasks: { id: string; title: string; phase: string; role: string; status: string; dependsOn: string[] }[];
}

/** Everything the page script reads (JSON). */
export interface ReportData {
  version: 1;
  title: string;
  /** The last log position folded. */
  to: number;
  /** How many events the log had up to `to` (embedded or not). */
  eventCount: number;
  /** The task machine's flat config: the page steps task statuses with this very table. */
  machine: typeof taskMachineConfig;
  /** Task status (`orch status` words) of each machine state, from `taskStatus`. */
  statusOf: Record<string, string>;
  events: ReportEvent[];
  /** `statusView` of orch's fold at `to`. */
  final: StatusView;
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

/**
 * The event types a report embeds: those the page folds (task status) or draws (timeline,
 * table); the rest only move `position`. Every event the task machine reacts to must be here.
 */
export const REPORT_EVENT_TYPES: ReadonlySet<string> = new Set([
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
  'CiCompleted',
  'MilestoneCompleted',
  'PullRequestRequested',
  'PullRequestOpened',
]);

// Bulky fields the page never shows.
const DROPPED = new Set(['command', 'workspace', 'config', 'pidStartTime', 'logPath', 'host', 'diff']);
// Identity fields are compared by the fold: never shortened.
const IDENTITY = new Set(['spawnId', 'taskId', 'phaseId', 'milestoneId', 'runId', 'kind', 'result']);

/**
 * Folds the log with orch's Replayer and gathers the report's data in one pass.
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
  const maxText = options.maxText ?? 500;
  const replayer = new Replayer();
  const kept: ReportEvent[] = [];
  let count = 0;
  for (const event of events) {
    if (event.position > to) break;
    replayer.apply(event);
    count += 1;
    const data = event.data;
    if (
      !REPORT_EVENT_TYPES.has(event.type) ||
      typeof data !== 'object' ||
      data === null ||
      Array.isArray(data)
    )
      continue;
    kept.push([event.position, event.type, event.recordedAt, compactData(event.type, data, maxText)]);
  }
  shareTailBudget(kept, options.tailBudget ?? 4_000_000);
  const final = statusView(replayer.state);
  return {
    version: 1,
    title: options.title ?? `orch report: ${final.plan?.name ?? 'no plan recorded'}`,
    to: replayer.state.position,
    eventCount: count,
    machine: taskMachineConfig,
    statusOf: Object.fromEntries(
      Object.keys(taskMachineConfig.states).map((value) => [
        value,
        taskStatus({ value } as Parameters<typeof taskStatus>[0]),
      ]),
    ),
    events: kept,
    final,
  };
}

function shareTailBudget(events: ReportEvent[], budget: number): void {
  let total = 0;
  let tails = 0;
  for (const [, , , data] of events) {
    if (typeof data.outputTail === 'string') {
      total += data.outputTail.length;
      tails += 1;
    }
  }
  if (total <= budget) return;
  const each = Math.max(100, Math.floor(budget / tails));
  for (const [, , , data] of events) {
    if (typeof data.outputTail === 'string') data.outputTail = capText('outputTail', data.outputTail, each);
  }
}

function compactData(type: string, data: object, maxText: number): Record<string, unknown> {
  if (type === 'PlanLoaded' || type === 'PlanRevised') {
    const plan = (data as { plan?: Plan }).plan;
    return plan === undefined || plan === null ? {} : { plan: compactPlan(plan) };
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    if (DROPPED.has(key)) continue;
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

/**
 * The plan fields the page reads: ids, titles, statuses, dependencies.
 *
 * @example
 * compactPlan(plan).tasks[0]; // { id: 'T001', title: '…', phase: 'S001', role: 'architect', status: 'not_started', dependsOn: [] }
 */
export function compactPlan(plan: Plan): ReportPlan {
  return {
    name: plan.name,
    milestones: plan.milestones.map((m) => ({ id: m.id, title: m.title, status: m.status })),
    phases: plan.phases.map((p) => ({
      id: p.id,
      title: p.title,
      milestone: p.milestone,
      status: p.status,
      dependsOn: [...p.dependsOn],
    })),
    tasks: plan.tasks.map((t) => ({
      id: t.id,
      title: t.title,
      phase: t.phase,
      role: t.role,
      status: t.status,
      dependsOn: [...t.dependsOn],
    })),
  };
}
