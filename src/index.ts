/**
 * orch's programmatic API. Everything the CLI does is reachable from here.
 *
 * @example
 * import { Orchestrator, runOrchestration } from 'orch';
 * const outcome = await runOrchestration({ repoDir: '/path/to/repo' });
 * console.log(outcome.exitCode, outcome.reason);
 */
import { loadConfig } from './runtime/project/config.js';
import {
  Orchestrator,
  type OrchestratorOptions,
  type RunOutcome,
} from './runtime/orchestrator/orchestrator.js';

export {
  Orchestrator,
  type OrchestratorOptions,
  type OrchestratorWarning,
  type RunOutcome,
} from './runtime/orchestrator/orchestrator.js';
export { OrchestratorError } from './runtime/orchestrator/errors.js';
export { AgentSpawnError, LeaseHeldError } from './runtime/system/errors.js';
export { PlanParseError, PlanValidationError, type PlanProblem } from './plan/errors.js';
export { OrchError, isOrchError } from './util/errors.js';
export { ConcurrencyError, StoreError } from './store/errors.js';

export { loadConfig } from './runtime/project/config.js';
export {
  DEFAULT_CONFIG,
  OrchestratorConfigSchema,
  type OrchestratorConfig,
  type OrchestratorConfigInput,
  type AgentCommand,
  type AgentEntryInput,
} from './core/config.js';
export { AGENT_PRESETS, presetCommand, type AgentPreset } from './core/agent-presets.js';
export { findPlan, loadPlan, type LoadedPlan } from './runtime/project/plan-loader.js';
export {
  findPlanSources,
  loadPlanSet,
  readPlanSet,
  type PlanSource,
  type LoadedPlanSet,
} from './runtime/project/plan-set.js';
export type { Plan, Milestone, Phase, Task, Persona } from './plan/model.js';
export { statusView, type StatusView } from './core/status-view.js';
export { goalSelection, type GoalSelection } from './core/selection.js';
export {
  orchPlanDraft,
  type DraftRequest,
  type DraftResult,
  type DraftAttempt,
} from './runtime/operations/draft.js';
export { type OrchState, initialState } from './core/state.js';
export { evolve, stateAt } from './core/evolve.js';
export { replay, Replayer } from './core/replayer.js';
export { decide } from './core/decide.js';
export { checkInvariants } from './core/invariants.js';
export { EVENT_SCHEMAS, type OrchEventType } from './core/events.js';
export type { RecordedEvent, NewEvent, EventMetadata } from './core/envelope.js';
export { openSqliteEventStore, createMemoryEventStore, type EventStore } from './store/index.js';

/** Options of {@link runOrchestration}. */
export interface RunOrchestrationOptions extends Omit<OrchestratorOptions, 'repoDir' | 'planDir'> {
  /** The git repository (default: the current directory). */
  repoDir?: string;
  /** The plan directory or file (default: config `planDir`, then the usual places). */
  planDir?: string;
}

/**
 * Runs the whole orchestration once, like `orch spawn`: loads the config of `repoDir`
 * (unless one is given), runs until the work is complete or waits on the outside, and
 * resolves to how it ended (`exitCode` 0 · 1 · 2 · 130, `reason`, `status`).
 *
 * @example
 * const { exitCode, status } = await runOrchestration({ planDir: '.state/plans', repoDir: '.' });
 */
export async function runOrchestration(options: RunOrchestrationOptions = {}): Promise<RunOutcome> {
  const repoDir = options.repoDir ?? process.cwd();
  const orch = new Orchestrator({ ...options, repoDir, config: options.config ?? loadConfig(repoDir) });
  return orch.run();
}
