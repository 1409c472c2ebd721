import { Flags } from '@oclif/core';
import { isOrchError } from '../util/errors.js';
import { BaseCommand } from './_base.js';
import type { PlanProblem } from '../plan/index.js';
import type { DraftResult } from '../runtime/operations/draft.js';
import type { PlanResult } from '../runtime/operations/plan.js';

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
--check compares the plan files with the log (<state-dir>/orch.db, opened read-only): a task, phase or milestone complete in one but not the other, a dependency marked ✅ that is not complete, a task that has history in the log but is gone from the files. It lists each as file:line and exits 1 if there is any. Without a log only the files are checked.
--draft "GOAL" has the planner agent (agents.planner, else agents.default) write a plan for the goal, in the repository (not a worktree), in the format of the plan already there (else plan.yaml, format C); orch validates it and gives every problem, as file:line, to the next attempt, up to 1 + min(maxRetries, 2) attempts. Each attempt is recorded in the log. It takes the state directory's lease (exit 3 while orch spawn runs). The accepted plan is printed as orch plan prints it; nothing runs until orch spawn. Exit 1 when no attempt produced a valid plan.`;

  static override examples = [
    '<%= config.bin %> plan',
    '<%= config.bin %> plan --plan-dir plans/roadmap.md --json',
    '<%= config.bin %> plan --goal "a command-line calculator"',
    '<%= config.bin %> plan --graph mermaid > plan.mmd',
    '<%= config.bin %> plan --check',
    '<%= config.bin %> plan --draft "a command-line calculator with a REPL"',
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
    draft: Flags.string({
      description:
        'have the planner agent write a plan for this goal, validated and retried with its problems; nothing runs until orch spawn',
      exclusive: ['goal', 'graph', 'check'],
    }),
    check: Flags.boolean({
      description: 'list every disagreement between the plan files and the log; exit 1 if there is any',
      default: false,
    }),
  };

  async run(): Promise<PlanResult | DraftResult> {
    const { flags } = await this.parse(Plan);
    const { repoDir, stateDir } = this.resolveDirs(flags);
    if (flags.draft !== undefined) {
      const [{ orchPlanDraft }, { planText, draftAttemptsText }] = await Promise.all([
        import('../runtime/operations/draft.js'),
        import('../runtime/render/outcomes.js'),
      ]);
      // Ctrl-C / SIGTERM stop the planner's whole process group (exit 130).
      const abort = new AbortController();
      const onSignal = () => abort.abort();
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      let drafted;
      try {
        drafted = await orchPlanDraft({
          repoDir,
          stateDir,
          goal: flags.draft,
          signal: abort.signal,
          ...(flags['plan-dir'] === undefined ? {} : { planDir: flags['plan-dir'] }),
        });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      if (!this.jsonEnabled()) {
        this.log(draftAttemptsText(drafted.draft));
        this.log('');
        this.log(planText(drafted));
        this.log('');
        this.log('Nothing runs until you run orch spawn.');
      }
      return drafted;
    }
    const [{ orchPlan }, { planText }] = await Promise.all([
      import('../runtime/operations/plan.js'),
      import('../runtime/render/outcomes.js'),
    ]);
    const result = await orchPlan({
      repoDir,
      stateDir,
      ...(flags['plan-dir'] === undefined ? {} : { planDir: flags['plan-dir'] }),
      ...(flags.goal === undefined ? {} : { goal: flags.goal }),
      ...(flags.graph === undefined ? {} : { graph: flags.graph }),
      check: flags.check,
      // Notes (keys of config/targets.yaml orch ignores) go to stderr, also with --json.
      onNote: (note) => process.stderr.write(`orch: ${note}\n`),
    });
    if (result.check !== undefined && result.check.problems.length > 0) process.exitCode = 1;
    if (!this.jsonEnabled()) this.log(planText(result));
    return result;
  }

  protected override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    const problems = (err as { problems?: unknown }).problems;
    if (this.jsonEnabled() || !isOrchError(err) || !Array.isArray(problems) || problems.length === 0)
      return super.catch(err);
    // Every problem on its own line, so an editor can jump to each file:line.
    const [{ planProblemsText }, { fileLine }] = await Promise.all([
      import('../runtime/render/outcomes.js'),
      import('../runtime/render/format.js'),
    ]);
    process.exitCode = err.exitCode;
    const list = problems as PlanProblem[];
    // A failed draft says so first, then its problems, even when one is left.
    const text =
      err.code === 'PLAN_DRAFT_FAILED'
        ? `Error: ${err.message}:\n${list.map((p) => `  ${fileLine(p)}: ${p.message}\n`).join('')}${err.hint ? `Hint: ${err.hint}\n` : ''}`
        : planProblemsText(err.message, list, err.hint);
    process.stderr.write(text);
    return undefined;
  }
}
