import { heading, listTexts, scanMarkdown, type MdLine } from './markdown.js';
import type { Persona } from './model.js';
import { slugify, splitLines, stripInline } from './text.js';

/**
 * Reads a persona file (`personas/<role>.md`): `# … Persona`, then `## Role` (the role id
 * on its own line), `## Capabilities`, `## Constraints`, and `## Claude.md Template` —
 * everything after that heading is the instruction text, byte for byte (one fenced
 * block wrapping all of it is unwrapped). Without a `## Role` section the file name is
 * the role.
 *
 * @example
 * parsePersona('personas/architect.md', '# Architect Persona\n## Role\narchitect\n## Claude.md Template\nYou design.');
 * // { role: 'architect', title: 'Architect Persona', template: 'You design.', … }
 */
export function parsePersona(file: string, text: string): Persona {
  const lines = scanMarkdown(text);
  let title = '';
  let titleLine = 1;
  let section = '';
  const bodies = new Map<string, MdLine[]>();
  let templateStart: number | undefined;
  for (const line of lines) {
    const h = heading(line);
    if (h?.level === 1 && title === '') {
      title = stripInline(h.text);
      titleLine = line.n;
      continue;
    }
    if (h && h.level === 2) {
      section = h.text.toLowerCase();
      if (/template|instructions|prompt/.test(section)) {
        templateStart = line.n;
        break;
      }
      continue;
    }
    if (section !== '') bodies.set(section, [...(bodies.get(section) ?? []), line]);
  }
  const sectionLines = (re: RegExp): MdLine[] =>
    [...bodies.entries()].filter(([name]) => re.test(name)).flatMap(([, ls]) => ls);
  const roleLine = sectionLines(/^role\b/).find((l) => !l.hidden && l.text.trim() !== '');
  const fromFile = slugify(
    (file.split('/').pop() ?? file).replace(/\.[^.]*$/, '').replace(/[-_.]?persona$/i, ''),
  );
  const role = roleLine ? stripInline(roleLine.text.replace(/^\s*[-*+]\s*/, '')).trim() : fromFile;
  return {
    role: role === '' ? fromFile || 'default' : role,
    title: title === '' ? role : title,
    capabilities: listTexts(sectionLines(/capabilit|skills/)).map((i) => i.text),
    constraints: listTexts(sectionLines(/constraint|rules|limits/)).map((i) => i.text),
    template: templateStart === undefined ? '' : templateText(text, templateStart),
    source: { file, line: titleLine },
  };
}

function templateText(text: string, headingLine: number): string {
  const all = splitLines(text);
  const body = all.slice(headingLine).join('\n').trim();
  const fenced = /^(`{3,}|~{3,})[^\n]*\n([\s\S]*?)\n\1\s*$/.exec(body);
  return fenced?.[2] !== undefined && !fenced[2].includes(fenced[1] ?? '```') ? fenced[2] : body;
}
