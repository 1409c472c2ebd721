import { getOwn, setOwn } from './record.js';
import type { IdRecord } from './record.js';
import type { AgentRecord, OrchState } from './state.js';

/** Tokens, cost and attempts (spawns) summed over some agents. */
export interface UsageTotal {
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** Spawns counted, whether or not they reported usage. */
  attempts: number;
}

/** {@link UsageTotal}s per task, phase and milestone of the plan, and for the whole log. */
export interface UsageTotals {
  run: UsageTotal;
  tasks: IdRecord<UsageTotal>;
  phases: IdRecord<UsageTotal>;
  milestones: IdRecord<UsageTotal>;
}

const zero = (): UsageTotal => ({ inputTokens: 0, outputTokens: 0, costUsd: 0, attempts: 0 });

/**
 * Adds one agent's usage to `total` (one attempt; missing usage counts as 0). The one way a
 * total grows, so that sums made in two steps (a snapshot's, then the agents after it) are
 * bit for bit the sums made in one.
 *
 * @example
 * const t = { inputTokens: 0, outputTokens: 0, costUsd: 0, attempts: 0 };
 * addAgentUsage(t, { costUsd: 0.1, inputTokens: 10, outputTokens: 2 }); // t.attempts === 1
 */
export function addAgentUsage(
  total: UsageTotal,
  agent: Pick<AgentRecord, 'costUsd' | 'inputTokens' | 'outputTokens'>,
): void {
  total.attempts += 1;
  total.inputTokens += agent.inputTokens ?? 0;
  total.outputTokens += agent.outputTokens ?? 0;
  total.costUsd += agent.costUsd ?? 0;
}

function addTotal(into: UsageTotal, t: UsageTotal): void {
  into.attempts += t.attempts;
  into.inputTokens += t.inputTokens;
  into.outputTokens += t.outputTokens;
  into.costUsd += t.costUsd;
}

/**
 * The usage agents reported on exit (`AgentExited.usage`), totalled per task, phase,
 * milestone and run. Every plan entity has an entry (zero when nothing ran); agents of
 * tasks no longer in the plan count only in `run`. Pure: a read model of the state.
 *
 * The order of the sums is fixed, so the figures depend only on each task's agents in
 * spawn order: a task's total adds its agents in spawn order (starting from `earlier`'s
 * total of the task, when given: the usage of its first spawns, summed the same way,
 * whose records are not in `agents`); a phase's and a milestone's add their tasks' totals
 * in plan order; `run` adds the plan's tasks in plan order, then the other tasks by id.
 *
 * @example
 * const { run, tasks } = usageTotals(state);
 * console.log(`$${run.costUsd.toFixed(2)}, T001: ${tasks['T001']?.outputTokens ?? 0} tokens out`);
 */
export function usageTotals(
  state: OrchState,
  agents: readonly AgentRecord[] = Object.values(state.agents),
  earlier?: IdRecord<UsageTotal>,
): UsageTotals {
  const perTask = new Map<string, UsageTotal>();
  if (earlier !== undefined) {
    for (const task of Object.keys(earlier)) {
      const t = getOwn(earlier, task);
      if (t !== undefined) perTask.set(task, { ...t });
    }
  }
  for (const a of agents) {
    let total = perTask.get(a.task);
    if (total === undefined) {
      total = zero();
      perTask.set(a.task, total);
    }
    addAgentUsage(total, a);
  }
  const out: UsageTotals = { run: zero(), tasks: {}, phases: {}, milestones: {} };
  const plan = state.plan;
  const inPlan = new Set<string>();
  const planTotals: UsageTotal[] = [];
  for (const t of plan?.tasks ?? []) {
    inPlan.add(t.id);
    const total = perTask.get(t.id) ?? zero();
    planTotals.push(total);
    setOwn(out.tasks, t.id, { ...total });
  }
  const others = [...perTask.keys()].filter((task) => !inPlan.has(task)).sort();
  const rolled = usageRollup(
    plan,
    planTotals,
    others.map((task) => perTask.get(task) ?? zero()),
  );
  out.run = rolled.run;
  out.phases = rolled.phases;
  out.milestones = rolled.milestones;
  return out;
}

/**
 * A task's usage: `earlier` (its cut spawns' total, when given) plus its `agents` in spawn
 * order, added as {@link usageTotals} adds them.
 *
 * @example
 * taskUsage(undefined, [{ costUsd: 0.1, inputTokens: 10, outputTokens: 2 }]).attempts; // 1
 */
export function taskUsage(
  earlier: UsageTotal | undefined,
  agents: Iterable<Pick<AgentRecord, 'costUsd' | 'inputTokens' | 'outputTokens'>>,
): UsageTotal {
  const total = earlier === undefined ? zero() : { ...earlier };
  for (const a of agents) addAgentUsage(total, a);
  return total;
}

/**
 * The usage per phase, milestone and run from the plan tasks' totals (`planTotals[i]` is
 * the total of `plan.tasks[i]`) and the totals of tasks no longer in the plan (sorted by
 * task id): the sums {@link usageTotals} makes, in the same order.
 *
 * @example
 * usageRollup(plan, plan.tasks.map(() => zeroTotal), []).run.attempts; // 0
 */
export function usageRollup(
  plan: OrchState['plan'],
  planTotals: readonly UsageTotal[],
  others: readonly UsageTotal[],
): Pick<UsageTotals, 'run' | 'phases' | 'milestones'> {
  const out: Pick<UsageTotals, 'run' | 'phases' | 'milestones'> = { run: zero(), phases: {}, milestones: {} };
  for (const m of plan?.milestones ?? []) setOwn(out.milestones, m.id, zero());
  for (const p of plan?.phases ?? []) setOwn(out.phases, p.id, zero());
  const milestoneOf = new Map((plan?.phases ?? []).map((p) => [p.id, p.milestone]));
  const tasks = plan?.tasks ?? [];
  for (let i = 0; i < tasks.length; i++) {
    const t = tasks[i]!;
    const total = planTotals[i] ?? zero();
    const phase = getOwn(out.phases, t.phase);
    if (phase !== undefined) addTotal(phase, total);
    const m = milestoneOf.get(t.phase);
    const milestone = m === undefined ? undefined : getOwn(out.milestones, m);
    if (milestone !== undefined) addTotal(milestone, total);
    addTotal(out.run, total);
  }
  for (const total of others) addTotal(out.run, total);
  return out;
}
