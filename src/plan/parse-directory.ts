import { PlanParseError, type PlanProblem } from './errors.js';
import type { Epic, Phase, Plan, Task } from './model.js';
import { parsePersona } from './parse-persona.js';
import { parseProject } from './parse-project.js';
import { parseEpic, parseStory } from './parse-stories.js';
import { idFromFileName, naturalCompare, pushUnique } from './text.js';

/** A parsed plan and the problems found while reading it (validation adds more). */
export interface ParsedPlan {
  plan: Plan;
  problems: PlanProblem[];
}

/** The milestone of a phase whose epic is in no milestone (validation reports it). */
export const NO_MILESTONE = '(none)';

const IGNORED = /(^|\/)(readme|index|template|_[^/]*)\.md$/i;

function pathsUnder(files: Record<string, string>, dir: string): string[] {
  return Object.keys(files)
    .filter((p) => p.toLowerCase().startsWith(`${dir}/`) && /\.(md|markdown)$/i.test(p) && !IGNORED.test(p))
    .sort(naturalCompare);
}

/**
 * Reads a plan directory (format A) from its files' contents, keyed by path relative to
 * the plan root with `/` separators: `project.md`, `epics/*.md`, `stories/<epic>/*.md`,
 * `personas/*.md`. A story is a phase in its epic's milestone; it depends on its own
 * `Dependencies` plus the stories of the epics its epic depends on.
 * Throws `PlanParseError` when there is no project.md.
 *
 * @example
 * const { plan, problems } = parseDirectoryPlan({ 'project.md': '# Calc\n## Milestones\n### M1: Core\n- [ ] E001' }, '.state/plans');
 */
export function parseDirectoryPlan(files: Record<string, string>, source: string): ParsedPlan {
  const projectPath = Object.keys(files).find((p) => p.toLowerCase() === 'project.md');
  const projectText = projectPath === undefined ? undefined : files[projectPath];
  if (projectPath === undefined || projectText === undefined) {
    throw new PlanParseError('project.md', 0, `${source} has no project.md, so it is not a plan directory`, {
      hint: 'add project.md with "# Name" and "## Milestones" (see docs/plan-formats.md, format A), or point --plan-dir at a roadmap or plan.yaml',
    });
  }
  const problems: PlanProblem[] = [];
  const project = parseProject(projectPath, projectText, problems);
  const epics: Epic[] = [];
  for (const path of pathsUnder(files, 'epics')) {
    const epic = parseEpic(path, files[path] ?? '', problems);
    if (epic) epics.push(epic);
  }
  const phases: Phase[] = [];
  const tasks: Task[] = [];
  for (const path of pathsUnder(files, 'stories')) {
    const parts = path.split('/');
    const epicDir = parts.length >= 3 ? parts[parts.length - 2] : undefined;
    const story = parseStory(
      path,
      files[path] ?? '',
      epicDir && (idFromFileName(epicDir) ?? epicDir),
      problems,
    );
    if (story) {
      phases.push(story.phase);
      tasks.push(...story.tasks);
    }
  }
  placeEpics(project.milestones, epics, problems);
  placePhases(project.milestones, epics, phases);
  const personas = pathsUnder(files, 'personas').map((p) => parsePersona(p, files[p] ?? ''));
  return {
    plan: {
      name: project.name === '' ? 'plan' : project.name,
      ...(project.description !== undefined ? { description: project.description } : {}),
      format: 'directory',
      source,
      milestones: project.milestones,
      phases,
      tasks,
      personas,
      epics,
    },
    problems,
  };
}

// The milestone an epic belongs to: where project.md lists it, else its own Milestone field.
function placeEpics(milestones: Plan['milestones'], epics: Epic[], problems: PlanProblem[]): void {
  const listedIn = new Map<string, string>();
  for (const m of milestones) for (const e of m.epics ?? []) if (!listedIn.has(e)) listedIn.set(e, m.id);
  for (const epic of epics) {
    const listed = listedIn.get(epic.id);
    if (listed !== undefined && epic.milestone !== undefined && epic.milestone !== listed) {
      problems.push({
        file: epic.source.file,
        line: epic.source.line,
        message: `epic ${epic.id} says Milestone ${epic.milestone} but project.md lists it under ${listed}: make the two agree`,
      });
    }
    const milestone = listed ?? epic.milestone;
    if (milestone === undefined) delete epic.milestone;
    else epic.milestone = milestone;
  }
}

function placePhases(milestones: Plan['milestones'], epics: Epic[], phases: Phase[]): void {
  const epicById = new Map(epics.map((e) => [e.id, e]));
  const phaseIds = new Set(phases.map((p) => p.id));
  const storiesOf = new Map<string, string[]>();
  for (const p of phases)
    if (p.epic !== undefined) storiesOf.set(p.epic, [...(storiesOf.get(p.epic) ?? []), p.id]);
  const milestoneById = new Map(milestones.map((m) => [m.id, m]));
  for (const phase of phases) {
    const epic = phase.epic === undefined ? undefined : epicById.get(phase.epic);
    if (phase.milestone === '') phase.milestone = epic?.milestone ?? NO_MILESTONE;
    if (phase.target === undefined && epic?.target !== undefined) phase.target = epic.target;
    for (const dep of epic?.dependsOn ?? []) {
      const expanded = storiesOf.get(dep) ?? (phaseIds.has(dep) ? [dep] : []);
      pushUnique(
        phase.dependsOn,
        expanded.filter((id) => id !== phase.id),
      );
    }
    milestoneById.get(phase.milestone)?.phases.push(phase.id);
  }
}
