import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PlanWriteBackError } from '../../src/plan/errors.js';
import type { DeclaredStatus, Plan, Source } from '../../src/plan/model.js';
import { parseDirectoryPlan } from '../../src/plan/parse-directory.js';
import { parseRoadmap } from '../../src/plan/parse-roadmap.js';
import { parseStructuredPlan } from '../../src/plan/parse-structured.js';
import { writeBackStatuses, type StatusUpdate } from '../../src/plan/write-back.js';
import { rememberedTree } from '../../src/plan/write-back-structured.js';
import { readTree, type Tree, type TreeNode } from '../../src/plan/structured-tree.js';
import { renderDirectory, renderRoadmap, renderStructured, specArb } from './random-plans.js';

const at = (file: string, line: number): Source => ({ file, line });

describe('writeBackStatuses on examples', () => {
  it('ticks a checkbox and changes a roadmap Status line, keeping its style and its note', () => {
    const text = [
      '### Phase 1.2: Parser',
      '- **Status:** 🔴 Blocked (waiting on 2.1)',
      '- **Tasks:**',
      '  - [ ] Parse goals',
      '  - [✅] Detect ambiguity',
      '',
    ].join('\r\n');
    const out = writeBackStatuses(text, [
      { statusSource: at('roadmap.md', 2), kind: 'phase', status: 'in_progress' },
      { statusSource: at('roadmap.md', 4), kind: 'task', status: 'complete' },
    ]);
    expect(out).toBe(
      [
        '### Phase 1.2: Parser',
        '- **Status:** 🔄 In Progress (waiting on 2.1)',
        '- **Tasks:**',
        '  - [✅] Parse goals',
        '  - [✅] Detect ambiguity',
        '',
      ].join('\r\n'),
    );
  });

  it('writes snake-case words where the file uses them, and [x] where no ✅ box exists', () => {
    const text = '- **Status**: not_started\n- [ ] T002: Implement add | role:implementer\n';
    expect(
      writeBackStatuses(text, [
        { statusSource: at('stories/S002.md', 1), kind: 'phase', status: 'complete' },
        { statusSource: at('stories/S002.md', 2), kind: 'task', status: 'complete' },
      ]),
    ).toBe('- **Status**: complete\n- [x] T002: Implement add | role:implementer\n');
  });

  it('adds a checkbox to a task item that has none, and unticks a ticked one', () => {
    const text = '- Parse goals\n- [x] Done thing\n';
    expect(
      writeBackStatuses(text, [
        { statusSource: at('r.md', 1), kind: 'task', status: 'complete' },
        { statusSource: at('r.md', 2), kind: 'task', status: 'not_started' },
      ]),
    ).toBe('- [x] Parse goals\n- [ ] Done thing\n');
  });

  it('changes a YAML status in place and inserts one where it is missing (flow and block mappings)', () => {
    const text = [
      'milestones:',
      '  - id: M1',
      '    phases:',
      '      - id: S1 # the first',
      '        title: "One"',
      '        tasks:',
      "          - { id: T1, title: A, status: 'in_progress' }",
      '          - { id: T2, title: B }',
      '',
    ].join('\n');
    const out = writeBackStatuses(text, [
      { statusSource: at('plan.yaml', 7), kind: 'task', status: 'complete' },
      { statusSource: at('plan.yaml', 8), kind: 'task', status: 'blocked' },
      { statusSource: at('plan.yaml', 4), kind: 'phase', status: 'in_progress' },
    ]);
    expect(out).toBe(
      [
        'milestones:',
        '  - id: M1',
        '    phases:',
        '      - id: S1 # the first',
        '        status: in_progress',
        '        title: "One"',
        '        tasks:',
        "          - { id: T1, title: A, status: 'complete' }",
        '          - { status: blocked, id: T2, title: B }',
        '',
      ].join('\n'),
    );
  });

  it('changes and inserts JSON status fields', () => {
    const text =
      '{\n  "milestones": [\n    {\n      "id": "M1",\n      "status": "not_started",\n      "phases": [\n        { "id": "P1", "tasks": [] }\n      ]\n    }\n  ]\n}\n';
    const out = writeBackStatuses(text, [
      { statusSource: at('plan.json', 5), kind: 'milestone', status: 'complete' },
      { statusSource: at('plan.json', 7), kind: 'phase', status: 'blocked' },
      { statusSource: at('plan.json', 3), kind: 'milestone', status: 'complete' },
    ]);
    expect(out).toBe(
      '{\n  "milestones": [\n    {\n      "id": "M1",\n      "status": "complete",\n      "phases": [\n        { "status": "blocked", "id": "P1", "tasks": [] }\n      ]\n    }\n  ]\n}\n',
    );
    expect(JSON.parse(out)).toBeTruthy();
  });

  it('refuses a line that holds no status', () => {
    expect(() =>
      writeBackStatuses('# Title\n', [{ statusSource: at('r.md', 1), kind: 'phase', status: 'complete' }]),
    ).toThrow(PlanWriteBackError);
    expect(() =>
      writeBackStatuses('a\n', [{ statusSource: at('r.md', 9), kind: 'task', status: 'complete' }]),
    ).toThrow(/has no line 9/);
  });
});

type Entity = { key: string; kind: StatusUpdate['kind']; statusSource: Source; status: DeclaredStatus };

function entities(plan: Plan): Entity[] {
  const out: Entity[] = [];
  for (const m of plan.milestones)
    if (m.statusSource)
      out.push({ key: `m:${m.id}`, kind: 'milestone', statusSource: m.statusSource, status: m.status });
  for (const p of plan.phases)
    if (p.statusSource)
      out.push({ key: `p:${p.id}`, kind: 'phase', statusSource: p.statusSource, status: p.status });
  for (const t of plan.tasks)
    if (t.statusSource)
      out.push({ key: `t:${t.id}`, kind: 'task', statusSource: t.statusSource, status: t.status });
  // Format A epics: the gardener writes their Status line as it writes a phase's.
  for (const e of plan.epics ?? [])
    if (e.statusSource)
      out.push({ key: `e:${e.id}`, kind: 'phase', statusSource: e.statusSource, status: e.status });
  return out;
}

// Old and new differ only on status lines: lines changed in place, and status lines inserted.
function onlyStatusLinesDiffer(
  before: string,
  after: string,
  oldLines: Set<number>,
  newLines: Set<number>,
): boolean {
  const a = before.split('\n');
  const b = after.split('\n');
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      i++;
      j++;
    } else if (i < a.length && j < b.length && oldLines.has(i + 1) && newLines.has(j + 1)) {
      i++;
      j++;
    } else if (j < b.length && newLines.has(j + 1)) {
      j++;
    } else {
      return false;
    }
  }
  return true;
}

const status = fc.constantFrom<DeclaredStatus>('not_started', 'in_progress', 'blocked', 'complete');
const choices = fc.array(fc.tuple(fc.nat(), status), { minLength: 1, maxLength: 10 });

function checkWriteBack(
  files: Record<string, string>,
  parse: (files: Record<string, string>) => Plan,
  picks: [number, DeclaredStatus][],
): void {
  const plan = parse(files);
  const all = entities(plan);
  const chosen = new Map<string, Entity>();
  for (const [n, s] of picks) {
    const e = all[n % all.length]!;
    chosen.set(e.key, { ...e, status: s });
  }
  const byFile = new Map<string, StatusUpdate[]>();
  for (const e of chosen.values()) {
    const list = byFile.get(e.statusSource.file) ?? [];
    list.push({ statusSource: e.statusSource, kind: e.kind, status: e.status });
    byFile.set(e.statusSource.file, list);
  }
  const next = { ...files };
  for (const [file, updates] of byFile) next[file] = writeBackStatuses(files[file]!, updates);
  const reparsed = parse(next);
  const after = new Map(entities(reparsed).map((e) => [e.key, e]));
  for (const e of chosen.values()) expect(after.get(e.key)?.status, e.key).toBe(e.status);
  for (const [file, updates] of byFile) {
    const oldLines = new Set(updates.map((u) => u.statusSource.line));
    const newLines = new Set(
      [...chosen.values()].flatMap((e) => {
        const s = after.get(e.key)?.statusSource;
        return s && s.file === file ? [s.line] : [];
      }),
    );
    expect(onlyStatusLinesDiffer(files[file]!, next[file]!, oldLines, newLines), file).toBe(true);
  }
}

describe('write-back property: statuses read back, every other line byte-identical', () => {
  it('format A', () => {
    fc.assert(
      fc.property(specArb, choices, (spec, picks) => {
        checkWriteBack(renderDirectory(spec).files, (f) => parseDirectoryPlan(f, 'plans').plan, picks);
      }),
      { numRuns: 120 },
    );
  });

  it('format B', () => {
    fc.assert(
      fc.property(specArb, choices, (spec, picks) => {
        const { text } = renderRoadmap(spec);
        checkWriteBack(
          { 'roadmap.md': text },
          (f) => parseRoadmap(f['roadmap.md']!, 'roadmap.md', 'r').plan,
          picks,
        );
      }),
      { numRuns: 120 },
    );
  });

  it('format C, YAML and JSON (including inserted status fields)', () => {
    fc.assert(
      fc.property(
        specArb,
        choices,
        fc.constantFrom<'yaml' | 'json'>('yaml', 'json'),
        (spec, picks, format) => {
          const name = `plan.${format}`;
          const { text } = renderStructured(spec, format);
          checkWriteBack(
            { [name]: text },
            (f) => parseStructuredPlan(f[name]!, name, format, 'p').plan,
            picks,
          );
        },
      ),
      { numRuns: 120 },
    );
  });
});

/** A tree with each node's line next to its offsets (the line function is compared through them). */
function withLines(tree: Tree): unknown {
  const at = (n: TreeNode): unknown => {
    const lines = { startLine: tree.lineOf(n.start), endLine: tree.lineOf(n.end) };
    if (n.kind === 'map')
      return {
        ...n,
        ...lines,
        entries: n.entries.map((e) => ({ ...e, keyLine: tree.lineOf(e.keyStart), value: at(e.value) })),
      };
    if (n.kind === 'seq') return { ...n, ...lines, items: n.items.map(at) };
    return { ...n, ...lines };
  };
  return at(tree.root);
}

describe('write-back of format C, written again and again (the gardener during a run)', () => {
  it('the tree it keeps of what it wrote is the tree a parse of that text gives', () => {
    let chained = 0;
    fc.assert(
      fc.property(
        specArb,
        fc.array(choices, { minLength: 2, maxLength: 6 }),
        fc.constantFrom<'yaml' | 'json'>('yaml', 'json'),
        (spec, steps, format) => {
          const name = `plan.${format}`;
          let text = renderStructured(spec, format).text;
          for (const picks of steps) {
            const all = entities(parseStructuredPlan(text, name, format, 'p').plan);
            const chosen = new Map<string, Entity>();
            for (const [n, s] of picks) {
              const e = all[n % all.length]!;
              chosen.set(e.key, { ...e, status: s });
            }
            const kept = rememberedTree(name, format, text) !== undefined;
            const next = writeBackStatuses(
              text,
              [...chosen.values()].map((e) => ({
                statusSource: e.statusSource,
                kind: e.kind,
                status: e.status,
              })),
            );
            const remembered = rememberedTree(name, format, next);
            if (remembered !== undefined) {
              expect(withLines(remembered)).toEqual(withLines(readTree(name, next, format)));
              if (kept) chained++;
            }
            const after = new Map(
              entities(parseStructuredPlan(next, name, format, 'p').plan).map((e) => [e.key, e]),
            );
            for (const e of chosen.values()) expect(after.get(e.key)?.status, e.key).toBe(e.status);
            text = next;
          }
        },
      ),
      { numRuns: 60 },
    );
    // The property must have exercised writes that started from a kept tree.
    expect(chained).toBeGreaterThan(10);
  });

  it('a status inserted at the very end of the file (no last newline) belongs to the maps that end there', () => {
    for (const [name, text, format] of [
      [
        'end.yaml',
        'milestones:\n  - id: M1\n    phases:\n      - id: P1\n        tasks:\n          - id: T1',
        'yaml',
      ],
      [
        'crlf.yaml',
        'milestones:\r\n  - id: M1\r\n    phases:\r\n      - id: P1\r\n        tasks:\r\n          - id: T1',
        'yaml',
      ],
    ] as const) {
      const plan = parseStructuredPlan(text, name, format, 'p').plan;
      const task = plan.tasks[0]!;
      const once = writeBackStatuses(text, [
        { statusSource: task.statusSource!, kind: 'task', status: 'in_progress' },
      ]);
      expect(once.endsWith('status: in_progress')).toBe(true);
      const remembered = rememberedTree(name, format, once);
      expect(remembered).toBeDefined();
      expect(withLines(remembered!)).toEqual(withLines(readTree(name, once, format)));
      const again = parseStructuredPlan(once, name, format, 'p').plan.tasks[0]!;
      const twice = writeBackStatuses(once, [
        { statusSource: again.statusSource!, kind: 'task', status: 'complete' },
      ]);
      expect(twice).toBe(once.replace('in_progress', 'complete'));
    }
  });
});
