import os from 'node:os';
import type { OrchEventData, OrchEventType } from '../../core/events.js';
import { streamIds } from '../../core/events.js';
import { getOwn } from '../../core/record.js';
import type { OrchState, WorkerRecord } from '../../core/state.js';
import { isLiveAgent } from '../../core/state.js';
import { ConcurrencyError } from '../../store/errors.js';
import type { EventStore } from '../../store/event-store.js';
import type { LiveLog } from '../log/live-log.js';
import { killSpawnProcesses } from '../system/find-processes.js';
import { isProcessAlive } from '../system/process-identity.js';
import type { WarningSink } from './warnings.js';

/** The snapshot-table row a worker rewrites as its heartbeat (not an event: beats are not history). */
export const heartbeatKey = (runId: string) => `worker-beat:${runId}`;

/** Settings of one worker's membership. */
export interface MembershipOptions {
  log: LiveLog;
  store: EventStore;
  /** The membership: this run's id. */
  runId: string;
  /** The worker's name (`--worker`, default host:pid). */
  name: string;
  /** `workerTimeout` in ms: a membership whose heartbeat does not change for this long is declared lost. */
  timeoutMs: number;
  /** A steady clock (ms) for judging silence, and the wall clock for recorded times. */
  steadyNow: () => number;
  wallNow: () => Date;
  /** The merge commit of a task on the shared integration branch, or null (see `WorkspaceManager.taskMerge`). */
  findMerge: (taskId: string) => Promise<string | null>;
  warn: WarningSink;
}

/**
 * One worker's membership in a run over a shared log (`orch spawn --worker`): it joins
 * (`WorkerJoined`), keeps a heartbeat in the snapshot table, watches the other memberships'
 * heartbeats with its own steady clock (no clock of another machine is compared with its
 * own), declares a silent one lost exactly once (`WorkerLost` at that membership stream's
 * expected version, with its agents lost and its gates and merges settled in the same
 * transaction), and fences its own writes once it was itself declared lost.
 *
 * @example
 * const m = new WorkerMembership({ log, store, runId, name: 'ci-box-1', timeoutMs: 60_000, ... });
 * m.join(); // then m.watch() on each loop tick, m.leave('done') at the end
 */
export class WorkerMembership {
  private readonly seen = new Map<string, { beat: string | null; since: number }>();
  private timer: NodeJS.Timeout | null = null;
  private beats = 0;
  private lastWatch = Number.NEGATIVE_INFINITY;
  private joined = false;

  constructor(private readonly o: MembershipOptions) {}

  /** How often the heartbeat is written (ms): a quarter of the timeout, at most 5 s. */
  get beatMs(): number {
    return Math.max(50, Math.min(5000, Math.floor(this.o.timeoutMs / 4)));
  }

  /** Records `WorkerJoined`, puts up the fence and starts the heartbeat. */
  join(): void {
    const { log, runId } = this.o;
    log.append(
      streamIds.worker(runId),
      'WorkerJoined',
      {
        runId,
        worker: this.o.name,
        host: os.hostname(),
        pid: process.pid,
        joinedAt: this.o.wallNow().toISOString(),
      },
      { expectedVersion: 'no_stream' },
    );
    this.joined = true;
    // The membership stream holds only `WorkerJoined` while it is active: every write of this
    // process requires it still at version 1, inside the write's own transaction.
    log.fence = { streamId: streamIds.worker(runId), version: 1, reason: () => this.fenceReason() };
    this.beat();
    this.timer = setInterval(() => this.beat(), this.beatMs);
    this.timer.unref();
  }

  /** Why this membership may no longer write (declared lost), or null. */
  lostReason(state: OrchState): string | null {
    const me = getOwn(state.workers ?? {}, this.o.runId);
    if (me === undefined || me.status === 'active') return null;
    return me.status === 'lost' ? (me.reason ?? 'declared lost') : `it left (${me.reason ?? ''})`;
  }

  /** Why the fence went up, read from the store: what ended the membership stream after `WorkerJoined`. */
  private fenceReason(): string {
    for (const e of this.o.store.readStream(streamIds.worker(this.o.runId), { from: 2, to: 2 })) {
      if (e.type === 'WorkerLost') {
        const d = e.data as OrchEventData<'WorkerLost'>;
        return `no heartbeat for ${Math.round(d.silentMs / 1000)} s (declared by ${d.declaredBy})`;
      }
    }
    return 'its membership ended';
  }

  /** Whether this worker writes the statuses back into the plan files: the oldest active membership. */
  isLeader(state: OrchState): boolean {
    let oldest: WorkerRecord | undefined;
    for (const m of Object.values(state.workers ?? {})) {
      if (m.status === 'active' && (oldest === undefined || m.joinedPosition < oldest.joinedPosition))
        oldest = m;
    }
    return oldest?.runId === this.o.runId;
  }

  /** Rewrites the heartbeat row (a failure is said once per kind and retried at the next beat). */
  private beat(): void {
    try {
      this.beats += 1;
      this.o.store.saveSnapshot(heartbeatKey(this.o.runId), this.beats, {
        beat: this.beats,
        pid: process.pid,
      });
    } catch (err) {
      this.o.warn({
        code: 'HEARTBEAT_FAILED',
        message: `could not write the heartbeat: ${(err as Error).message}`,
      });
    }
  }

  /**
   * Looks at the other active memberships' heartbeats (at most once per beat interval) and
   * declares lost each one silent for `workerTimeout` by this worker's steady clock. Returns
   * the memberships it declared lost.
   */
  async watch(): Promise<string[]> {
    const now = this.o.steadyNow();
    if (now - this.lastWatch < this.beatMs / 2) return [];
    // This worker was not looking for a while (a long blocking call, the server away, its own
    // pause): silence is judged only over time it watched, so every watch starts afresh.
    if (now - this.lastWatch > this.beatMs * 4) this.seen.clear();
    this.lastWatch = now;
    const declared: string[] = [];
    for (const member of Object.values(this.o.log.state.workers ?? {})) {
      if (member.status !== 'active' || member.runId === this.o.runId) continue;
      const beat = this.o.store.loadSnapshotText(heartbeatKey(member.runId))?.data ?? null;
      const last = this.seen.get(member.runId);
      if (last === undefined || last.beat !== beat) {
        this.seen.set(member.runId, { beat, since: now });
        continue;
      }
      const silentMs = now - last.since;
      if (silentMs < this.o.timeoutMs) continue;
      const reason = `worker ${member.worker} was declared lost (no heartbeat for ${Math.round(silentMs / 1000)} s)`;
      if (await this.declareLost(member, silentMs, reason)) declared.push(member.runId);
    }
    return declared;
  }

  /**
   * Records `WorkerLost` for `member` with, in the same transaction, `AgentLost` for each of its
   * live agents, `GateFailed` for each gate of its spawns not finished, and for each merge of
   * its spawns not recorded: `BranchMerged` when the task's merge is on the integration branch,
   * else `MergeAbandoned`. Another worker declaring it first (or anything moving one of those
   * streams) makes the transaction fail with nothing written: false.
   */
  private async declareLost(member: WorkerRecord, silentMs: number, reason: string): Promise<boolean> {
    const { log } = this.o;
    log.catchUp();
    const state = log.state;
    if (getOwn(state.workers ?? {}, member.runId)?.status !== 'active') return false;
    const events: { streamId: string; type: OrchEventType; data: OrchEventData }[] = [
      {
        streamId: streamIds.worker(member.runId),
        type: 'WorkerLost',
        data: { runId: member.runId, worker: member.worker, declaredBy: this.o.runId, silentMs },
      },
    ];
    const settled = await this.settlements(state, member, reason, true);
    if (settled === null) return false;
    events.push(...settled);
    try {
      log.appendAll(events);
    } catch (err) {
      if (err instanceof ConcurrencyError) return false;
      throw err;
    }
    this.seen.delete(member.runId);
    this.o.warn({ code: 'WORKER_LOST', message: reason });
    return true;
  }

  /**
   * What `member` leaves unfinished, settled: `AgentLost` for each of its live agents (when
   * `agents`), `GateFailed` for each gate of its spawns without a result, and for each merge
   * of its spawns not recorded `BranchMerged` when the task's merge is on the integration
   * branch, else `MergeAbandoned` (the task is retried by a worker still there). Null when the
   * integration branch cannot be read now (nothing can be settled yet).
   */
  private async settlements(
    state: OrchState,
    member: WorkerRecord,
    reason: string,
    agents: boolean,
  ): Promise<{ streamId: string; type: OrchEventType; data: OrchEventData }[] | null> {
    const events: { streamId: string; type: OrchEventType; data: OrchEventData }[] = [];
    const owned = new Set<string>();
    for (const agent of Object.values(state.agents)) {
      if (agent.runId !== member.runId) continue;
      owned.add(agent.spawnId);
      if (agents && isLiveAgent(agent))
        events.push({
          streamId: streamIds.task(agent.task),
          type: 'AgentLost',
          data: { spawnId: agent.spawnId, reason },
        });
    }
    for (const [taskId, entry] of Object.entries(state.tasks)) {
      const stream = streamIds.task(taskId);
      const gateFailed = (spawnId: string) =>
        events.push({
          streamId: stream,
          type: 'GateFailed',
          data: { taskId, spawnId, exitCode: null, outputTail: reason },
        });
      if (entry.value === 'racing') {
        for (const lane of entry.context.lanes ?? [])
          if (owned.has(lane.spawnId) && (lane.state === 'exited' || lane.state === 'verifying'))
            gateFailed(lane.spawnId);
        continue;
      }
      const spawnId = entry.context.spawnId;
      if (spawnId == null || !owned.has(spawnId)) continue;
      if (entry.value === 'awaitingGate' || entry.value === 'verifying') gateFailed(spawnId);
      if (entry.value === 'awaitingMerge' || entry.value === 'merging') {
        // Its push may have landed before it went silent: then the task is merged, once.
        let commit: string | null;
        try {
          commit = await this.o.findMerge(taskId);
        } catch (err) {
          // The remote cannot be read now: judged at the next look, nothing declared yet.
          this.o.warn({
            code: 'WORKER_LOST',
            message: `could not settle the merge of ${taskId} of worker ${member.worker} yet: ${(err as Error).message}`,
          });
          return null;
        }
        events.push(
          commit === null
            ? { streamId: stream, type: 'MergeAbandoned', data: { taskId, spawnId, reason } }
            : { streamId: stream, type: 'BranchMerged', data: { taskId, spawnId, commit } },
        );
      }
    }
    return events;
  }

  /**
   * A worker restarted on the same host under the same name (after a crash or `kill -9`):
   * its earlier memberships whose process is gone are declared lost now (not after
   * `workerTimeout`), and the agent processes they left behind (found by `ORCH_SPAWN_ID`) are
   * stopped. Returns how many memberships it ended.
   */
  async takeOverOwnPast(killGraceMs: number): Promise<number> {
    const { log } = this.o;
    log.catchUp();
    let ended = 0;
    const host = os.hostname();
    for (const member of Object.values(log.state.workers ?? {})) {
      if (member.runId === this.o.runId || member.worker !== this.o.name || member.host !== host) continue;
      if (member.status === 'active') {
        if (member.pid === process.pid || isProcessAlive(member.pid)) continue;
        const reason = `worker ${member.worker} was declared lost (its process ${member.pid} is gone; it restarted)`;
        if (!(await this.declareLost(member, 0, reason))) continue;
        ended += 1;
      }
      if (member.status === 'left') continue;
      // Its agents recorded lost may still run here: stop them.
      for (const agent of Object.values(log.state.agents)) {
        if (agent.runId === member.runId && agent.status === 'lost')
          await killSpawnProcesses(agent.spawnId, killGraceMs).catch(() => 0);
      }
    }
    return ended;
  }

  /**
   * Stops the heartbeat and records `WorkerDeparted` (unless the membership already ended),
   * with, in the same transaction, the gates and merges it leaves unfinished settled as a lost
   * worker's are (see `settlements`): a run stopped by an error may leave a merge requested,
   * and its task branch is only in this worker's checkout, so no other worker could finish it.
   * Its agents are not: a run that stops stops them, or leaves them running on purpose.
   */
  async leave(reason: string): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (!this.joined) return;
    this.joined = false;
    const { log } = this.o;
    log.fence = null;
    for (let tries = 0; tries < 3; tries++) {
      try {
        log.catchUp();
        const me = getOwn(log.state.workers ?? {}, this.o.runId);
        if (this.lostReason(log.state) !== null || me === undefined) return;
        const why = `worker ${this.o.name} left (${reason.slice(0, 500)})`;
        const settled = (await this.settlements(log.state, me, why, false)) ?? [];
        log.appendAll([
          {
            streamId: streamIds.worker(this.o.runId),
            type: 'WorkerDeparted',
            data: { runId: this.o.runId, worker: this.o.name, reason: reason.slice(0, 2000) },
          },
          ...settled,
        ]);
        return;
      } catch (err) {
        // Declared lost at this very moment (its departure is not recorded), or a stream it
        // settles moved: looked at again.
        if (!(err instanceof ConcurrencyError)) throw err;
      }
    }
  }
}
