/**
 * The plan API in one place: the model, the parsers for formats A, B and C, validation,
 * the dependency graph and ready set, goal matching, the `orch plan` view and renderers,
 * and status write-back. Everything here is pure; reading files is
 * `src/runtime/project/plan-loader.ts`.
 *
 * @example
 * import { parsePlanFiles, checkPlan, buildPlanGraph, readyTasks, declaredCompletion } from './index.js';
 * const plan = checkPlan(parsePlanFiles({ files, source: '.state/plans' }), { agentRoles: ['default'] });
 * const ready = readyTasks(buildPlanGraph(plan), declaredCompletion(plan));
 */
export * from './model.js';
export {
  PlanParseError,
  PlanValidationError,
  PlanWriteBackError,
  fileLine,
  problemAt,
  sortProblems,
  type PlanProblem,
} from './errors.js';
export { detectPlanFormat, ENTRY_NAMES, parsePlanFiles, type PlanFiles } from './parse-plan.js';
export { NO_MILESTONE, parseDirectoryPlan, type ParsedPlan } from './parse-directory.js';
export { parseRoadmap } from './parse-roadmap.js';
export { parseStructuredPlan } from './parse-structured.js';
export { parsePersona } from './parse-persona.js';
export { checkPlan, validatePlan, type ValidateOptions } from './validate.js';
export { buildPlanGraph, endNode, startNode, type PlanGraph } from './graph.js';
export {
  declaredCompletion,
  evaluate,
  phaseOrder,
  readyTasks,
  sortByRank,
  tasksRequiredFor,
  topologicalOrder,
  type PlanProgress,
} from './progress.js';
export {
  matchGoal,
  recommendForGoal,
  stem,
  tokenize,
  type GoalMatch,
  type GoalOptions,
  type GoalRecommendation,
  type RecommendedTask,
} from './goal.js';
export { planView, type PlanView, type ViewPhaseStatus, type ViewTaskStatus } from './view.js';
export { renderDot, renderGoal, renderMermaid, renderTree } from './render.js';
export { writeBackStatuses, type StatusUpdate, type WriteBackOptions } from './write-back.js';
export { naturalCompare } from './text.js';
export {
  combinePlans,
  foreignTargetProblems,
  namespacedId,
  namespacePlan,
  relabelSources,
  renamePlanIds,
  TARGET_SEPARATOR,
  taskTarget,
  unknownTargetProblems,
  type TargetPlanPart,
} from './targets.js';
