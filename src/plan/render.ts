import type { GoalRecommendation } from './goal.js';
import type { PlanView, ViewPhaseStatus, ViewTaskStatus } from './view.js';

/**
 * Text renderings of a plan view: the `orch plan` tree, the goal report, and the phase
 * graph as Mermaid or Graphviz DOT.
 */

const TASK_MARK: Record<ViewTaskStatus, string> = { complete: '[x]', ready: '[>]', pending: '[ ]' };
const PHASE_MARK: Record<ViewPhaseStatus, string> = {
  complete: '[x]',
  in_progress: '[~]',
  ready: '[>]',
  blocked: '[-]',
};
const PRIORITY_NOTE = { bootstrap: '  ⭐ BOOTSTRAP', priority: '  ⭐ PRIORITY', normal: '' } as const;

/**
 * The readable tree: milestone → phase → task with status marks (`[x]` complete, `[>]`
 * ready, `[~]` in progress, `[-]` blocked, `[ ]` pending), dependencies after `←`, and
 * the ready tasks listed at the end in priority order.
 *
 * @example
 * console.log(renderTree(planView(plan, graph, declaredCompletion(plan))));
 */
export function renderTree(view: PlanView): string {
  const out: string[] = [];
  const done = view.tasks.filter((t) => t.status === 'complete').length;
  out.push(`${view.plan.name}  (${view.plan.format} plan, ${view.plan.source})`);
  out.push(
    `${view.milestones.length} milestones · ${view.phases.length} phases · ${view.tasks.length} tasks · ${done} complete · ${view.ready.length} ready`,
  );
  out.push('Marks: [x] complete  [>] ready  [~] in progress  [-] blocked  [ ] waiting');
  const phaseById = new Map(view.phases.map((p) => [p.id, p]));
  const taskById = new Map(view.tasks.map((t) => [t.id, t]));
  const placed = new Set<string>();
  const phaseLines = (id: string): void => {
    const p = phaseById.get(id);
    if (!p || placed.has(id)) return;
    placed.add(id);
    const deps = p.dependsOn.length > 0 ? `  ← ${p.dependsOn.join(', ')}` : '';
    const where = p.target !== null ? `  @${p.target}` : '';
    out.push(`  ${PHASE_MARK[p.status]} ${p.id}  ${p.title}${PRIORITY_NOTE[p.priority]}${where}${deps}`);
    for (const tid of p.tasks) {
      const t = taskById.get(tid);
      if (!t) continue;
      const tdeps = t.dependsOn.length > 0 ? `  ← ${t.dependsOn.join(', ')}` : '';
      const twhere = t.target !== null && t.target !== p.target ? ` @${t.target}` : '';
      out.push(
        `      ${TASK_MARK[t.status]} ${t.id}  ${t.title}  (${t.role}${twhere})${tdeps}${t.status === 'ready' ? '  READY' : ''}`,
      );
    }
  };
  for (const m of view.milestones) {
    out.push('', `${m.id}  ${m.title}  [${m.status}]`);
    for (const id of m.phases) phaseLines(id);
  }
  const orphans = view.phases.filter((p) => !placed.has(p.id));
  if (orphans.length > 0) {
    out.push('', '(phases in no milestone)');
    for (const p of orphans) phaseLines(p.id);
  }
  out.push(
    '',
    view.ready.length > 0 ? `Ready now, in priority order: ${view.ready.join(', ')}` : 'Nothing is ready.',
  );
  return out.join('\n');
}

/**
 * The goal report: the matches with their scores, then the recommended work in order.
 *
 * @example
 * console.log(renderGoal(recommendForGoal(plan, graph, 'add a CLI', completed)));
 */
export function renderGoal(rec: GoalRecommendation): string {
  const out = [`Goal: ${rec.goal}`];
  if (rec.matches.length === 0) {
    out.push('No phase or task matches this goal.');
    return out.join('\n');
  }
  out.push('Matches:');
  for (const m of rec.matches)
    out.push(`  ${m.kind} ${m.id}  ${m.title}  (score ${m.score.toFixed(2)}: ${m.terms.join(', ')})`);
  out.push(
    rec.tasks.length > 0
      ? 'Work toward it, in dependency order:'
      : 'Everything it needs is already complete.',
  );
  rec.tasks.forEach((t, i) =>
    out.push(
      `  ${i + 1}. ${t.id}  ${t.title}  (phase ${t.phase}${t.reason === 'dependency' ? ', needed first' : ''})`,
    ),
  );
  return out.join('\n');
}

const mermaidText = (s: string): string =>
  s.replace(/"/g, '#quot;').replace(/[<>]/g, (c) => (c === '<' ? '#lt;' : '#gt;'));

/**
 * The phase graph as a Mermaid flowchart: one subgraph per milestone, an arrow from
 * each dependency to the phase that waits for it, classes by status.
 *
 * @example
 * renderMermaid(view).split('\n')[0]; // 'flowchart TD'
 */
export function renderMermaid(view: PlanView): string {
  const node = new Map(view.phases.map((p, i) => [p.id, `p${i}`]));
  const byId = new Map(view.phases.map((p) => [p.id, p]));
  const out = ['flowchart TD'];
  view.milestones.forEach((m, i) => {
    out.push(`  subgraph m${i}["${mermaidText(`${m.id}: ${m.title}`)}"]`);
    for (const id of m.phases) {
      const p = byId.get(id);
      if (p) out.push(`    ${node.get(id) ?? ''}["${mermaidText(`${p.id} ${p.title}`)}"]:::${p.status}`);
    }
    out.push('  end');
  });
  for (const p of view.phases) {
    for (const d of p.dependsOn) {
      const from = node.get(d);
      if (from !== undefined) out.push(`  ${from} --> ${node.get(p.id) ?? ''}`);
    }
  }
  out.push(
    '  classDef complete fill:#d4edda,stroke:#28a745',
    '  classDef in_progress fill:#cce5ff,stroke:#007bff',
    '  classDef ready fill:#fff3cd,stroke:#ffc107',
    '  classDef blocked fill:#f8f9fa,stroke:#6c757d',
  );
  return out.join('\n');
}

const dotText = (s: string): string => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, ' ');
const DOT_FILL: Record<ViewPhaseStatus, string> = {
  complete: '#d4edda',
  in_progress: '#cce5ff',
  ready: '#fff3cd',
  blocked: '#f8f9fa',
};

/**
 * The phase graph in Graphviz DOT: one cluster per milestone, an edge from each
 * dependency to the phase that waits for it, fill colour by status.
 *
 * @example
 * renderDot(view).startsWith('digraph plan {'); // true
 */
export function renderDot(view: PlanView): string {
  const byId = new Map(view.phases.map((p) => [p.id, p]));
  const out = ['digraph plan {', '  rankdir=LR;', '  node [shape=box, style="rounded,filled"];'];
  view.milestones.forEach((m, i) => {
    out.push(`  subgraph cluster_${i} {`, `    label="${dotText(`${m.id}: ${m.title}`)}";`);
    for (const id of m.phases) {
      const p = byId.get(id);
      if (p)
        out.push(
          `    "${dotText(p.id)}" [label="${dotText(p.id)}\\n${dotText(p.title)}", fillcolor="${DOT_FILL[p.status]}"];`,
        );
    }
    out.push('  }');
  });
  const known = new Set(view.phases.map((p) => p.id));
  for (const p of view.phases) {
    for (const d of p.dependsOn) if (known.has(d)) out.push(`  "${dotText(d)}" -> "${dotText(p.id)}";`);
  }
  out.push('}');
  return out.join('\n');
}
