import fs from 'node:fs';
import path from 'node:path';
import type { RecordedEvent } from '../../core/envelope.js';
import type { PlanCheckProblem } from '../../core/plan-check.js';
import {
  declaredCompletion,
  planView,
  PlanValidationError,
  recommendForGoal,
  renderDot,
  renderMermaid,
  type GoalRecommendation,
  type PlanView,
} from '../../plan/index.js';
import type { Plan } from '../../plan/model.js';
import { checkAgentFiles } from '../project/agent-files.js';
import { loadConfig } from '../project/config.js';
import { findPlanSources, planSetOptionsFor, readPlanSet } from '../project/plan-set.js';

/**
 * `orch plan`: the plan read from its files (the main plan and each target's own plan, read
 * and validated as one), shown as a view of what the files declare; on request the work
 * toward a goal, the phase graph, or the check of the files against the log.
 */

/** `orch plan --check --json`: the disagreements between the plan files and the log. */
export interface PlanCheckReport {
  /** Whether a log was found and compared (without one only the files are checked). */
  log: boolean;
  problems: PlanCheckProblem[];
}

/** `orch plan --json`: the plan view, plus the goal report, graph text or check when asked for. */
export type PlanResult = PlanView & {
  goal?: GoalRecommendation;
  graph?: string;
  check?: PlanCheckReport;
};

/** What `orch plan` is asked. */
export interface PlanRequest {
  /** The git repository (its `orch.config.json` and plan). */
  repoDir: string;
  /** Where the log is (`--check` only). */
  stateDir: string;
  /** The plan directory or file (default: config `planDir`, then the usual places). */
  planDir?: string;
  /** Rank the phases and tasks that match this goal. */
  goal?: string;
  /** The phase graph as Mermaid or Graphviz DOT text. */
  graph?: 'mermaid' | 'dot';
  /** Compare the plan files with the log. */
  check?: boolean;
  /** Told what the configuration ignores (keys of config/targets.yaml orch does not use). */
  onNote?: (note: string) => void;
}

/**
 * Loads, parses and validates the plan and builds its view; an invalid plan throws
 * `PlanValidationError` with every problem, its files named from the repository so an
 * editor can open `file:line`.
 *
 * @example
 * const result = await orchPlan({ repoDir: '/work/calc', stateDir: '/work/calc/.state', check: true });
 * result.check?.problems.length; // 0
 */
export async function orchPlan(request: PlanRequest): Promise<PlanResult> {
  const { repoDir } = request;
  const config = loadConfig(repoDir, {}, request.onNote === undefined ? {} : { onNote: request.onNote });
  checkAgentFiles(repoDir, config);
  const sources = findPlanSources(repoDir, config, request.planDir);
  const shown = sources.map((s) => s.source).join(' + ');
  const main = sources.find((s) => s.target === null);
  const base =
    main === undefined
      ? repoDir
      : fs.statSync(main.location).isFile()
        ? path.dirname(main.location)
        : main.location;
  const labelMain = (file: string): string => path.relative(repoDir, path.join(base, file));
  const loaded = readPlanSet(sources, { ...planSetOptionsFor(config), labelMain });
  if (loaded.problems.length > 0) throw new PlanValidationError(shown, loaded.problems);
  // Every entity's file named from the repository, so an editor can open file:line.
  const plan: Plan = { ...loaded.labelled, source: shown };
  const graph = loaded.graph;
  const completed = declaredCompletion(plan);
  const result: PlanResult = planView(plan, graph, completed);
  if (request.goal !== undefined) result.goal = recommendForGoal(plan, graph, request.goal, completed);
  if (request.graph !== undefined)
    result.graph = request.graph === 'mermaid' ? renderMermaid(result) : renderDot(result);
  if (request.check === true) result.check = await checkAgainstLog(plan, loaded.files, request.stateDir);
  return result;
}

/**
 * Reads the log (read-only; none is fine) and lists its disagreements with the plan files
 * (`plan` with its sources named as the keys of `files`). The store and the fold are
 * loaded only here, so a plain `orch plan` does not load them.
 */
async function checkAgainstLog(
  plan: Plan,
  files: Readonly<Record<string, string>>,
  stateDir: string,
): Promise<PlanCheckReport> {
  const [{ checkPlanAgainstLog }, { replay }, { openLogIfAny }] = await Promise.all([
    import('../../core/plan-check.js'),
    import('../../core/replayer.js'),
    import('../log/open.js'),
  ]);
  const lines = (file: string) => files[file]?.split(/\r?\n/);
  let events: RecordedEvent[] | null = null;
  const log = openLogIfAny(stateDir);
  if (log !== null) {
    try {
      events = [...log.readAll()];
    } finally {
      log.close();
    }
  }
  const state = events === null ? null : replay(events);
  return { log: events !== null, problems: checkPlanAgainstLog(plan, state, events, lines) };
}
