import path from 'node:path';
import type { NotifyRule } from '../../core/config.js';
import type { RecordedEvent } from '../../core/envelope.js';
import { streamIds } from '../../core/events.js';
import { notifyMatch, notifyRuleKey, notifyTypes } from '../../core/notify.js';
import type { LiveLog } from '../log/live-log.js';
import { runCommand } from '../system/run-command.js';

/** Defaults of a rule: seconds per attempt, retries, first backoff (seconds). */
export const NOTIFY_DEFAULTS = { timeout: 30, retries: 5, backoff: 5 } as const;
/** Deliveries running at once. */
export const NOTIFY_CONCURRENCY = 4;
/** The longest wait between two attempts (ms). */
const MAX_BACKOFF_MS = 3_600_000;

/** One delivery: an event for a rule. */
interface Delivery {
  event: RecordedEvent;
  rule: NotifyRule;
  index: number;
  key: string;
  /** The entry of `on` it matched. */
  matched: string;
  /** Attempts made so far, over every run. */
  attempts: number;
}

/** What the notifier needs from the run. */
export interface NotifierOptions {
  log: LiveLog;
  rules: readonly NotifyRule[];
  runId: string;
  repoDir: string;
  stateDir: string;
  /** The log's place when it is not `<state-dir>/orch.db` (`ORCH_DATABASE_URL` for the commands). */
  logUrl?: string;
  /** Deliveries running at once (default {@link NOTIFY_CONCURRENCY}). */
  concurrency?: number;
}

/**
 * `notify`: runs each rule's command for each event it matches, with the event as JSON on
 * stdin, in the background (at most `concurrency` at once; the loop never waits for it),
 * only once the event is in the log. Each failed attempt is recorded (`NotificationFailed`)
 * and retried after a backoff that doubles, up to the rule's `retries`; a success is
 * recorded (`NotificationDelivered`). What is due is read from the log when the run starts
 * (every matching event since the rule was first configured, not yet delivered nor given
 * up), so a delivery cut short by a stop or a crash is made by the next run: at least once.
 *
 * @example
 * const notifier = new Notifier({ log, rules: config.notify, runId, repoDir, stateDir });
 * notifier.start(); // queues what earlier runs left due
 * // for every event folded from then on: notifier.offer(event)
 * await notifier.close(10_000);
 */
export class Notifier {
  private readonly keys: string[];
  private readonly types: Set<string>;
  private readonly ready: Delivery[] = [];
  private readonly waiting = new Map<NodeJS.Timeout, { due: number; delivery: Delivery }>();
  private readonly running = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  /** Events at or before this position were judged by `start()`. */
  private cursor = Number.POSITIVE_INFINITY;
  private closed = false;

  constructor(private readonly o: NotifierOptions) {
    this.keys = o.rules.map(notifyRuleKey);
    this.types = new Set(o.rules.flatMap((r) => notifyTypes(r.on)));
  }

  /**
   * Queues every delivery the log says is due: for each rule, the events it matches from the
   * first `RunStarted` whose config listed it, less those delivered or given up. Call it once
   * the run's own `RunStarted` (listing the rules) is in the log.
   */
  start(): void {
    const { store } = this.o.log;
    const horizon = new Map<string, number>();
    for (const e of store.readAll({ types: ['RunStarted'] })) {
      const listed = ((e.data as { config?: { notify?: unknown } }).config ?? {}).notify;
      if (!Array.isArray(listed)) continue;
      for (const key of listed)
        if (typeof key === 'string' && !horizon.has(key)) horizon.set(key, e.position);
    }
    const done = new Set<string>();
    const attempts = new Map<string, number>();
    for (const e of store.readAll({ types: ['NotificationDelivered', 'NotificationFailed'] })) {
      const d = e.data as {
        position: number;
        rule: string;
        attempt?: number;
        attempts?: number;
        final?: boolean;
      };
      const id = `${d.position}|${d.rule}`;
      if (e.type === 'NotificationDelivered' || d.final === true) done.add(id);
      attempts.set(id, Math.max(attempts.get(id) ?? 0, d.attempt ?? d.attempts ?? 0));
    }
    const from = Math.min(...this.keys.map((k) => horizon.get(k) ?? Number.POSITIVE_INFINITY));
    this.cursor = store.lastPosition();
    if (!Number.isFinite(from)) return;
    for (const event of store.readAll({ from, to: this.cursor, types: [...this.types] })) {
      this.match(event, (delivery) => {
        const id = `${event.position}|${delivery.key}`;
        if (event.position < (horizon.get(delivery.key) ?? Number.POSITIVE_INFINITY) || done.has(id)) return;
        this.ready.push({ ...delivery, attempts: attempts.get(id) ?? 0 });
      });
    }
    this.pump();
  }

  /** An event just folded into the run's state (so it is in the log): queued for each rule it matches. */
  offer(event: RecordedEvent): void {
    if (this.closed || event.position <= this.cursor || !this.types.has(event.type)) return;
    this.match(event, (delivery) => this.ready.push(delivery));
    this.pump();
  }

  /** Deliveries queued, running or waiting to retry. */
  get pending(): number {
    return this.ready.length + this.running.size + this.waiting.size;
  }

  /**
   * Ends the notifier: deliveries queued, running, or whose retry falls within `graceMs`
   * may finish until then; whatever is left is stopped (its process group killed) and left
   * for the next run, which finds it due in the log.
   */
  async close(graceMs: number): Promise<void> {
    const deadline = Date.now() + graceMs;
    const busy = () =>
      this.ready.length > 0 ||
      this.running.size > 0 ||
      [...this.waiting.values()].some((w) => w.due <= deadline);
    while (!this.closed && busy() && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    this.closed = true;
    for (const timer of this.waiting.keys()) clearTimeout(timer);
    this.waiting.clear();
    this.ready.length = 0;
    this.abort.abort();
    await Promise.all([...this.running]);
  }

  private match(event: RecordedEvent, add: (d: Delivery) => void): void {
    this.o.rules.forEach((rule, index) => {
      const matched = notifyMatch(rule.on, event);
      if (matched === null) return;
      add({ event, rule, index, key: this.keys[index]!, matched, attempts: 0 });
    });
  }

  private pump(): void {
    const limit = this.o.concurrency ?? NOTIFY_CONCURRENCY;
    while (!this.closed && this.running.size < limit && this.ready.length > 0) {
      const delivery = this.ready.shift()!;
      const run: Promise<void> = this.deliver(delivery)
        .catch(() => undefined)
        .finally(() => {
          this.running.delete(run);
          this.pump();
        });
      this.running.add(run);
    }
  }

  private async deliver(d: Delivery): Promise<void> {
    const attempt = d.attempts + 1;
    const { event, rule } = d;
    const input = JSON.stringify({
      position: event.position,
      type: event.type,
      streamId: event.streamId,
      data: event.data,
      metadata: event.metadata,
      recordedAt: event.recordedAt,
      notify: { on: d.matched, rule: d.index, attempt, runId: this.o.runId },
    });
    const outcome = await runCommand(rule.command, {
      cwd: this.o.repoDir,
      logFile: path.join(this.o.stateDir, 'logs', 'notify', `${event.position}-${d.index}.log`),
      input: `${input}\n`,
      env: {
        ORCH_STATE_DIR: this.o.stateDir,
        ...(this.o.logUrl === undefined ? {} : { ORCH_DATABASE_URL: this.o.logUrl }),
        ORCH_EVENT_TYPE: event.type,
        ORCH_EVENT_POSITION: String(event.position),
      },
      timeoutMs: (rule.timeout ?? NOTIFY_DEFAULTS.timeout) * 1000,
      tailBytes: 2000,
      signal: this.abort.signal,
    });
    if (this.closed) return;
    const stream = streamIds.run(this.o.runId);
    const base = { position: event.position, eventType: event.type, rule: d.key };
    if (outcome.exitCode === 0 && !outcome.timedOut) {
      this.o.log.append(
        stream,
        'NotificationDelivered',
        { ...base, attempts: attempt, durationMs: outcome.durationMs },
        { expectedVersion: 'any' },
      );
      return;
    }
    const retries = rule.retries ?? NOTIFY_DEFAULTS.retries;
    const final = attempt > retries;
    const why = outcome.timedOut
      ? `timed out after ${rule.timeout ?? NOTIFY_DEFAULTS.timeout} s`
      : (outcome.startError ?? `exit ${outcome.exitCode ?? outcome.signal ?? 'none'}`);
    const tail = outcome.tail.trim().split('\n').slice(-3).join(' | ');
    this.o.log.append(
      stream,
      'NotificationFailed',
      { ...base, attempt, error: `${why}${tail === '' ? '' : `: ${tail}`}`.slice(0, 1000), final },
      { expectedVersion: 'any' },
    );
    if (final) return;
    const waitMs = Math.min(
      (rule.backoff ?? NOTIFY_DEFAULTS.backoff) * 1000 * 2 ** (attempt - 1),
      MAX_BACKOFF_MS,
    );
    const timer = setTimeout(() => {
      this.waiting.delete(timer);
      this.ready.push({ ...d, attempts: attempt });
      this.pump();
    }, waitMs);
    this.waiting.set(timer, { due: Date.now() + waitMs, delivery: d });
  }
}
