/* eslint-disable no-control-regex -- terminal keys are control characters */
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { setOwn } from '../../core/record.js';
import type { IdRecord } from '../../core/record.js';
import { initialState, isLiveAgent } from '../../core/state.js';
import { StoreError } from '../../store/errors.js';
import { loadConfig } from '../project/config.js';
import type { EventStore } from '../../store/event-store.js';
import { describeLocation, logLocation } from '../log/location.js';
import { logPlace, openLog } from '../log/open.js';
import type { AgentOutput, DashboardView } from '../render/dashboard.js';
import { renderDashboard, summaryLine } from '../render/dashboard.js';
import { progressLine } from '../render/progress.js';
import { terminalSafe } from '../render/format.js';
import { LiveLog, type FollowedLog } from '../log/live-log.js';
import { agentLogPath } from '../system/state-paths.js';
import { readLeaseView } from '../system/lease.js';
import { OutputFile } from '../system/output-tail.js';

/** Where the dashboard reads and writes, and how often. */
export interface WatchOptions {
  /** The state directory: the log is `<stateDir>/orch.db`, agent output `<stateDir>/logs/`. */
  stateDir: string;
  stdout: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  /** Redraw in place (default: `stdout.isTTY`); otherwise print one plain line per interval. */
  tty?: boolean;
  /** Ms between redraws (TTY, default 1000) or plain lines (default 5000). */
  intervalMs?: number;
  /** Ms between checks of the log for new events (default 200). */
  pollMs?: number;
  /** Budget in USD to show beside the cost. */
  budget?: number;
  /** Stops the dashboard (besides `q`, Ctrl-C, SIGTERM). */
  signal?: AbortSignal;
  /** Injected clock (epoch ms). */
  now?: () => number;
}

const RECENT = 10;
/** Events folded one by one on start (the rest come from the read model), so recent events show. */
const TAIL = 200;
/** An agent's last output line is looked for in this many bytes at the end of its output file. */
const OUTPUT_WINDOW_BYTES = 8192;
const ESC = '\x1b[';

/**
 * Follows the log read-only and shows the dashboard until `q`, Ctrl-C, SIGINT/SIGTERM or
 * `signal`: on a terminal it redraws in place (alternate screen, cursor hidden, raw stdin)
 * on every change and every second, and always restores the terminal; otherwise it prints
 * a plain summary line per interval. Waits for the log if it does not exist yet.
 *
 * @example
 * await watchDashboard({ stateDir: '/repo/.state', stdout: process.stdout, stdin: process.stdin });
 */
export async function watchDashboard(options: WatchOptions): Promise<void> {
  const tty = options.tty ?? options.stdout.isTTY;
  const now = options.now ?? Date.now;
  const interval = options.intervalMs ?? (tty ? 1000 : 5000);
  const poll = options.pollMs ?? 200;
  const stop = new AbortController();
  const quit = () => stop.abort();
  options.signal?.addEventListener('abort', quit);
  process.on('SIGINT', quit);
  process.on('SIGTERM', quit);
  process.on('SIGHUP', quit);
  const term = tty ? new Terminal(options.stdout, options.stdin, quit) : null;
  const file = logPlace(options.stateDir);
  const follower = new Follower(options.stateDir);
  let store: EventStore | null = null;
  let waiting = '';
  try {
    term?.enter();
    let lastDraw = 0;
    let dirty = true;
    while (!stop.signal.aborted) {
      if (store === null) {
        const opened = tryOpen(options.stateDir);
        if (typeof opened === 'string') waiting = terminalSafe(opened);
        else store = opened;
      }
      if (store !== null && follower.catchUp(store)) dirty = true;
      const t = now();
      if (dirty || t - lastDraw >= interval) {
        const size = { width: options.stdout.columns || 120, height: options.stdout.rows || 50 };
        const view = follower.view(file, options.budget, t, size);
        if (term !== null) {
          term.draw(store === null ? [`orch watch: ${waiting} (q quits)`] : view.lines);
          lastDraw = t;
          dirty = false;
        } else if (t - lastDraw >= interval) {
          options.stdout.write(`${store === null ? waiting : view.summary}\n`);
          lastDraw = t;
        }
      }
      await sleep(poll, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  } finally {
    options.signal?.removeEventListener('abort', quit);
    term?.leave();
    store?.close();
    // A second Ctrl-C while the terminal is being restored must not kill the process by signal.
    setImmediate(() => {
      process.off('SIGINT', quit);
      process.off('SIGTERM', quit);
      process.off('SIGHUP', quit);
    });
  }
}

/**
 * `orch watch` / `orch status --watch`: the dashboard on this process's terminal, with the
 * budget of the repo's config when it can be read.
 *
 * @example
 * await watchFromCli({ repoDir: '/repo', stateDir: '/repo/.state', intervalSeconds: undefined });
 */
export async function watchFromCli(options: {
  repoDir: string;
  stateDir: string;
  intervalSeconds: number | undefined;
}): Promise<void> {
  let budget: number | undefined;
  try {
    budget = loadConfig(options.repoDir).budget;
  } catch {
    // The dashboard works without a readable config; only the budget is not shown.
    budget = undefined;
  }
  await watchDashboard({
    stateDir: options.stateDir,
    stdout: process.stdout,
    stdin: process.stdin,
    ...(options.intervalSeconds === undefined ? {} : { intervalMs: options.intervalSeconds * 1000 }),
    ...(budget === undefined ? {} : { budget }),
  });
}

/** The log followed read-only, plus recent events and agent output, kept up to date. */
class Follower {
  private log: FollowedLog | null = null;
  private readonly recent: string[] = [];
  private readonly outputs = new Map<string, OutputFile>();

  constructor(private readonly stateDir: string) {}

  /** Folds the events appended since the last call; true when there were any. */
  catchUp(store: EventStore): boolean {
    if (this.log === null) {
      // Follow once there are events: a long log then starts from its last TAIL events.
      if (store.lastPosition() === 0) return false;
      this.log = LiveLog.follow(store, {
        tail: TAIL,
        listener: (event, state) => {
          const line = progressLine(event, state);
          if (line !== null) this.recent.push(line);
        },
      });
    }
    if (this.log.catchUp().length === 0) return false;
    this.recent.splice(0, Math.max(0, this.recent.length - RECENT));
    return true;
  }

  view(
    source: string,
    budget: number | undefined,
    t: number,
    size: { width: number; height: number },
  ): { lines: string[]; summary: string } {
    const state = this.log?.state ?? initialState();
    const outputs: IdRecord<AgentOutput> = {};
    for (const a of Object.values(state.agents)) {
      if (!isLiveAgent(a)) continue;
      setOwn(
        outputs,
        a.spawnId,
        this.output(a.spawnId, agentLogPath(this.stateDir, a.task, a.attempt, a.lane)),
      );
    }
    const view: DashboardView = {
      state,
      source,
      outputs,
      recent: this.recent,
      budget,
      lease: readLeaseView(this.stateDir),
    };
    return { lines: renderDashboard(view, { ...size, now: t }), summary: summaryLine(view, t) };
  }

  /**
   * The agent's last output line as a terminal shows it (no escape sequences), and when its
   * output file last changed; the file is read again only when it did.
   */
  private output(spawnId: string, file: string): AgentOutput {
    let output = this.outputs.get(spawnId);
    if (output === undefined) {
      // The whole window may be one line: the dashboard cuts it to its width.
      output = new OutputFile(file, {
        windowBytes: OUTPUT_WINDOW_BYTES,
        maxLineBytes: OUTPUT_WINDOW_BYTES,
        plain: true,
      });
      this.outputs.set(spawnId, output);
    }
    const glance = output.glance();
    if (glance === undefined) return { lastLine: null, lastOutputAt: null };
    return {
      lastLine: glance.lastLine === '' ? null : glance.lastLine,
      lastOutputAt: glance.size === 0 ? null : glance.mtimeMs,
    };
  }
}

/** Codes of a log that is not there yet, or is being created by `orch spawn` right now. */
const NOT_YET = new Set(['LOG_NOT_FOUND', 'SCHEMA_OUTDATED', 'NOT_AN_ORCH_LOG']);

/**
 * The log opened read-only, or why it cannot be yet (a later poll tries again).
 *
 * @example
 * const opened = tryOpen(stateDir); // a store, or "waiting for the log at …"
 */
export function tryOpen(stateDir: string): EventStore | string {
  const location = logLocation(stateDir);
  const place = describeLocation(location);
  // A read-only open never creates the log; before `orch spawn` made it there is nothing to show.
  if (
    location.kind === 'sqlite' &&
    (!fs.existsSync(location.file) || fs.statSync(location.file).size === 0)
  ) {
    return `waiting for the log at ${place}`;
  }
  try {
    return openLog(stateDir);
  } catch (err) {
    // A log being created has no header or schema for a moment: wait, and say what was seen.
    if (err instanceof StoreError && (NOT_YET.has(err.code) || err.code === 'LOG_NOT_FOUND'))
      return `waiting for the log at ${place}: ${err.message}`;
    throw err;
  }
}

/** The terminal while the dashboard owns it: alternate screen, hidden cursor, raw keys. */
class Terminal {
  private readonly onKey = (data: Buffer) => {
    const key = data.toString('utf8');
    // q, Q, Ctrl-C (raw mode delivers it as a byte, not a signal), Ctrl-D, Esc.
    if (/^[qQ\x03\x04]$|^\x1b$/.test(key)) this.quit();
  };
  private readonly onResize = () => {
    this.previous = [];
  };
  private previous: string[] = [];
  private raw = false;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly input: NodeJS.ReadStream | undefined,
    private readonly quit: () => void,
  ) {}

  enter(): void {
    this.out.write(`${ESC}?1049h${ESC}?25l${ESC}2J`);
    if (this.input?.isTTY === true) {
      this.input.setRawMode(true);
      this.raw = true;
    }
    this.input?.on('data', this.onKey);
    this.input?.resume();
    this.out.on('resize', this.onResize);
  }

  draw(lines: string[]): void {
    if (lines.length === this.previous.length && lines.every((l, i) => l === this.previous[i])) return;
    this.out.write(`${ESC}H${lines.map((l) => `${l}${ESC}K`).join('\r\n')}${ESC}J`);
    this.previous = lines;
  }

  leave(): void {
    this.out.off('resize', this.onResize);
    this.input?.off('data', this.onKey);
    if (this.raw) this.input?.setRawMode(false);
    this.input?.pause();
    this.out.write(`${ESC}?25h${ESC}?1049l`);
  }
}
