import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { OrchestratorConfig } from '../../core/config.js';
import type { RecordedEvent } from '../../core/envelope.js';
import { streamIds } from '../../core/events.js';
import type { OrchState } from '../../core/state.js';
import { fileLine } from '../../plan/errors.js';
import type { Plan } from '../../plan/model.js';
import { OrchError } from '../../util/errors.js';
import type { LiveLog } from '../log/live-log.js';
import { gardenPlanSet } from '../project/gardener.js';
import { recordPlan } from '../project/plan-recording.js';
import {
  findPlanSources,
  loadPlanSet,
  planSetStamp,
  readPlanSet,
  planSetOptionsFor,
  type PlanSetOptions,
  type PlanSource,
  type ReadPlanSet,
} from '../project/plan-set.js';
import type { WarningProblem, WarningSink } from './warnings.js';

/** Streams whose events change what the plan files show (statuses). */
const STATUS_STREAMS = /^(plan$|task-|phase-|milestone-)/;

/**
 * Whether events that change what the plan files show were folded since the gardener last
 * wrote them back. Fed by the live log's listener from the first event on, before the
 * plan files are read.
 *
 * @example
 * const changes = new StatusChanges();
 * new LiveLog(store, { runId }, undefined, (event) => changes.note(event));
 */
export class StatusChanges {
  private due = false;

  /** Notes one folded event. */
  note(event: RecordedEvent): void {
    if (STATUS_STREAMS.test(event.streamId)) this.due = true;
  }

  /** Whether a gardening pass is due. */
  get pending(): boolean {
    return this.due;
  }

  /** A gardening pass has started. */
  clear(): void {
    this.due = false;
  }
}

/** Where a run's plan files are and how to read them. */
export interface PlanFilesSetup {
  repoDir: string;
  config: OrchestratorConfig;
  /** The plan directory or file (default: config `planDir`, then the usual places). */
  planDir?: string;
  agentCommand?: readonly string[];
  changes: StatusChanges;
  warn: WarningSink;
}

/**
 * How long an edit of the plan files that does not load must stay as it is before it is
 * refused (ms): long enough for an editor that writes a file in place to finish writing it.
 */
export const PLAN_SETTLE_MS = 300;

/**
 * Reads the plan files (the main plan and each target's own plan) and validates them as
 * one; returns the plan the run starts on and the watch over those files.
 *
 * @example
 * const { plan, watch } = openPlanFiles({ repoDir, config, changes, warn });
 */
export function openPlanFiles(setup: PlanFilesSetup): { plan: Plan; watch: PlanWatch } {
  const sources = findPlanSources(setup.repoDir, setup.config, setup.planDir);
  const options = planSetOptionsFor(setup.config, { agentCommand: setup.agentCommand });
  const { plan } = loadPlanSet(sources, options);
  const watch = new PlanWatch(sources, planSetStamp(sources), options, setup.changes, setup.warn);
  return { plan, watch };
}

/**
 * The plan files while a run goes on: edits are picked up at the next decision (recorded
 * as `PlanRevised`, or refused with a warning when they make the plan invalid), and the
 * statuses the log knows are written back into them (the gardener).
 */
export class PlanWatch {
  /** The files as the gardener last read them, kept while they do not change. */
  private gardenRead: { stamp: string; set: ReadPlanSet } | null = null;
  /** When the gardener last wrote (ms, on the clock `garden` is given). */
  private lastWrite = Number.NEGATIVE_INFINITY;
  /** An edit that did not load, first seen at `since`: refused if it stays (see `reloadIfChanged`). */
  private settling: { stamp: string; since: number } | null = null;

  constructor(
    private readonly sources: readonly PlanSource[],
    /** The files' stamp as last loaded or written. */
    private stamp: string,
    private readonly options: PlanSetOptions,
    private readonly changes: StatusChanges,
    private readonly warn: WarningSink,
  ) {}

  /**
   * Records the plan files again when they changed; an invalid edit is refused (a warning and
   * `PlanRevisionRefused`). Given `now` (the loop's clock, ms), an edit that does not load is
   * refused only once the same bytes have stayed {@link PLAN_SETTLE_MS}: a file caught while
   * its editor is still writing it is not refused for its first half (the loop wakes for it,
   * see {@link PlanWatch.dueAt}). Without `now`, at once.
   */
  reloadIfChanged(log: LiveLog, now?: number): void {
    if (this.sources.length === 0) return;
    const stamp = planSetStamp(this.sources);
    if (stamp === this.stamp) {
      this.settling = null;
      return;
    }
    let plan: Plan;
    try {
      ({ plan } = loadPlanSet(this.sources, this.options));
    } catch (err) {
      if (now !== undefined) {
        if (this.settling?.stamp !== stamp) {
          this.settling = { stamp, since: now };
          return;
        }
        if (now < this.settling.since + PLAN_SETTLE_MS) return;
      }
      this.settling = null;
      this.stamp = stamp;
      const listed = (err as { problems?: WarningProblem[] }).problems ?? [];
      const problems =
        (err instanceof OrchError ? err.message : String(err)) +
        listed.map((p) => `\n  ${fileLine(p)}: ${p.message}`).join('');
      this.warn({
        code: 'PLAN_REVISION_REFUSED',
        message: `the edited plan is not valid; continuing on the last valid plan: ${problems}`,
        problems: listed.map((p) => ({ file: p.file, line: p.line, message: p.message })),
      });
      // And in the log, so the refusal is part of the run's record.
      const recorded = listed.length > 0 ? listed : [{ file: '', line: 0, message: (err as Error).message }];
      log.append(streamIds.plan(), 'PlanRevisionRefused', {
        problems: recorded
          .slice(0, 20)
          .map((p) => ({ file: p.file, line: Math.max(0, p.line), message: p.message })),
        count: recorded.length,
      });
      return;
    }
    this.settling = null;
    this.stamp = stamp;
    recordPlan(log, plan);
  }

  /** Whether an edit that does not load waits to settle before it is refused (the run waits for it). */
  get refusalPending(): boolean {
    return this.settling !== null;
  }

  /**
   * When the next write-back is due (ms, on the clock `garden` is given), or null when no
   * status waits to be written. The loop wakes for it.
   */
  dueAt(): number | null {
    const settled = this.settling === null ? null : this.settling.since + PLAN_SETTLE_MS;
    if (!this.changes.pending || this.sources.length === 0) return settled;
    const write = this.lastWrite + this.gardenIntervalMs();
    return settled === null ? write : Math.min(write, settled);
  }

  /**
   * Writes the statuses that changed back into the plan files (the roadmap gardener), at
   * most once per {@link GARDEN_INTERVAL_MS} (longer for a large plan, {@link GARDEN_MS_PER_TASK}): statuses that change in between are written
   * together, in one write per file with the final statuses. `flush` writes now whatever is
   * pending (the end of a run). The files as read are kept while they do not change, and
   * brought up to date with each write (texts and statuses), so a pass costs no parse. Its
   * own writes are told from a person's edit by content: after writing, each written file
   * must hold exactly what was written and no other file of the set may have changed;
   * otherwise the stamp is left as it was and the next reload records the edit.
   */
  garden(state: OrchState, now: number, flush = false): void {
    if (!this.changes.pending || this.sources.length === 0) return;
    this.planTasks = state.plan?.tasks.length ?? 0;
    if (!flush && now < this.lastWrite + this.gardenIntervalMs()) return;
    const stamp = planSetStamp(this.sources);
    // Someone edited the plan: the reload records it first, then the gardener goes on.
    if (stamp !== this.stamp) return;
    this.changes.clear();
    try {
      let read = this.gardenRead?.stamp === stamp ? this.gardenRead.set : undefined;
      if (read === undefined) {
        try {
          read = readPlanSet(this.sources, this.options);
        } catch {
          // Files that do not load are not written to (the reload has said what is wrong).
          return;
        }
        this.gardenRead = { stamp, set: read };
      }
      const wrote = new Map<string, string>();
      let kept = true;
      gardenPlanSet(state, this.sources, this.options, read, (abs, text, keptCurrent) => {
        wrote.set(path.resolve(abs), contentHash(text));
        kept &&= keptCurrent;
      });
      if (wrote.size === 0) return;
      this.lastWrite = now;
      const after = planSetStamp(this.sources);
      if (onlyOwnWrites(stamp, after, wrote)) {
        this.stamp = after;
        this.gardenRead = kept ? { stamp: after, set: read } : null;
      } else {
        this.gardenRead = null;
      }
    } catch (err) {
      // The files are a view of the log: failing to update them must not stop the work.
      this.warn({
        code: 'PLAN_WRITE_BACK_FAILED',
        message: `could not write statuses back into the plan: ${(err as Error).message}`,
      });
    }
  }
  /** The plan's task count when last looked at: a write-back writes all of it. */
  private planTasks = 0;

  private gardenIntervalMs(): number {
    return Math.max(GARDEN_INTERVAL_MS, this.planTasks * GARDEN_MS_PER_TASK);
  }
}

/**
 * The least time between two status write-backs into the plan files during a run (ms).
 * Each write costs a file write and rename and wakes any editor watching the file; many
 * statuses change within this time when many agents run.
 */
export const GARDEN_INTERVAL_MS = 500;
/**
 * Between two write-backs, at least this many milliseconds per task of the plan: a write-back
 * writes the whole plan (and parses it only when it was not orch's own last write: the tree of
 * what it wrote is kept, `src/plan/write-back-structured.ts`; a parse was about 35 ms for
 * 1,000 tasks measured), so a plan of thousands of tasks is written back less often and the
 * gardener's share of the loop stays a few percent however large the plan is. Up to 500 tasks
 * the interval is GARDEN_INTERVAL_MS.
 */
export const GARDEN_MS_PER_TASK = 1;

function contentHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Whether the plan files changed from stamp `before` to stamp `after` only by the writes in
 * `wrote` (absolute path → hash of the text written): every file whose stamp entry changed
 * is one of them and holds exactly what was written. The stamp is taken before the files
 * are read back, so an edit after the read shows in the next stamp.
 */
function onlyOwnWrites(before: string, after: string, wrote: ReadonlyMap<string, string>): boolean {
  for (const [file, hash] of wrote) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return false;
    }
    if (contentHash(text) !== hash) return false;
  }
  const entries = (stamp: string) => new Set(stamp.split(/[|\n]/));
  const a = entries(before);
  const b = entries(after);
  const changed = [...[...a].filter((e) => !b.has(e)), ...[...b].filter((e) => !a.has(e))];
  return changed.every((entry) =>
    wrote.has(path.resolve(entry.replace(/^[^>/]*>/, '').replace(/:[^:]*:[^:]*$/, ''))),
  );
}
