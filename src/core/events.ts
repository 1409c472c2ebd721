import type { z } from 'zod';
import type { NewEvent, RecordedEvent } from './envelope.js';
import { EventValidationError } from './errors.js';
import { agentEventSchemas } from './events/agent-events.js';
import { notifyEventSchemas } from './events/notify-events.js';
import { planEventSchemas } from './events/plan-events.js';
import { runEventSchemas } from './events/run-events.js';
import { structureEventSchemas } from './events/structure-events.js';
import { taskEventSchemas } from './events/task-events.js';
import { workspaceEventSchemas } from './events/workspace-events.js';

/**
 * The event catalog: every event type orch writes, with its zod schema, its stream and
 * who writes it. Documented in docs/events.md ("Event types"). Names are past tense.
 */
export const EVENT_SCHEMAS = {
  ...runEventSchemas,
  ...planEventSchemas,
  ...agentEventSchemas,
  ...taskEventSchemas,
  ...structureEventSchemas,
  ...workspaceEventSchemas,
  ...notifyEventSchemas,
} as const;

/** Every event type of the catalog. */
export type OrchEventType = keyof typeof EVENT_SCHEMAS;

/** The data of an event type (all of them when no type is given). */
export type OrchEventData<T extends OrchEventType = OrchEventType> = z.infer<(typeof EVENT_SCHEMAS)[T]>;

/** A recorded event of the catalog, discriminated by `type`. */
export type OrchEvent<T extends OrchEventType = OrchEventType> = {
  [K in T]: RecordedEvent<K, OrchEventData<K>>;
}[T];

/** An event of the catalog ready to append. */
export type OrchNewEvent<T extends OrchEventType = OrchEventType> = {
  [K in T]: NewEvent<K, OrchEventData<K>>;
}[T];

/** Every event type, in catalog order. */
export const ORCH_EVENT_TYPES = Object.keys(EVENT_SCHEMAS) as OrchEventType[];

/**
 * Whether `type` is in the catalog.
 *
 * @example
 * isOrchEventType('AgentExited'); // true
 */
export function isOrchEventType(type: string): type is OrchEventType {
  return Object.hasOwn(EVENT_SCHEMAS, type);
}

/**
 * The first problem with an event's data as one sentence, or null when it is valid.
 *
 * @example
 * eventDataProblem('TaskFailed', { taskId: 'T1' }); // 'reason: Invalid input: expected string, received undefined'
 */
export function eventDataProblem(type: string, data: unknown): string | null {
  if (!isOrchEventType(type)) return `unknown event type "${type}"`;
  const result = EVENT_SCHEMAS[type].safeParse(data);
  if (result.success) return null;
  const issue = result.error.issues[0];
  const path = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return `${path}${issue?.message ?? 'invalid data'}`;
}

/**
 * Validates an event's data against its schema; throws {@link EventValidationError}.
 *
 * @example
 * const data = parseEventData('TaskFailed', { taskId: 'T1', reason: 'retries used up' });
 */
export function parseEventData<T extends OrchEventType>(
  type: T,
  data: unknown,
  position?: number,
): OrchEventData<T> {
  const problem = eventDataProblem(type, data);
  if (problem !== null) throw new EventValidationError(type, problem, position);
  return data as OrchEventData<T>;
}

/** The kinds of stream: one stream per entity. */
export type StreamKind = 'run' | 'plan' | 'task' | 'phase' | 'milestone' | 'worker';

/** Who writes an event (the `actor` of its metadata). */
export type EventWriter = 'orch' | 'agent' | 'ci' | 'user';

/** The stream each event type is appended to, and who may write it. */
export const EVENT_INFO: Readonly<
  Record<OrchEventType, { stream: StreamKind; writers: readonly EventWriter[] }>
> = {
  RunStarted: { stream: 'run', writers: ['orch'] },
  RunStopped: { stream: 'run', writers: ['orch'] },
  BudgetExhausted: { stream: 'run', writers: ['orch'] },
  BudgetRaised: { stream: 'run', writers: ['user'] },
  CiCompleted: { stream: 'run', writers: ['orch', 'ci', 'user'] },
  PlanLoaded: { stream: 'plan', writers: ['orch'] },
  PlanRevised: { stream: 'plan', writers: ['orch'] },
  PlanRevisionRefused: { stream: 'plan', writers: ['orch'] },
  PlanDraftRequested: { stream: 'plan', writers: ['orch'] },
  PlanDraftAttempted: { stream: 'plan', writers: ['orch'] },
  PlanDraftAccepted: { stream: 'plan', writers: ['orch'] },
  PlanDraftFailed: { stream: 'plan', writers: ['orch'] },
  PlanDraftEdited: { stream: 'plan', writers: ['user'] },
  PlanDraftApproved: { stream: 'plan', writers: ['user'] },
  AgentSpawnRequested: { stream: 'task', writers: ['orch'] },
  AgentStarted: { stream: 'task', writers: ['orch'] },
  AgentExited: { stream: 'task', writers: ['orch'] },
  AgentLost: { stream: 'task', writers: ['orch'] },
  AgentSpawnFailed: { stream: 'task', writers: ['orch'] },
  BreakpointReported: { stream: 'task', writers: ['agent'] },
  SignalRejected: { stream: 'task', writers: ['orch'] },
  RateLimited: { stream: 'task', writers: ['orch'] },
  GateStarted: { stream: 'task', writers: ['orch'] },
  GatePassed: { stream: 'task', writers: ['orch'] },
  GateFailed: { stream: 'task', writers: ['orch'] },
  MergeRequested: { stream: 'task', writers: ['orch'] },
  BranchMerged: { stream: 'task', writers: ['orch'] },
  MergeConflicted: { stream: 'task', writers: ['orch'] },
  RetryScheduled: { stream: 'task', writers: ['orch'] },
  TaskUnblocked: { stream: 'task', writers: ['orch', 'user'] },
  TaskCompleted: { stream: 'task', writers: ['orch', 'user'] },
  TaskFailed: { stream: 'task', writers: ['orch', 'user'] },
  TaskCancelled: { stream: 'task', writers: ['orch', 'user'] },
  TaskReopened: { stream: 'task', writers: ['orch'] },
  LaneSuperseded: { stream: 'task', writers: ['orch'] },
  TaskRetryRequested: { stream: 'task', writers: ['user'] },
  PhaseUnblocked: { stream: 'phase', writers: ['orch'] },
  PhaseBlocked: { stream: 'phase', writers: ['orch'] },
  PhaseStarted: { stream: 'phase', writers: ['orch'] },
  PhaseCompleted: { stream: 'phase', writers: ['orch'] },
  MilestoneCompleted: { stream: 'milestone', writers: ['orch'] },
  PullRequestRequested: { stream: 'milestone', writers: ['orch'] },
  PullRequestOpened: { stream: 'milestone', writers: ['orch'] },
  ReviewReceived: { stream: 'milestone', writers: ['orch'] },
  ReviewAnswered: { stream: 'milestone', writers: ['orch'] },
  WorkspacePrepared: { stream: 'task', writers: ['orch'] },
  PortsAssigned: { stream: 'task', writers: ['orch'] },
  NotificationDelivered: { stream: 'run', writers: ['orch'] },
  NotificationFailed: { stream: 'run', writers: ['orch'] },
  RunForked: { stream: 'run', writers: ['orch', 'user'] },
  WorkerJoined: { stream: 'worker', writers: ['orch'] },
  WorkerDeparted: { stream: 'worker', writers: ['orch'] },
  WorkerLost: { stream: 'worker', writers: ['orch'] },
  MergeAbandoned: { stream: 'task', writers: ['orch'] },
};

/**
 * Stream ids, one per entity.
 *
 * @example
 * streamIds.task('T001'); // 'task-T001'
 */
export const streamIds = {
  run: (runId: string) => `run-${runId}`,
  plan: () => 'plan',
  task: (taskId: string) => `task-${taskId}`,
  phase: (phaseId: string) => `phase-${phaseId}`,
  milestone: (milestoneId: string) => `milestone-${milestoneId}`,
  /** One membership of a worker (its run id): joined, then left or lost. */
  worker: (runId: string) => `worker-${runId}`,
} as const;
