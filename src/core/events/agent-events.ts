import { z } from 'zod';
import { Id, IsoTime, OutputTail, SpawnId } from './fields.js';

/**
 * Events about agent processes (stream `task-<taskId>`): the spawn intent, its outcomes,
 * and the reports an agent makes. Every one names its `spawnId`.
 */

/** Intent: orch is about to start attempt `attempt` of a task. Written before the process exists. */
export const AgentSpawnRequested = z.object({
  spawnId: SpawnId,
  taskId: Id,
  attempt: z.number().int().positive(),
  role: z.string().min(1),
  command: z.array(z.string()),
  workspace: z.string(),
  /** Best of N: this spawn's lane (1..lanes) of the attempt; absent for a one-agent attempt. */
  lane: z.number().int().min(1).max(16).optional(),
  /** Best of N: how many lanes the attempt runs (2..16). */
  lanes: z.number().int().min(2).max(16).optional(),
});

/** The agent process is running, with the identity crash recovery uses to find it again. */
export const AgentStarted = z.object({
  spawnId: SpawnId,
  pid: z.number().int().positive(),
  /** Process start time (`/proc/<pid>/stat` field 22): tells a reused pid apart. */
  pidStartTime: z.union([z.number(), z.string()]).nullable(),
  startedAt: IsoTime,
});

/** Token usage and cost an agent reported (Claude Code's JSON result, Codex's `turn.completed`, Gemini CLI's stats, aider's token lines). */
export const AgentUsage = z.object({
  inputTokens: z.number().nonnegative().optional(),
  outputTokens: z.number().nonnegative().optional(),
  costUsd: z.number().nonnegative().optional(),
});

/** The agent process ended (exit code, or the signal that killed it). */
export const AgentExited = z.object({
  spawnId: SpawnId,
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  durationMs: z.number().nonnegative(),
  outputTail: OutputTail,
  usage: AgentUsage.optional(),
  /** Claude Code's `session_id` from its JSON result: a later attempt with `agents.<role>.resume` continues it. */
  sessionId: z.string().min(1).optional(),
  /** Set when orch stopped the agent as stalled: no output and no change in its worktree for `idleMs`; its last output line. */
  stalled: z.object({ idleMs: z.number().nonnegative(), lastOutputLine: z.string() }).optional(),
  /** The commit the task's worktree had checked out when the agent ended (what `orch replay --fork` recreates its branch from). */
  head: z.string().min(1).optional(),
});

/** The agent process is gone without a recorded exit (found dead after a crash, pid reused, ...). */
export const AgentLost = z.object({ spawnId: SpawnId, reason: z.string() });

/** The process could not be started at all (command not found, workspace failure, ...). */
export const AgentSpawnFailed = z.object({ spawnId: SpawnId, error: z.string() });

/** An agent reported a breakpoint with `orch signal complete|blocked|pr`. */
export const BreakpointReported = z.object({
  spawnId: SpawnId,
  kind: z.enum(['complete', 'blocked', 'pr']),
  summary: z.string().optional(),
  /** For `blocked`: what it waits for: `ci`, `person`, or task ids. */
  on: z.array(z.string()).optional(),
  /** For `pr`: the pull request the agent opened. */
  url: z.string().optional(),
});

/** A report was refused (stale or unknown spawn): recorded for the audit trail, never applied. */
export const SignalRejected = z.object({
  spawnId: z.string(),
  reason: z.string(),
  kind: z.string().optional(),
});

/** The agent stopped on a usage/rate limit; nothing is spawned before `resetAt`. */
export const RateLimited = z.object({
  spawnId: SpawnId,
  resetAt: IsoTime.nullable(),
  message: z.string().optional(),
});

/** Schemas of the agent group. */
export const agentEventSchemas = {
  AgentSpawnRequested,
  AgentStarted,
  AgentExited,
  AgentLost,
  AgentSpawnFailed,
  BreakpointReported,
  SignalRejected,
  RateLimited,
} as const;
