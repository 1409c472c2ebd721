import fs from 'node:fs';
import path from 'node:path';
import type { Command } from '../../core/commands.js';
import { commandEvent } from '../../core/commands.js';
import type { OrchestratorConfig } from '../../core/config.js';
import { streamIds } from '../../core/events.js';
import { getOwn } from '../../core/record.js';
import { milestoneTarget } from '../../plan/target-of.js';
import type { AgentSupervisor } from '../agents/supervisor.js';
import { createPrProvider, type PrProvider } from '../git/pr-provider.js';
import type { TaskRouter } from '../git/task-router.js';
import type { WorkspaceManager } from '../git/workspace.js';
import type { LiveLog } from '../log/live-log.js';
import { runCommand } from '../system/run-command.js';
import { checkIntegrationKept } from './integration-guard.js';
import { encodeTaskId } from '../system/safe-id.js';
import { planIndex } from '../../core/plan-index.js';

/** The command types whose recording starts an effect (the rest are facts). */
export const EFFECT_TYPES = [
  'SpawnAgent',
  'RunGate',
  'RequestMerge',
  'RequestPullRequest',
  'ReopenTask',
] as const;

/** A command whose recording starts an effect: processes, git, CI, pull requests, the CI log. */
export type EffectCommand = Extract<Command, { type: (typeof EFFECT_TYPES)[number] }>;

/** A command recorded as a fact, with no effect (bookkeeping: phases, retries, milestones). */
export type FactCommand = Exclude<Command, EffectCommand>;

/**
 * Whether recording the command starts an effect. ReopenTask reads the CI log (its tail
 * goes into the event), so it is carried out like an effect.
 *
 * @example
 * commands.filter(isEffect); // SpawnAgent, RunGate, ...
 */
export function isEffect(command: Command): command is EffectCommand {
  return (EFFECT_TYPES as readonly string[]).includes(command.type);
}

/** For each effect command type, how it is carried out: its intent recorded, its effect started. */
export type EffectHandlers = {
  [T in EffectCommand['type']]: (command: Extract<EffectCommand, { type: T }>) => Promise<void>;
};

/** What the effects use. */
export interface EffectDeps {
  runId: string;
  repoDir: string;
  stateDir: string;
  config: OrchestratorConfig;
  log: LiveLog;
  router: TaskRouter;
  agents: AgentSupervisor;
  /** Hands a background effect to the loop (see `InFlight.track`). */
  track: (effect: Promise<unknown>) => void;
  /**
   * Workers on a shared log: before each push of a merge, check this worker still may write
   * (throws `WorkerLostError` otherwise) and that no other spawn already merged the task.
   */
  worker?: boolean;
}

/**
 * The effects of a run: {@link EffectHandlers} for the loop, and the second halves
 * (`runGate`, `merge`, `openPr`: the effect and its outcome recorded) that reconciliation
 * finishes after a restart.
 */
export interface Effects {
  handlers: EffectHandlers;
  /** Runs the quality gate on a spawn's work and records the result. */
  runGate: (taskId: string, spawnId: string) => Promise<void>;
  /** Merges a task's branch into the integration branch and records the outcome; then local CI. */
  merge: (taskId: string, spawnId: string) => Promise<void>;
  /** Opens (or finds) a milestone's pull request and records it. */
  openPr: (milestoneId: string, branch: string) => Promise<void>;
  /**
   * The run stops: kills the gate commands still running (their process groups). Their
   * outcome is not recorded, so each gate stays pending and the next run's `reconcile` runs
   * it again (a gate is a check), instead of a stop counting as a failed attempt.
   */
  stopGates: () => void;
}

/**
 * The effects of a run over its log, workspaces and agents. Every intent is recorded before
 * its effect starts; outcomes are recorded with `expectedVersion: 'any'` (they are facts).
 *
 * @example
 * const effects = createEffects({ runId, repoDir, stateDir, config, log, router, agents, track });
 * await effects.handlers.RunGate({ type: 'RunGate', taskId: 'T1', spawnId, command: null });
 */
export function createEffects(deps: EffectDeps): Effects {
  const { runId, stateDir, config, log, router, agents, track } = deps;
  /** Pull-request providers by target id ('' is the main repository), made when first needed. */
  const prs = new Map<string, PrProvider>();

  /** The pull-request provider of a milestone's repository (its phases' one target, else the default target, else main). */
  const prsFor = (milestoneId: string): PrProvider => {
    const target = router.resolve(
      milestoneTarget(log.state.plan, milestoneId) ?? config.defaultTarget ?? null,
    );
    const key = target?.id ?? '';
    let provider = prs.get(key);
    if (provider === undefined) {
      provider = createPrProvider(config, {
        repoDir: target?.path ?? deps.repoDir,
        stateDir,
        workspaces: router.workspacesOf(target?.id ?? null),
      });
      prs.set(key, provider);
    }
    return provider;
  };

  const gatesStopped = new AbortController();
  const runGate = async (taskId: string, spawnId: string): Promise<void> => {
    const gate = config.gate;
    const stream = streamIds.task(taskId);
    if (!gate) {
      // RunGate records this with the start; here for a gate found pending after a crash
      // (`reconcile`) when no gate is configured any more.
      log.append(stream, 'GatePassed', { taskId, spawnId, skipped: true }, { expectedVersion: 'any' });
      return;
    }
    const agent = getOwn(log.state.agents, spawnId);
    const attempt = agent?.attempt ?? 0;
    // Best of N: each lane's gate runs in the lane's own worktree.
    const lane = agent?.lane;
    const cwd = router.pathFor(taskId, lane);
    if (!fs.existsSync(cwd)) {
      // A person deleted the worktree after the agent ended: nothing to check; the retry recreates it.
      log.append(
        stream,
        'GateFailed',
        {
          taskId,
          spawnId,
          exitCode: null,
          outputTail: `the gate did not run: the task's worktree ${cwd} was deleted (the next attempt gets it recreated from its branch)`,
        },
        { expectedVersion: 'any' },
      );
      return;
    }
    const result = await runCommand(gate.command, {
      cwd,
      logFile: path.join(
        stateDir,
        'logs',
        encodeTaskId(taskId),
        `${attempt}${lane === undefined ? '' : `.lane${lane}`}.gate.log`,
      ),
      ...(gate.timeout ? { timeoutMs: gate.timeout * 1000 } : {}),
      signal: gatesStopped.signal,
    });
    if (gatesStopped.signal.aborted) return; // the run stops: left pending for the next run
    const outputTail = result.tail.slice(-8000);
    if (result.exitCode === 0) {
      log.append(
        stream,
        'GatePassed',
        { taskId, spawnId, outputTail, durationMs: result.durationMs },
        { expectedVersion: 'any' },
      );
    } else {
      log.append(
        stream,
        'GateFailed',
        { taskId, spawnId, exitCode: result.exitCode, outputTail, durationMs: result.durationMs },
        { expectedVersion: 'any' },
      );
    }
  };

  /** Provider `local`: runs `ci.command` on the integration branch and records `CiCompleted`. */
  const runLocalCi = async (ref: string, workspaces: WorkspaceManager): Promise<void> => {
    const ci = config.ci;
    if (!ci.command) return;
    // CI tests exactly the merged commit, in a detached checkout of the repository the merge
    // went into: merges that land meanwhile do not change the tree under it.
    const logFile = path.join(stateDir, 'logs', 'ci', `${ref.slice(0, 12)}.log`);
    const command = ci.command;
    const result = await workspaces.inCiCheckout(ref, (cwd) =>
      runCommand(command, {
        cwd,
        logFile,
        ...(ci.timeout ? { timeoutMs: ci.timeout * 1000 } : {}),
      }),
    );
    log.append(
      streamIds.run(runId),
      'CiCompleted',
      {
        result: result.exitCode === 0 ? 'pass' : 'fail',
        ref,
        logPath: logFile,
        durationMs: result.durationMs,
      },
      { expectedVersion: 'any', actor: 'ci' },
    );
  };

  const merge = async (taskId: string, spawnId: string): Promise<void> => {
    const stream = streamIds.task(taskId);
    const plan = log.state.plan;
    const task = plan ? planIndex(plan).tasks.get(taskId) : undefined;
    // Best of N: the winning lane's branch is the one merged.
    const lane = getOwn(log.state.agents, spawnId)?.lane;
    const message = `orch: merge task ${taskId}${task ? ` (${task.title})` : ''}\n\nSpawn: ${spawnId}${lane === undefined ? '' : `\nLane: ${lane}`}\nRun: ${runId}`;
    const workspaces = router.workspaces(taskId);
    const result = await workspaces.mergeTask(
      taskId,
      message,
      lane,
      deps.worker === true
        ? {
            beforePush: async (head) => {
              log.assertWritable(stream);
              return workspaces.taskMerge(taskId, head);
            },
          }
        : undefined,
    );
    if (result.status === 'conflict') {
      log.append(
        stream,
        'MergeConflicted',
        { taskId, spawnId, files: result.files },
        { expectedVersion: 'any' },
      );
      return;
    }
    const commit = result.commit ?? (await workspaces.integrationHead());
    log.append(stream, 'BranchMerged', { taskId, spawnId, commit }, { expectedVersion: 'any' });
    if (config.ci.provider === 'local' && config.ci.command) await runLocalCi(commit, workspaces);
  };

  const openPr = async (milestoneId: string, branch: string): Promise<void> => {
    const pr = await prsFor(milestoneId).open(milestoneId, branch, log.state);
    log.append(
      streamIds.milestone(milestoneId),
      'PullRequestOpened',
      { milestoneId, url: pr.url, branch: pr.branch },
      { expectedVersion: 'any' },
    );
  };

  const handlers: EffectHandlers = {
    SpawnAgent: async (command) => {
      await agents.spawn(command);
    },
    RunGate: async (command) => {
      const stream = streamIds.task(command.taskId);
      const started = { taskId: command.taskId, spawnId: command.spawnId, command: command.command };
      if (!config.gate) {
        // No gate configured: its start and its pass (skipped) in one transaction, one fsync.
        log.appendAll([
          { streamId: stream, type: 'GateStarted', data: started },
          {
            streamId: stream,
            type: 'GatePassed',
            data: { taskId: command.taskId, spawnId: command.spawnId, skipped: true },
          },
        ]);
        return;
      }
      log.append(stream, 'GateStarted', started);
      track(runGate(command.taskId, command.spawnId));
    },
    RequestMerge: async (command) => {
      // Merged work is never dropped silently: a rewritten integration branch stops the run first.
      await checkIntegrationKept(log.state, router, router.workspaces(command.taskId));
      const lane = getOwn(log.state.agents, command.spawnId)?.lane;
      const ev = commandEvent(command, { runId, branch: router.branchFor(command.taskId, lane) });
      log.append(ev.streamId, ev.type, ev.data);
      track(merge(command.taskId, command.spawnId));
    },
    RequestPullRequest: async (command) => {
      const branch = prsFor(command.milestoneId).branchFor(command.milestoneId);
      const ev = commandEvent(command, { runId, branch });
      log.append(ev.streamId, ev.type, ev.data);
      track(openPr(command.milestoneId, branch));
    },
    ReopenTask: async (command) => {
      // The next attempt's prompt carries the tail of the failing CI run's log.
      const logPath = log.state.ci?.logPath ?? null;
      const tail = logPath === null ? undefined : readTail(logPath, 8000);
      const ev = commandEvent(command, { runId, ...(tail === undefined ? {} : { ciLogTail: tail }) });
      log.append(ev.streamId, ev.type, ev.data);
    },
  };

  return { handlers, runGate, merge, openPr, stopGates: () => gatesStopped.abort() };
}

/** The last `chars` characters of a file, or undefined when it cannot be read. */
function readTail(file: string, chars: number): string | undefined {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.slice(-chars);
  } catch {
    return undefined;
  }
}

/**
 * Carries out an effect command with its handler (records its intent, starts its effect).
 *
 * @example
 * for (const command of commands.filter(isEffect)) await carryOut(effects.handlers, command);
 */
export function carryOut(handlers: EffectHandlers, command: EffectCommand): Promise<void> {
  // The handler of the command's own type: the record is keyed so that they always match.
  const handler = handlers[command.type] as (command: EffectCommand) => Promise<void>;
  return handler(command);
}
