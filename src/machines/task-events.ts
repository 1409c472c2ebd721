import type { MachineEventBase } from './spec.js';

/**
 * The events the task attempt loop reacts to, as the machine sees them: the recorded event
 * itself (type, data, position, recordedAt). Only the fields the machine reads are typed
 * here, so the full recorded events of `src/core/events.ts` fit these shapes.
 */
type E<T extends string, D> = MachineEventBase & { type: T; data: D };

/** A report or outcome about one spawn of the task. */
interface SpawnRef {
  spawnId: string;
}

/** Every event the task machine handles. */
export type TaskMachineEvent =
  | E<'AgentSpawnRequested', SpawnRef & { attempt: number; lane?: number; lanes?: number }>
  | E<'AgentStarted', SpawnRef>
  | E<'AgentExited', SpawnRef & { exitCode: number | null; signal?: string | null }>
  | E<'AgentLost', SpawnRef & { reason: string }>
  | E<'AgentSpawnFailed', SpawnRef & { error: string }>
  | E<'RateLimited', SpawnRef & { resetAt: string | null }>
  | E<
      'BreakpointReported',
      SpawnRef & { kind: 'complete' | 'blocked' | 'pr'; summary?: string; on?: string[]; url?: string }
    >
  | E<'GateStarted', SpawnRef>
  | E<'GatePassed', SpawnRef>
  | E<'GateFailed', SpawnRef & { exitCode?: number | null }>
  | E<'MergeRequested', SpawnRef>
  | E<'BranchMerged', SpawnRef & { commit: string }>
  | E<'MergeConflicted', SpawnRef & { files: string[] }>
  | E<'MergeAbandoned', SpawnRef & { reason: string }>
  | E<'RetryScheduled', { attempt: number; notBefore: string; reason: string }>
  | E<'TaskUnblocked', { reason: string }>
  | E<'TaskCompleted', { reason?: string }>
  | E<'TaskFailed', { reason: string }>
  | E<'TaskCancelled', { reason?: string }>
  | E<'TaskReopened', SpawnRef & { reason: string; reviews?: readonly unknown[] }>
  | E<'TaskRetryRequested', { reason?: string }>;

/** The event types of {@link TaskMachineEvent}. */
export type TaskMachineEventType = TaskMachineEvent['type'];

/** Narrows a task machine event by type. */
export type TaskEventOf<T extends TaskMachineEventType> = Extract<TaskMachineEvent, { type: T }>;
