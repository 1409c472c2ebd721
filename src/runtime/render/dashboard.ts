import { getOwn } from '../../core/record.js';
import type { IdRecord } from '../../core/record.js';
import type { AgentRecord, OrchState } from '../../core/state.js';
import { isLiveAgent } from '../../core/state.js';
import { statusView } from '../../core/status-view.js';
import { usageTotals } from '../../core/usage-totals.js';
import type { LeaseView } from '../../core/status-document.js';
import { taskTargets } from '../../plan/targets.js';

/**
 * The `orch watch` dashboard, rendered from what the log says (never the orchestrator's
 * memory) plus the tails of the agents' output files. Pure apart from its inputs: the
 * loop (dashboard-watch.ts) gathers a {@link DashboardView} and draws the lines.
 */

/** What an agent's output file says: its last line and when it last grew (epoch ms). */
export interface AgentOutput {
  lastLine: string | null;
  lastOutputAt: number | null;
}

/** Everything one frame shows. */
export interface DashboardView {
  state: OrchState;
  /** The log being followed (shown in the header). */
  source: string;
  /** Output of live agents, by spawn id. */
  outputs: IdRecord<AgentOutput>;
  /** Progress lines of the latest events, oldest first. */
  recent: string[];
  /** The configured budget in USD, when known. */
  budget?: number | undefined;
  /**
   * Who holds the state directory now (null: nobody); when given, a run the log says is
   * running but whose orchestrator is gone (crashed, killed) is shown as such.
   */
  lease?: LeaseView | null | undefined;
}

/** How to draw a frame. */
export interface RenderOptions {
  /** Columns: every line is cut to fit. */
  width: number;
  /** Epoch ms "now", for elapsed times and countdowns. */
  now: number;
  /** Rows: the frame is cut to fit (recent events go first). */
  height?: number;
  /** Output older than this (ms) makes an agent "quiet" (default 15 s). */
  quietAfterMs?: number;
}

/**
 * The dashboard as lines of text, each at most `width` characters: header, totals, rate
 * limit and budget, running agents (task, role, attempt, elapsed, output activity, last
 * output line), claimed / ready / blocked work, milestone and phase progress bars, recent
 * events.
 *
 * @example
 * const lines = renderDashboard({ state, source: '.state/orch.db', outputs: {}, recent: [] }, { width: 100, now: Date.now() });
 * process.stdout.write(lines.join('\n'));
 */
export function renderDashboard(view: DashboardView, options: RenderOptions): string[] {
  const { state } = view;
  const { now } = options;
  const status = statusView(state);
  const usage = usageTotals(state);
  const lines: string[] = [];
  const run = state.run;
  const gone = orchestratorGone(view);
  const runText =
    run === null
      ? 'no run yet'
      : gone
        ? `run #${run.number} recorded as running, but its orchestrator (pid ${run.pid}) is gone: crashed or killed; orch spawn reconciles it`
        : run.status === 'running'
          ? `run #${run.number} running since ${clock(run.startedAt)} (pid ${run.pid})`
          : `run #${run.number} stopped: ${run.stopReason ?? ''}`;
  lines.push(`orch watch · ${state.plan?.name ?? 'no plan yet'} · ${runText} · event ${state.position}`);
  lines.push(`log ${view.source} · ${clock(new Date(now).toISOString())} · q quits`);
  const count = (s: string) => status.tasks.filter((t) => t.status === s).length;
  lines.push(
    `Tasks ${count('complete')}/${status.tasks.length} done · ${count('running')} running · ${count('ready')} ready · ` +
      `${count('pending')} pending · ${count('blocked')} blocked · ${count('failed')} failed`,
  );
  lines.push(...targetLines(state, status.tasks));
  const budget = view.budget === undefined ? '' : ` of $${view.budget.toFixed(2)} budget`;
  lines.push(
    `Usage ${usage.run.attempts} attempt(s) · tokens ${tokens(usage.run.inputTokens)} in / ` +
      `${tokens(usage.run.outputTokens)} out · cost $${state.costUsd.toFixed(4)}${budget}`,
  );
  if (state.budgetExhausted !== null) {
    lines.push(
      `! Budget exhausted: spent $${state.budgetExhausted.spentUsd.toFixed(4)} of $${state.budgetExhausted.budget}; no new attempts`,
    );
  }
  const limit = state.rateLimitedUntil === null ? NaN : Date.parse(state.rateLimitedUntil);
  if (limit > now)
    lines.push(`! Rate limited until ${clock(state.rateLimitedUntil ?? '')} (${span(limit - now)} left)`);
  lines.push('', ...agentLines(view, options));
  lines.push('', ...workLines(state, now));
  lines.push('', ...progressLines(status.milestones, status.phases, status.tasks));
  const recent = ['', `Recent events`, ...view.recent.map((l) => `  ${l}`)];
  const fitted = options.height === undefined ? [...lines, ...recent] : fit(lines, recent, options.height);
  return fitted.map((l) => cut(l, options.width));
}

/**
 * With multi-repo targets, one line of task counts per repository (main first, then the
 * targets in plan order); nothing when the plan uses no target.
 */
function targetLines(state: OrchState, tasks: readonly { id: string; status: string }[]): string[] {
  const groups = new Map<string | null, { done: number; running: number; failed: number; all: number }>();
  groups.set(null, { done: 0, running: 0, failed: 0, all: 0 });
  let any = false;
  const targetOf = taskTargets(state.plan);
  for (const t of tasks) {
    const target = targetOf.get(t.id) ?? null;
    if (target !== null) any = true;
    const g = groups.get(target) ?? { done: 0, running: 0, failed: 0, all: 0 };
    g.all += 1;
    if (t.status === 'complete') g.done += 1;
    if (t.status === 'running') g.running += 1;
    if (t.status === 'failed') g.failed += 1;
    groups.set(target, g);
  }
  if (!any) return [];
  const parts = [...groups]
    .filter(([id, g]) => id !== null || g.all > 0)
    .map(
      ([id, g]) =>
        `${id ?? 'main'} ${g.done}/${g.all} done` +
        (g.running > 0 ? `, ${g.running} running` : '') +
        (g.failed > 0 ? `, ${g.failed} failed` : ''),
    );
  return [`Targets ${parts.join(' · ')}`];
}

/** The log says a run is running, but no live process of that run holds the state directory. */
function orchestratorGone(view: DashboardView): boolean {
  const run = view.state.run;
  if (run === null || run.status !== 'running' || view.lease === undefined) return false;
  const lease = view.lease;
  return lease === null || lease.alive === false || lease.runId !== run.runId;
}

function agentLines(view: DashboardView, options: RenderOptions): string[] {
  const live = Object.values(view.state.agents).filter(isLiveAgent);
  if (live.length === 0) return ['Agents: none running'];
  const header = orchestratorGone(view)
    ? `Agents recorded as running (${live.length}): their orchestrator is gone, they may have died`
    : `Agents running (${live.length})`;
  const quiet = options.quietAfterMs ?? 15_000;
  const targetOf = taskTargets(view.state.plan);
  const withTargets = [...targetOf.values()].some((t) => t !== null);
  const rows = live.map((a) => {
    const out = getOwn(view.outputs, a.spawnId);
    const since = Date.parse(a.startedAt ?? a.requestedAt);
    return [
      ...(withTargets ? [targetOf.get(a.task) ?? 'main'] : []),
      a.task,
      a.role,
      String(a.attempt),
      span(options.now - since),
      activity(a, out, options.now, quiet),
      out?.lastLine ?? '',
    ];
  });
  return [
    header,
    ...table(
      [...(withTargets ? ['REPO'] : []), 'TASK', 'ROLE', 'TRY', 'ELAPSED', 'OUTPUT', 'LAST LINE'],
      rows,
    ),
  ];
}

function activity(a: AgentRecord, out: AgentOutput | undefined, now: number, quietMs: number): string {
  if (a.status === 'spawning') return 'starting';
  if (out === undefined || out.lastOutputAt === null) return 'no output';
  const age = now - out.lastOutputAt;
  return age < quietMs ? 'active' : `quiet ${span(age)}`;
}

function workLines(state: OrchState, now: number): string[] {
  const claimed: string[] = [];
  const ready: string[] = [];
  const blocked: string[] = [];
  for (const task of state.plan?.tasks ?? []) {
    const entry = getOwn(state.tasks, task.id);
    if (entry === undefined) continue;
    const ctx = entry.context;
    switch (entry.value) {
      case 'ready':
        ready.push(task.id);
        break;
      case 'retryWait': {
        const at = ctx.notBefore === null ? NaN : Date.parse(ctx.notBefore);
        const why = ctx.lastFailure?.kind === 'limit' ? ', rate limit' : '';
        ready.push(at > now ? `${task.id} (retry in ${span(at - now)}${why})` : `${task.id} (retry due)`);
        break;
      }
      case 'blocked':
        blocked.push(`${task.id} (on ${(ctx.blockedOn ?? ['person']).join(', ')})`);
        break;
      case 'spawning':
      case 'running':
      case 'awaitingGate':
      case 'verifying':
      case 'awaitingMerge':
      case 'merging':
      case 'retrying':
        claimed.push(`${task.id} ${entry.value}`);
        break;
    }
  }
  const list = (xs: string[]) => (xs.length === 0 ? '-' : xs.join(', '));
  return [`Claimed: ${list(claimed)}`, `Ready:   ${list(ready)}`, `Blocked: ${list(blocked)}`];
}

type Status = ReturnType<typeof statusView>;

function progressLines(
  milestones: Status['milestones'],
  phases: Status['phases'],
  tasks: Status['tasks'],
): string[] {
  const out = ['Progress'];
  const done = (ids: Set<string>) => {
    const mine = tasks.filter((t) => ids.has(t.phase));
    return [mine.filter((t) => t.status === 'complete').length, mine.length] as const;
  };
  const idWidth = Math.max(0, ...phases.map((p) => p.id.length + 2), ...milestones.map((m) => m.id.length));
  for (const m of milestones) {
    const own = phases.filter((p) => p.milestone === m.id);
    const [d, n] = done(new Set(own.map((p) => p.id)));
    out.push(
      `  ${m.id.padEnd(idWidth)} ${bar(d, n)} ${`${d}/${n}`.padStart(7)}  ${m.status.padEnd(11)} ${m.title}`,
    );
    for (const p of own) {
      const [pd, pn] = done(new Set([p.id]));
      out.push(
        `    ${p.id.padEnd(idWidth - 2)} ${bar(pd, pn)} ${`${pd}/${pn}`.padStart(7)}  ${p.status.padEnd(11)} ${p.title}`,
      );
    }
  }
  if (milestones.length === 0) out.push('  (no plan recorded yet)');
  return out;
}

/**
 * A 20-cell ASCII progress bar.
 *
 * @example
 * bar(1, 4); // '[#####...............]'
 */
export function bar(done: number, total: number, cells = 20): string {
  const filled = total === 0 ? 0 : Math.round((done / total) * cells);
  return `[${'#'.repeat(filled)}${'.'.repeat(cells - filled)}]`;
}

function table(head: string[], rows: string[][]): string[] {
  // The last column (free text) is not padded.
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    `  ${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')}`.trimEnd();
  return [line(head), ...rows.map(line)];
}

/** The main lines, then as many recent events as fit in `height` rows. */
function fit(main: string[], recent: string[], height: number): string[] {
  if (main.length >= height) return main.slice(0, height);
  return [...main, ...recent.slice(0, 2), ...recent.slice(2).slice(-(height - main.length - 2))].slice(
    0,
    height,
  );
}

function cut(line: string, width: number): string {
  const chars = [...line];
  return chars.length <= width ? line : `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}

/**
 * A duration as `42s`, `3m05s` or `1h02m`.
 *
 * @example
 * span(185_000); // '3m05s'
 */
export function span(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

const clock = (iso: string) => iso.slice(11, 19);

function tokens(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(1)}k`;
  return `${(n / 1_000_000).toFixed(2)}M`;
}

/**
 * One plain line for a log file or a pipe: time, position, task counts, running agents, cost.
 *
 * @example
 * summaryLine(view, Date.now()); // '12:03:04 event 212 · tasks 3/8 done, 2 running, … · agents T003#2 42s active · $0.1234'
 */
export function summaryLine(view: DashboardView, now: number): string {
  const status = statusView(view.state);
  const count = (s: string) => status.tasks.filter((t) => t.status === s).length;
  const agents = Object.values(view.state.agents)
    .filter(isLiveAgent)
    .map((a) => {
      const since = Date.parse(a.startedAt ?? a.requestedAt);
      return `${a.task}#${a.attempt} ${span(now - since)} ${activity(a, getOwn(view.outputs, a.spawnId), now, 15_000)}`;
    });
  const run = view.state.run;
  return (
    `${clock(new Date(now).toISOString())} event ${view.state.position} · ` +
    `run ${run === null ? 'none' : orchestratorGone(view) ? 'running per the log, orchestrator gone' : run.status} · ` +
    `tasks ${count('complete')}/${status.tasks.length} done, ${count('running')} running, ` +
    `${count('failed')} failed, ${count('blocked')} blocked · ` +
    `agents ${agents.length === 0 ? 'none' : agents.join(', ')} · $${view.state.costUsd.toFixed(4)}`
  );
}
