import fs from 'node:fs';
import path from 'node:path';
import type { OrchestratorConfig } from '../../core/config.js';
import { PlanParseError } from '../../plan/errors.js';
import { buildPlanGraph, type PlanGraph } from '../../plan/graph.js';
import type { Plan } from '../../plan/model.js';
import { ENTRY_NAMES, parsePlanFiles, type PlanFiles } from '../../plan/parse-plan.js';
import { checkPlan } from '../../plan/validate.js';
import { OrchError } from '../../util/errors.js';

/**
 * The thin I/O edge of plans: find the plan in a repository, read its files, and hand
 * the text to the pure parsers and validation in src/plan.
 */

/**
 * Where `orch plan` looks, relative to the repository, when config `planDir` does not
 * exist (the first that exists wins).
 */
export const PLAN_FALLBACKS = [
  'plans/roadmap.md',
  'roadmap.md',
  'ROADMAP.md',
  'docs/roadmap.md',
  'plans/plan.yaml',
  'plans/plan.yml',
  'plans/plan.json',
  'plan.yaml',
  'plan.yml',
  'plan.json',
] as const;

/**
 * The plan directory or file to load: `explicit` (from `--plan-dir`, relative to the
 * repo) when given, else config `planDir` if it exists, else the first of
 * `PLAN_FALLBACKS` that exists. Throws `OrchError('PLAN_NOT_FOUND')` naming what was tried.
 *
 * @example
 * findPlan('/repo', config); // '/repo/.state/plans'
 */
export function findPlan(
  repoDir: string,
  config: Pick<OrchestratorConfig, 'planDir'>,
  explicit?: string,
): string {
  if (explicit !== undefined) {
    const p = path.resolve(repoDir, explicit);
    if (!fs.existsSync(p)) {
      throw new OrchError('PLAN_NOT_FOUND', `the plan ${p} does not exist`, {
        hint: 'pass --plan-dir a plan directory, a roadmap.md or a plan.yaml/plan.json',
      });
    }
    return p;
  }
  const tried = [config.planDir, ...PLAN_FALLBACKS];
  for (const rel of tried) {
    const p = path.resolve(repoDir, rel);
    if (fs.existsSync(p)) return p;
  }
  throw new OrchError('PLAN_NOT_FOUND', `no plan found in ${repoDir} (looked for ${tried.join(', ')})`, {
    hint: 'create .state/plans/project.md or plans/roadmap.md, set "planDir" in orch.config.json, or pass --plan-dir',
  });
}

function readText(file: string, shown: string): string {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (cause) {
    throw new PlanParseError(shown, 0, `cannot read ${shown}: ${(cause as Error).message}`, {
      hint: 'check that the file exists and is readable',
      cause,
    });
  }
  if (bytes.includes(0)) {
    throw new PlanParseError(shown, 0, `${shown} is not a text file (it contains NUL bytes)`, {
      hint: 'plans are Markdown, YAML or JSON text',
    });
  }
  try {
    return UTF8.decode(bytes);
  } catch {
    // Binary garbage without a NUL byte would decode to replacement characters: refuse it too.
    throw new PlanParseError(shown, 0, `${shown} is not a text file (it is not valid UTF-8)`, {
      hint: 'plans are Markdown, YAML or JSON text in UTF-8',
    });
  }
}

/** Refuses bytes that are not UTF-8 (a BOM is kept, as `Buffer.toString` kept it). */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function markdownUnder(root: string, dir: string, out: Record<string, string>, depth = 0): void {
  const abs = path.join(root, dir);
  if (depth > 8 || !fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) return;
  for (const entry of fs.readdirSync(abs, { withFileTypes: true })) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) markdownUnder(root, rel, out, depth + 1);
    else if (entry.isFile() && /\.(md|markdown)$/i.test(entry.name))
      out[rel] = readText(path.join(root, rel), rel);
  }
}

/**
 * Reads the files of a plan directory or plan file into the form the parsers take.
 * `source` is how the plan is named in messages (default: the path as given).
 *
 * @example
 * const input = readPlanFiles('/repo/.state/plans', '.state/plans');
 */
export function readPlanFiles(location: string, source: string = location): PlanFiles {
  const stat = fs.statSync(location, { throwIfNoEntry: false });
  if (!stat) {
    throw new OrchError('PLAN_NOT_FOUND', `the plan ${location} does not exist`, {
      hint: 'pass --plan-dir a plan directory, a roadmap.md or a plan.yaml/plan.json',
    });
  }
  const files: Record<string, string> = {};
  if (stat.isFile()) {
    const entry = path.basename(location);
    files[entry] = readText(location, entry);
    markdownUnder(path.dirname(location), 'personas', files);
    return { files, source, entry };
  }
  const names = fs.readdirSync(location);
  const project = names.find((n) => n.toLowerCase() === 'project.md');
  if (project !== undefined) {
    files[project] = readText(path.join(location, project), project);
    for (const dir of ['epics', 'stories', 'personas']) markdownUnder(location, dir, files);
    return { files, source };
  }
  const entry = ENTRY_NAMES.find((n) => names.includes(n));
  if (entry === undefined) {
    throw new PlanParseError(
      source,
      0,
      `${source} holds no plan: there is no project.md, roadmap.md, plan.yaml or plan.json in it`,
      {
        hint: 'create one of them (docs/plan-formats.md), or point --plan-dir at the plan file',
      },
    );
  }
  files[entry] = readText(path.join(location, entry), entry);
  markdownUnder(location, 'personas', files);
  return { files, source, entry };
}

/** A plan that parsed and validated, with its graph. */
export interface LoadedPlan {
  plan: Plan;
  graph: PlanGraph;
}

/**
 * Reads, parses and validates a plan. Throws `PlanParseError` for unreadable or
 * malformed input and `PlanValidationError` with every problem otherwise.
 * `agentRoles` are the configured agent roles (`Object.keys(config.agents)`).
 *
 * @example
 * const { plan, graph } = loadPlan(findPlan(repo, config), { agentRoles: Object.keys(config.agents) });
 */
export function loadPlan(
  location: string,
  options: { agentRoles?: readonly string[]; source?: string } = {},
): LoadedPlan {
  const parsed = parsePlanFiles(readPlanFiles(location, options.source ?? location));
  const graph = buildPlanGraph(parsed.plan);
  const plan = checkPlan(parsed, {
    graph,
    ...(options.agentRoles ? { agentRoles: options.agentRoles } : {}),
  });
  return { plan, graph };
}

/**
 * A fingerprint of a plan's files (path, size and modification time of every `.md`, `.yaml`,
 * `.yml` and `.json` file under a plan directory, or of a plan file and the `personas/`
 * beside it): it changes when any of them is edited, added or removed.
 *
 * @example
 * if (planStamp(location) !== lastStamp) reload();
 */
export function planStamp(location: string): string {
  const parts: string[] = [];
  const walk = (p: string, depth: number): void => {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      if (depth > 8) return;
      for (const name of fs.readdirSync(p).sort()) walk(path.join(p, name), depth + 1);
    } else if (/\.(md|markdown|ya?ml|json)$/i.test(p)) {
      parts.push(`${p}:${st.size}:${st.mtimeMs}`);
    }
  };
  walk(location, 0);
  // A plan file also reads the personas beside it.
  if (fs.statSync(location, { throwIfNoEntry: false })?.isFile())
    walk(path.join(path.dirname(location), 'personas'), 1);
  return parts.join('|');
}
