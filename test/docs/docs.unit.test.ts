import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { OrchestratorConfigSchema } from '../../src/core/config.js';
import { ORCH_EVENT_TYPES } from '../../src/core/events.js';

/**
 * Keeps the documentation in `docs/` honest: every command, flag, event type and config key
 * the code has is documented; every file a doc names exists; every link between docs lands
 * on a heading; and nothing points outside the repository (`../shared/*.md`) or to an issue
 * number a reader cannot see.
 */

const root = path.resolve(import.meta.dirname, '../..');
const read = (rel: string): string => fs.readFileSync(path.join(root, rel), 'utf8');
const docFiles = fs
  .readdirSync(path.join(root, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .map((f) => `docs/${f}`);

/** The text of `doc` from the heading `heading` (exactly, at any level) to the next heading of that level or higher. */
function sectionOf(doc: string, heading: string): string {
  const lines = doc.split('\n');
  // Lines inside fenced blocks are never headings (`# config/targets.yaml` in a YAML example).
  let fenced = false;
  const isHeading = lines.map((l) => {
    if (/^\s*(```|~~~)/.test(l)) fenced = !fenced;
    return !fenced && /^#{1,6} /.test(l);
  });
  const start = lines.findIndex((l, i) => isHeading[i] && l.replace(/^#+ /, '') === heading);
  if (start < 0) return '';
  const level = /^#+/.exec(lines[start]!)![0].length;
  const end = lines.findIndex((l, i) => i > start && isHeading[i] && /^#+/.exec(l)![0].length <= level);
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes. */
function anchorOf(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor of a Markdown text (duplicates get `-1`, `-2`, … as on GitHub); fenced blocks skipped. */
function anchorsOf(doc: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of doc.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const m = fenced ? null : /^#{1,6} (.*)$/.exec(line);
    if (!m) continue;
    const base = anchorOf(m[1]!.replace(/`/g, ''));
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Files under `dir` (repository-relative) whose name matches `re`, recursively. */
function filesUnder(dir: string, re: RegExp): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else if (re.test(entry.name)) out.push(child);
    }
  };
  if (fs.existsSync(path.join(root, dir))) walk(dir);
  return out;
}

/** The commands as oclif finds them: every `.ts` file under `src/commands` but `_` files, a sub-folder read as a topic (`a/b.ts` is `a b`). */
function commandFiles(): { id: string; file: string }[] {
  return filesUnder('src/commands', /^[^_].*\.ts$/).map((file) => ({
    file,
    id: file.slice('src/commands/'.length, -'.ts'.length).split('/').join(' '),
  }));
}

/**
 * What must never appear in the repository's own text: a pointer to the brief files outside
 * it, or an issue number (the issue tracker is not part of the package).
 */
const OUTSIDE_POINTERS: readonly { name: string; re: RegExp }[] = [
  { name: '../shared/', re: /\.\.\/shared\// },
  {
    name: 'a brief file (CLI.md, ARCHITECTURE.md, PLAN-FORMATS.md)',
    re: /\b(?:CLI|ARCHITECTURE|PLAN-FORMATS)\.md\b/,
  },
  { name: 'an issue number', re: /\bissue\s*#?\d+|\bissue:\s|\(issue\b|\bissues\/\d+/i },
];

/** The places a pointer found by {@link OUTSIDE_POINTERS} in `text`, as `file:line: text`. */
function outsidePointers(file: string, text: string): string[] {
  const out: string[] = [];
  text.split('\n').forEach((line, i) => {
    for (const p of OUTSIDE_POINTERS)
      if (p.re.test(line)) out.push(`${file}:${i + 1}: ${p.name}: ${line.trim()}`);
  });
  return out;
}

describe('docs/cli.md', () => {
  const cli = read('docs/cli.md');

  it('has a section for every command in src/commands, and for help', () => {
    const ids = [...commandFiles().map((c) => c.id), 'help'];
    expect(ids).toEqual(expect.arrayContaining(['plan', 'spawn', 'status', 'signal', 'ci']));
    const missing = ids.filter((id) => sectionOf(cli, `orch ${id}`) === '');
    expect(missing).toEqual([]);
  });

  it("names every flag of every command in that command's section", async () => {
    const missing: string[] = [];
    for (const { id, file } of commandFiles()) {
      const mod = (await import(pathToFileURL(path.join(root, file)).href)) as {
        default: { flags?: Record<string, { char?: string }> };
      };
      const section = sectionOf(cli, `orch ${id}`);
      for (const flag of Object.keys(mod.default.flags ?? {})) {
        if (!section.includes(`--${flag}`)) missing.push(`orch ${id} --${flag}`);
      }
    }
    expect(missing).toEqual([]);
    // The flags every command shares are documented once.
    const global = sectionOf(cli, 'Global flags');
    for (const flag of ['--repo', '--state-dir', '--json']) expect(global).toContain(flag);
  });

  it('documents every key of OrchestratorConfigSchema, nested keys as `parent.key` or `parent.<x>.key`', () => {
    const config = sectionOf(cli, 'Configuration');
    expect(config.length).toBeGreaterThan(100);
    type Def = { type: string; innerType?: unknown; valueType?: unknown };
    type Schema = { _zod: { def: Def }; shape?: Record<string, unknown> };
    const unwrap = (s: unknown): Schema => {
      let x = s as Schema;
      while (x._zod.def.innerType !== undefined) x = x._zod.def.innerType as Schema;
      return x;
    };
    const missing: string[] = [];
    for (const [key, schema] of Object.entries(OrchestratorConfigSchema.shape)) {
      if (!config.includes(`\`${key}\``)) missing.push(key);
      const inner = unwrap(schema);
      const nested =
        inner._zod.def.type === 'object'
          ? { shape: inner.shape ?? {}, via: (k: string) => new RegExp(`\`${key}\\.${k}\``) }
          : inner._zod.def.type === 'record' && unwrap(inner._zod.def.valueType)._zod.def.type === 'object'
            ? {
                shape: unwrap(inner._zod.def.valueType).shape ?? {},
                via: (k: string) => new RegExp(`\`${key}\\.<[^>]+>\\.${k}\``),
              }
            : null;
      for (const k of Object.keys(nested?.shape ?? {}))
        if (!nested!.via(k).test(config)) missing.push(`${key}.${k}`);
    }
    expect(missing).toEqual([]);
  });
});

describe('docs/events.md', () => {
  it('has a table row for every event type of EVENT_SCHEMAS', () => {
    const events = sectionOf(read('docs/events.md'), 'Event types');
    const missing = ORCH_EVENT_TYPES.filter((t) => !events.includes(`| \`${t}\``));
    expect(missing).toEqual([]);
  });
});

describe('the docs, together', () => {
  it('name only files that exist', () => {
    const gone: string[] = [];
    for (const doc of [...docFiles, 'README.md']) {
      for (const m of read(doc).matchAll(/`((?:src|test|bench|bin|eslint-rules)\/[^`\s*<>…]+)`/g)) {
        const rel = m[1]!.replace(/\/$/, '');
        if (!fs.existsSync(path.join(root, rel))) gone.push(`${doc}: ${rel}`);
      }
    }
    expect(gone).toEqual([]);
  });

  it('link only to docs and headings that exist', () => {
    const broken: string[] = [];
    for (const doc of [...docFiles, 'README.md']) {
      const here = path.posix.dirname(doc);
      for (const m of read(doc).matchAll(/\]\(([^)\s]+)\)/g)) {
        const [target, anchor] = m[1]!.split('#') as [string, string | undefined];
        if (/^[a-z]+:/.test(target)) continue;
        const file = target === '' ? doc : path.posix.normalize(path.posix.join(here, target));
        if (!fs.existsSync(path.join(root, file))) broken.push(`${doc}: ${m[1]}`);
        else if (anchor !== undefined && file.endsWith('.md') && !anchorsOf(read(file)).has(anchor))
          broken.push(`${doc}: ${m[1]} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('point nowhere outside the repository and to no issue number (src, test, bench, bin, README, docs)', () => {
    const files = [
      ...filesUnder('src', /\.ts$/),
      ...filesUnder('test', /\.ts$/).filter(
        (f) => !f.startsWith('test/fixtures/') && f !== 'test/docs/docs.unit.test.ts',
      ),
      ...filesUnder('bench', /\.ts$/),
      ...filesUnder('bin', /\.js$/),
      'README.md',
      ...docFiles,
    ];
    const found = files.flatMap((f) => outsidePointers(f, read(f)));
    expect(found).toEqual([]);
  });
});

describe('the checks themselves', () => {
  it('find a pointer outside the repository, an issue number, a missing section and a broken anchor', () => {
    expect(outsidePointers('x.ts', '// see ../shared/CLI.md')).toHaveLength(2);
    expect(outsidePointers('x.ts', '/** targets (issue 7) */')).toHaveLength(1);
    expect(outsidePointers('x.ts', "hint: 'see PLAN-FORMATS.md, format B'")).toHaveLength(1);
    expect(outsidePointers('x.ts', 'const issue = result.error.issues[0]; // docs/cli.md')).toEqual([]);
    expect(sectionOf('# A\n## orch plan\ntext\n## orch spawn\n', 'orch status')).toBe('');
    expect(sectionOf('# A\n## orch plan\ntext\n### flags\n--x\n## orch spawn\n', 'orch plan')).toContain(
      '--x',
    );
    expect(
      sectionOf('## Configuration\n```yaml\n# a comment\n```\n`targets`\n## Next\n', 'Configuration'),
    ).toContain('`targets`');
    expect(anchorsOf('## The status document (`status --json`)\n## Targets\n## Targets')).toEqual(
      new Set(['the-status-document-status---json', 'targets', 'targets-1']),
    );
  });
});
