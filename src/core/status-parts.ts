import type { MachineEngine, MachineState, TaskContext } from '../machines/index.js';
import type { Task as PlanTask } from '../plan/model.js';
import { taskTargets } from '../plan/target-of.js';
import { applyEvent, StateDraft, type FoldInput } from './fold.js';
import { getOwn, setOwn, type IdRecord } from './record.js';
import { isLiveAgent, type AgentRecord, type OrchState } from './state.js';
import { TASK_STATUSES, targetGroups, type StatusTotals } from './status-document.js';
import { mayBeCut, spawnIdHash, statusState, type StatusStateSnapshotData } from './status-state.js';
import {
  agentRow,
  milestoneRows,
  phaseRows,
  shownAgents,
  taskRow,
  taskStatus,
  type TaskStatus,
} from './status-view.js';
import { taskUsage, usageRollup, type UsageTotal } from './usage-totals.js';

/**
 * The status state in parts: what `orch status` needs to print the document of a log whose
 * snapshot is some events behind its end without parsing the whole state or building every
 * row again. A fold step changes at most one task (and the run-wide records), and a task's
 * row of the document reads only that task, so the tail's events are folded onto the tasks
 * they name, and the rows of every other task are printed as they were stored.
 *
 * The parts are JSON texts. The main one is a JSON array, one element per line
 * (`JSON.stringify` never writes a raw line break), and its head says where each element
 * and each row starts, so a reader takes the pieces it needs and parses only those:
 *
 * 1. the head ({@link PartsHead}): the state without its tasks, agents and plan tasks, per
 *    plan task its status, attempts and usage figures, and the offsets;
 * 2. the document's `tasks`: a JSON array, one row per plan task;
 * 3. the document's `usage.tasks`: a JSON object, one entry per plan task;
 * 4. the document's `agents`: a JSON array;
 * 5. the cut spawns' hashes (`StatusStateSnapshotData.cut`), as a JSON string.
 *
 * The tasks' own lines ({@link TaskLine}: the plan task, its machine state, its kept
 * agents; the plan's tasks in plan order, then the other tasks that have agents, sorted)
 * are most of the bytes and a tail names few tasks, so they are kept apart, in chunks of
 * {@link CHUNK_TASKS} (a JSON array each, one line per task), and a reader reads only the
 * chunks of the tasks the tail names.
 *
 * Pure: no I/O, no clock. `src/runtime/log/snapshots.ts` stores it (`status-state-v<N>`).
 */

/** The first line of the parts. */
export interface PartsHead {
  format: 1;
  /** The state without tasks and agents (`{}`), its plan without tasks (`[]`). */
  state: OrchState;
  /** The task lines' ids: the plan's tasks in plan order, then the others, sorted. */
  taskIds: string[];
  /** How many of `taskIds` are the plan's tasks. */
  planTasks: number;
  /** The task line of every kept agent, in spawn order (its agents are in its line, in that order). */
  agentLines: number[];
  /** The kept agents' spawn ids' hashes (`spawnIdHash`), sorted, 8 characters each, in one string. */
  kept: string;
  /** The document's agents: indexes into `agentLines`, in document order. */
  shown: number[];
  /** The live agents (spawning or running): indexes into `agentLines`. */
  live: number[];
  /** Per plan task, its phase. */
  taskPhases: string[];
  /** Per plan task, its status as one letter (see `STATUS_LETTER`). */
  statuses: string;
  /** Per plan task, its attempts. */
  attempts: number[];
  /** Per plan task, its usage: input tokens, output tokens, cost, attempts (4 numbers each). */
  usage: number[];
  /** The usage of each task not in the plan that has some, sorted by id: [id, input, output, cost, attempts]. */
  others: [string, number, number, number, number][];
  /** Per plan task, its target (null: the main repository); null when the plan uses none. */
  targets: (string | null)[] | null;
  /** The document's `totals.agents.total`: every spawn, kept or cut. */
  agentsTotal: number;
  /** Task lines per chunk ({@link CHUNK_TASKS} when written). */
  chunkTasks: number;
  /**
   * Where the elements after the head start, counted from the start of the first one:
   * `tasks`, `usage.tasks`, `agents` and the cut, then the end (as if another element
   * followed).
   */
  at: number[];
  /** Where each row of `tasks` starts in its element, then one past the end (as if another row followed). */
  rowAt: number[];
  /** Where each plan task's value starts and ends in `usage.tasks` (2 per task). */
  usageAt: number[];
  /** Where each row of `agents` starts in its element, then one past the end. */
  agentAt: number[];
  /**
   * False when some task or spawn id is a number (`"12"`): a JavaScript object lists such
   * keys first, so the document's order cannot be rebuilt line by line; readers then fold.
   */
  orderSafe: boolean;
}

/** One task line. */
export interface TaskLine {
  id: string;
  /** The plan's task (null: a task no longer in the plan, kept for its agents). */
  plan: PlanTask | null;
  entry: MachineState<TaskContext> | null;
  /** Its cut spawns' usage (`StatusStateSnapshotData.earlier`). */
  earlier: UsageTotal | null;
  /** Its kept agents in spawn order. */
  agents: AgentRecord[];
}

/**
 * The longest tail a reader folds onto the parts in memory (a running orch saves them every
 * 5,000 events); a longer one is folded by the streaming path instead.
 */
export const PARTS_TAIL_LIMIT = 20_000;

/** Task lines per chunk: a tail that names a few dozen tasks reads a few chunks. */
export const CHUNK_TASKS = 32;

/** The status state's parts as written: the main text and the chunks of task lines. */
export interface StatusPartsText {
  /** The head and the document's pieces. */
  text: string;
  /** Chunk k holds the task lines k * chunkTasks onwards. */
  chunks: string[];
}

/** Reads chunk `k` of the parts' task lines; undefined when it is missing or is not of these parts. */
export type ChunkReader = (k: number) => string | undefined;

const STATUS_LETTER: Record<TaskStatus, string> = {
  pending: 'p',
  ready: 'r',
  running: 'u',
  blocked: 'b',
  complete: 'c',
  failed: 'f',
};
const LETTER_STATUS = new Map(Object.entries(STATUS_LETTER).map(([s, l]) => [l, s as TaskStatus]));

/** A key a JavaScript object orders before the others (an array index). */
const NUMERIC = /^\d+$/;

/**
 * The parts of `state`'s status state, as text, and the status document they give (the same
 * text as `JSON.stringify(statusDocument(state))`). `chunkTasks`: task lines per chunk.
 *
 * @example
 * const { text, chunks, document } = statusParts(state);
 */
export function statusParts(
  state: OrchState,
  chunkTasks: number = CHUNK_TASKS,
): StatusPartsText & { document: string } {
  const { state: s, earlier, cut } = statusState(state);
  const plan = s.plan;
  const planTasks = plan?.tasks ?? [];
  const byTask = new Map<string, AgentRecord[]>();
  for (const spawnId in s.agents) {
    const a = getOwn(s.agents, spawnId);
    if (a === undefined) continue;
    let list = byTask.get(a.task);
    if (list === undefined) byTask.set(a.task, (list = []));
    list.push(a);
  }
  const inPlan = new Set(planTasks.map((t) => t.id));
  const otherIds = new Set<string>();
  for (const id of byTask.keys()) if (!inPlan.has(id)) otherIds.add(id);
  for (const id of Object.keys(earlier)) if (!inPlan.has(id)) otherIds.add(id);
  for (const id of Object.keys(s.tasks)) if (!inPlan.has(id)) otherIds.add(id);
  const taskIds = [...planTasks.map((t) => t.id), ...[...otherIds].sort()];
  const lineOf = new Map(taskIds.map((id, i) => [id, i]));

  const taskLines: string[] = [];
  const usageTotals: UsageTotal[] = [];
  for (let i = 0; i < taskIds.length; i++) {
    const id = taskIds[i]!;
    const agents = byTask.get(id) ?? [];
    const before = getOwn(earlier, id);
    const line: TaskLine = {
      id,
      plan: i < planTasks.length ? planTasks[i]! : null,
      entry: getOwn(s.tasks, id) ?? null,
      earlier: before ?? null,
      agents,
    };
    taskLines.push(JSON.stringify(line));
    usageTotals.push(taskUsage(before, agents));
  }

  const agentIds: string[] = [];
  const agentLines: number[] = [];
  const indexOf = new Map<string, number>();
  const all: AgentRecord[] = [];
  for (const spawnId in s.agents) {
    const a = getOwn(s.agents, spawnId);
    if (a === undefined) continue;
    indexOf.set(spawnId, agentIds.length);
    agentIds.push(spawnId);
    agentLines.push(lineOf.get(a.task)!);
    all.push(a);
  }
  const kept = [...new Set(agentIds.map(spawnIdHash))].sort().join('');
  const shownList = shownAgents(all);
  const targetOf = taskTargets(plan);
  const targets = planTasks.some((t) => (targetOf.get(t.id) ?? null) !== null)
    ? planTasks.map((t) => targetOf.get(t.id) ?? null)
    : null;
  const rows = planTasks.map((t, i) => JSON.stringify({ ...taskRow(s, t), target: targets?.[i] ?? null }));
  let statuses = '';
  const attempts: number[] = [];
  const usage: number[] = [];
  for (let i = 0; i < planTasks.length; i++) {
    const entry = getOwn(s.tasks, planTasks[i]!.id);
    statuses += STATUS_LETTER[entry === undefined ? 'pending' : taskStatus(entry)];
    attempts.push(entry?.context.attempts ?? 0);
    const u = usageTotals[i]!;
    usage.push(u.inputTokens, u.outputTokens, u.costUsd, u.attempts);
  }
  const others: PartsHead['others'] = [];
  for (let i = planTasks.length; i < taskIds.length; i++) {
    const u = usageTotals[i]!;
    // A task is in `usageTotals`' sums only when it has agents or cut spawns.
    if ((byTask.get(taskIds[i]!)?.length ?? 0) > 0 || getOwn(earlier, taskIds[i]!) !== undefined)
      others.push([taskIds[i]!, u.inputTokens, u.outputTokens, u.costUsd, u.attempts]);
  }
  let cutSpawns = 0;
  for (const task of Object.keys(earlier)) cutSpawns += getOwn(earlier, task)?.attempts ?? 0;
  const usageLines = usageTotals.slice(0, planTasks.length).map((u) => JSON.stringify(u));
  const agentRows = shownList.map((a) => JSON.stringify(agentRow(s, a)));
  const rowsPart = listPart('[', rows, ']');
  const usagePart = usageObject(taskIds, usageLines);
  const agentsPart = listPart('[', agentRows, ']');
  const cutPart = JSON.stringify(cut);
  const elements = [rowsPart.text, usagePart.text, agentsPart.text, cutPart];
  const at: number[] = [];
  let offset = 0;
  for (const e of elements) {
    at.push(offset);
    offset += e.length + 2;
  }
  at.push(offset);
  const head: PartsHead = {
    format: 1,
    state: { ...s, plan: plan === null ? null : { ...plan, tasks: [] }, tasks: {}, agents: {} },
    taskIds,
    planTasks: planTasks.length,
    kept,
    agentLines,
    shown: shownList.map((a) => indexOf.get(a.spawnId)!),
    live: all.flatMap((a, k) => (isLiveAgent(a) ? [k] : [])),
    taskPhases: planTasks.map((t) => t.phase),
    statuses,
    attempts,
    usage,
    others,
    targets,
    agentsTotal: all.length + cutSpawns,
    chunkTasks,
    at,
    rowAt: rowsPart.at,
    usageAt: usagePart.at,
    agentAt: agentsPart.at,
    orderSafe: taskIds.every((id) => !NUMERIC.test(id)) && agentIds.every((id) => !NUMERIC.test(id)),
  };
  const text = `[${JSON.stringify(head)},\n${elements.join(',\n')}]`;
  const document = assemble(s, head, rowsPart.text, usagePart.text, agentsPart.text, {
    statuses,
    attempts,
    usage,
    others: others.map((o) => total(o[1], o[2], o[3], o[4])),
    live: shownList.filter(isLiveAgent).length,
    agentsTotal: head.agentsTotal,
  });
  const chunks: string[] = [];
  for (let k = 0; k * chunkTasks < taskLines.length; k++)
    chunks.push(`[${taskLines.slice(k * chunkTasks, (k + 1) * chunkTasks).join(',\n')}]`);
  return { text, chunks, document };
}

/** `open` + the items joined by commas + `close`, and where each item starts, then one past the end. */
function listPart(open: string, items: readonly string[], close: string): { text: string; at: number[] } {
  const at: number[] = [];
  let offset = open.length;
  for (const item of items) {
    at.push(offset);
    offset += item.length + 1;
  }
  at.push(offset);
  return { text: open + items.join(',') + close, at };
}

/** The document's `usage.tasks` of the plan's tasks (their values given), and where each value starts and ends. */
function usageObject(taskIds: readonly string[], values: readonly string[]): { text: string; at: number[] } {
  const at: number[] = [];
  const entries: string[] = [];
  let offset = 1;
  for (let i = 0; i < values.length; i++) {
    const key = `${JSON.stringify(taskIds[i])}:`;
    at.push(offset + key.length, offset + key.length + values[i]!.length);
    entries.push(key + values[i]!);
    offset += key.length + values[i]!.length + 1;
  }
  return { text: `{${entries.join(',')}}`, at };
}

/** `text` with some of its pieces replaced: `edits` are [start, end) spans, in order, and their new text. */
function splice(text: string, edits: readonly { start: number; end: number; with: string }[]): string {
  let out = '';
  let from = 0;
  for (const e of edits) {
    out += text.slice(from, e.start) + e.with;
    from = e.end;
  }
  return out + text.slice(from);
}

/**
 * The status state the parts hold (`statusState` of the state they were made of), or a
 * sentence saying why they do not hold one.
 *
 * @example
 * const parsed = readStatusParts(main.data, (k) => chunkRows[k]);
 * if (typeof parsed !== 'string') console.log(parsed.state.position);
 */
export function readStatusParts(text: string, chunk: ChunkReader): StatusStateSnapshotData | string {
  let all: unknown;
  try {
    all = JSON.parse(text);
  } catch (err) {
    return `it is not JSON (${(err as Error).message})`;
  }
  if (!Array.isArray(all) || all.length < 2) return 'it is not a list of parts';
  const head = all[0] as PartsHead;
  const problem = headProblem(head);
  if (problem !== null) return problem;
  if (all.length !== 5) return `it has ${all.length} parts where a status state has 5`;
  const state = head.state;
  const lines: TaskLine[] = [];
  for (let k = 0; k * head.chunkTasks < head.taskIds.length; k++) {
    const text = chunk(k);
    if (text === undefined) return `its task chunk ${k} is missing or belongs to another snapshot`;
    let part: unknown;
    try {
      part = JSON.parse(text);
    } catch (err) {
      return `its task chunk ${k} is not JSON (${(err as Error).message})`;
    }
    if (!Array.isArray(part)) return `its task chunk ${k} is not a list of tasks`;
    lines.push(...(part as TaskLine[]));
  }
  if (lines.length !== head.taskIds.length)
    return `its task chunks hold ${lines.length} tasks where its head counts ${head.taskIds.length}`;
  const earlier: IdRecord<UsageTotal> = {};
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (
      typeof line !== 'object' ||
      line === null ||
      line.id !== head.taskIds[i] ||
      !Array.isArray(line.agents)
    )
      return `its task line ${i} is not the task its head names`;
    if (line.entry !== null) setOwn(state.tasks, line.id, line.entry);
    if (line.earlier !== null) setOwn(earlier, line.id, line.earlier);
  }
  if (state.plan !== null) state.plan.tasks = lines.slice(0, head.planTasks).map((l) => l.plan!);
  const next = lines.map(() => 0);
  for (const at of head.agentLines) {
    const agent = lines[at]?.agents[next[at]!++];
    if (agent === undefined) return 'its agents do not match its task lines';
    setOwn(state.agents, agent.spawnId, agent);
  }
  if (lines.some((l, i) => l.agents.length !== next[i])) return 'its agents do not match its task lines';
  const cut = all[all.length - 1] as unknown;
  if (typeof cut !== 'string' || !/^[0-9a-f]*$/.test(cut) || cut.length % 8 !== 0)
    return 'its last part is not the cut spawns';
  return { state, earlier, cut };
}

/**
 * The status document (as JSON text) of the log whose status state the parts hold, after
 * `tail` (the events after the parts' position, in order, read once): only the tasks the
 * tail names are parsed (from the chunks `chunk` reads) and folded, and the other tasks'
 * rows printed as stored. The same text as `JSON.stringify(statusDocument(state))` of a fold
 * from zero. Undefined when the parts cannot serve (the caller then folds the whole status
 * state): the tail records a plan, one of its spawns may be a cut one (`mayBeCut`), an id is
 * a number, or the parts are not whole.
 *
 * @example
 * const json = statusFromParts(row.data, chunk, store.readAll({ from: row.position + 1 }), compiledEngine);
 */
export function statusFromParts(
  text: string,
  chunk: ChunkReader,
  tail: Iterable<FoldInput>,
  engine: MachineEngine,
): string | undefined {
  const headEnd = text.indexOf('\n');
  if (!text.startsWith('[{') || headEnd < 0 || text[headEnd - 1] !== ',') return undefined;
  let head: PartsHead;
  try {
    head = JSON.parse(text.slice(1, headEnd - 1)) as PartsHead;
  } catch {
    return undefined;
  }
  if (headProblem(head) !== null || !head.orderSafe || head.at.length !== 5) return undefined;
  const T = head.taskIds.length;
  const P = head.planTasks;
  const G = head.chunkTasks;
  const base = headEnd + 1;
  // Element k: from its start to the ",\n" before the next (the last one ends before "]").
  if (base + head.at[4]! - 1 !== text.length) return undefined;
  const element = (k: number) =>
    text.slice(base + head.at[k]!, k === 3 ? text.length - 1 : base + head.at[k + 1]! - 2);
  const rowsText = element(0);
  const usageText = element(1);
  const agentsText = element(2);
  if (
    head.rowAt.length !== P + 1 ||
    head.usageAt.length !== 2 * P ||
    head.agentAt.length !== head.shown.length + 1
  )
    return undefined;

  // Which task lines the tail touches: a fold step reads one task, named by the event or by its spawn.
  const lineOfTask = new Map<string, number>();
  for (let i = 0; i < T; i++) lineOfTask.set(head.taskIds[i]!, i);
  const state = head.state;
  // The cut hashes as they are written (hex digits in quotes: nothing to unescape).
  const cutText = element(3);
  if (!cutText.startsWith('"') || !cutText.endsWith('"') || (cutText.length - 2) % 8 !== 0) return undefined;
  const cut = cutText.slice(1, -1);
  const loadedSpawns = new Set<string>();
  // A task's line is parsed and put in the state the first time an event names it (before
  // that event is folded: a fold step reads only the task its event names, by id or by spawn).
  const loaded = new Map<number, TaskLine>();
  const chunks = new Map<number, string[]>();
  const load = (i: number): boolean => {
    if (loaded.has(i)) return true;
    const k = Math.floor(i / G);
    let lines = chunks.get(k);
    if (lines === undefined) {
      const read = chunk(k);
      if (read === undefined) return false;
      // One task per line: "[" before the first, "," or "]" after each.
      lines = read.split('\n');
      if (lines.length !== Math.min(G, T - k * G)) return false;
      chunks.set(k, lines);
    }
    const line = JSON.parse(lines[i - k * G]!.slice(i === k * G ? 1 : 0, -1)) as TaskLine;
    if (line.id !== head.taskIds[i]) return false;
    loaded.set(i, line);
    if (line.entry !== null) setOwn(state.tasks, line.id, line.entry);
    for (const a of line.agents) {
      setOwn(state.agents, a.spawnId, a);
      loadedSpawns.add(a.spawnId);
    }
    return true;
  };
  // Live agents' rows read the run and the workers, which any event may change: always fold them.
  for (const k of head.live) if (!load(head.agentLines[k]!)) return undefined;

  // The fold, as `loadStatusState` does it on the whole status state.
  const draft = new StateDraft(state, false);
  for (const e of tail) {
    if (e.type === 'PlanLoaded' || e.type === 'PlanRevised') return undefined;
    const d = e.data as { taskId?: unknown; spawnId?: unknown } | null;
    if (typeof d === 'object' && d !== null) {
      if (typeof d.taskId === 'string') {
        const at = lineOfTask.get(d.taskId);
        if (at !== undefined && !load(at)) return undefined;
      }
      // A spawn the state does not hold: a report about it changes nothing (only live agents
      // are reported on, and their tasks are loaded), but a spawn request or a rate limit
      // reads whether it exists: one the parts may hold, cut or in a task not loaded, stops here.
      if (
        typeof d.spawnId === 'string' &&
        (e.type === 'AgentSpawnRequested' || e.type === 'RateLimited') &&
        getOwn(state.agents, d.spawnId) === undefined &&
        (mayBeCut(cut, d.spawnId) || mayBeCut(head.kept, d.spawnId))
      )
        return undefined;
    }
    applyEvent(draft, e, engine);
  }
  const touched = new Set(loaded.keys());

  // The agents of the touched tasks, old then new, in spawn order; new spawns in spawn order.
  const fresh: AgentRecord[] = [];
  const agentsOf = new Map<number, AgentRecord[]>();
  for (const [i, line] of loaded)
    agentsOf.set(
      i,
      line.agents.map((a) => getOwn(state.agents, a.spawnId)!),
    );
  for (const spawnId in state.agents) {
    if (loadedSpawns.has(spawnId)) continue;
    if (NUMERIC.test(spawnId)) return undefined;
    const a = getOwn(state.agents, spawnId)!;
    fresh.push(a);
    // A spawn needs its task's machine state, so a new agent's task has a line, touched.
    const at = lineOfTask.get(a.task);
    if (at === undefined || !agentsOf.has(at)) return undefined;
    agentsOf.get(at)!.push(a);
  }

  // The touched plan tasks' rows and usage again; every other row as stored.
  // The head is ours (parsed for this call): its per-task figures are changed in place.
  const attempts = head.attempts;
  const usage = head.usage;
  const letters = head.statuses.split('');
  const others = new Map(head.others.map((o) => [o[0], total(o[1], o[2], o[3], o[4])]));
  const rowEdits: { start: number; end: number; with: string }[] = [];
  const usageEdits: { start: number; end: number; with: string }[] = [];
  for (const [i, line] of [...loaded].sort((x, y) => x[0] - y[0])) {
    const agents = agentsOf.get(i)!;
    const u = taskUsage(line.earlier ?? undefined, agents);
    if (i >= P) {
      if (agents.length > 0 || line.earlier !== null) others.set(line.id, u);
      continue;
    }
    const row = JSON.stringify({ ...taskRow(state, line.plan!), target: head.targets?.[i] ?? null });
    rowEdits.push({ start: head.rowAt[i]!, end: head.rowAt[i + 1]! - 1, with: row });
    usageEdits.push({ start: head.usageAt[2 * i]!, end: head.usageAt[2 * i + 1]!, with: JSON.stringify(u) });
    const entry = getOwn(state.tasks, line.id);
    letters[i] = STATUS_LETTER[entry === undefined ? 'pending' : taskStatus(entry)];
    attempts[i] = entry?.context.attempts ?? 0;
    usage[i * 4] = u.inputTokens;
    usage[i * 4 + 1] = u.outputTokens;
    usage[i * 4 + 2] = u.costUsd;
    usage[i * 4 + 3] = u.attempts;
  }

  // The document's agents: the stored rows of untouched tasks; the touched tasks' again (a
  // task's last spawn changes when it spawns again), then the new spawns.
  const lastOf = new Map<number, string>();
  for (const [i, agents] of agentsOf)
    if (agents.length > 0) lastOf.set(i, agents[agents.length - 1]!.spawnId);
  const pieces: string[] = [];
  let live = 0;
  const showFolded = (a: AgentRecord, at: number) => {
    if (isLiveAgent(a)) live += 1;
    else if (lastOf.get(at) !== a.spawnId) return;
    pieces.push(JSON.stringify(agentRow(state, a)));
  };
  // Where each kept agent is in its task's line.
  const nth: number[] = [];
  const seen = new Map<number, number>();
  for (const at of head.agentLines) {
    const n = seen.get(at) ?? 0;
    nth.push(n);
    seen.set(at, n + 1);
  }
  let runFrom = -1;
  const S = head.shown.length;
  for (let j = 0; j <= S; j++) {
    const k = j < S ? head.shown[j]! : -1;
    if (j < S && !touched.has(head.agentLines[k]!)) {
      if (runFrom < 0) runFrom = j;
      continue;
    }
    if (runFrom >= 0) pieces.push(agentsText.slice(head.agentAt[runFrom], head.agentAt[j]! - 1));
    runFrom = -1;
    if (j < S) {
      const at = head.agentLines[k]!;
      showFolded(agentsOf.get(at)![nth[k]!]!, at);
    }
  }
  for (const a of fresh) showFolded(a, lineOfTask.get(a.task)!);

  const sortedOthers = [...others.entries()].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  return assemble(
    state,
    head,
    splice(rowsText, rowEdits),
    splice(usageText, usageEdits),
    `[${pieces.join(',')}]`,
    {
      statuses: letters.join(''),
      attempts,
      usage,
      others: sortedOthers.map((o) => o[1]),
      live,
      agentsTotal: head.agentsTotal + fresh.length,
    },
  );
}

const total = (inputTokens: number, outputTokens: number, costUsd: number, attempts: number): UsageTotal => ({
  inputTokens,
  outputTokens,
  costUsd,
  attempts,
});

function headProblem(head: PartsHead): string | null {
  if (typeof head !== 'object' || head === null || head.format !== 1)
    return 'its head is not a status parts head';
  const s = head.state;
  if (
    typeof s !== 'object' ||
    s === null ||
    typeof s.position !== 'number' ||
    typeof s.tasks !== 'object' ||
    typeof s.agents !== 'object' ||
    !Array.isArray(head.taskIds) ||
    typeof head.kept !== 'string' ||
    !Array.isArray(head.agentLines) ||
    !Array.isArray(head.shown) ||
    !Array.isArray(head.live) ||
    !Array.isArray(head.taskPhases) ||
    head.taskPhases.length !== head.planTasks ||
    !Array.isArray(head.attempts) ||
    !Array.isArray(head.usage) ||
    !Array.isArray(head.others) ||
    typeof head.statuses !== 'string' ||
    typeof head.planTasks !== 'number' ||
    head.statuses.length !== head.planTasks ||
    head.attempts.length !== head.planTasks ||
    head.usage.length !== head.planTasks * 4 ||
    head.planTasks > head.taskIds.length ||
    !Array.isArray(head.at) ||
    typeof head.chunkTasks !== 'number' ||
    head.chunkTasks < 1 ||
    !Array.isArray(head.rowAt) ||
    !Array.isArray(head.usageAt) ||
    !Array.isArray(head.agentAt) ||
    (s.plan !== null && (typeof s.plan !== 'object' || !Array.isArray(s.plan.tasks)))
  )
    return 'its head is not in the expected shape';
  return null;
}

/** The document's figures that are sums over every task. */
interface Sums {
  statuses: string;
  attempts: readonly number[];
  usage: readonly number[];
  others: readonly UsageTotal[];
  live: number;
  agentsTotal: number;
}

/**
 * The status document's text from its parts (`tasks` and `agents` as JSON arrays, the
 * tasks' usage as a JSON object) and the sums: the key order of `statusDocument`.
 */
function assemble(
  state: OrchState,
  head: PartsHead,
  tasksText: string,
  usageText: string,
  agentsText: string,
  sums: Sums,
): string {
  const plan = state.plan;
  const P = head.planTasks;
  const tasks = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
  const byLetter = new Map(TASK_STATUSES.map((s) => [STATUS_LETTER[s].charCodeAt(0), s]));
  let attempts = 0;
  for (let i = 0; i < P; i++) {
    tasks[byLetter.get(sums.statuses.charCodeAt(i))!] += 1;
    attempts += sums.attempts[i]!;
  }
  const totals: StatusTotals = {
    tasks,
    attempts,
    agents: { live: sums.live, total: sums.agentsTotal },
    costUsd: state.costUsd,
  };
  const rolled = usageRollup(plan, head.taskPhases, sums.usage, sums.others);
  const targets =
    head.targets === null
      ? []
      : targetGroups(
          plan,
          head.targets.map((target, i) => ({
            status: LETTER_STATUS.get(sums.statuses[i]!)!,
            attempts: sums.attempts[i]!,
            target,
          })),
          (i) => sums.usage[i * 4 + 2]!,
        );
  const run =
    state.run === null
      ? null
      : { runId: state.run.runId, status: state.run.status, startedAt: state.run.startedAt };
  return (
    `{"position":${JSON.stringify(state.position)}` +
    `,"plan":${JSON.stringify(plan === null ? null : { name: plan.name, source: plan.source })}` +
    `,"milestones":${JSON.stringify(milestoneRows(state))}` +
    `,"phases":${JSON.stringify(phaseRows(state))}` +
    `,"tasks":${tasksText}` +
    `,"agents":${agentsText}` +
    `,"run":${JSON.stringify(run)}` +
    `,"costUsd":${JSON.stringify(state.costUsd)}` +
    `,"totals":${JSON.stringify(totals)}` +
    `,"usage":{"run":${JSON.stringify(rolled.run)},"tasks":${usageText}` +
    `,"phases":${JSON.stringify(rolled.phases)},"milestones":${JSON.stringify(rolled.milestones)}}` +
    `,"targets":${JSON.stringify(targets)}}`
  );
}
