import { PlanParseError, type PlanProblem } from './errors.js';
import { field, readFields } from './fields.js';
import { heading, paragraphText, scanMarkdown, type MdLine } from './markdown.js';
import type { Milestone, Phase, Task } from './model.js';
import type { ParsedPlan } from './parse-directory.js';
import { badStatus, summarise } from './parse-project.js';
import { withoutMarkers } from './priority.js';
import { readRoadmapPhase, type PhaseBlock } from './roadmap-phase.js';
import { parseStatus } from './status.js';
import { headingSlug, pushUnique, stripEmoji, stripInline } from './text.js';

/**
 * Format B: one roadmap file. `##` sections are milestones (id from the heading slug),
 * `### Phase N.M: Title` headings are phases, checklist items under `- **Tasks:**` are
 * tasks `N.M.k`. Sections and headings that are not phases, and fenced blocks, are skipped.
 */

const PHASE_HEADING = /^phase\s+(\d+(?:\.\d+)*[a-z]?)(?!\w|\.\d)\s*(?:[:.)–—-]\s*)?(.*)$/i;
/** The phase id and title of a `Phase N.M: Title` heading, or undefined. */
function phaseHeading(text: string): { id: string; title: string } | undefined {
  const m = PHASE_HEADING.exec(stripEmoji(stripInline(text)).replace(/^[^\p{L}\p{N}]+/u, ''));
  return m?.[1] ? { id: m[1], title: (m[2] ?? '').trim() } : undefined;
}

/**
 * Reads a roadmap (format B). `file` is the name problems and sources use.
 * Throws `PlanParseError` when the file has no `Phase N.M` heading at all.
 *
 * @example
 * const { plan } = parseRoadmap('## Batch 1\n### Phase 1.1: Models\n- **Tasks:**\n  - [ ] Define', 'roadmap.md', 'plans/roadmap.md');
 * plan.tasks[0]?.id; // '1.1.1'
 */
export function parseRoadmap(text: string, file: string, source: string): ParsedPlan {
  const lines = scanMarkdown(text);
  const problems: PlanProblem[] = [];
  const heads = lines.flatMap((line, i) => {
    const h = heading(line);
    return h ? [{ i, line, h, phase: h.level >= 2 ? phaseHeading(h.text) : undefined }] : [];
  });
  // A level-2 "Phase 1" heading with deeper phase headings under it is a section, not a phase.
  const sectionLike = new Set<number>();
  heads.forEach((hd, k) => {
    if (hd.h.level > 2 || !hd.phase) return;
    for (const next of heads.slice(k + 1)) {
      if (next.h.level <= 2) break;
      if (next.phase) {
        sectionLike.add(hd.i);
        break;
      }
    }
  });
  let name = '';
  const milestones: Milestone[] = [];
  const blocks: PhaseBlock[] = [];
  let section: { m: Milestone; pre: MdLine[] } | undefined;
  const sectionsSeen: { m: Milestone; pre: MdLine[] }[] = [];
  let block: PhaseBlock | undefined;
  let inPhaseSection = false;
  const headAt = new Map(heads.map((hd) => [hd.i, hd]));
  lines.forEach((line, i) => {
    const hd = headAt.get(i);
    if (hd?.h.level === 1 && name === '') {
      name = stripEmoji(stripInline(hd.h.text));
      return;
    }
    if (hd && hd.h.level <= 2 && (!hd.phase || sectionLike.has(i))) {
      block = undefined;
      section = {
        m: {
          id: headingSlug(hd.h.text) || `section-${sectionsSeen.length + 1}`,
          title: withoutMarkers(stripEmoji(stripInline(hd.h.text))),
          phases: [],
          status: 'not_started',
          source: { file, line: line.n },
        },
        pre: [],
      };
      sectionsSeen.push(section);
      inPhaseSection = false;
      return;
    }
    if (hd?.phase) {
      if (!section) {
        section = {
          m: {
            id: 'roadmap',
            title: name || 'Roadmap',
            phases: [],
            status: 'not_started',
            source: { file, line: line.n },
          },
          pre: [],
        };
        sectionsSeen.push(section);
      }
      if (!milestones.includes(section.m)) milestones.push(section.m);
      block = {
        line,
        level: hd.h.level,
        id: hd.phase.id,
        headingText: hd.h.text,
        title: withoutMarkers(hd.phase.title) || `Phase ${hd.phase.id}`,
        body: [],
        milestone: section.m,
      };
      blocks.push(block);
      inPhaseSection = true;
      return;
    }
    if (hd && block && hd.h.level <= block.level) block = undefined;
    // Only the lines right under a section heading can carry the section's own Status.
    if (hd && !block) inPhaseSection = true;
    if (block) block.body.push(line);
    else if (section && !inPhaseSection && !hd) section.pre.push(line);
  });
  if (blocks.length === 0) {
    throw new PlanParseError(
      file,
      0,
      `${file} has no "### Phase N.M: Title" heading, so it is not a roadmap`,
      {
        hint: 'write each phase as a "### Phase 1.1: Title" heading under a "## Batch" section (docs/plan-formats.md, format B)',
      },
    );
  }
  const phases: Phase[] = [];
  const tasks: Task[] = [];
  for (const b of blocks) {
    const { phase, tasks: ts } = readRoadmapPhase(file, b, problems);
    phases.push(phase);
    tasks.push(...ts);
    b.milestone.phases.push(phase.id);
  }
  resolveMilestoneRefs(phases, milestones);
  for (const s of sectionsSeen) {
    if (milestones.includes(s.m)) fillMilestoneStatus(file, s.m, s.pre, phases, problems);
  }
  return {
    plan: { name: name || 'Roadmap', format: 'roadmap', source, milestones, phases, tasks, personas: [] },
    problems,
  };
}

// "Depends On: Batch 1" means every phase of that section.
function resolveMilestoneRefs(phases: Phase[], milestones: Milestone[]): void {
  const phaseIds = new Set(phases.map((p) => p.id));
  const byId = new Map(milestones.map((m) => [m.id, m]));
  for (const phase of phases) {
    const out: string[] = [];
    for (const dep of phase.dependsOn) {
      const m = phaseIds.has(dep) ? undefined : byId.get(dep);
      pushUnique(out, m ? m.phases.filter((id) => id !== phase.id) : [dep]);
    }
    phase.dependsOn = out;
  }
}

function fillMilestoneStatus(
  file: string,
  m: Milestone,
  pre: MdLine[],
  phases: Phase[],
  problems: PlanProblem[],
): void {
  const { fields, rest } = readFields(pre);
  const f = field(fields, 'status', 'state');
  const declared = f ? parseStatus(f.value) : undefined;
  if (f && declared === undefined) problems.push(badStatus(file, f.line.n, `section ${m.id}`, f.value));
  const text = paragraphText(rest);
  if (text !== '') m.description = text;
  if (f && declared !== undefined) {
    m.status = declared;
    m.statusSource = { file, line: f.line.n };
    return;
  }
  const mine = new Set(m.phases);
  m.status = summarise(phases.filter((p) => mine.has(p.id)).map((p) => p.status));
}
