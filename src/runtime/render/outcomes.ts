import type { GoalRecommendation, PlanView } from '../../plan/index.js';
import { renderGoal, renderTree } from '../../plan/index.js';
import { fileLine, terminalSafe } from './format.js';

/**
 * The text of the operations' typed results: what `orch ci` and `orch signal` recorded,
 * what `orch replay --verify` checked, and what `orch plan` shows (the tree, the goal
 * report, the phase graph, the check against the log, the problems of an invalid plan).
 * Each takes only the fields it prints.
 */

/**
 * `orch ci`: the line that confirms a recorded result.
 *
 * @example
 * ciRecordedLine({ result: 'pass', position: 61, streamId: 'run-r1' });
 * // 'recorded CI pass at log position 61 (run-r1)'
 */
export function ciRecordedLine(outcome: { result: string; position: number; streamId: string }): string {
  return terminalSafe(
    `recorded CI ${outcome.result} at log position ${outcome.position} (${outcome.streamId})`,
  );
}

/** What `orch signal` recorded: a report, a release, a cancellation or a retry (by `kind`). */
export type SignalRecorded =
  | { kind: 'cancel'; taskId: string; was: string; position: number }
  | { kind: 'unblock'; taskId: string; wasBlockedOn: readonly string[]; position: number }
  | { kind: 'retry'; taskId: string; attempts: number; position: number }
  | {
      kind: 'complete' | 'blocked' | 'pr';
      taskId: string;
      spawnId: string;
      on: readonly string[] | null;
      position: number;
    };

/**
 * `orch signal`: the line that confirms what was recorded.
 *
 * @example
 * signalRecordedLine({ kind: 'complete', taskId: 'T004', spawnId: 's7', on: null, position: 61 });
 * // 'recorded complete for task T004 (spawn s7) at log position 61'
 */
export function signalRecordedLine(outcome: SignalRecorded): string {
  return terminalSafe(signalRecordedText(outcome));
}

function signalRecordedText(outcome: SignalRecorded): string {
  switch (outcome.kind) {
    case 'cancel':
      return `cancelled task ${outcome.taskId} (it was ${outcome.was}) at log position ${outcome.position}; a running orch stops its agent`;
    case 'unblock':
      return `released task ${outcome.taskId} (blocked on ${outcome.wasBlockedOn.join(', ')}) at log position ${outcome.position}; orch spawn gives it a fresh agent`;
    case 'retry':
      return `retried task ${outcome.taskId} (failed after ${outcome.attempts} attempt(s)) at log position ${outcome.position}; orch spawn gives it a fresh allowance of attempts`;
    default: {
      const on = outcome.on === null ? '' : ` on ${outcome.on.join(', ')}`;
      return `recorded ${outcome.kind}${on} for task ${outcome.taskId} (spawn ${outcome.spawnId}) at log position ${outcome.position}`;
    }
  }
}

/**
 * `orch signal budget`: the line that confirms the raise.
 *
 * @example
 * budgetRaisedLine({ amountUsd: 5, budgetUsd: 15, spentUsd: 10.2, wasExhausted: true, position: 70 });
 * // 'raised the budget by $5.00 to $15.00 ($10.20 spent) at log position 70; orch spawn spawns again'
 */
export function budgetRaisedLine(outcome: {
  amountUsd: number;
  budgetUsd: number;
  spentUsd: number;
  wasExhausted: boolean;
  position: number;
}): string {
  const usd = (n: number) => `$${n.toFixed(2)}`;
  return (
    `raised the budget by ${usd(outcome.amountUsd)} to ${usd(outcome.budgetUsd)} (${usd(outcome.spentUsd)} spent) ` +
    `at log position ${outcome.position}` +
    (outcome.wasExhausted ? '; orch spawn spawns again' : '')
  );
}

/** What `orch replay --verify` checked (the fields the line names). */
export interface VerifiedSummary {
  events: number;
  pureEvents: number;
  invariants: readonly string[];
  snapshot: number | null;
  statusCache: number | null;
}

/**
 * `orch replay --verify`: the line that says what was checked and found in agreement.
 *
 * @example
 * verifiedLine({ events: 60, pureEvents: 60, invariants: ['a', 'b'], snapshot: null, statusCache: 58 });
 * // 'verified 60 events, 2 invariants (pure evolve re-folded all of them; no state snapshot to check; status cache at 58 matches)'
 */
export function verifiedLine(r: VerifiedSummary): string {
  const pure = r.pureEvents === r.events ? 'all of them' : `the first ${r.pureEvents}`;
  const caches = [
    r.snapshot === null ? 'no state snapshot to check' : `state snapshot at ${r.snapshot} matches`,
    r.statusCache === null ? 'no status cache to check' : `status cache at ${r.statusCache} matches`,
  ];
  return `verified ${r.events} events, ${r.invariants.length} invariants (pure evolve re-folded ${pure}; ${caches.join('; ')})`;
}

/** The check of `orch plan --check` (the fields the text names). */
export interface PlanCheckSummary {
  /** Whether a log was compared. */
  log: boolean;
  problems: readonly { file: string; line: number; message: string }[];
}

/** What `orch plan` shows: the view, plus the goal report, graph text or check when asked for. */
export type PlanShown = PlanView & { goal?: GoalRecommendation; graph?: string; check?: PlanCheckSummary };

/**
 * `orch plan`: the check when there is one, else the graph, else the goal report, else
 * the tree.
 *
 * @example
 * console.log(planText(result));
 */
export function planText(shown: PlanShown): string {
  return terminalSafe(planTextRaw(shown));
}

function planTextRaw(shown: PlanShown): string {
  const { name, source } = shown.plan;
  if (shown.check) return planCheckText(shown.check, name, source);
  if (shown.graph !== undefined) return shown.graph;
  if (shown.goal) return `${name} (${source}): ${shown.ready.length} ready\n\n${renderGoal(shown.goal)}`;
  return renderTree(shown);
}

function planCheckText(check: PlanCheckSummary, name: string, shown: string): string {
  const against = check.log ? 'the log' : 'itself (no log yet)';
  if (check.problems.length === 0) return `${name} (${shown}): the plan files agree with ${against}.`;
  const list = check.problems.map((p) => `  ${fileLine(p)}: ${p.message}`);
  return `${name} (${shown}): ${check.problems.length} disagreement(s) with ${against}:\n${list.join('\n')}`;
}

/**
 * An invalid plan on stderr: every problem on its own line as `file:line: message`, so an
 * editor can jump to each (one problem: on the error line itself).
 *
 * @example
 * planProblemsText('plan .state/plans is invalid', [{ file: 'plan.yaml', line: 3, message: 'no id' }], undefined);
 * // 'Error: plan.yaml:3: no id\n'
 */
export function planProblemsText(
  message: string,
  problems: readonly { file: string; line: number; message: string }[],
  hint: string | undefined,
): string {
  const [only] = problems;
  const body =
    problems.length === 1 && only
      ? `Error: ${fileLine(only)}: ${only.message}\n`
      : `Error: ${message}:\n${problems.map((p) => `  ${fileLine(p)}: ${p.message}`).join('\n')}\n`;
  return terminalSafe(`${body}${hint ? `Hint: ${hint}\n` : ''}`);
}

/**
 * `orch spawn --goal`: what the goal chose and why (the matches with their terms, the work
 * in dependency order) and the tasks the run will spawn agents for.
 *
 * @example
 * goalChoiceText({ recommendation, tasks: ['T1', 'T2'] }).split('\n').at(-1); // 'Running: T1, T2'
 */
export function goalChoiceText(choice: {
  recommendation: GoalRecommendation;
  tasks: readonly string[];
}): string {
  return `${renderGoal(choice.recommendation)}\nRunning: ${choice.tasks.join(', ')}`;
}

/**
 * `orch plan --draft`: one line per attempt of the planner (exit code, problems, usage),
 * then where the accepted plan was written.
 *
 * @example
 * draftAttemptsText(draft).split('\n')[0]; // 'Drafted a plan for "a calculator" in plan.yaml (yaml):'
 */
export function draftAttemptsText(draft: {
  goal: string;
  file: string;
  format: string;
  attempts: readonly {
    attempt: number;
    exitCode: number | null;
    problemCount: number;
    problems: readonly { file: string; line: number; message: string }[];
    usage?: { inputTokens?: number; outputTokens?: number; costUsd?: number };
  }[];
}): string {
  const out = [`Drafted a plan for ${JSON.stringify(draft.goal)} in ${draft.file} (${draft.format}):`];
  for (const a of draft.attempts) {
    const usage = a.usage
      ? `, ${a.usage.inputTokens ?? 0} in / ${a.usage.outputTokens ?? 0} out tokens${a.usage.costUsd === undefined ? '' : `, $${a.usage.costUsd.toFixed(2)}`}`
      : '';
    const verdict = a.problemCount === 0 ? 'valid' : `${a.problemCount} problem(s)`;
    out.push(`  attempt ${a.attempt}: exit ${a.exitCode ?? 'none'}, ${verdict}${usage}`);
    for (const p of a.problems) out.push(`    ${fileLine(p)}: ${p.message}`);
  }
  return out.join('\n');
}
