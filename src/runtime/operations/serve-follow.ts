import fs from 'node:fs';
import path from 'node:path';
import { getOwn } from '../../core/record.js';
import { initialState, isLiveAgent } from '../../core/state.js';
import type { OrchState } from '../../core/state.js';
import { statusDocument, withLease } from '../../core/status-document.js';
import type { EventStore } from '../../store/event-store.js';
import { LiveLog, type FollowedLog } from '../log/live-log.js';
import { loadState } from '../log/load-state.js';
import { ReportCollector } from '../report/data.js';
import type { ReportData } from '../report/data.js';
import { terminalSafe } from '../render/format.js';
import { readLeaseView } from '../system/lease.js';
import { OutputFile, readFileEnd } from '../system/output-tail.js';
import { agentLogPath } from '../system/state-paths.js';
import { tryOpen } from './watch.js';

/**
 * What `orch serve` knows of the run: the log followed read-only (`LiveLog.follow` from the
 * first event, with the report's collector beside the fold, so the page's report data and
 * the status document come from one fold), and the live agents' output files.
 */

/** A live agent as the page shows it (times in epoch ms). */
export interface LiveAgentView {
  spawnId: string;
  task: string;
  attempt: number;
  role: string;
  requestedAt: number;
  startedAt: number | null;
  /** When its output file last changed (null: nothing printed yet). */
  lastOutputAt: number | null;
  /** Its last output line, without terminal escapes. */
  lastLine: string | null;
}

/** An agent's output tail, made safe to show as text. */
export interface AgentOutputView {
  spawnId: string;
  task: string;
  attempt: number;
  /** Bytes in the output file. */
  size: number;
  /** Its last bytes (at most 16 KiB), control characters and escapes shown as `\xNN`. */
  text: string;
}

/** The log position and the live agents, for the event stream. */
export interface FollowedRun {
  position: number;
  agents: LiveAgentView[];
}

const OUTPUT_TAIL_BYTES = 16 * 1024;
const LAST_LINE_BYTES = 8192;

/** A spawn id that is not a live or past agent of the log (HTTP 404). */
export class UnknownSpawnError extends Error {
  constructor(readonly spawnId: string) {
    super(`no agent with spawn id ${JSON.stringify(spawnId)} in the log`);
  }
}

/**
 * The run followed read-only. {@link RunFollower.poll} folds what was appended since the
 * last call (opening the log once it exists) and says whether the log moved.
 *
 * @example
 * const run = new RunFollower('/repo/.state');
 * if (run.poll()) send(run.report());
 */
export class RunFollower {
  private store: EventStore | null = null;
  private log: FollowedLog | null = null;
  private collector = new ReportCollector();
  private waiting = '';
  private reportCache: { position: number; data: ReportData } | null = null;
  private readonly outputs = new Map<string, OutputFile>();

  constructor(readonly stateDir: string) {}

  /** Why there is nothing to show yet ('' once the log is open). */
  get waitingFor(): string {
    return this.store === null ? this.waiting : '';
  }

  /** The folded state at the end of what was followed (live; do not modify). */
  get state(): OrchState {
    return this.log?.state ?? initialState();
  }

  /** Folds the events appended since the last call; true when there were any. */
  poll(): boolean {
    if (this.store === null) {
      const opened = tryOpen(this.stateDir);
      if (typeof opened === 'string') {
        this.waiting = terminalSafe(opened);
        return false;
      }
      this.store = opened;
    }
    if (this.log === null) {
      const collector = new ReportCollector();
      this.collector = collector;
      // From the first event: the report draws the whole run.
      this.log = LiveLog.follow(this.store, {
        tail: Number.MAX_SAFE_INTEGER,
        before: (event, state) => collector.before(event, state),
        listener: (event, state) => collector.after(event, state),
      });
    }
    return this.log.catchUp().length > 0;
  }

  /** The report's data at the end of what was followed (cached per position). */
  report(): ReportData {
    const position = this.state.position;
    if (this.reportCache?.position !== position) {
      this.reportCache = { position, data: this.collector.data(this.state, { title: 'orch serve' }) };
    }
    return this.reportCache.data;
  }

  /**
   * `orch status --json` at log position `to` (default: the end of what was followed): the
   * status document with the lease. Past positions are folded from the log.
   */
  statusJson(to?: number): string {
    const lease = readLeaseView(this.stateDir);
    if (to === undefined || to === this.state.position || this.store === null) {
      return withLease(JSON.stringify(statusDocument(this.state)), lease);
    }
    const { state } = loadState(this.store, { to });
    return withLease(JSON.stringify(statusDocument(state)), lease);
  }

  /** The last position of what was followed. */
  get position(): number {
    return this.state.position;
  }

  /** The position and the live agents with their output's last line and time. */
  run(): FollowedRun {
    const agents: LiveAgentView[] = [];
    for (const a of Object.values(this.state.agents)) {
      if (!isLiveAgent(a)) continue;
      let output = this.outputs.get(a.spawnId);
      if (output === undefined) {
        output = new OutputFile(agentLogPath(this.stateDir, a.task, a.attempt), {
          windowBytes: LAST_LINE_BYTES,
          maxLineBytes: 512,
          plain: true,
        });
        this.outputs.set(a.spawnId, output);
      }
      const glance = output.glance();
      agents.push({
        spawnId: a.spawnId,
        task: a.task,
        attempt: a.attempt,
        role: a.role,
        requestedAt: Date.parse(a.requestedAt),
        startedAt: a.startedAt === null ? null : Date.parse(a.startedAt),
        lastOutputAt: glance === undefined || glance.size === 0 ? null : glance.mtimeMs,
        lastLine: glance === undefined || glance.lastLine === '' ? null : terminalSafe(glance.lastLine),
      });
    }
    for (const spawnId of this.outputs.keys()) {
      if (!agents.some((a) => a.spawnId === spawnId)) this.outputs.delete(spawnId);
    }
    return { position: this.state.position, agents };
  }

  /**
   * The end of an agent's output file. The spawn id is only looked up in the log (never
   * put in a path): the file is `<state-dir>/logs/<encoded task>/<attempt>.log`, and one
   * that resolves outside the state directory (a symbolic link) is refused.
   */
  output(spawnId: string): AgentOutputView {
    const agent = getOwn(this.state.agents, spawnId);
    if (agent === undefined) throw new UnknownSpawnError(spawnId);
    const file = agentLogPath(this.stateDir, agent.task, agent.attempt);
    const empty = { spawnId, task: agent.task, attempt: agent.attempt, size: 0, text: '' };
    let real: string;
    try {
      real = fs.realpathSync(file);
    } catch {
      return empty;
    }
    const root = fs.realpathSync(this.stateDir);
    if (!real.startsWith(root + path.sep)) throw new UnknownSpawnError(spawnId);
    const size = fs.statSync(real).size;
    const text = readFileEnd(real, size, OUTPUT_TAIL_BYTES).toString('utf8');
    return { ...empty, size, text: safeText(text) };
  }

  close(): void {
    this.store?.close();
    this.store = null;
    this.log = null;
  }
}

/** Output as text to show: lines kept, every control character and escape made visible. */
function safeText(text: string): string {
  return text
    .split('\n')
    .map((line) => terminalSafe(line))
    .join('\n');
}
