import fs from 'node:fs';
import path from 'node:path';
import { planDiff } from '../../core/plan-revision.js';
import { getOwn } from '../../core/record.js';
import type { OrchState } from '../../core/state.js';
import { taskStatus } from '../../core/status-view.js';
import type { DeclaredStatus, Plan } from '../../plan/model.js';
import { PlanValidationError } from '../../plan/errors.js';
import type { PlanFiles } from '../../plan/parse-plan.js';
import { TARGET_SEPARATOR } from '../../plan/targets.js';
import { writeBackStatuses, type StatusUpdate } from '../../plan/write-back.js';
import { readPlanSet, type PlanSetOptions, type PlanSource, type ReadPlanSet } from './plan-set.js';

/**
 * The roadmap gardener: writes the statuses the log knows back into the plan files each
 * entity came from, changing only the status bytes. The log stays the truth; the files
 * are a view of it that people and agents read.
 */

/** What one gardening pass did. */
export interface GardenResult {
  /** Files rewritten (paths relative to the plan base). */
  written: string[];
  /** Status updates written, over all files. */
  updates: number;
  /** Why nothing was written, when the pass was skipped. */
  skipped: string | null;
}

/** Which declared statuses agree with a live status, and the one to write when none does. */
interface Wanted {
  accept: readonly DeclaredStatus[];
  write: DeclaredStatus;
}

const TASK_WANTED: Record<ReturnType<typeof taskStatus>, Wanted> = {
  pending: { accept: ['not_started', 'blocked'], write: 'not_started' },
  ready: { accept: ['not_started'], write: 'not_started' },
  running: { accept: ['in_progress'], write: 'in_progress' },
  blocked: { accept: ['blocked'], write: 'blocked' },
  complete: { accept: ['complete'], write: 'complete' },
  failed: { accept: ['blocked'], write: 'blocked' },
};

const isDone = (value: string | undefined) =>
  value === 'complete' || value === 'prRequested' || value === 'prOpened';

/**
 * The status updates that bring a plan's files in line with the log: for every task,
 * phase, milestone and (format A) epic of `filePlan` — the plan as parsed from the files
 * now — whose declared status disagrees with its live status. Entities the log does not
 * know are left alone. Pure.
 *
 * @example
 * const updates = statusUpdates(log.state, loadPlan(location).plan);
 * // [{ statusSource: { file: 'roadmap.md', line: 12 }, kind: 'task', status: 'complete' }]
 */
export function statusUpdates(state: OrchState, filePlan: Plan): StatusUpdate[] {
  const out: StatusUpdate[] = [];
  const push = (
    kind: StatusUpdate['kind'],
    entity: { status: DeclaredStatus; statusSource?: StatusUpdate['statusSource'] | undefined },
    wanted: Wanted | null,
  ) => {
    if (wanted === null || entity.statusSource === undefined) return;
    if (!wanted.accept.includes(entity.status))
      out.push({ statusSource: entity.statusSource, kind, status: wanted.write });
  };
  for (const t of filePlan.tasks) {
    const entry = getOwn(state.tasks, t.id);
    push('task', t, entry === undefined ? null : TASK_WANTED[taskStatus(entry)]);
  }
  for (const p of filePlan.phases) push('phase', p, phaseWanted(getOwn(state.phases, p.id)?.value));
  const started = (ids: readonly string[]) =>
    ids.some((id) => {
      const v = getOwn(state.phases, id)?.value;
      return v === 'in_progress' || v === 'complete';
    });
  for (const m of filePlan.milestones) {
    const entry = getOwn(state.milestones, m.id);
    if (entry === undefined) continue;
    const phases = filePlan.phases.filter((p) => p.milestone === m.id).map((p) => p.id);
    push('milestone', m, groupWanted(isDone(entry.value), started(phases)));
  }
  for (const e of filePlan.epics ?? []) {
    const phases = filePlan.phases.filter((p) => p.epic === e.id).map((p) => p.id);
    if (phases.length === 0 || phases.some((id) => getOwn(state.phases, id) === undefined)) continue;
    const done = phases.every((id) => getOwn(state.phases, id)?.value === 'complete');
    push('phase', e, groupWanted(done, started(phases)));
  }
  return out;
}

function phaseWanted(value: string | undefined): Wanted | null {
  switch (value) {
    case undefined:
    case 'init':
      return null;
    // Not started by orch yet: a person's "in progress" (some work done by hand) stands.
    case 'blocked':
      return { accept: ['not_started', 'blocked', 'in_progress'], write: 'blocked' };
    case 'ready':
      return { accept: ['not_started', 'in_progress'], write: 'not_started' };
    case 'in_progress':
      return { accept: ['in_progress'], write: 'in_progress' };
    default:
      return { accept: ['complete'], write: 'complete' };
  }
}

/** A milestone or epic: complete when done; else anything but complete is fine. */
function groupWanted(done: boolean, started: boolean): Wanted {
  if (done) return { accept: ['complete'], write: 'complete' };
  return started
    ? { accept: ['in_progress', 'blocked', 'not_started'], write: 'in_progress' }
    : { accept: ['not_started', 'in_progress', 'blocked'], write: 'not_started' };
}

/**
 * One gardening pass: re-reads the plan files, and when they still say what the log's
 * plan says (ignoring statuses and line positions), writes the statuses that differ,
 * each file atomically (a temporary file renamed over it). When the files changed meaning
 * since the plan was recorded, or no longer load, it writes nothing: the next recorded
 * `PlanRevised` brings the log up to date and the next pass writes.
 *
 * @example
 * gardenPlan(log.state, '/repo/plans/roadmap.md', { source: 'plans/roadmap.md' });
 * // { written: ['roadmap.md'], updates: 3, skipped: null }
 */
export function gardenPlan(
  state: OrchState,
  location: string,
  options: { source?: string; agentRoles?: readonly string[] } = {},
): GardenResult {
  const source: PlanSource = { target: null, location, source: options.source ?? location };
  const [result] = gardenPlanSet(
    state,
    [source],
    options.agentRoles ? { agentRoles: options.agentRoles } : {},
  );
  return { written: result?.written ?? [], updates: result?.updates ?? 0, skipped: result?.skipped ?? null };
}

/**
 * Writes `updates` into the files of the plan at `location` that `input` was read from,
 * each file atomically, skipping a file that changed since it was read.
 */
function writeStatuses(
  location: string,
  input: PlanFiles,
  updates: readonly StatusUpdate[],
  after?: (abs: string, text: string, fileUpdates: readonly StatusUpdate[]) => void,
): GardenResult {
  const byFile = new Map<string, StatusUpdate[]>();
  for (const u of updates) {
    const list = byFile.get(u.statusSource.file) ?? [];
    list.push(u);
    byFile.set(u.statusSource.file, list);
  }
  const base = fs.statSync(location).isFile() ? path.dirname(location) : location;
  const result: GardenResult = { written: [], updates: 0, skipped: null };
  for (const [file, fileUpdates] of byFile) {
    const parsedText = input.files[file];
    const abs = path.join(base, file);
    if (parsedText === undefined) continue;
    const next = writeBackStatuses(parsedText, fileUpdates);
    if (next === parsedText) continue;
    // Re-read just before writing: someone may have saved the file since it was parsed.
    if (readOrNull(abs) !== parsedText) {
      result.skipped = `${file} changed while it was being gardened`;
      continue;
    }
    writeAtomic(abs, next);
    after?.(abs, next, fileUpdates);
    result.written.push(file);
    result.updates += fileUpdates.length;
  }
  return result;
}

/** What a gardening pass did in one source of a plan set. */
export interface SourceGardenResult extends GardenResult {
  /** The source's label (`plans`, `../api/roadmap.md`); `written` is relative to its plan base. */
  source: string;
}

/**
 * One gardening pass over a plan set (main plan and targets' own plans): re-reads every
 * source and validates them together; when they no longer load, nothing is written. Each
 * source whose entities still mean what the log's plan says gets its statuses written into
 * its own files; a source whose entities changed is skipped until the next recorded
 * `PlanRevised` (a change of personas skips every source). One result per source, in order.
 * `read` is the set as already read (a caller that keeps it while the files do not change);
 * when given, it is kept up to date with what the pass writes (each written file's text and
 * the written statuses), and `onWrite` is told each file written (its path, its new text, and
 * whether `read` could be kept current — false when it must be read again).
 *
 * @example
 * gardenPlanSet(log.state, findPlanSources(repo, config), { agentRoles: ['default'] });
 * // [{ source: 'plans', written: [], updates: 0, skipped: null },
 * //  { source: '../api/roadmap.md', written: ['roadmap.md'], updates: 2, skipped: null }]
 */
export function gardenPlanSet(
  state: OrchState,
  sources: readonly PlanSource[],
  options: PlanSetOptions = {},
  read?: ReadPlanSet,
  onWrite?: (abs: string, text: string, kept: boolean) => void,
): SourceGardenResult[] {
  const all = (skipped: string): SourceGardenResult[] =>
    sources.map((s) => ({ source: s.source, written: [], updates: 0, skipped }));
  if (state.plan === null) return all('no plan is recorded in the log');
  let set: ReadPlanSet;
  try {
    set = read ?? readPlanSet(sources, options);
    if (set.problems.length > 0) {
      throw new PlanValidationError(sources.map((s) => s.source).join(' + '), set.problems);
    }
  } catch (err) {
    return all(`the plan files do not load: ${(err as Error).message}`);
  }
  const diff = planDiff(state.plan, set.plan);
  const changed = [...diff.added, ...diff.removed, ...diff.changed];
  const prefixes = sources.flatMap((s) => (s.target === null ? [] : [`${s.target}${TARGET_SEPARATOR}`]));
  const owner = (id: string): string | null | undefined => {
    if (id.startsWith('persona:')) return undefined;
    const bare = id.startsWith('epic:') ? id.slice('epic:'.length) : id;
    const prefix = prefixes.find((p) => bare.startsWith(p));
    return prefix === undefined ? null : prefix.slice(0, -TARGET_SEPARATOR.length);
  };
  return set.parts.map((part) => {
    const mine = changed.filter((id) => {
      const o = owner(id);
      return o === undefined || o === part.source.target;
    });
    if (mine.length > 0) {
      return {
        source: part.source.source,
        written: [],
        updates: 0,
        skipped: 'the plan files changed since the plan was recorded',
      };
    }
    return {
      source: part.source.source,
      ...writeStatuses(
        part.source.location,
        part.input,
        statusUpdates(state, part.plan),
        read === undefined
          ? undefined
          : (abs, text, fileUpdates) => {
              onWrite?.(abs, text, keepCurrent(part, fileUpdates, text));
            },
      ),
    };
  });
}

/**
 * Brings a kept read of a source up to date with a status write into one of its files: the
 * file's text becomes what was written and the entities whose status bytes were written take
 * the written status — the same as parsing the written text again, without the parse (a
 * write changes only status bytes, so every other part of the parse still holds). False when
 * it could not (a status line was inserted, which moves the lines after it): read again.
 */
function keepCurrent(
  part: ReadPlanSet['parts'][number],
  updates: readonly StatusUpdate[],
  text: string,
): boolean {
  const file = updates[0]?.statusSource.file;
  if (file === undefined) return false;
  const before = part.input.files[file];
  if (before === undefined || lineCount(before) !== lineCount(text)) return false;
  part.input.files[file] = text;
  const at = new Map(updates.map((u) => [`${u.kind}:${u.statusSource.line}`, u.status]));
  const apply = (
    kind: StatusUpdate['kind'],
    entities: readonly { status: DeclaredStatus; statusSource?: StatusUpdate['statusSource'] | undefined }[],
  ) => {
    for (const e of entities) {
      if (e.statusSource?.file !== file) continue;
      const status = at.get(`${kind}:${e.statusSource.line}`);
      if (status !== undefined) e.status = status;
    }
  };
  apply('task', part.plan.tasks);
  apply('phase', part.plan.phases);
  apply('phase', part.plan.epics ?? []);
  apply('milestone', part.plan.milestones);
  return true;
}

function lineCount(text: string): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function readOrNull(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** Writes through a temporary file in the same directory and renames it over the target. */
function writeAtomic(file: string, text: string): void {
  const mode = fs.statSync(file).mode & 0o777;
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.orch-${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, text, { mode });
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
