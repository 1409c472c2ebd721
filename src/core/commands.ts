import { OrchError } from '../util/errors.js';
import type { OrchEventData, OrchEventType } from './events.js';
import { streamIds } from './events.js';

/**
 * Commands: what `decide` says should happen next (imperative names). The runtime carries
 * each out and records the events; `commandEvent` gives the event a command is recorded as.
 */

/** Start attempt `attempt` of a task: the runtime makes the spawn id and records `AgentSpawnRequested`. */
export interface SpawnAgentCommand {
  type: 'SpawnAgent';
  taskId: string;
  phaseId: string;
  attempt: number;
  role: string;
  /** Best of N: the lane (1..lanes) this spawn runs; absent for a one-agent attempt. */
  lane?: number;
  /** Best of N: how many lanes the attempt runs (2..16). */
  lanes?: number;
}
/**
 * Best of N: another lane won, so stop this lane's agent (if live) → `LaneSuperseded`, then
 * the runtime kills its process group.
 */
export interface SupersedeLaneCommand {
  type: 'SupersedeLane';
  taskId: string;
  spawnId: string;
  lane: number;
  winner: string;
  winnerLane: number;
}
/** Plan the next attempt of a task whose attempt failed → `RetryScheduled`. */
export interface ScheduleRetryCommand {
  type: 'ScheduleRetry';
  taskId: string;
  attempt: number;
  /** ISO time. */
  notBefore: string;
  reason: string;
}
/** The task's retries are used up → `TaskFailed`. */
export interface FailTaskCommand {
  type: 'FailTask';
  taskId: string;
  reason: string;
}
/** A pending or blocked task may run → `TaskUnblocked`. */
export interface UnblockTaskCommand {
  type: 'UnblockTask';
  taskId: string;
  reason: 'dependencies' | 'ci' | 'tasks';
}
/** Run the quality gate on the spawn's work → `GateStarted`, then `GatePassed` / `GateFailed`. */
export interface RunGateCommand {
  type: 'RunGate';
  taskId: string;
  spawnId: string;
  /** The configured gate, or null: record `GatePassed{skipped: true}`. */
  command: string[] | null;
}
/** Merge the task's branch → `MergeRequested`, then `BranchMerged` / `MergeConflicted`. */
export interface RequestMergeCommand {
  type: 'RequestMerge';
  taskId: string;
  spawnId: string;
}
/** → `PhaseUnblocked`. */
export interface UnblockPhaseCommand {
  type: 'UnblockPhase';
  phaseId: string;
}
/** → `PhaseBlocked`. */
export interface BlockPhaseCommand {
  type: 'BlockPhase';
  phaseId: string;
  reason: string;
}
/** → `PhaseStarted` (always just before the phase's first `SpawnAgent`). */
export interface StartPhaseCommand {
  type: 'StartPhase';
  phaseId: string;
}
/** → `PhaseCompleted`. */
export interface CompletePhaseCommand {
  type: 'CompletePhase';
  phaseId: string;
}
/** → `MilestoneCompleted`. */
export interface CompleteMilestoneCommand {
  type: 'CompleteMilestone';
  milestoneId: string;
}
/** Open the milestone's pull request (only with `autoMerge`) → `PullRequestRequested`, then `PullRequestOpened`. */
export interface RequestPullRequestCommand {
  type: 'RequestPullRequest';
  milestoneId: string;
}
/** Spending reached the budget → `BudgetExhausted`; nothing new is spawned. */
export interface HaltForBudgetCommand {
  type: 'HaltForBudget';
  spentUsd: number;
  budget: number;
}

/** CI failed after the task's merge → `TaskReopened`: a new attempt (the runtime adds the CI log tail). */
export interface ReopenTaskCommand {
  type: 'ReopenTask';
  taskId: string;
  spawnId: string;
  reason: string;
  ciPosition: number;
}

/** Every command `decide` returns. */
export type Command =
  | SpawnAgentCommand
  | ScheduleRetryCommand
  | FailTaskCommand
  | UnblockTaskCommand
  | RunGateCommand
  | RequestMergeCommand
  | UnblockPhaseCommand
  | BlockPhaseCommand
  | StartPhaseCommand
  | CompletePhaseCommand
  | CompleteMilestoneCommand
  | RequestPullRequestCommand
  | HaltForBudgetCommand
  | ReopenTaskCommand
  | SupersedeLaneCommand;

/** What only the runtime can supply when recording a command. */
export interface CommandEventContext {
  /** The current run (for run-stream events). */
  runId: string;
  /** SpawnAgent: the new spawn id, the agent's argv and its workspace. */
  spawnId?: string;
  agentCommand?: string[];
  workspace?: string;
  /** RequestPullRequest (required) and RequestMerge (optional): the branch. */
  branch?: string;
  /** ReopenTask (optional): the tail of the failing CI run's log. */
  ciLogTail?: string;
}

/** The event a command is recorded as, and its stream. */
export interface CommandEvent {
  streamId: string;
  type: OrchEventType;
  data: OrchEventData;
}

/** A command could not be turned into an event: the runtime left out a field it must supply. */
export class CommandEventError extends OrchError {
  constructor(command: Command['type'], field: string) {
    super('COMMAND_INCOMPLETE', `cannot record command ${command}: ${field} is missing`, {
      hint: `pass ${field} in the CommandEventContext`,
    });
  }
}

const need = <T>(value: T | undefined, command: Command['type'], field: string): T => {
  if (value === undefined) throw new CommandEventError(command, field);
  return value;
};

/**
 * The event that records a command (the intent for effects, the fact for bookkeeping).
 *
 * @example
 * commandEvent({ type: 'UnblockPhase', phaseId: 'S1' }, { runId: 'r1' });
 * // { streamId: 'phase-S1', type: 'PhaseUnblocked', data: { phaseId: 'S1' } }
 */
export function commandEvent(cmd: Command, ctx: CommandEventContext): CommandEvent {
  switch (cmd.type) {
    case 'SpawnAgent':
      return {
        streamId: streamIds.task(cmd.taskId),
        type: 'AgentSpawnRequested',
        data: {
          spawnId: need(ctx.spawnId, cmd.type, 'spawnId'),
          taskId: cmd.taskId,
          attempt: cmd.attempt,
          role: cmd.role,
          command: need(ctx.agentCommand, cmd.type, 'agentCommand'),
          workspace: need(ctx.workspace, cmd.type, 'workspace'),
          ...(cmd.lanes !== undefined && cmd.lanes > 1 && cmd.lane !== undefined
            ? { lane: cmd.lane, lanes: cmd.lanes }
            : {}),
        },
      };
    case 'SupersedeLane':
      return {
        streamId: streamIds.task(cmd.taskId),
        type: 'LaneSuperseded',
        data: {
          taskId: cmd.taskId,
          spawnId: cmd.spawnId,
          lane: cmd.lane,
          winner: cmd.winner,
          winnerLane: cmd.winnerLane,
        },
      };
    case 'ScheduleRetry':
      return {
        streamId: streamIds.task(cmd.taskId),
        type: 'RetryScheduled',
        data: { taskId: cmd.taskId, attempt: cmd.attempt, notBefore: cmd.notBefore, reason: cmd.reason },
      };
    case 'FailTask':
      return {
        streamId: streamIds.task(cmd.taskId),
        type: 'TaskFailed',
        data: { taskId: cmd.taskId, reason: cmd.reason },
      };
    case 'UnblockTask':
      return {
        streamId: streamIds.task(cmd.taskId),
        type: 'TaskUnblocked',
        data: { taskId: cmd.taskId, reason: cmd.reason },
      };
    case 'RunGate':
      return {
        streamId: streamIds.task(cmd.taskId),
        type: 'GateStarted',
        data: { taskId: cmd.taskId, spawnId: cmd.spawnId, command: cmd.command },
      };
    case 'RequestMerge':
      return {
        streamId: streamIds.task(cmd.taskId),
        type: 'MergeRequested',
        data: {
          taskId: cmd.taskId,
          spawnId: cmd.spawnId,
          ...(ctx.branch === undefined ? {} : { branch: ctx.branch }),
        },
      };
    case 'UnblockPhase':
      return {
        streamId: streamIds.phase(cmd.phaseId),
        type: 'PhaseUnblocked',
        data: { phaseId: cmd.phaseId },
      };
    case 'BlockPhase':
      return {
        streamId: streamIds.phase(cmd.phaseId),
        type: 'PhaseBlocked',
        data: { phaseId: cmd.phaseId, reason: cmd.reason },
      };
    case 'StartPhase':
      return { streamId: streamIds.phase(cmd.phaseId), type: 'PhaseStarted', data: { phaseId: cmd.phaseId } };
    case 'CompletePhase':
      return {
        streamId: streamIds.phase(cmd.phaseId),
        type: 'PhaseCompleted',
        data: { phaseId: cmd.phaseId },
      };
    case 'CompleteMilestone':
      return {
        streamId: streamIds.milestone(cmd.milestoneId),
        type: 'MilestoneCompleted',
        data: { milestoneId: cmd.milestoneId },
      };
    case 'RequestPullRequest':
      return {
        streamId: streamIds.milestone(cmd.milestoneId),
        type: 'PullRequestRequested',
        data: { milestoneId: cmd.milestoneId, branch: need(ctx.branch, cmd.type, 'branch') },
      };
    case 'ReopenTask':
      return {
        streamId: streamIds.task(cmd.taskId),
        type: 'TaskReopened',
        data: {
          taskId: cmd.taskId,
          spawnId: cmd.spawnId,
          reason: cmd.reason,
          ciPosition: cmd.ciPosition,
          ...(ctx.ciLogTail === undefined ? {} : { ciLogTail: ctx.ciLogTail }),
        },
      };
    case 'HaltForBudget':
      return {
        streamId: streamIds.run(ctx.runId),
        type: 'BudgetExhausted',
        data: { spentUsd: cmd.spentUsd, budget: cmd.budget },
      };
  }
}
