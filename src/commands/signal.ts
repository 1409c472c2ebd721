import { Args, Flags } from '@oclif/core';
import path from 'node:path';
import { BaseCommand } from './_base.js';
import type { BudgetRaiseOutcome } from '../runtime/operations/budget.js';
import type { SignalCommand, SignalResult } from '../runtime/operations/signal.js';

/**
 * `orch signal complete|blocked|pr`: an agent reports a breakpoint for its spawn
 * (`--spawn` or `ORCH_SPAWN_ID`) in the log of `--state-dir` or `ORCH_STATE_DIR`. Only the
 * current, live spawn of a task may report; anything else is recorded as rejected and
 * exits 1.
 *
 * @example
 * // ORCH_SPAWN_ID=… ORCH_STATE_DIR=… orch signal blocked --on ci --summary "waiting for CI"
 */
export default class Signal extends BaseCommand {
  static override summary =
    'For agents: report a breakpoint (complete, blocked, pr) for this spawn; for people: unblock, cancel or retry a task, or raise the budget.';

  static override description = `Run by an agent (from anywhere): the spawn is --spawn or ORCH_SPAWN_ID, the log is in --state-dir, else ORCH_STATE_DIR, else <repo>/.state.
complete: the work is done (orch runs the quality gate when the agent exits 0). blocked: the work waits for --on ci, --on person (the default) or --on TASK_ID…. pr: the agent opened a pull request (--url required).
A report from an unknown spawn, one that is not its task's current spawn, or one whose agent is no longer live is recorded as SignalRejected (on the task's stream; an unknown spawn on the stream of ORCH_TASK_ID if the plan has that task) and exits 1.
unblock --task ID (run by a person): releases a blocked task (TaskUnblocked, reason person); the next decision gives it a fresh agent. A task that is not blocked is refused (exit 1), an unknown one too (exit 2); nothing is recorded then.
cancel --task ID (run by a person): the task will not be done (TaskCancelled); a running orch stops its live agent. A task already complete, failed or cancelled is refused (exit 1).
retry --task ID (run by a person): a task that failed for good goes back to pending (TaskRetryRequested) with a fresh allowance of maxRetries + 1 attempts; the next orch spawn gives it a fresh agent. A task that is not failed is refused (exit 1), an unknown one too (exit 2).
budget --raise USD (run by a person): allows USD more than the configured budget (BudgetRaised; raises add up); a run halted by the budget spawns again on the next orch spawn. Refused when orch.config.json has no budget (exit 1).`;

  static override examples = [
    '<%= config.bin %> signal complete --summary "implemented add and subtract, tests pass"',
    '<%= config.bin %> signal blocked --on ci',
    '<%= config.bin %> signal blocked --on T001 T002 --summary "needs the parser first"',
    '<%= config.bin %> signal pr --url https://github.com/acme/calc/pull/7',
    '<%= config.bin %> signal complete --spawn 7f3a9c2e --state-dir /repo/.state',
    '<%= config.bin %> signal unblock --task T005 --summary "the API key is in the vault now"',
    '<%= config.bin %> signal cancel --task T007 --summary "not needed after all"',
    '<%= config.bin %> signal retry --task T003 --summary "the test server is back up"',
    '<%= config.bin %> signal budget --raise 5 --summary "T004 is nearly done"',
  ];

  static override args = {
    kind: Args.string({
      description: 'the breakpoint',
      options: ['complete', 'blocked', 'pr', 'unblock', 'cancel', 'retry', 'budget'],
      required: true,
    }),
  };

  static override flags = {
    summary: Flags.string({ description: 'one or two sentences: what was done, or what is needed' }),
    on: Flags.string({
      description: 'blocked: what the work waits for: ci, person, or task ids (default person)',
      multiple: true,
      delimiter: ',',
    }),
    url: Flags.string({ description: 'pr: the pull request URL' }),
    spawn: Flags.string({ description: 'the spawn id (default: ORCH_SPAWN_ID)' }),
    task: Flags.string({ description: 'unblock, cancel, retry: the task' }),
    raise: Flags.string({ description: 'budget: the dollars to add to the budget (e.g. 5 or 2.50)' }),
  };

  async run(): Promise<SignalResult | BudgetRaiseOutcome> {
    const { args, flags } = await this.parse(Signal);
    const envStateDir = nonEmpty(process.env['ORCH_STATE_DIR']);
    const stateDir =
      flags['state-dir'] === undefined && envStateDir !== undefined
        ? path.resolve(envStateDir)
        : this.resolveDirs(flags).stateDir;
    const [{ orchSignal }, { UsageError }, { signalRecordedLine }] = await Promise.all([
      import('../runtime/operations/signal.js'),
      import('../runtime/operations/errors.js'),
      import('../runtime/render/outcomes.js'),
    ]);
    if (args.kind === 'budget') return this.raiseBudget(flags, this.resolveDirs(flags).repoDir, stateDir);
    if (flags.raise !== undefined)
      throw new UsageError(`--raise only applies to orch signal budget, not ${args.kind}`, 'drop --raise');
    let command: SignalCommand;
    if (args.kind === 'unblock' || args.kind === 'cancel' || args.kind === 'retry') {
      const kind = args.kind;
      if (flags.task === undefined || flags.task.trim() === '')
        throw new UsageError(
          `orch signal ${kind} needs --task ID (the task to ${kind === 'unblock' ? 'release' : kind})`,
          'see `orch status` for the task ids',
        );
      if (flags.on !== undefined || flags.url !== undefined || flags.spawn !== undefined)
        throw new UsageError(
          `orch signal ${kind} takes only --task and --summary`,
          'drop --on, --url and --spawn',
        );
      command = {
        kind,
        taskId: flags.task,
        ...(flags.summary === undefined ? {} : { summary: flags.summary }),
      };
    } else {
      if (flags.task !== undefined)
        throw new UsageError(
          `--task only applies to orch signal unblock, cancel and retry, not ${args.kind}`,
          'drop --task',
        );
      const taskHint = nonEmpty(process.env['ORCH_TASK_ID']);
      const runId = nonEmpty(process.env['ORCH_RUN_ID']);
      command = {
        spawnId: flags.spawn ?? process.env['ORCH_SPAWN_ID'] ?? '',
        kind: args.kind as 'complete' | 'blocked' | 'pr',
        ...(flags.summary === undefined ? {} : { summary: flags.summary }),
        ...(flags.on === undefined ? {} : { on: flags.on }),
        ...(flags.url === undefined ? {} : { url: flags.url }),
        ...(taskHint === undefined ? {} : { taskHint }),
        ...(runId === undefined ? {} : { runId }),
      };
    }
    const outcome = orchSignal(stateDir, command);
    this.log(signalRecordedLine(outcome));
    return outcome;
  }

  /** `orch signal budget --raise USD`: the configured budget comes from the repository's config. */
  private async raiseBudget(
    flags: BudgetFlags,
    repoDir: string,
    stateDir: string,
  ): Promise<BudgetRaiseOutcome> {
    const [{ orchRaiseBudget }, { UsageError }, { loadConfig }, { budgetRaisedLine }] = await Promise.all([
      import('../runtime/operations/budget.js'),
      import('../runtime/operations/errors.js'),
      import('../runtime/project/config.js'),
      import('../runtime/render/outcomes.js'),
    ]);
    if (flags.raise === undefined || flags.raise.trim() === '')
      throw new UsageError(
        'orch signal budget needs --raise USD (the dollars to add)',
        'pass e.g. --raise 5',
      );
    if (
      flags.task !== undefined ||
      flags.on !== undefined ||
      flags.url !== undefined ||
      flags.spawn !== undefined
    )
      throw new UsageError(
        'orch signal budget takes only --raise and --summary',
        'drop --task, --on, --url and --spawn',
      );
    const amountUsd = /^\s*\d+(\.\d+)?\s*$/.test(flags.raise) ? Number(flags.raise) : Number.NaN;
    const configuredUsd = loadConfig(repoDir).budget;
    const outcome = orchRaiseBudget(stateDir, {
      amountUsd,
      configuredUsd,
      ...(flags.summary === undefined ? {} : { summary: flags.summary }),
    });
    this.log(budgetRaisedLine(outcome));
    return outcome;
  }
}

/** The flags `orch signal budget` reads. */
interface BudgetFlags {
  raise?: string | undefined;
  summary?: string | undefined;
  task?: string | undefined;
  on?: string[] | undefined;
  url?: string | undefined;
  spawn?: string | undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
