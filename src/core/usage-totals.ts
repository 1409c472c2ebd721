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
 * The usage agents reported on exit (`AgentExited.usage`), totalled per task, phase,
 * milestone and run. Every plan entity has an entry (zero when nothing ran); agents of
 * tasks no longer in the plan count only in `run`. Pure: a read model of the state.
 *
 * @example
 * const { run, tasks } = usageTotals(state);
 * console.log(`$${run.costUsd.toFixed(2)}, T001: ${tasks['T001']?.outputTokens ?? 0} tokens out`);
 */
export function usageTotals(
  state: OrchState,
  agents: readonly AgentRecord[] = Object.values(state.agents),
): UsageTotals {
  const out: UsageTotals = { run: zero(), tasks: {}, phases: {}, milestones: {} };
  const plan = state.plan;
  for (const m of plan?.milestones ?? []) setOwn(out.milestones, m.id, zero());
  for (const p of plan?.phases ?? []) setOwn(out.phases, p.id, zero());
  for (const t of plan?.tasks ?? []) setOwn(out.tasks, t.id, zero());
  const phaseOf = new Map((plan?.tasks ?? []).map((t) => [t.id, t.phase]));
  const milestoneOf = new Map((plan?.phases ?? []).map((p) => [p.id, p.milestone]));
  // The totals an agent of a task counts towards (task, phase, milestone), worked out once per
  // task: a long log has a hundred thousand agents and a few hundred tasks.
  const scopesOf = new Map<string, UsageTotal[]>();
  const scopes = (task: string): UsageTotal[] => {
    let list = scopesOf.get(task);
    if (list === undefined) {
      const phase = phaseOf.get(task);
      const milestone = phase === undefined ? undefined : milestoneOf.get(phase);
      list = [
        getOwn(out.tasks, task),
        phase === undefined ? undefined : getOwn(out.phases, phase),
        milestone === undefined ? undefined : getOwn(out.milestones, milestone),
      ].filter((t): t is UsageTotal => t !== undefined);
      scopesOf.set(task, list);
    }
    return list;
  };
  const run = out.run;
  for (const a of agents) {
    const input = a.inputTokens ?? 0;
    const output = a.outputTokens ?? 0;
    const cost = a.costUsd ?? 0;
    run.attempts += 1;
    run.inputTokens += input;
    run.outputTokens += output;
    run.costUsd += cost;
    for (const total of scopes(a.task)) {
      total.attempts += 1;
      total.inputTokens += input;
      total.outputTokens += output;
      total.costUsd += cost;
    }
  }
  return out;
}
