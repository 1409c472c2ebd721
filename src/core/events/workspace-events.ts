import { z } from 'zod';
import { Id, OutputTail, SpawnId } from './fields.js';

/**
 * Events about preparing a task's worktree (stream `task-<taskId>`), written only when the
 * config has a `workspace` section: the set-up of a new worktree and the ports of an agent.
 */

/**
 * A new worktree was prepared before the spawn's first attempt in it: `copied` files came
 * from the main repository, then `command` (`workspace.setup`) ran. A non-zero `exitCode`
 * (or null: killed, timed out, could not start) is followed by that spawn's
 * `AgentSpawnFailed`, a failed attempt.
 */
export const WorkspacePrepared = z.object({
  spawnId: SpawnId,
  taskId: Id,
  copied: z.array(z.string()),
  command: z.array(z.string()).nullable(),
  exitCode: z.number().int().nullable(),
  timedOut: z.boolean().optional(),
  durationMs: z.number().nonnegative(),
  outputTail: OutputTail,
});

/** The block of ports a spawn holds while it is live (`ORCH_PORT_BASE`, `ORCH_PORTS`). */
export const PortsAssigned = z.object({
  spawnId: SpawnId,
  taskId: Id,
  base: z.number().int().min(1).max(65535),
  count: z.number().int().positive(),
});

/** Schemas of the workspace group. */
export const workspaceEventSchemas = { WorkspacePrepared, PortsAssigned } as const;
