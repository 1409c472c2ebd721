import { streamIds } from '../../core/events.js';
import { effectiveBudget, roundUsd } from '../../core/state.js';
import type { EventStore } from '../../store/event-store.js';
import { OrchError } from '../../util/errors.js';
import { handleCommand } from '../log/handle-command.js';
import { openLog } from '../log/open.js';
import { EXTERNAL_RUN_ID } from './ci.js';
import { UsageError } from './errors.js';

/**
 * `orch signal budget --raise USD`: a person raises the budget of the run (`BudgetRaised`,
 * actor `user`, on the stream of the last run, or `run-external` when the log has none).
 * Raises add up to the configured `budget`; a run halted by `BudgetExhausted` spawns again
 * on its next decision (the next `orch spawn`), until the raised budget is reached.
 */

/** A raise of the budget. */
export interface BudgetRaiseRequest {
  /** Dollars to add (more than 0). */
  amountUsd: number;
  /** The configured `budget` (from orch.config.json); undefined: none, so nothing to raise. */
  configuredUsd: number | undefined;
  /** Why, kept as the event's reason. */
  summary?: string;
}

/** A recorded raise. */
export interface BudgetRaiseOutcome {
  position: number;
  streamId: string;
  kind: 'budget';
  amountUsd: number;
  /** The budget in force now: the configured one plus every raise. */
  budgetUsd: number;
  /** What the agents have cost so far. */
  spentUsd: number;
  /** Whether the run had halted on the budget before this raise. */
  wasExhausted: boolean;
}

/** The most a single raise may add, so a typo (an extra zero or three) is caught. */
export const MAX_RAISE_USD = 100_000;

/**
 * Opens the log of `stateDir` for writing (never creating it) and records the raise with
 * {@link raiseBudget}.
 *
 * @example
 * orchRaiseBudget('/repo/.state', { amountUsd: 5, configuredUsd: 10 });
 */
export function orchRaiseBudget(stateDir: string, request: BudgetRaiseRequest): BudgetRaiseOutcome {
  const store = openLog(stateDir, { write: true });
  try {
    return raiseBudget(store, request);
  } finally {
    store.close();
  }
}

/**
 * Records `BudgetRaised`. Refused with nothing recorded: an amount that is not a number
 * above 0 (or above {@link MAX_RAISE_USD}) (`USAGE`), and a repository with no `budget`
 * configured (`NO_BUDGET`: there is no limit to raise).
 *
 * @example
 * raiseBudget(store, { amountUsd: 2.5, configuredUsd: 10, summary: 'one more try at T4' });
 */
export function raiseBudget(store: EventStore, request: BudgetRaiseRequest): BudgetRaiseOutcome {
  const { amountUsd, configuredUsd } = request;
  if (!Number.isFinite(amountUsd) || amountUsd <= 0 || amountUsd > MAX_RAISE_USD) {
    throw new UsageError(
      `the budget raise must be a number of dollars above 0 and at most ${MAX_RAISE_USD} (got ${String(amountUsd)})`,
      'pass e.g. --raise 5 to allow $5 more',
    );
  }
  if (configuredUsd === undefined) {
    throw new OrchError('NO_BUDGET', 'no budget is configured, so there is no limit to raise', {
      hint: 'orch spends without a limit when orch.config.json has no "budget"; set one there to cap it',
    });
  }
  return handleCommand(store, ({ state }) => {
    const runId = state.run?.runId;
    const streamId = streamIds.run(runId ?? EXTERNAL_RUN_ID);
    const budgetUsd = roundUsd((effectiveBudget(state, configuredUsd) ?? configuredUsd) + amountUsd);
    return {
      streamId,
      type: 'BudgetRaised',
      data: { amountUsd, ...(request.summary === undefined ? {} : { reason: request.summary }) },
      actor: 'user',
      runId,
      answer: (position) => ({
        position,
        streamId,
        kind: 'budget',
        amountUsd,
        budgetUsd,
        spentUsd: state.costUsd,
        wasExhausted: state.budgetExhausted !== null,
      }),
    };
  });
}
