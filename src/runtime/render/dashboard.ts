import { getOwn } from '../../core/record.js';
import type { IdRecord } from '../../core/record.js';
import type { AgentRecord, OrchState } from '../../core/state.js';
import { effectiveBudget, isLiveAgent } from '../../core/state.js';
import { statusDocument } from '../../core/status-document.js';
import type { LeaseView, StatusDocument, TargetGroup } from '../../core/status-document.js';
import { taskTargets } from '../../plan/target-of.js';
import { bar, elapsed, table, terminalSafe, timeOfDay, tokens, usd } from './format.js';

/**
 * The `orch watch` dashboard, rendered from what the log says (never the orchestrator's
 * memory) plus the tails of the agents' output files. Pure apart from its inputs: the
 * loop (`operations/watch.ts`) gathers a {@link DashboardView} and draws the lines. Task
 * statuses and their counts are those of `orch status` (the status document).
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
  const doc = statusDocument(state);
  const count = doc.totals.tasks;
  const usage = doc.usage.run;
  const lines: string[] = [];
  const run = state.run;
  const gone = orchestratorGone(view);
  const runText =
    run === null
      ? 'no run yet'
      : gone
        ? `run #${run.number} recorded as running, but its orchestrator (pid ${run.pid}) is gone: crashed or killed; orch spawn reconciles it`
        : run.status === 'running'
          ? `run #${run.number} running since ${timeOfDay(run.startedAt)} (pid ${run.pid})`
          : `run #${run.number} stopped: ${run.stopReason ?? ''}`;
  lines.push(`orch watch · ${state.plan?.name ?? 'no plan yet'} · ${runText} · event ${state.position}`);
  lines.push(`log ${view.source} · ${timeOfDay(new Date(now).toISOString())} · q quits`);
  lines.push(
    `Tasks ${count.complete}/${doc.tasks.length} done · ${count.running} running · ${count.ready} ready · ` +
      `${count.pending} pending · ${count.blocked} blocked · ${count.failed} failed`,
  );
  lines.push(...targetLines(doc.targets));
  // The configured budget plus what people raised it by (`orch signal budget --raise`).
  const inForce = effectiveBudget(state, view.budget);
  const budget = inForce === undefined ? '' : ` of ${usd(inForce, 2)} budget`;
  lines.push(
    `Usage ${usage.attempts} attempt(s) · tokens ${tokens(usage.inputTokens)} in / ` +
      `${tokens(usage.outputTokens)} out · cost ${usd(state.costUsd)}${budget}`,
  );
  if (state.budgetExhausted !== null) {
    lines.push(
      `! Budget exhausted: spent ${usd(state.budgetExhausted.spentUsd)} of $${state.budgetExhausted.budget}; no new attempts`,
    );
  }
  const limit = state.rateLimitedUntil === null ? NaN : Date.parse(state.rateLimitedUntil);
  if (limit > now)
    lines.push(
      `! Rate limited until ${timeOfDay(state.rateLimitedUntil ?? '')} (${elapsed(limit - now)} left)`,
    );
  lines.push('', ...agentLines(view, options));
  lines.push('', ...workLines(state, doc.tasks, now));
  lines.push('', ...progressLines(doc));
  const recent = ['', `Recent events`, ...view.recent.map((l) => `  ${l}`)];
  const fitted = options.height === undefined ? [...lines, ...recent] : fit(lines, recent, options.height);
  // Made safe before the cut, so the width counts what the terminal shows.
  return fitted.map((l) => cut(terminalSafe(l), options.width));
}

/**
 * With multi-repo targets, one line of task counts per repository (main first, then the
 * targets in plan order; a repository with no task is left out); nothing when the plan
 * uses no target.
 */
function targetLines(targets: readonly TargetGroup[]): string[] {
  const parts: string[] = [];
  for (const g of targets) {
    const all = Object.values(g.tasks).reduce((a, b) => a + b, 0);
    if (all === 0) continue;
    parts.push(
      `${g.id ?? 'main'} ${g.tasks.complete}/${all} done` +
        (g.tasks.running > 0 ? `, ${g.tasks.running} running` : '') +
        (g.tasks.failed > 0 ? `, ${g.tasks.failed} failed` : ''),
    );
  }
  return parts.length === 0 ? [] : [`Targets ${parts.join(' · ')}`];
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
      elapsed(options.now - since),
      idle(a, out, options.now, since),
      activity(a, out, options.now, quiet),
      out?.lastLine ?? '',
    ];
  });
  return [
    header,
    ...table(
      [...(withTargets ? ['REPO'] : []), 'TASK', 'ROLE', 'TRY', 'ELAPSED', 'IDLE', 'OUTPUT', 'LAST LINE'],
      rows,
      { indent: '  ' },
    ),
  ];
}

/** How long since the agent last printed (since it started, when it has printed nothing): what the stall watchdog measures, output side. */
function idle(a: AgentRecord, out: AgentOutput | undefined, now: number, since: number): string {
  if (a.status === 'spawning') return '-';
  const last = out?.lastOutputAt ?? since;
  return Number.isFinite(last) ? elapsed(Math.max(0, now - last)) : '-';
}

function activity(a: AgentRecord, out: AgentOutput | undefined, now: number, quietMs: number): string {
  if (a.status === 'spawning') return 'starting';
  if (out === undefined || out.lastOutputAt === null) return 'no output';
  const age = now - out.lastOutputAt;
  return age < quietMs ? 'active' : `quiet ${elapsed(age)}`;
}

/**
 * Claimed work (running, with the step of its attempt loop), ready work (a task waiting to
 * retry among it, with its countdown) and blocked work, in plan order.
 */
function workLines(state: OrchState, tasks: StatusDocument['tasks'], now: number): string[] {
  const claimed: string[] = [];
  const ready: string[] = [];
  const blocked: string[] = [];
  for (const t of tasks) {
    if (t.detail === 'retryWait') {
      const ctx = getOwn(state.tasks, t.id)?.context;
      const notBefore = ctx?.notBefore ?? null;
      const at = notBefore === null ? NaN : Date.parse(notBefore);
      const why = ctx?.lastFailure?.kind === 'limit' ? ', rate limit' : '';
      ready.push(at > now ? `${t.id} (retry in ${elapsed(at - now)}${why})` : `${t.id} (retry due)`);
    } else if (t.status === 'ready') ready.push(t.id);
    else if (t.status === 'blocked') blocked.push(`${t.id} (on ${(t.blockedOn ?? ['person']).join(', ')})`);
    else if (t.status === 'running') claimed.push(`${t.id} ${t.detail}`);
  }
  const list = (xs: string[]) => (xs.length === 0 ? '-' : xs.join(', '));
  return [`Claimed: ${list(claimed)}`, `Ready:   ${list(ready)}`, `Blocked: ${list(blocked)}`];
}

function progressLines(doc: StatusDocument): string[] {
  const { milestones, phases, tasks } = doc;
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
 * One plain line for a log file or a pipe: time, position, task counts, running agents, cost.
 *
 * @example
 * summaryLine(view, Date.now()); // '12:03:04 event 212 · tasks 3/8 done, 2 running, … · agents T003#2 42s active · $0.1234'
 */
export function summaryLine(view: DashboardView, now: number): string {
  const doc = statusDocument(view.state);
  const count = doc.totals.tasks;
  const agents = Object.values(view.state.agents)
    .filter(isLiveAgent)
    .map((a) => {
      const since = Date.parse(a.startedAt ?? a.requestedAt);
      return `${a.task}#${a.attempt} ${elapsed(now - since)} ${activity(a, getOwn(view.outputs, a.spawnId), now, 15_000)}`;
    });
  const run = view.state.run;
  return terminalSafe(
    `${timeOfDay(new Date(now).toISOString())} event ${view.state.position} · ` +
      `run ${run === null ? 'none' : orchestratorGone(view) ? 'running per the log, orchestrator gone' : run.status} · ` +
      `tasks ${count.complete}/${doc.tasks.length} done, ${count.running} running, ` +
      `${count.failed} failed, ${count.blocked} blocked · ` +
      `agents ${agents.length === 0 ? 'none' : agents.join(', ')} · ${usd(view.state.costUsd)}`,
  );
}
