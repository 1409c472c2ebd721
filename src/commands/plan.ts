import { Flags } from '@oclif/core';
import fs from 'node:fs';
import path from 'node:path';
import { BaseCommand } from './_base.js';
import type { GoalRecommendation, PlanProblem, PlanView } from '../plan/index.js';
import type { PlanCheckProblem } from '../core/plan-check.js';
import type { Plan as PlanModel } from '../plan/model.js';
import type { RecordedEvent } from '../core/envelope.js';

/** `orch plan --check --json`: the disagreements between the plan files and the log. */
export interface PlanCheckReport {
  /** Whether a log was found and compared (without one only the files are checked). */
  log: boolean;
  problems: PlanCheckProblem[];
}

/** `orch plan --json`: the plan view, plus the goal report, graph text or check when asked for. */
export type PlanCommandResult = PlanView & {
  goal?: GoalRecommendation;
  graph?: string;
  check?: PlanCheckReport;
};

/**
 * `orch plan`: load, parse and validate the plan, then print milestones → phases →
 * tasks with their status and the ready tasks (or, with `--goal`, the work toward a
 * goal; with `--graph`, the phase graph). An invalid plan exits 1 listing every
 * problem as file:line.
 *
 * @example
 * // orch plan --repo ./calc --json
 */
export default class Plan extends BaseCommand {
  static override summary =
    'Load, parse and validate the plan; show milestones, phases, tasks and what is ready.';

  static override description = `Reads the plan from --plan-dir, else from config "planDir" (default .state/plans); if that does not exist, the first of these that exists in the repository: plans/roadmap.md, roadmap.md, ROADMAP.md, docs/roadmap.md, plans/plan.yaml, plans/plan.yml, plans/plan.json, plan.yaml, plan.yml, plan.json.
A plan directory holds project.md (format A) or a roadmap.md / plan.yaml / plan.json; a file is read by its extension (.md roadmap, .yaml/.yml or .json plan).
Statuses come from the plan files (a phase marked complete counts all its tasks complete). Exit 1 on an invalid plan, with every problem listed as file:line.
--check compares the plan files with the log (<state-dir>/orch.db, opened read-only): a task, phase or milestone complete in one but not the other, a dependency marked ✅ that is not complete, a task that has history in the log but is gone from the files. It lists each as file:line and exits 1 if there is any. Without a log only the files are checked.`;

  static override examples = [
    '<%= config.bin %> plan',
    '<%= config.bin %> plan --plan-dir plans/roadmap.md --json',
    '<%= config.bin %> plan --goal "a command-line calculator"',
    '<%= config.bin %> plan --graph mermaid > plan.mmd',
    '<%= config.bin %> plan --check',
  ];

  static override flags = {
    'plan-dir': Flags.string({
      description: 'the plan directory or file (default: config planDir, then the usual places)',
    }),
    goal: Flags.string({
      description: 'rank the phases and tasks that match this goal and list the work toward it',
    }),
    graph: Flags.option({
      options: ['mermaid', 'dot'] as const,
      description: 'print the phase graph instead of the tree',
    })(),
    check: Flags.boolean({
      description: 'list every disagreement between the plan files and the log; exit 1 if there is any',
      default: false,
    }),
  };

  async run(): Promise<PlanCommandResult> {
    const { flags } = await this.parse(Plan);
    const { repoDir, stateDir } = this.resolveDirs(flags);
    const [{ loadConfig }, planSet, api] = await Promise.all([
      import('../runtime/project/config.js'),
      import('../runtime/project/plan-set.js'),
      import('../plan/index.js'),
    ]);
    const config = loadConfig(repoDir);
    // The main plan and each target's own plan, read and validated as one.
    const sources = planSet.findPlanSources(repoDir, config, flags['plan-dir']);
    const shown = sources.map((s) => s.source).join(' + ');
    const main = sources.find((s) => s.target === null);
    const base =
      main === undefined
        ? repoDir
        : fs.statSync(main.location).isFile()
          ? path.dirname(main.location)
          : main.location;
    const labelMain = (file: string): string => path.relative(repoDir, path.join(base, file));
    const loaded = planSet.readPlanSet(sources, {
      agentRoles: Object.keys(config.agents),
      targets: Object.keys(config.targets ?? {}),
      targetAgentRoles: planSet.targetAgentRoles(config),
      labelMain,
    });
    if (loaded.problems.length > 0) throw new api.PlanValidationError(shown, loaded.problems);
    // Every entity's file named from the repository, so an editor can open file:line.
    const plan: PlanModel = { ...loaded.labelled, source: shown };
    const graph = loaded.graph;
    const completed = api.declaredCompletion(plan);
    const result: PlanCommandResult = api.planView(plan, graph, completed);
    if (flags.goal !== undefined) result.goal = api.recommendForGoal(plan, graph, flags.goal, completed);
    if (flags.graph !== undefined)
      result.graph = flags.graph === 'mermaid' ? api.renderMermaid(result) : api.renderDot(result);
    if (flags.check) {
      result.check = await checkAgainstLog(plan, loaded.files, stateDir);
      if (result.check.problems.length > 0) process.exitCode = 1;
    }
    if (!this.jsonEnabled()) {
      if (result.check) this.log(renderCheck(result.check, plan.name, shown));
      else if (result.graph !== undefined) this.log(result.graph);
      else if (result.goal)
        this.log(`${plan.name} (${shown}): ${result.ready.length} ready\n\n${api.renderGoal(result.goal)}`);
      else this.log(api.renderTree(result));
    }
    return result;
  }

  protected override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    const problems = (err as { problems?: unknown }).problems;
    const { isOrchError } = await import('../util/errors.js');
    if (this.jsonEnabled() || !isOrchError(err) || !Array.isArray(problems) || problems.length === 0)
      return super.catch(err);
    // Every problem on its own line, so an editor can jump to each file:line.
    const list = problems as PlanProblem[];
    const at = (p: PlanProblem): string => `${p.file}${p.line > 0 ? `:${p.line}` : ''}`;
    const body =
      list.length === 1 && list[0]
        ? `Error: ${at(list[0])}: ${list[0].message}\n`
        : `Error: ${err.message}:\n${list.map((p) => `  ${at(p)}: ${p.message}`).join('\n')}\n`;
    process.exitCode = err.exitCode;
    process.stderr.write(`${body}${err.hint ? `Hint: ${err.hint}\n` : ''}`);
    return undefined;
  }
}

/**
 * Reads the log (read-only; none is fine) and lists its disagreements with the plan files
 * (`plan` with its sources named as the keys of `files`).
 */
async function checkAgainstLog(
  plan: PlanModel,
  files: Readonly<Record<string, string>>,
  stateDir: string,
): Promise<PlanCheckReport> {
  const [{ checkPlanAgainstLog }, { replay }, store] = await Promise.all([
    import('../core/plan-check.js'),
    import('../core/replayer.js'),
    import('../store/index.js'),
  ]);
  const lines = (file: string) => files[file]?.split(/\r?\n/);
  const dbFile = path.join(stateDir, 'orch.db');
  let events: RecordedEvent[] | null = null;
  if (fs.existsSync(dbFile)) {
    const log = store.openSqliteEventStore(dbFile, { readonly: true });
    try {
      events = [...log.readAll()];
    } finally {
      log.close();
    }
  }
  const state = events === null ? null : replay(events);
  return { log: events !== null, problems: checkPlanAgainstLog(plan, state, events, lines) };
}

function renderCheck(check: PlanCheckReport, name: string, shown: string): string {
  const against = check.log ? 'the log' : 'itself (no log yet)';
  if (check.problems.length === 0) return `${name} (${shown}): the plan files agree with ${against}.`;
  const list = check.problems.map((p) => `  ${p.file}${p.line > 0 ? `:${p.line}` : ''}: ${p.message}`);
  return `${name} (${shown}): ${check.problems.length} disagreement(s) with ${against}:\n${list.join('\n')}`;
}
