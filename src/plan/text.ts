/**
 * Small text helpers shared by the plan parsers: line splitting, slugs, natural order,
 * status words and markers, dependency lists. All pure and lenient about decoration.
 */

// Emoji and pictographs (with their variation selectors and joiners) are decoration.
const EMOJI =
  /\p{Extended_Pictographic}|[\u{1F1E6}-\u{1F1FF}\u{2705}\u{2713}\u{2714}\u{2717}\u{2718}]|\u{FE0F}|\u{FE0E}|\u{200D}|\u{20E3}/gu;

/**
 * Splits text into lines without their `\n` or `\r\n` ending (a leading BOM is dropped).
 *
 * @example
 * splitLines('a\r\nb\n'); // ['a', 'b', '']
 */
export function splitLines(text: string): string[] {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  return body.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/**
 * Removes emoji and pictographs, then collapses whitespace.
 *
 * @example
 * stripEmoji('Phase 1.1 ✅ '); // 'Phase 1.1'
 */
export function stripEmoji(text: string): string {
  return text.replace(EMOJI, ' ').replace(/\s+/g, ' ').trim();
}

/**
 * Strips Markdown emphasis and code marks (`**`, `__`, `` ` ``, `~~`) around words.
 *
 * @example
 * stripInline('**Done** `now`'); // 'Done now'
 */
export function stripInline(text: string): string {
  return text.replace(/\*\*|__|~~|`/g, '').trim();
}

/**
 * A lower-case, dash-separated id made from a heading: emoji, parentheses and anything
 * after a colon or a spaced dash are dropped (`Batch 1 (Foundation)` → `batch-1`).
 *
 * @example
 * headingSlug('🚀 Batch 2: Ingestion'); // 'batch-2'
 */
export function headingSlug(heading: string): string {
  let t = stripInline(stripEmoji(heading));
  t = t.replace(/\([^)]*\)/g, ' ').replace(/\[[^\]]*\]/g, ' ');
  const cut = t.search(/:|\s[-–—|]\s/);
  if (cut > 0) t = t.slice(0, cut);
  return slugify(t);
}

/**
 * Lower-case letters and digits joined by single dashes.
 *
 * @example
 * slugify('Backend Developer'); // 'backend-developer'
 */
export function slugify(text: string): string {
  return text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * Natural order for ids: digit runs compare as numbers, so `T2 < T10` and `1.2 < 1.10`;
 * other characters compare by code unit. Total, and fast enough for sorting 10,000 ids.
 *
 * @example
 * ['T10', 'T2'].sort(naturalCompare); // ['T2', 'T10']
 */
export function naturalCompare(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    if (isDigit(ca) && isDigit(cb)) {
      let ea = i;
      let eb = j;
      while (ea < a.length && isDigit(a.charCodeAt(ea))) ea++;
      while (eb < b.length && isDigit(b.charCodeAt(eb))) eb++;
      let za = i;
      let zb = j;
      while (za < ea - 1 && a.charCodeAt(za) === 48) za++;
      while (zb < eb - 1 && b.charCodeAt(zb) === 48) zb++;
      const byLength = ea - za - (eb - zb);
      if (byLength !== 0) return byLength;
      for (let k = 0; k < ea - za; k++) {
        const d = a.charCodeAt(za + k) - b.charCodeAt(zb + k);
        if (d !== 0) return d;
      }
      i = ea;
      j = eb;
      continue;
    }
    if (ca !== cb) return ca - cb;
    i++;
    j++;
  }
  const rest = a.length - i - (b.length - j);
  return rest !== 0 ? rest : a < b ? -1 : a > b ? 1 : 0;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

const NONE = /^(none|nothing|n\/?a|na|-+|—|–|tbd|\[\s*\]|no|nil|null|~)$/i;
const KIND_WORD = /^(?:phases?|stories|story|tasks?|epics?|milestones?)\s+/i;

/**
 * Reads a dependency list as people write it (`[S001, S002]`, `Phase 1.1 ✅, Phase 2.1`,
 * `none`, `S001 (API design)`) into ids. Markers and notes after an id are decoration.
 * A piece with no recognisable id is returned as the slug of its text, so that a
 * reference like `Batch 1` can still be resolved (or reported as unknown).
 *
 * @example
 * parseRefList('Phase 1.1 ✅, Phase 2.1 (parser)'); // ['1.1', '2.1']
 */
export function parseRefList(value: string): string[] {
  const out: string[] = [];
  const body = stripInline(value).replace(/^\s*\[|\]\s*$/g, '');
  for (const raw of body.split(/,|;|\s+and\s+|\s+&\s+|\s+\+\s+/i)) {
    let piece = stripEmoji(raw)
      .replace(/\([^)]*\)?/g, ' ')
      .replace(/["'[\]]/g, ' ')
      .replace(/\s+/g, ' ')
      .trim();
    if (piece === '' || NONE.test(piece)) continue;
    const dotted = piece.match(/(?<![\w.])\d+(?:\.\d+)+[a-z]?(?![\w.])/g);
    if (dotted) {
      out.push(...dotted);
      continue;
    }
    piece = piece.replace(KIND_WORD, '');
    const first = piece.split(/\s+/)[0] ?? '';
    if (/^[A-Za-z]*[-_]?\d[\w.-]*$/.test(first) || /^[A-Za-z]+\d/.test(first)) {
      out.push(first.replace(/[.:]+$/, ''));
      continue;
    }
    const slug = slugify(piece);
    if (slug !== '') out.push(slug);
  }
  return out;
}

/**
 * Appends `items` to `list`, skipping ids already there, and returns `list`.
 *
 * @example
 * pushUnique(['a'], ['a', 'b']); // ['a', 'b']
 */
export function pushUnique(list: string[], items: Iterable<string>): string[] {
  const seen = new Set(list);
  for (const item of items) {
    if (!seen.has(item)) {
      seen.add(item);
      list.push(item);
    }
  }
  return list;
}

/**
 * Splits a heading like `S002: Calculator Implementation` into id and title; `id` is
 * undefined when the heading does not start with an id.
 *
 * @example
 * splitIdTitle('E001 — Calculator Core'); // { id: 'E001', title: 'Calculator Core' }
 */
export function splitIdTitle(text: string): { id: string | undefined; title: string } {
  const t = stripInline(text);
  const m = /^([A-Za-z]+[-_]?\d+(?:[.-]?\w+)*?)\s*(?:[:.–—]|\s-\s|$)\s*(.*)$/.exec(t);
  if (m?.[1]) return { id: m[1], title: (m[2] ?? '').trim() };
  return { id: undefined, title: t };
}

/**
 * The id a file name starts with (`S002-calculator-impl.md` → `S002`), or undefined.
 *
 * @example
 * idFromFileName('epics/E001-core.md'); // 'E001'
 */
export function idFromFileName(path: string): string | undefined {
  const base = path.split('/').pop() ?? path;
  return /^([A-Za-z]+[-_]?\d+)(?=[-_.\s]|$)/.exec(base)?.[1];
}
