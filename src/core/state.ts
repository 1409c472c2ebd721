import type { MachineState, MilestoneContext, PhaseContext, TaskContext } from '../machines/index.js';
import type { Plan } from '../plan/model.js';
import type { IdRecord } from './record.js';

/** A live agent is `spawning` or `running`; the others are outcomes. */
export type AgentStatus = 'spawning' | 'running' | 'exited' | 'lost' | 'spawn_failed';

/** One spawn of an agent process (one attempt of a task). */
export interface AgentRecord {
  spawnId: string;
  task: string;
  attempt: number;
  role: string;
  /** The run that spawned it: a live agent of an older run is unresolved until reconciled. */
  runId: string | null;
  status: AgentStatus;
  pid: number | null;
  pidStartTime: number | string | null;
  exitCode: number | null;
  signal: string | null;
  requestedAt: string;
  startedAt: string | null;
  endedAt: string | null;
  costUsd: number | null;
  /** Tokens the agent reported on exit (null: none reported, or folded before tokens were kept). */
  inputTokens?: number | null;
  outputTokens?: number | null;
  /** Best of N: the spawn's lane of its attempt (absent: a one-agent attempt). */
  lane?: number;
  /** Best of N: another lane won and this one was stopped (`LaneSuperseded`). */
  superseded?: boolean;
}

/** The latest orchestrator run. */
export interface RunRecord {
  runId: string;
  pid: number;
  startedAt: string;
  status: 'running' | 'stopped';
  stopReason: string | null;
  /** How many runs the log has seen (1 for the first). */
  number: number;
}

/** The latest CI result. */
export interface CiRecord {
  result: 'pass' | 'fail';
  position: number;
  recordedAt: string;
  ref: string | null;
  url: string | null;
  /** Where the CI log is (`CiCompleted.logPath`). */
  logPath?: string | null;
  /** Position of the latest passing result (null: none yet). */
  lastPassPosition?: number | null;
  /** A fail: the tasks merged since the last pass, still to be reopened (`TaskReopened`). */
  toReopen?: string[];
}

/**
 * Everything orch knows, folded from the log. Plain JSON: serialisable for snapshots,
 * deep-equal comparable, and byte-identical when the same log is replayed twice.
 * Entities keep their machine state (`value` + `context`); the `status` read model is
 * `statusView(state)` (status-view.ts).
 */
export interface OrchState {
  /** Position of the last event folded (0: none). */
  position: number;
  /** `recordedAt` of the last event folded. */
  updatedAt: string | null;
  run: RunRecord | null;
  /** The whole plan from the last `PlanLoaded` / `PlanRevised`. */
  plan: Plan | null;
  /** How many times a plan was recorded (1 after `PlanLoaded`, +1 per load or revision). */
  planVersion: number;
  /** In plan order. */
  milestones: IdRecord<MachineState<MilestoneContext>>;
  phases: IdRecord<MachineState<PhaseContext>>;
  tasks: IdRecord<MachineState<TaskContext>>;
  /** Every spawn, in spawn order. */
  agents: IdRecord<AgentRecord>;
  ci: CiRecord | null;
  /** Sum of the cost agents reported. */
  costUsd: number;
  budgetExhausted: { spentUsd: number; budget: number; at: string } | null;
  /** What people added to the configured budget (`BudgetRaised`, summed; absent: nothing). */
  budgetRaisedUsd?: number;
  /**
   * Merges not yet judged by CI, in merge order: a CI result for one of their commits judges
   * that merge and the ones before it (a fail reopens those tasks); a result for a ref that
   * is none of them judges them all.
   */
  mergesSinceCi?: { taskId: string; commit: string }[];
  /**
   * Merge commits CI has judged, in order: a late (or repeated) result for one of them
   * judges none of the merges that came after it.
   */
  ciJudgedCommits?: string[];
  /** ISO time a usage/rate limit resets; no spawns before it. */
  rateLimitedUntil: string | null;
  /** Worker memberships by run id (`WorkerJoined`/`WorkerDeparted`/`WorkerLost`); absent before the first. */
  workers?: IdRecord<WorkerRecord>;
  /** Reviews of the milestones' pull requests (`pr.reviews`), by milestone id; absent before the first. */
  reviews?: IdRecord<ReviewRecord>;
}

/** One membership of a worker in a run over a shared log. */
export interface WorkerRecord {
  runId: string;
  /** The worker's name (`--worker`, default host:pid). */
  worker: string;
  host: string | null;
  pid: number;
  status: 'active' | 'left' | 'lost';
  joinedAt: string;
  /** Log position of its `WorkerJoined` (the oldest active membership writes the plan files back). */
  joinedPosition: number;
  endedAt: string | null;
  reason: string | null;
}

/**
 * Whether the agent belongs to another worker's membership that is still active (that worker
 * watches it; nobody else reconciles, gates or merges it). False on a log without workers.
 *
 * @example
 * if (ownedByOtherWorker(state, agent.runId, self)) continue;
 */
export function ownedByOtherWorker(
  state: OrchState,
  runId: string | null,
  self: string | undefined,
): boolean {
  if (self === undefined || runId === null || runId === self || state.workers === undefined) return false;
  return state.workers[runId]?.status === 'active';
}

/** What the reviews of one milestone's pull request said, and what is still to be done about them. */
export interface ReviewRecord {
  /** Reviews and comments recorded (`ReviewReceived`). */
  received: number;
  /** The last approval or change request (a comment only when there was neither). */
  decision: 'approved' | 'changes_requested' | 'commented' | null;
  /** Review ids that went to a task and are not answered yet (`ReviewAnswered`). */
  open: string[];
  /** Review ids answered. */
  answered: number;
}

/**
 * The state before any event.
 *
 * @example
 * const s = initialState(); s.position; // 0
 */
export function initialState(): OrchState {
  return {
    position: 0,
    updatedAt: null,
    run: null,
    plan: null,
    planVersion: 0,
    milestones: {},
    phases: {},
    tasks: {},
    agents: {},
    ci: null,
    costUsd: 0,
    budgetExhausted: null,
    rateLimitedUntil: null,
  };
}

/**
 * Whether an agent is live (its process may still be running).
 *
 * @example
 * isLiveAgent({ status: 'running' } as AgentRecord); // true
 */
export function isLiveAgent(agent: Pick<AgentRecord, 'status'>): boolean {
  return agent.status === 'spawning' || agent.status === 'running';
}

/**
 * The budget in force: the configured one plus what people raised it by (`BudgetRaised`);
 * undefined when no budget is configured (a raise then changes nothing).
 *
 * @example
 * effectiveBudget({ budgetRaisedUsd: 5 }, 10); // 15
 */
export function effectiveBudget(
  state: Pick<OrchState, 'budgetRaisedUsd'>,
  configured: number | undefined,
): number | undefined {
  return configured === undefined ? undefined : roundUsd(configured + (state.budgetRaisedUsd ?? 0));
}

/**
 * Dollars rounded to a millionth, so sums of raises read as written (0.2 + 0.1 is 0.3).
 *
 * @example
 * roundUsd(0.2 + 0.1); // 0.3
 */
export function roundUsd(usd: number): number {
  return Math.round(usd * 1e6) / 1e6;
}
