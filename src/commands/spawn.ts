import { Args, Flags } from '@oclif/core';
import { BaseCommand } from './_base.js';
import type { GoalSelection } from '../core/selection.js';
import type { StatusView } from '../core/status-view.js';

/** `orch spawn --json`: how the run ended and the state it left (with `--goal`, what it chose). */
export interface SpawnCommandResult {
  exitCode: number;
  reason: string;
  status: StatusView;
  goal?: GoalSelection;
}

/**
 * `orch spawn`: the orchestration loop. Spawns agents for ready tasks (all, or those named),
 * runs each task's retry loop, reacts to breakpoints, CI events and merges, until nothing
 * more can happen. Exit 0 when the selected work is complete, 2 when it waits on outside
 * events, 1 when a task failed for good, 3 when another orch process holds the state
 * directory, 130 when interrupted.
 *
 * @example
 * // orch spawn T003 T004 --max-concurrent 2
 */
export default class Spawn extends BaseCommand {
  static override summary = 'Run agents for the ready tasks until the work is done or waits on the outside.';

  static override description = `Decides, spawns and records: one agent process per ready task (in its own git worktree on branch orch/<task>), a fresh agent per attempt up to maxRetries, retryInterval apart; a task is complete when its agent exits 0 (a "complete" signal records its summary; the exit still decides) and the quality gate passes, then its branch is merged into the integration branch.
Every step is an event in <state-dir>/orch.db; killed at any moment, the next "orch spawn" replays the log and reconciles what was in flight.
--goal ranks the phases and tasks by the goal as "orch plan --goal" does, prints the matches (with the matched terms) and the work toward them, and runs only those tasks and every incomplete task they depend on, dependencies first; a goal that matches nothing exits 1 (NO_GOAL_MATCH) before anything runs.
Exit codes: 0 the selected work is complete · 1 a task failed for good · 2 waiting on an outside event (CI, a person, a task not selected) · 3 another orch process holds this state directory · 130 interrupted (Ctrl-C / SIGTERM).`;

  static override examples = [
    '<%= config.bin %> spawn',
    '<%= config.bin %> spawn T003 T004',
    '<%= config.bin %> spawn --role tester --max-concurrent 2',
    '<%= config.bin %> spawn --target api',
    '<%= config.bin %> spawn --goal "a command-line calculator"',
    '<%= config.bin %> spawn --agent-cmd \'["node","agent.js","{promptFile}"]\'',
  ];

  static override strict = false;

  static override args = {
    taskIds: Args.string({ description: 'only spawn agents for these tasks (default: every ready task)' }),
  };

  static override flags = {
    goal: Flags.string({
      description:
        'run the work toward this goal: the tasks that match it (as `orch plan --goal`) and everything they depend on',
    }),
    role: Flags.string({ description: 'only spawn agents for tasks of this role' }),
    target: Flags.string({
      description: 'only spawn agents for tasks of this target (an id in `targets` of the config)',
    }),
    'max-concurrent': Flags.integer({ description: 'at most this many agents at once', min: 1 }),
    'max-retries': Flags.integer({
      description: 'attempts after the first before a task fails for good',
      min: 0,
    }),
    'retry-interval': Flags.integer({ description: 'seconds between attempts of a task', min: 0 }),
    'agent-cmd': Flags.string({
      description:
        'the agent command for every role: a JSON array (["node","a.js","{prompt}"]) or words split on spaces (no shell)',
    }),
    'plan-dir': Flags.string({ description: 'the plan directory or file (default: config planDir)' }),
    'leave-agents': Flags.boolean({
      description: 'on Ctrl-C/SIGTERM leave running agents alive (the next run re-attaches to them)',
      default: false,
    }),
    quiet: Flags.boolean({ char: 'q', description: 'no progress lines, only the summary', default: false }),
    worker: Flags.string({
      description:
        'run as a worker under this name, one of several over one shared log (store.url / ORCH_DATABASE_URL; default name host:pid)',
    }),
  };

  async run(): Promise<SpawnCommandResult> {
    const { flags, argv } = await this.parse(Spawn);
    const { repoDir, stateDir } = this.resolveDirs(flags);
    const [{ Orchestrator }, { loadConfig }, progress] = await Promise.all([
      import('../runtime/orchestrator/orchestrator.js'),
      import('../runtime/project/config.js'),
      import('../runtime/render/progress.js'),
    ]);
    const config = loadConfig(
      repoDir,
      {
        ...(flags['max-concurrent'] !== undefined ? { maxConcurrent: flags['max-concurrent'] } : {}),
        ...(flags['max-retries'] !== undefined ? { maxRetries: flags['max-retries'] } : {}),
        ...(flags['retry-interval'] !== undefined ? { retryInterval: flags['retry-interval'] } : {}),
      },
      // Notes (keys of config/targets.yaml orch ignores) go to stderr, also with --json.
      { onNote: (note) => process.stderr.write(`orch: ${note}\n`) },
    );
    const json = this.jsonEnabled();
    const showProgress = !json && !flags.quiet;
    const makeOrchestrator = () =>
      new Orchestrator({
        repoDir,
        stateDir,
        config,
        tasks: argv as string[],
        ...(flags.goal !== undefined ? { goal: flags.goal } : {}),
        ...(flags.role !== undefined ? { role: flags.role } : {}),
        ...(flags.target !== undefined ? { target: flags.target } : {}),
        ...(flags['agent-cmd'] !== undefined ? { agentCommand: parseAgentCommand(flags['agent-cmd']) } : {}),
        ...(flags['plan-dir'] !== undefined ? { planDir: flags['plan-dir'] } : {}),
        leaveAgentsOnStop: flags['leave-agents'],
        onEvent: (event, state) => {
          if (!showProgress) return;
          const line = progress.progressLine(event, state);
          if (line) this.log(line);
        },
        // Warnings go to stderr, also with --json (stdout stays the JSON document).
        onWarning: (warning) => process.stderr.write(progress.terminalSafe(`orch: ${warning.message}\n`)),
        ...(flags.worker === undefined ? {} : { worker: flags.worker }),
      });
    let orch = makeOrchestrator();
    let interrupts = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      interrupts += 1;
      if (interrupts > 1) process.exit(130);
      if (!json) process.stderr.write(`\norch: ${signal}: stopping (again to quit at once)\n`);
      void orch.stop(`interrupted by ${signal}`);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      await orch.start();
      const goal = orch.goalChoice();
      if (goal !== null && !json) {
        const { goalChoiceText } = await import('../runtime/render/outcomes.js');
        this.log(goalChoiceText(goal));
        this.log('');
      }
      let outcome = await orch.run();
      // A worker declared lost stopped its agents; it joins again under a new membership.
      while (outcome.rejoin === true && interrupts === 0) {
        process.stderr.write(progress.terminalSafe(`orch: ${outcome.reason}; joining again\n`));
        orch = makeOrchestrator();
        await orch.start();
        outcome = await orch.run();
      }
      if (!json) {
        this.log('');
        this.log(progress.summaryTable(outcome.status, orch.lastState()));
        this.log('');
        this.log(progress.terminalSafe(`${outcome.exitCode === 0 ? 'done' : 'stopped'}: ${outcome.reason}`));
      }
      process.exitCode = outcome.exitCode;
      return {
        exitCode: outcome.exitCode,
        reason: outcome.reason,
        status: outcome.status,
        ...(goal === null ? {} : { goal }),
      };
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}

/**
 * `--agent-cmd`: a JSON array of strings, or words split on whitespace. Never a shell.
 *
 * @example
 * parseAgentCommand('["node","a.js","{prompt}"]'); // ['node', 'a.js', '{prompt}']
 */
export function parseAgentCommand(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((x) => typeof x === 'string')) {
      throw new Error(
        '--agent-cmd: a JSON array of strings was expected, e.g. ["node","agent.js","{prompt}"]',
      );
    }
    return parsed;
  }
  const words = trimmed.split(/\s+/).filter(Boolean);
  if (words.length === 0) throw new Error('--agent-cmd is empty');
  return words;
}
