import { randomUUID } from 'node:crypto';
import type { TaskIndex } from '../../core/task-index.js';
import type { Actor, EventMetadata, NewEvent, RecordedEvent } from '../../core/envelope.js';
import type { OrchEventData, OrchEventType } from '../../core/events.js';
import { parseEventData } from '../../core/events.js';
import { Replayer } from '../../core/replayer.js';
import type { OrchState } from '../../core/state.js';
import type { EventStore, ExpectedVersion, StreamAppend } from '../../store/event-store.js';
import { ConcurrencyError } from '../../store/errors.js';
import { OrchError } from '../../util/errors.js';
import { loadState } from './load-state.js';

/**
 * A worker declared lost tried to record something about tasks or agents: refused (its late
 * reports are stale; another worker has taken its work over). The run stops and rejoins.
 */
export class WorkerLostError extends OrchError {
  constructor(reason: string) {
    super('WORKER_LOST', `this worker was declared lost: ${reason}; what it reports now is not recorded`, {
      hint: 'it stops its agents and joins again under a new membership',
    });
  }
}

/** Options of one append through {@link LiveLog.append}. */
export interface LiveAppendOptions {
  /**
   * `'known'` (default): the stream must still be at the version this process last saw —
   * the lock that keeps two writers from acting on the same entity. Outcomes (facts that
   * happened whatever else was written) pass `'any'`.
   */
  expectedVersion?: ExpectedVersion | 'known';
  actor?: Actor;
  causationId?: string;
  /** Event id; a fresh UUID when absent (pass a fixed one to make a retry idempotent). */
  id?: string;
}

/**
 * A worker's write fence: this process may write about tasks and agents only while stream
 * `streamId` (its membership) is still at `version`. The condition is part of every append's
 * own transaction (a part with no events at that expected version), so a worker that stalls
 * between deciding and writing cannot get a write in after another declared it lost.
 */
export interface WriteFence {
  streamId: string;
  version: number;
  /** Why the membership ended, read from the store once the condition failed. */
  reason(): string;
}

/** A log followed read-only ({@link LiveLog.follow}): the live fold, and catching up. */
export type FollowedLog = Pick<LiveLog, 'state' | 'lastPosition' | 'catchUp'>;

/**
 * The log as one process sees it: the store plus a live fold (a {@link Replayer}) that is
 * brought up to date from the store before every decision, whoever wrote the new events
 * (this orchestrator, `orch signal` from an agent, `orch ci` from a CI job). A reader that
 * only watches (the dashboard) follows it read-only with {@link LiveLog.follow}.
 *
 * @example
 * const log = new LiveLog(store, { runId });
 * log.catchUp();
 * log.append('task-T1', 'TaskUnblocked', { taskId: 'T1', reason: 'dependencies' });
 */
export class LiveLog {
  /**
   * Follows a log without writing to it: the first {@link LiveLog.catchUp} folds only the
   * last `tail` events one by one (each through `listener`, so the latest events can be
   * shown); the state before them comes from the state snapshot plus the fold after it.
   * The result has no append: a read-only store can be followed.
   *
   * @example
   * const log = LiveLog.follow(store, { tail: 200, listener: (event, state) => show(event, state) });
   * setInterval(() => log.catchUp(), 200);
   */
  static follow(
    store: EventStore,
    options: {
      tail: number;
      listener?: (event: RecordedEvent, state: OrchState) => void;
      /** Called for every event folded, before it is folded, with the state before it. */
      before?: (event: RecordedEvent, state: OrchState) => void;
    },
  ): FollowedLog {
    const last = store.lastPosition();
    const from = last > options.tail ? loadState(store, { to: last - options.tail }) : undefined;
    return new LiveLog(store, {}, from, options.listener, options.before);
  }

  /**
   * Workers: the condition under which this process may write about tasks and agents (its
   * membership not declared lost), or null. Checked by the store inside every append except to
   * its own run stream (not against the fold: folding here would move the versions this process
   * decided on); a fenced append throws `WorkerLostError` and writes nothing.
   */
  fence: WriteFence | null = null;

  /** Stream versions held for `'known'` appends while a decision is carried out ({@link LiveLog.pin}). */
  private pinned: Map<string, number> | null = null;

  private readonly replayer: Replayer;
  private readonly versions = new Map<string, number>();
  private position = 0;

  constructor(
    readonly store: EventStore,
    private readonly meta: { runId?: string; actor?: Actor } = {},
    from?: { state: OrchState; versions: Record<string, number> },
    /** Called for every event folded, in log order, with the state after it. */
    private readonly listener?: (event: RecordedEvent, state: OrchState) => void,
    /** Called for every event, before it is folded, with the state before it. */
    private readonly beforeListener?: (event: RecordedEvent, state: OrchState) => void,
  ) {
    this.replayer = new Replayer(from?.state);
    if (from) {
      this.position = from.state.position;
      for (const [k, v] of Object.entries(from.versions)) this.versions.set(k, v);
    }
  }

  /** The folded state (live; do not modify). */
  get state(): OrchState {
    return this.replayer.state;
  }

  /** The spawn ids of the live agents of {@link LiveLog.state} (see `Replayer.liveAgents`). */
  get liveAgents(): ReadonlySet<string> {
    return this.replayer.liveAgents;
  }

  /** The tasks of {@link LiveLog.state} grouped for the decision loop (see `Replayer.taskIndex`). */
  get taskIndex(): TaskIndex {
    return this.replayer.taskIndex;
  }

  /** Position of the last event folded. */
  get lastPosition(): number {
    return this.position;
  }

  /** The version of a stream as of the last fold (0: no such stream). */
  versionOf(streamId: string): number {
    return this.versions.get(streamId) ?? 0;
  }

  /**
   * Holds the stream versions as folded now for `'known'` appends until {@link LiveLog.unpin}:
   * folding what others write meanwhile does not move them (only this process's own appends
   * do). Workers pin while they carry out a decision, so a task another worker claimed after
   * the decision makes this worker's spawn fail (`ConcurrencyError`) instead of doubling it.
   */
  pin(): void {
    this.pinned = new Map(this.versions);
  }

  /** Ends {@link LiveLog.pin}. */
  unpin(): void {
    this.pinned = null;
  }

  /** The version a `'known'` append expects: the pinned one while pinned, else the folded one. */
  private knownVersion(streamId: string): number {
    return this.pinned === null ? this.versionOf(streamId) : (this.pinned.get(streamId) ?? 0);
  }

  /** Every stream version seen (for snapshots). */
  streamVersions(): Record<string, number> {
    return Object.fromEntries(this.versions);
  }

  /** Folds every event appended since the last call (by anyone); returns them in order. */
  catchUp(): RecordedEvent[] {
    // A local store answers the probe at once; a remote one would pay a round trip for it.
    if (this.store.remote !== true && this.store.lastPosition() === this.position) return [];
    const fresh: RecordedEvent[] = [];
    for (const event of this.store.readAll({ from: this.position + 1 })) {
      this.beforeListener?.(event, this.replayer.state);
      this.replayer.apply(event);
      this.versions.set(event.streamId, event.streamVersion);
      this.position = event.position;
      fresh.push(event);
      this.listener?.(event, this.replayer.state);
    }
    return fresh;
  }

  /**
   * Throws `WorkerLostError` when the fence is up (after folding what others wrote): what an
   * append to `streamId` would do, for an effect about to act outside the log (a push).
   */
  assertWritable(streamId: string): void {
    this.checkFence(streamId);
  }

  /** Throws `WorkerLostError` when the fence is up (one query: the membership stream's version). */
  private checkFence(streamId: string): void {
    const fence = this.fenceFor([streamId]);
    if (fence !== null && this.store.streamVersion(fence.streamId) !== fence.version)
      throw new WorkerLostError(fence.reason());
  }

  /** The fence an append to these streams must hold, or null (none up, only run streams, or the membership's own). */
  private fenceFor(streamIds: readonly string[]): WriteFence | null {
    const fence = this.fence;
    if (fence === null) return null;
    let fenced = false;
    for (const id of streamIds) {
      if (id === fence.streamId) return null;
      if (!id.startsWith('run-')) fenced = true;
    }
    return fenced ? fence : null;
  }

  /**
   * Appends the parts, with the fence's condition (if any) as a part of the same transaction:
   * the membership stream moving on refuses the whole append with `WorkerLostError`.
   */
  private appendFenced(parts: StreamAppend[]): ReturnType<EventStore['appendBatch']> {
    const fence = this.fenceFor(parts.map((p) => p.streamId));
    if (fence === null) return this.store.appendBatch(parts);
    try {
      return this.store
        .appendBatch([{ streamId: fence.streamId, events: [], expectedVersion: fence.version }, ...parts])
        .slice(1);
    } catch (err) {
      if (err instanceof ConcurrencyError && err.streamId === fence.streamId)
        throw new WorkerLostError(fence.reason());
      throw err;
    }
  }

  /**
   * Appends several events in one transaction (all or nothing), each stream at the version
   * this process last saw; events of one stream keep their order. Then catches up.
   */
  appendAll(events: readonly { streamId: string; type: OrchEventType; data: OrchEventData }[]): void {
    const byStream = new Map<string, NewEvent[]>();
    const metadata: EventMetadata = {
      ...(this.meta.runId === undefined ? {} : { runId: this.meta.runId }),
      actor: this.meta.actor ?? 'orch',
    };
    for (const e of events) {
      parseEventData(e.type, e.data);
      const list = byStream.get(e.streamId) ?? [];
      list.push({ id: randomUUID(), type: e.type, data: e.data, metadata });
      byStream.set(e.streamId, list);
    }
    const results = this.appendFenced(
      [...byStream].map(([streamId, list]) => ({
        streamId,
        events: list,
        expectedVersion: this.knownVersion(streamId) || 'no_stream',
      })),
    );
    for (const r of results) this.pinned?.set(r.streamId, r.nextExpectedVersion);
    this.catchUp();
  }

  /**
   * Validates the data against the event catalog, appends it, and catches up (so the fold
   * sees it, and whatever others wrote before it, by the same path as every other event).
   * Throws `ConcurrencyError` when the stream moved on (with `'known'`).
   */
  append<T extends OrchEventType>(
    streamId: string,
    type: T,
    data: OrchEventData<T>,
    options: LiveAppendOptions = {},
  ): number {
    parseEventData(type, data);
    const expected = options.expectedVersion ?? 'known';
    const metadata: EventMetadata = {
      ...(this.meta.runId === undefined ? {} : { runId: this.meta.runId }),
      actor: options.actor ?? this.meta.actor ?? 'orch',
      ...(options.causationId === undefined ? {} : { causationId: options.causationId }),
    };
    const event = { id: options.id ?? randomUUID(), type, data, metadata };
    const version = expected === 'known' ? this.knownVersion(streamId) || 'no_stream' : expected;
    const result =
      this.fence === null
        ? this.store.append(streamId, [event], { expectedVersion: version })
        : this.appendFenced([{ streamId, events: [event], expectedVersion: version }])[0]!;
    this.pinned?.set(streamId, result.nextExpectedVersion);
    const position = result.positions[0];
    if (position === undefined) throw new Error(`append to ${streamId} returned no position`);
    this.catchUp();
    return position;
  }
}
