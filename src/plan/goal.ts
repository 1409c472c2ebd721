import type { PlanGraph } from './graph.js';
import { tasksRequiredFor } from './progress.js';
import type { Plan } from './model.js';
import { naturalCompare } from './text.js';

/**
 * The goal interpreter: ranks the phases and tasks that match a goal sentence (BM25 over
 * titles, descriptions, acceptance criteria and "Done When"), then recommends the work
 * toward it — the best matches plus everything they still wait on, in dependency order.
 */

const STOP = new Set(
  'a an and are as at be but by can do for from has have how i in into is it its of on or so that the their then there these this to up we what when where which while will with would you your our make makes need needs want get'.split(
    ' ',
  ),
);

/**
 * A light suffix-stripping stemmer: plurals, -ing, -ed, -er, -ation, -ment, a final -e
 * and -y, so `parsing`, `parser`, `parses` and `parse` all become `pars`.
 *
 * @example
 * stem('dependencies') === stem('dependency'); // true
 */
export function stem(word: string): string {
  let w = word;
  if (w.length <= 3) return w;
  if (w.endsWith('ies') && w.length > 4) w = `${w.slice(0, -3)}i`;
  else if (w.endsWith('sses')) w = w.slice(0, -2);
  else if (w.endsWith('s') && !/(ss|us|is)$/.test(w)) w = w.slice(0, -1);
  const strip = (suffix: string, keep: number, replace = ''): boolean => {
    if (w.endsWith(suffix) && w.length - suffix.length >= keep) {
      w = w.slice(0, -suffix.length) + replace;
      return true;
    }
    return false;
  };
  if (strip('ation', 3, 'at') || strip('ment', 4) || strip('ing', 3) || strip('ed', 3) || strip('er', 3)) {
    if (/([^aeiouslz])\1$/.test(w)) w = w.slice(0, -1);
  }
  if (w.endsWith('e') && w.length > 3) w = w.slice(0, -1);
  if (w.endsWith('y') && w.length > 3) w = `${w.slice(0, -1)}i`;
  return w;
}

/**
 * Lower-cased, accent-free word stems of `text`, without stop words.
 *
 * @example
 * tokenize('Parsing the Goals'); // ['pars', 'goal']
 */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  const words = text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .split(/[^\p{L}\p{N}]+/u);
  for (const word of words) if (word.length > 1 && !STOP.has(word)) out.push(stem(word));
  return out;
}

/** A phase or task that matches a goal. */
export interface GoalMatch {
  kind: 'phase' | 'task';
  id: string;
  title: string;
  score: number;
  /** The goal's stems found in it. */
  terms: string[];
}

/** How many matches to keep. */
export interface GoalOptions {
  /** Keep matches scoring at least this fraction of the best one (default 0.35). */
  minRelativeScore?: number;
  /** At most this many matches (default 10). */
  limit?: number;
}

interface Doc {
  kind: 'phase' | 'task';
  id: string;
  title: string;
  tf: Map<string, number>;
  length: number;
}

/**
 * The phases and tasks that match `goal`, best first (ties by id). BM25 with k1 = 1.2,
 * b = 0.75; a title counts twice.
 *
 * @example
 * matchGoal(plan, 'parse the user goals')[0]; // { kind: 'phase', id: '1.2', title: 'Task Parser', … }
 */
export function matchGoal(plan: Plan, goal: string, options: GoalOptions = {}): GoalMatch[] {
  const query = [...new Set(tokenize(goal))];
  if (query.length === 0) return [];
  const docs: Doc[] = [];
  const add = (kind: Doc['kind'], id: string, title: string, parts: (string | undefined)[]): void => {
    const tokens = [...tokenize(title), ...tokenize(title), ...parts.flatMap((p) => (p ? tokenize(p) : []))];
    const tf = new Map<string, number>();
    for (const t of tokens) tf.set(t, (tf.get(t) ?? 0) + 1);
    docs.push({ kind, id, title, tf, length: tokens.length });
  };
  for (const p of plan.phases) {
    add('phase', p.id, p.title, [
      p.description,
      ...p.acceptanceCriteria,
      ...p.definitionOfDone,
      ...Object.values(p.metadata),
    ]);
  }
  for (const t of plan.tasks) add('task', t.id, t.title, [t.description]);
  const n = docs.length;
  const avg = docs.reduce((s, d) => s + d.length, 0) / Math.max(1, n);
  const df = new Map<string, number>();
  for (const q of query) df.set(q, docs.filter((d) => d.tf.has(q)).length);
  const k1 = 1.2;
  const b = 0.75;
  const scored: GoalMatch[] = [];
  for (const d of docs) {
    let score = 0;
    const terms: string[] = [];
    for (const q of query) {
      const f = d.tf.get(q) ?? 0;
      if (f === 0) continue;
      const dfq = df.get(q) ?? 0;
      const idf = Math.log(1 + (n - dfq + 0.5) / (dfq + 0.5));
      score += (idf * f * (k1 + 1)) / (f + k1 * (1 - b + (b * d.length) / Math.max(1, avg)));
      terms.push(q);
    }
    if (score > 0)
      scored.push({ kind: d.kind, id: d.id, title: d.title, score: Math.round(score * 1000) / 1000, terms });
  }
  scored.sort((a, c) => c.score - a.score || naturalCompare(a.id, c.id));
  const best = scored[0]?.score ?? 0;
  const min = best * (options.minRelativeScore ?? 0.35);
  return scored.filter((m) => m.score >= min).slice(0, options.limit ?? 10);
}

/** One task of a goal's recommended work. */
export interface RecommendedTask {
  id: string;
  phase: string;
  title: string;
  /** `match`: it (or its phase) matches the goal; `dependency`: a match waits on it. */
  reason: 'match' | 'dependency';
}

/** The work toward a goal. */
export interface GoalRecommendation {
  goal: string;
  matches: GoalMatch[];
  /** Incomplete tasks to do, in dependency order. */
  tasks: RecommendedTask[];
}

/**
 * Recommends the work toward `goal`: the matching tasks (a matching phase brings all
 * its tasks) plus every incomplete task they wait on, in dependency order.
 *
 * @example
 * recommendForGoal(plan, graph, 'command-line calculator', declaredCompletion(plan)).tasks.map((t) => t.id);
 */
export function recommendForGoal(
  plan: Plan,
  graph: PlanGraph,
  goal: string,
  completed: ReadonlySet<string>,
  options: GoalOptions = {},
): GoalRecommendation {
  const matches = matchGoal(plan, goal, options);
  const matched = new Set<string>();
  const phaseById = new Map(plan.phases.map((p) => [p.id, p]));
  for (const m of matches) {
    if (m.kind === 'task') matched.add(m.id);
    else for (const t of phaseById.get(m.id)?.tasks ?? []) matched.add(t);
  }
  const byId = new Map(plan.tasks.map((t) => [t.id, t]));
  const tasks = tasksRequiredFor(graph, [...matched], completed).map((id): RecommendedTask => {
    const t = byId.get(id);
    return {
      id,
      phase: t?.phase ?? '',
      title: t?.title ?? '',
      reason: matched.has(id) ? 'match' : 'dependency',
    };
  });
  return { goal, matches, tasks };
}
