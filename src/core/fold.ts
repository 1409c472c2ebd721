import type { MachineEngine, MachineState, TaskContext } from '../machines/index.js';
import type { Plan } from '../plan/model.js';
import type { RecordedEvent } from './envelope.js';
import type { OrchEvent } from './events.js';
import { getOwn, setOwn } from './record.js';
import type { IdRecord } from './record.js';
import type { AgentRecord, OrchState, ReviewRecord } from './state.js';
import { isLiveAgent, roundUsd } from './state.js';

type Collection = 'milestones' | 'phases' | 'tasks' | 'agents';

/**
 * The state being folded into. In copy-on-write mode (pure `evolve`) a collection is
 * shallow-copied the first time it is written, so the input state is never touched; in
 * place mode (the `Replayer`) it is written directly. Entries are always replaced, never
 * mutated, so both modes build the same JSON.
 */
export class StateDraft {
  private readonly copied: Set<Collection> | null;

  constructor(
    readonly state: OrchState,
    copyOnWrite: boolean,
  ) {
    this.copied = copyOnWrite ? new Set() : null;
  }

  /** The collection, writable. */
  writable<K extends Collection>(key: K): OrchState[K] {
    if (this.copied !== null && !this.copied.has(key)) {
      this.state[key] = { ...this.state[key] };
      this.copied.add(key);
    }
    return this.state[key];
  }
}

/**
 * What the fold reads of a recorded event: its id and stream are not needed (the status
 * probe reads only these columns of a log's tail).
 */
export type FoldInput = Pick<RecordedEvent, 'position' | 'type' | 'data' | 'metadata' | 'recordedAt'>;

/**
 * Folds one event into the draft, advancing machines with `engine`. Unknown event types,
 * malformed data and reports about unknown or dead spawns change nothing but `position`.
 *
 * @example
 * const draft = new StateDraft({ ...state }, true);
 * applyEvent(draft, event, xstateEngine);
 * const next = draft.state;
 */
export function applyEvent(draft: StateDraft, event: FoldInput, engine: MachineEngine): void {
  const s = draft.state;
  if (typeof event.data === 'object' && event.data !== null) foldKnown(draft, event as OrchEvent, engine);
  s.position = event.position;
  s.updatedAt = event.recordedAt;
}

function foldKnown(draft: StateDraft, e: OrchEvent, engine: MachineEngine): void {
  const s = draft.state;
  switch (e.type) {
    case 'PlanLoaded':
    case 'PlanRevised':
      applyPlan(s, e.data.plan, engine);
      return;
    case 'RunStarted':
      s.run = {
        runId: e.data.runId,
        pid: e.data.pid,
        startedAt: e.data.startedAt,
        status: 'running',
        stopReason: null,
        number: (s.run?.number ?? 0) + 1,
      };
      // A new run judges the budget afresh (its config may raise it).
      s.budgetExhausted = null;
      return;
    case 'RunStopped':
      if (s.run !== null && s.run.runId === e.data.runId) {
        s.run = { ...s.run, status: 'stopped', stopReason: e.data.reason };
      }
      return;
    case 'BudgetExhausted':
      s.budgetExhausted = { spentUsd: e.data.spentUsd, budget: e.data.budget, at: e.recordedAt };
      return;
    case 'BudgetRaised':
      // The raised budget is judged afresh: a halted run spawns again until it is reached.
      s.budgetRaisedUsd = roundUsd((s.budgetRaisedUsd ?? 0) + e.data.amountUsd);
      s.budgetExhausted = null;
      return;
    case 'CiCompleted': {
      const pass = e.data.result === 'pass';
      // The result judges the merge whose commit it tested and every merge before it; merges
      // that landed after that commit wait for a result of their own.
      const merges = s.mergesSinceCi ?? [];
      const earlier = s.ciJudgedCommits ?? [];
      const judged = mergesJudged(merges, e.data.ref ?? null, earlier);
      const covered = merges.slice(0, judged).map((m) => m.taskId);
      s.ci = {
        result: e.data.result,
        position: e.position,
        recordedAt: e.recordedAt,
        ref: e.data.ref ?? null,
        url: e.data.url ?? null,
        logPath: e.data.logPath ?? null,
        lastPassPosition: pass ? e.position : (s.ci?.lastPassPosition ?? null),
        // A fail hands the merges it judged to decide (reopen); a pass clears them.
        toReopen: pass ? [] : [...new Set(covered)],
      };
      s.mergesSinceCi = merges.slice(judged);
      if (judged > 0) s.ciJudgedCommits = [...earlier, ...merges.slice(0, judged).map((m) => m.commit)];
      return;
    }
    case 'RateLimited': {
      // A limit is about the account, whichever spawn hit it; an unknown spawn is ignored.
      const agent = getOwn(s.agents, e.data.spawnId);
      if (agent === undefined) return;
      // The live spawn's attempt is marked so it does not count against maxRetries.
      if (isLiveAgent(agent)) stepTask(draft, agent.task, e, engine);
      const resetAt = e.data.resetAt;
      if (resetAt === null) return;
      if (s.rateLimitedUntil === null || Date.parse(resetAt) > Date.parse(s.rateLimitedUntil)) {
        s.rateLimitedUntil = resetAt;
      }
      return;
    }
    case 'AgentSpawnRequested':
      foldSpawn(draft, e, engine);
      return;
    case 'AgentStarted':
    case 'AgentExited':
    case 'AgentLost':
    case 'AgentSpawnFailed':
    case 'BreakpointReported':
      foldReport(draft, e, engine);
      return;
    case 'GateStarted':
    case 'GatePassed':
    case 'GateFailed':
    case 'MergeRequested':
    case 'MergeConflicted':
    case 'MergeAbandoned':
    case 'BranchMerged': {
      const before = getOwn(s.tasks, e.data.taskId)?.value;
      const next = stepTask(draft, e.data.taskId, e, engine);
      if (before !== 'complete' && next?.value === 'complete' && e.type === 'BranchMerged')
        s.mergesSinceCi = [...(s.mergesSinceCi ?? []), { taskId: e.data.taskId, commit: e.data.commit }];
      return;
    }
    case 'TaskReopened': {
      const next = stepTask(draft, e.data.taskId, e, engine);
      if (s.ci?.toReopen?.includes(e.data.taskId) && next?.value !== 'complete')
        s.ci = { ...s.ci, toReopen: s.ci.toReopen.filter((id) => id !== e.data.taskId) };
      return;
    }
    case 'LaneSuperseded': {
      // Marks the lane's agent; the task machine superseded the lane when its winner passed.
      const agent = getOwn(s.agents, e.data.spawnId);
      if (agent === undefined || agent.task !== e.data.taskId || agent.superseded === true) return;
      setOwn(draft.writable('agents'), agent.spawnId, { ...agent, superseded: true });
      return;
    }
    case 'RetryScheduled':
    case 'TaskUnblocked':
    case 'TaskCompleted':
    case 'TaskFailed':
    case 'TaskCancelled':
    case 'TaskRetryRequested':
      stepTask(draft, e.data.taskId, e, engine);
      return;
    case 'PhaseUnblocked':
    case 'PhaseBlocked':
    case 'PhaseStarted':
    case 'PhaseCompleted': {
      const current = getOwn(s.phases, e.data.phaseId);
      if (current === undefined) return;
      const next = engine.phase.step(current, e);
      if (next !== current) setOwn(draft.writable('phases'), e.data.phaseId, next);
      return;
    }
    case 'MilestoneCompleted':
    case 'PullRequestRequested':
    case 'PullRequestOpened': {
      const current = getOwn(s.milestones, e.data.milestoneId);
      if (current === undefined) return;
      const next = engine.milestone.step(current, e);
      if (next !== current) setOwn(draft.writable('milestones'), e.data.milestoneId, next);
      return;
    }
    case 'ReviewReceived':
    case 'ReviewAnswered':
      foldReview(s, e);
      return;
    case 'WorkerJoined':
      s.workers = {
        ...(s.workers ?? {}),
        [e.data.runId]: {
          runId: e.data.runId,
          worker: e.data.worker,
          host: e.data.host ?? null,
          pid: e.data.pid,
          status: 'active',
          joinedAt: e.data.joinedAt,
          joinedPosition: e.position,
          endedAt: null,
          reason: null,
        },
      };
      return;
    case 'WorkerDeparted':
    case 'WorkerLost': {
      const member = getOwn(s.workers ?? {}, e.data.runId);
      if (member === undefined || member.status !== 'active') return;
      s.workers = {
        ...(s.workers ?? {}),
        [e.data.runId]: {
          ...member,
          status: e.type === 'WorkerDeparted' ? 'left' : 'lost',
          endedAt: e.recordedAt,
          reason:
            e.type === 'WorkerDeparted'
              ? e.data.reason
              : `no heartbeat for ${Math.round(e.data.silentMs / 1000)} s (declared by ${e.data.declaredBy})`,
        },
      };
      return;
    }
    case 'SignalRejected':
      // Recorded for the audit trail only: a rejected report never changes state.
      return;
    case 'PlanRevisionRefused':
      // For the audit trail: the run keeps the plan it had.
      return;
    case 'PlanDraftRequested':
    case 'PlanDraftAttempted':
    case 'PlanDraftAccepted':
    case 'PlanDraftFailed':
    case 'PlanDraftEdited':
    case 'PlanDraftApproved':
      // `orch plan --draft` and the wizard of `orch serve`: the planner's attempts, for the audit trail; a drafted plan
      // enters the state only when `orch spawn` loads it (`PlanLoaded`/`PlanRevised`).
      return;
    default:
      return;
  }
}

/** A review of a milestone's pull request, or the answer to it: the milestone's {@link ReviewRecord}. */
function foldReview(
  s: OrchState,
  e: Extract<OrchEvent, { type: 'ReviewReceived' | 'ReviewAnswered' }>,
): void {
  const id = e.data.milestoneId;
  const before: ReviewRecord = getOwn(s.reviews ?? {}, id) ?? {
    received: 0,
    decision: null,
    open: [],
    answered: 0,
  };
  let after: ReviewRecord;
  if (e.type === 'ReviewReceived') {
    const kind = e.data.kind;
    after = {
      received: before.received + 1,
      decision: kind !== 'commented' || before.decision === null ? kind : before.decision,
      open: e.data.taskId === undefined ? before.open : [...before.open, e.data.reviewId],
      answered: before.answered,
    };
  } else {
    const done = new Set(e.data.reviewIds);
    const open = before.open.filter((r) => !done.has(r));
    after = { ...before, open, answered: before.answered + (before.open.length - open.length) };
  }
  const reviews = { ...(s.reviews ?? {}) };
  setOwn(reviews, id, after);
  s.reviews = reviews;
}

/**
 * How many of the merges awaiting CI (`OrchState.mergesSinceCi`, in merge order) a CI
 * result for `ref` judges: the merge whose commit it tested and every merge before it; a
 * result for a merge commit CI judged already (`earlier`: a late or repeated run) judges
 * none of the later merges; a result for any other ref (a branch name, an outside commit)
 * judges them all.
 *
 * @example
 * mergesJudged([{ taskId: 'T1', commit: 'a' }, { taskId: 'T2', commit: 'b' }], 'a'); // 1
 * mergesJudged([{ taskId: 'T2', commit: 'b' }], 'a', ['a']); // 0
 */
export function mergesJudged(
  merges: readonly { commit: string }[],
  ref: string | null,
  earlier: readonly string[] = [],
): number {
  if (ref !== null) {
    for (let i = merges.length - 1; i >= 0; i--) if (merges[i]?.commit === ref) return i + 1;
    if (earlier.includes(ref)) return 0;
  }
  return merges.length;
}

function stepTask(
  draft: StateDraft,
  taskId: string,
  e: Parameters<MachineEngine['task']['step']>[1],
  engine: MachineEngine,
): MachineState<TaskContext> | undefined {
  const current = getOwn(draft.state.tasks, taskId);
  if (current === undefined) return undefined;
  const next = engine.task.step(current, e);
  if (next !== current) setOwn(draft.writable('tasks'), taskId, next);
  return next;
}

function foldSpawn(draft: StateDraft, e: OrchEvent<'AgentSpawnRequested'>, engine: MachineEngine): void {
  const s = draft.state;
  const { spawnId, taskId } = e.data;
  // A spawn id is used once; a second request with it is a duplicate and changes nothing.
  if (getOwn(s.agents, spawnId) !== undefined) return;
  const current = getOwn(s.tasks, taskId);
  if (current === undefined) return;
  const next = engine.task.step(current, e);
  const started =
    next.value === 'spawning'
      ? next.context.spawnId === spawnId
      : next.value === 'racing' && (next.context.lanes ?? []).some((l) => l.spawnId === spawnId);
  if (next === current || !started) return;
  setOwn(draft.writable('tasks'), taskId, next);
  const agent: AgentRecord = {
    spawnId,
    task: taskId,
    attempt: e.data.attempt,
    role: e.data.role,
    runId: typeof e.metadata.runId === 'string' ? e.metadata.runId : (s.run?.runId ?? null),
    status: 'spawning',
    pid: null,
    pidStartTime: null,
    exitCode: null,
    signal: null,
    requestedAt: e.recordedAt,
    startedAt: null,
    endedAt: null,
    costUsd: null,
    inputTokens: null,
    outputTokens: null,
    ...(next.value === 'racing' && e.data.lane !== undefined ? { lane: e.data.lane } : {}),
  };
  setOwn(draft.writable('agents'), spawnId, agent);
}

type Report = OrchEvent<
  'AgentStarted' | 'AgentExited' | 'AgentLost' | 'AgentSpawnFailed' | 'BreakpointReported'
>;

function foldReport(draft: StateDraft, e: Report, engine: MachineEngine): void {
  const s = draft.state;
  const agent = getOwn(s.agents, e.data.spawnId);
  // Reports about an unknown spawn, or one already resolved, are stale: ignore them.
  if (agent === undefined || !isLiveAgent(agent)) return;
  let updated: AgentRecord | null = null;
  switch (e.type) {
    case 'AgentStarted':
      if (agent.status !== 'spawning') return;
      updated = {
        ...agent,
        status: 'running',
        pid: e.data.pid,
        pidStartTime: e.data.pidStartTime,
        startedAt: e.data.startedAt,
      };
      break;
    case 'AgentExited': {
      const cost = e.data.usage?.costUsd ?? null;
      updated = {
        ...agent,
        status: 'exited',
        exitCode: e.data.exitCode,
        signal: e.data.signal,
        endedAt: e.recordedAt,
        costUsd: cost,
        inputTokens: e.data.usage?.inputTokens ?? null,
        outputTokens: e.data.usage?.outputTokens ?? null,
      };
      if (cost !== null) s.costUsd += cost;
      break;
    }
    case 'AgentLost':
      updated = { ...agent, status: 'lost', endedAt: e.recordedAt };
      break;
    case 'AgentSpawnFailed':
      if (agent.status !== 'spawning') return;
      updated = { ...agent, status: 'spawn_failed', endedAt: e.recordedAt };
      break;
    case 'BreakpointReported':
      break;
  }
  if (updated !== null) setOwn(draft.writable('agents'), agent.spawnId, updated);
  stepTask(draft, agent.task, e, engine);
}

/**
 * Records a plan: entities that persist keep their machine state, new ones start fresh
 * (in `complete` when the plan says so), and those no longer in the plan are dropped.
 */
function applyPlan(s: OrchState, plan: Plan, engine: MachineEngine): void {
  s.plan = plan;
  s.planVersion += 1;
  const phaseDone = new Set(plan.phases.filter((p) => p.status === 'complete').map((p) => p.id));
  const milestones: OrchState['milestones'] = {};
  for (const m of plan.milestones) {
    const kept = getOwn(s.milestones, m.id);
    setOwn(
      milestones,
      m.id,
      kept ?? engine.milestone.initial({ milestoneId: m.id, declaredComplete: m.status === 'complete' }),
    );
  }
  const phases: OrchState['phases'] = {};
  for (const p of plan.phases) {
    const kept = getOwn(s.phases, p.id);
    setOwn(
      phases,
      p.id,
      kept ?? engine.phase.initial({ phaseId: p.id, declaredComplete: phaseDone.has(p.id) }),
    );
  }
  const tasks: IdRecord<MachineState<TaskContext>> = {};
  for (const t of plan.tasks) {
    const kept = getOwn(s.tasks, t.id);
    const declaredComplete = t.status === 'complete' || phaseDone.has(t.phase);
    setOwn(tasks, t.id, kept ?? engine.task.initial({ taskId: t.id, declaredComplete }));
  }
  s.milestones = milestones;
  s.phases = phases;
  s.tasks = tasks;
}
