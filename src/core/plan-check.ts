import type { RecordedEvent } from './envelope.js';
import { getOwn } from './record.js';
import type { OrchState } from './state.js';
import { fileLine } from '../plan/errors.js';
import type { DeclaredStatus, Plan, Source } from '../plan/model.js';

/**
 * `orch plan --check`: every disagreement between the plan files and the log. Pure:
 * the caller reads the files and the log.
 */

/** What kind of disagreement a problem is. */
export type PlanCheckKind =
  'complete-in-file-only' | 'complete-in-log-only' | 'dependency-marker' | 'task-disappeared';

/** One disagreement, with the place in the plan files it is about (line 0: no line). */
export interface PlanCheckProblem {
  kind: PlanCheckKind;
  file: string;
  line: number;
  message: string;
}

/** The marks that call a dependency done (`Phase 1.1 ✅`, `[x] S001`). */
const DONE_MARK = /^\s*(?:✅|✔️?|☑️?|\(?\s*(?:done|complete)\s*\)?)/iu;

interface Entity {
  id: string;
  status: DeclaredStatus;
  source: Source;
  statusSource?: Source | undefined;
}

/**
 * Lists the disagreements: an entity declared complete in a file that the log does not
 * have complete (and the reverse), a dependency marked ✅ whose phase is not complete, and
 * a task id that has history in the log but is gone from the files. Without a log
 * (`state` and `events` null) only the file checks run (a ✅ dependency whose phase is
 * not declared complete). `lines(file)` returns a plan file's lines (relative name as in
 * `Source.file`).
 *
 * @example
 * checkPlanAgainstLog(filePlan, state, events, (f) => text[f]!.split('\n'));
 * // [{ kind: 'dependency-marker', file: 'roadmap.md', line: 14, message: 'phase 1.2 ...' }]
 */
export function checkPlanAgainstLog(
  plan: Plan,
  state: OrchState | null,
  events: Iterable<RecordedEvent> | null,
  lines: (file: string) => readonly string[] | undefined,
): PlanCheckProblem[] {
  const out: PlanCheckProblem[] = [];
  const at = (e: Entity) => e.statusSource ?? e.source;
  const liveDone = (kind: 'tasks' | 'phases' | 'milestones', id: string): boolean | null => {
    if (state === null) return null;
    const entry =
      kind === 'tasks'
        ? getOwn(state.tasks, id)
        : kind === 'phases'
          ? getOwn(state.phases, id)
          : getOwn(state.milestones, id);
    if (entry === undefined) return null;
    return entry.value === 'complete' || entry.value === 'prRequested' || entry.value === 'prOpened';
  };
  const compare = (kind: 'task' | 'phase' | 'milestone', e: Entity, live: boolean | null, value: string) => {
    if (live === null) return;
    const where = at(e);
    const shown = fileLine(where);
    if (e.status === 'complete' && !live) {
      out.push({
        kind: 'complete-in-file-only',
        ...where,
        message: `${kind} ${e.id} is marked complete in ${shown} but the log has it ${value}`,
      });
    } else if (e.status !== 'complete' && live && e.statusSource !== undefined) {
      out.push({
        kind: 'complete-in-log-only',
        ...where,
        message: `${kind} ${e.id} is complete in the log but ${shown} says ${e.status}`,
      });
    }
  };
  for (const t of plan.tasks)
    compare('task', t, liveDone('tasks', t.id), getOwn(state?.tasks ?? {}, t.id)?.value ?? '');
  for (const p of plan.phases)
    compare('phase', p, liveDone('phases', p.id), getOwn(state?.phases ?? {}, p.id)?.value ?? '');
  for (const m of plan.milestones) {
    if (m.statusSource === undefined) continue;
    compare('milestone', m, liveDone('milestones', m.id), getOwn(state?.milestones ?? {}, m.id)?.value ?? '');
  }
  out.push(...dependencyMarkers(plan, lines, (id) => liveDone('phases', id)));
  if (events !== null) out.push(...disappearedTasks(plan, events));
  return out;
}

function dependencyMarkers(
  plan: Plan,
  lines: (file: string) => readonly string[] | undefined,
  liveDone: (id: string) => boolean | null,
): PlanCheckProblem[] {
  const out: PlanCheckProblem[] = [];
  const declared = new Map(plan.phases.map((p) => [p.id, p.status]));
  for (const phase of plan.phases) {
    const where = phase.dependsOnSource;
    const text = where ? lines(where.file)?.[where.line - 1] : undefined;
    if (!where || text === undefined) continue;
    for (const dep of phase.dependsOn) {
      const re = new RegExp(`(?<![\\w.])${escapeRegExp(dep)}(?![\\w.])`, 'gu');
      for (const m of text.matchAll(re)) {
        if (!DONE_MARK.test(text.slice((m.index ?? 0) + m[0].length))) continue;
        const live = liveDone(dep);
        const done = live ?? declared.get(dep) === 'complete';
        if (!done) {
          out.push({
            kind: 'dependency-marker',
            ...where,
            message: `phase ${phase.id} lists its dependency ${dep} as ✅ in ${where.file}:${where.line}, but ${dep} is not complete${live === null ? ' (its own status says so)' : ' in the log'}`,
          });
        }
        break;
      }
    }
  }
  return out;
}

function disappearedTasks(plan: Plan, events: Iterable<RecordedEvent>): PlanCheckProblem[] {
  const inFiles = new Set(plan.tasks.map((t) => t.id));
  const history = new Map<string, number>();
  for (const e of events) {
    if (!e.streamId.startsWith('task-')) continue;
    const id = (e.data as { taskId?: unknown } | null)?.taskId;
    const taskId = typeof id === 'string' ? id : e.streamId.slice('task-'.length);
    history.set(taskId, (history.get(taskId) ?? 0) + 1);
  }
  const out: PlanCheckProblem[] = [];
  for (const [id, count] of history) {
    if (inFiles.has(id)) continue;
    out.push({
      kind: 'task-disappeared',
      file: plan.source,
      line: 0,
      message: `task ${id} has ${count} event(s) in the log but is no longer in the plan files`,
    });
  }
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
