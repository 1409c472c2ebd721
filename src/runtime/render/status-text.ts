import type { StatusDocument, TargetGroup } from '../../core/status-document.js';
import type { LeaseView } from '../../core/status-document.js';
import { terminalSafe, usd } from './format.js';

/**
 * The text of `orch status` / `orch replay`: plan and run, totals, then milestones →
 * phases → tasks with status, attempts and last failure, then the live agents.
 */

type Task = StatusDocument['tasks'][number];
type Phase = StatusDocument['phases'][number];

/**
 * Renders a status document. `lease` is shown when given (`status`); `undefined` leaves
 * the line out (`replay` shows the past, where the lease means nothing).
 *
 * @example
 * console.log(renderStatusText(statusDocument(state), readLeaseView(stateDir)));
 */
export function renderStatusText(doc: StatusDocument, lease?: LeaseView | null): string {
  const lines: string[] = [];
  const plan = doc.plan === null ? 'No plan recorded yet' : `${doc.plan.name}  (${doc.plan.source})`;
  lines.push(`${plan}  ·  log position ${doc.position}`);
  lines.push(runLine(doc, lease));
  lines.push(totalsLine(doc));
  const usage = usageLine(doc);
  if (usage !== null) lines.push(usage);
  // Documents cached before targets were kept have none.
  const targets = (doc as Partial<StatusDocument>).targets ?? [];
  if (targets.length > 0) {
    lines.push('Targets:');
    for (const g of targets) lines.push(`  ${targetLine(g)}`);
  }
  if (doc.plan !== null) {
    if (targets.length === 0)
      lines.push(
        '',
        ...tree(
          doc,
          doc.milestones.map((m) => m.id),
        ),
      );
    // Grouped by repository: each target's milestones under its name, the main repository's first.
    else
      for (const g of targets)
        lines.push('', `[${g.id ?? 'main'}]`, ...tree(doc, g.milestones, g.id === null));
  }
  const live = doc.agents.filter((a) => a.status === 'spawning' || a.status === 'running');
  lines.push('', live.length === 0 ? 'No live agents.' : `Live agents (${live.length}):`);
  for (const a of live) {
    const pid = a.pid === null ? 'no pid yet' : `pid ${a.pid}`;
    const unresolved = a.unresolved ? '  (unresolved: spawned by an earlier run)' : '';
    lines.push(`  ${a.spawnId}  ${a.task}  attempt ${a.attempt}  ${a.status}  ${pid}${unresolved}`);
  }
  return terminalSafe(lines.join('\n'));
}

function runLine(doc: StatusDocument, lease: LeaseView | null | undefined): string {
  const run =
    doc.run === null
      ? 'No run recorded yet'
      : `Run ${doc.run.runId}: ${doc.run.status} (started ${doc.run.startedAt})`;
  if (lease === undefined) return run;
  if (lease === null) return `${run}  ·  lease: free`;
  const alive = lease.alive === null ? `on host ${lease.host}, not checked` : lease.alive ? 'alive' : 'dead';
  return `${run}  ·  lease: pid ${lease.pid} (${alive}), run ${lease.runId}`;
}

function totalsLine(doc: StatusDocument): string {
  const t = doc.totals;
  const counts = Object.entries(t.tasks)
    .filter(([, n]) => n > 0)
    .map(([status, n]) => `${n} ${status}`);
  const tasks = `${doc.tasks.length} task${doc.tasks.length === 1 ? '' : 's'}`;
  return `Tasks: ${tasks}${counts.length > 0 ? ` (${counts.join(', ')})` : ''}  ·  attempts ${t.attempts}  ·  cost ${usd(t.costUsd, 2)}`;
}

/** Tokens and cost of the run and of each milestone that used any (null before any usage was reported). */
function usageLine(doc: StatusDocument): string | null {
  // Documents cached before usage was kept have none.
  const usage = (doc as Partial<StatusDocument>).usage;
  if (usage === undefined) return null;
  const { run } = usage;
  if (run.inputTokens === 0 && run.outputTokens === 0 && run.costUsd === 0) return null;
  const per = doc.milestones
    .map((m) => [m.id, usage.milestones[m.id]] as const)
    .filter(([, u]) => u !== undefined && u.costUsd > 0)
    .map(([id, u]) => `${id} ${usd(u?.costUsd ?? 0, 2)}`);
  return (
    `Usage: ${run.inputTokens} tokens in, ${run.outputTokens} out  ·  cost ${usd(run.costUsd, 2)}` +
    (per.length > 0 ? `  (${per.join(', ')})` : '')
  );
}

function targetLine(g: TargetGroup): string {
  const total = Object.values(g.tasks).reduce((a, b) => a + b, 0);
  const counts = Object.entries(g.tasks)
    .filter(([, n]) => n > 0)
    .map(([status, n]) => `${n} ${status}`);
  return `${g.id ?? 'main'}: ${total} task${total === 1 ? '' : 's'}${counts.length > 0 ? ` (${counts.join(', ')})` : ''}  ·  attempts ${g.attempts}  ·  cost ${usd(g.costUsd, 2)}`;
}

/** Milestones `ids` → phases → tasks; `orphans` adds phases naming no known milestone. */
function tree(doc: StatusDocument, ids: readonly string[], orphans = true): string[] {
  const lines: string[] = [];
  const phasesOf = group(doc.phases, (p) => p.milestone);
  const tasksOf = group(doc.tasks, (t) => t.phase);
  const shownPhases = new Set<string>();
  const wanted = new Set(ids);
  const known = new Set(doc.milestones.map((m) => m.id));
  for (const m of doc.milestones) {
    if (!wanted.has(m.id)) continue;
    const pr = m.pr === null ? '' : `  PR ${m.pr.url ?? '(requested)'} (${m.pr.branch})`;
    lines.push(`${m.id}  ${m.title}  [${m.status}]${pr}${reviewText(m.review)}`);
    for (const p of phasesOf.get(m.id) ?? []) {
      shownPhases.add(p.id);
      lines.push(...phaseLines(p, tasksOf.get(p.id) ?? [], '  ', doc.usage));
    }
  }
  // Phases naming a milestone the plan does not have still get shown.
  if (orphans) {
    for (const p of doc.phases) {
      if (!shownPhases.has(p.id) && !known.has(p.milestone))
        lines.push(...phaseLines(p, tasksOf.get(p.id) ?? [], '', doc.usage));
    }
  }
  return lines;
}

function phaseLines(
  p: Phase,
  tasks: readonly Task[],
  indent: string,
  usage: StatusDocument['usage'],
): string[] {
  const deps = p.dependsOn.length > 0 ? `  ← ${p.dependsOn.join(', ')}` : '';
  return [
    `${indent}${p.id}  ${p.title}  [${p.status}]${costText(usage.phases, p.id)}${deps}`,
    ...tasks.flatMap((t) => [
      `${indent}  ${taskLine(t, costText(usage.tasks, t.id))}`,
      ...(t.lanes ?? []).map((l) => `${indent}    ${laneLine(l)}`),
    ]),
  ];
}

/** Best of N: `lane 2  superseded  $0.12  1.2k in / 300 out`, and why a failed lane failed. */
function laneLine(l: NonNullable<Task['lanes']>[number]): string {
  const cost = l.costUsd === null ? '' : `  ${usd(l.costUsd, 2)}`;
  const tokens =
    l.inputTokens === null && l.outputTokens === null
      ? ''
      : `  ${l.inputTokens ?? 0} in / ${l.outputTokens ?? 0} out tokens`;
  return `lane ${l.lane}  ${l.state}${cost}${tokens}${l.failure === null ? '' : `  ${l.failure}`}`;
}

/** `  $0.25` when agents reported a cost for the entity, else nothing. */
function costText(totals: StatusDocument['usage']['tasks'], id: string): string {
  const cost = Object.hasOwn(totals, id) ? (totals[id]?.costUsd ?? 0) : 0;
  return cost > 0 ? `  ${usd(cost, 2)}` : '';
}

function taskLine(t: Task, cost = ''): string {
  const detail = t.detail !== t.status && t.detail !== 'init' ? ` (${t.detail})` : '';
  const attempts = t.attempts === 0 ? '' : `  ${t.attempts} attempt${t.attempts === 1 ? '' : 's'}`;
  const blocked =
    t.status === 'blocked' && t.blockedOn !== null ? `  waiting on ${t.blockedOn.join(', ')}` : '';
  const failure =
    t.lastFailure !== null && t.status !== 'complete' ? `  last failure: ${oneLine(t.lastFailure)}` : '';
  return `${t.id}  ${t.status}${detail}${attempts}${cost}  ${t.title} (${t.role})${blocked}${failure}`;
}

// A failure that quotes output (a failed workspace set-up's, an agent's) stays on the task's
// line: its first line, then `… ` and its last (`orch log --task` has all of it).
function oneLine(text: string): string {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const first = lines[0] ?? '';
  return lines.length > 1 ? `${first} … ${lines[lines.length - 1]}` : first;
}

function group<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list === undefined) out.set(k, [item]);
    else list.push(item);
  }
  return out;
}

/** `  review: changes requested (2 open, 1 answered)`, or '' before any review. */
function reviewText(review: StatusDocument['milestones'][number]['review']): string {
  if (review === undefined) return '';
  const decision = review.decision === null ? 'received' : review.decision.replace('_', ' ');
  return `  review: ${decision} (${review.open.length} open, ${review.answered} answered)`;
}
