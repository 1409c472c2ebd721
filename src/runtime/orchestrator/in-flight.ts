import type { Clock } from '../system/clock.js';

/** What {@link InFlight.waitForChange} watches besides the effects. */
export interface WaitOptions {
  clock: Clock;
  /** How often to look for events written by other processes (ms). */
  pollIntervalMs: number;
  /** The last log position the loop has folded (and decided on). */
  foldedPosition: number;
  /** The last position in the store (another process may have appended since). */
  storePosition: () => number;
}

/**
 * The effects a run is carrying out (agent processes, gates, merges, CI runs, pull
 * requests) and the reason it stops. The loop waits on them; the first effect that fails
 * stops the run (`error: <message>`); {@link stop} wakes a waiting loop at once.
 *
 * @example
 * const inFlight = new InFlight();
 * inFlight.track(runGate('T1', spawnId));
 * await inFlight.waitForChange(null, { clock, pollIntervalMs: 100, foldedPosition: log.lastPosition, storePosition: () => store.lastPosition() });
 */
export class InFlight {
  private readonly effects = new Set<Promise<void>>();
  private wake: (() => void) | null = null;
  private reason: string | null = null;
  private failure: { error: unknown } | null = null;

  /** Keeps an effect's promise so the loop waits for it; its failure stops the run. */
  readonly track = (effect: Promise<unknown>): void => {
    const tracked = effect
      .then(
        () => undefined,
        (err: unknown) => {
          // A worker declared lost: a stop (it rejoins), not a failure of the run.
          if ((err as { code?: unknown }).code === 'WORKER_LOST') {
            this.stop((err as Error).message);
            return;
          }
          this.failure ??= { error: err };
          this.stop(`error: ${(err as Error).message}`);
        },
      )
      .finally(() => {
        this.effects.delete(tracked);
        this.wake?.();
      });
    this.effects.add(tracked);
  };

  /** How many effects are still running. */
  get size(): number {
    return this.effects.size;
  }

  /** Why the run stops (the first reason given), or null while it goes on. */
  get stopReason(): string | null {
    return this.reason;
  }

  /** Asks the run to stop (the first reason wins) and wakes a waiting loop. */
  stop(reason: string): void {
    this.reason ??= reason;
    this.wake?.();
  }

  /** Throws the error of the first effect that failed, if one did. */
  throwIfFailed(): void {
    if (this.failure === null) return;
    const { error } = this.failure;
    throw error instanceof Error ? error : new Error(JSON.stringify(error));
  }

  /** Resolves when every effect running now has ended (failed or not). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.effects]);
  }

  /**
   * Sleeps until an effect ends, `wakeAt` (epoch ms; null: no timer) is reached, another
   * process appends to the log, or the run is stopped.
   */
  async waitForChange(wakeAt: number | null, options: WaitOptions): Promise<void> {
    const deadline = wakeAt ?? Number.POSITIVE_INFINITY;
    let woken = false;
    const woke = new Promise<void>((resolve) => {
      this.wake = () => {
        woken = true;
        resolve();
      };
    });
    try {
      while (!woken && this.reason === null) {
        const left = deadline - options.clock.now().getTime();
        if (left <= 0) return;
        await Promise.race([woke, sleep(Math.min(options.pollIntervalMs, left))]);
        if (options.storePosition() !== options.foldedPosition) return;
      }
    } finally {
      this.wake = null;
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
