import { PlanParseError } from './errors.js';
import type { PlanFormat } from './model.js';
import { parseDirectoryPlan, type ParsedPlan } from './parse-directory.js';
import { parsePersona } from './parse-persona.js';
import { parseRoadmap } from './parse-roadmap.js';
import { parseStructuredPlan } from './parse-structured.js';
import { naturalCompare } from './text.js';

/** A plan's files as text, keyed by path relative to the plan root (`/` separators). */
export interface PlanFiles {
  files: Record<string, string>;
  /** The directory or file the plan was loaded from, as the user named it. */
  source: string;
  /** The file to read for formats B and C (`roadmap.md`, `plan.yaml`); found by name when absent. */
  entry?: string;
}

/** Roadmap and plan file names looked for in a plan root, in order. */
export const ENTRY_NAMES = [
  'roadmap.md',
  'ROADMAP.md',
  'Roadmap.md',
  'plan.yaml',
  'plan.yml',
  'plan.json',
] as const;

/**
 * Which format a set of files is in, and the file to read: `project.md` → directory (A);
 * an `entry` or a `roadmap.md` → roadmap (B) unless it ends in `.yaml`/`.yml`/`.json` (C).
 *
 * @example
 * detectPlanFormat(['project.md', 'epics/E001-core.md']); // { format: 'directory', entry: 'project.md' }
 */
export function detectPlanFormat(
  paths: readonly string[],
  entry?: string,
): { format: PlanFormat; entry: string } | undefined {
  const byExtension = (p: string): PlanFormat =>
    /\.ya?ml$/i.test(p) ? 'yaml' : /\.json$/i.test(p) ? 'json' : 'roadmap';
  if (entry !== undefined) return { format: byExtension(entry), entry };
  const project = paths.find((p) => p.toLowerCase() === 'project.md');
  if (project !== undefined) return { format: 'directory', entry: project };
  for (const name of ENTRY_NAMES) if (paths.includes(name)) return { format: byExtension(name), entry: name };
  return undefined;
}

/**
 * Parses a plan in whichever format its files are in. For formats B and C, persona
 * files under `personas/` beside the entry file are read too. Throws `PlanParseError`
 * when no format fits or the entry file is malformed.
 *
 * @example
 * const { plan, problems } = parsePlanFiles({ files: { 'roadmap.md': text }, source: 'plans' });
 */
export function parsePlanFiles(input: PlanFiles): ParsedPlan {
  const paths = Object.keys(input.files);
  const found = detectPlanFormat(paths, input.entry);
  if (!found) {
    throw new PlanParseError(
      input.source,
      0,
      `no plan in ${input.source}: there is no project.md, roadmap.md, plan.yaml or plan.json`,
      {
        hint: 'create one of them (docs/plan-formats.md), or point --plan-dir at the plan',
      },
    );
  }
  if (found.format === 'directory') return parseDirectoryPlan(input.files, input.source);
  const text = input.files[found.entry];
  if (text === undefined) {
    throw new PlanParseError(found.entry, 0, `${found.entry} was not given to the parser`, {
      hint: 'pass the entry file among the files',
    });
  }
  const parsed =
    found.format === 'roadmap'
      ? parseRoadmap(text, found.entry, input.source)
      : parseStructuredPlan(text, found.entry, found.format, input.source);
  const personaPaths = paths.filter((p) => /^personas\/[^/]+\.(md|markdown)$/i.test(p)).sort(naturalCompare);
  parsed.plan.personas.push(...personaPaths.map((p) => parsePersona(p, input.files[p] ?? '')));
  return parsed;
}
