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
  const flat: number[] = [];
  for (const t of planTotals) flat.push(t.inputTokens, t.outputTokens, t.costUsd, t.attempts);
  const rolled = usageRollup(
    plan,
    (plan?.tasks ?? []).map((t) => t.phase),
    flat,
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
 * The usage per phase, milestone and run, from each plan task's phase (`taskPhases[i]` of
 * `plan.tasks[i]`) and its figures, flat (`usage[4i..4i+3]`: input tokens, output tokens,
 * cost, attempts), and the totals of tasks no longer in the plan (sorted by task id): the
 * sums {@link usageTotals} makes, in the same order (each task into its phase, its
 * milestone and the run, in plan order; then the others into the run).
 *
 * @example
 * usageRollup(plan, ['P1'], [10, 2, 0.5, 1], []).phases['P1']?.costUsd; // 0.5
 */
export function usageRollup(
  plan: OrchState['plan'],
  taskPhases: readonly string[],
  usage: readonly number[],
  others: readonly UsageTotal[],
): Pick<UsageTotals, 'run' | 'phases' | 'milestones'> {
  const out: Pick<UsageTotals, 'run' | 'phases' | 'milestones'> = { run: zero(), phases: {}, milestones: {} };
  for (const m of plan?.milestones ?? []) setOwn(out.milestones, m.id, zero());
  for (const p of plan?.phases ?? []) setOwn(out.phases, p.id, zero());
  const milestoneOf = new Map((plan?.phases ?? []).map((p) => [p.id, p.milestone]));
  // Each task's phase and milestone totals, looked up once per phase.
  const into = new Map<string, [UsageTotal | undefined, UsageTotal | undefined]>();
  const run = out.run;
  for (let i = 0; i < taskPhases.length; i++) {
    const phaseId = taskPhases[i]!;
    let pair = into.get(phaseId);
    if (pair === undefined) {
      const m = milestoneOf.get(phaseId);
      pair = [getOwn(out.phases, phaseId), m === undefined ? undefined : getOwn(out.milestones, m)];
      into.set(phaseId, pair);
    }
    const input = usage[i * 4]!;
    const output = usage[i * 4 + 1]!;
    const cost = usage[i * 4 + 2]!;
    const attempts = usage[i * 4 + 3]!;
    for (const t of pair) {
      if (t === undefined) continue;
      t.attempts += attempts;
      t.inputTokens += input;
      t.outputTokens += output;
      t.costUsd += cost;
    }
    run.attempts += attempts;
    run.inputTokens += input;
    run.outputTokens += output;
    run.costUsd += cost;
  }
  for (const total of others) addTotal(out.run, total);
  return out;
}
