import { PlanWriteBackError } from './errors.js';
import type { DeclaredStatus, Source } from './model.js';
import { checkboxStatus, parseStatus } from './status.js';
import { writeStructured } from './write-back-structured.js';

/**
 * Status write-back (the roadmap gardener): change only the bytes that hold a status —
 * a checkbox mark, a `Status` line's value, a YAML/JSON `status` field (inserted when
 * missing) — and leave every other byte of the file as it was.
 */

/** One status to write: where it lives (from the parsed model), what it belongs to, the new value. */
export interface StatusUpdate {
  statusSource: Source;
  kind: 'task' | 'phase' | 'milestone';
  status: DeclaredStatus;
}

/** Which syntax the file is in; by default from the file name's extension. */
export interface WriteBackOptions {
  format?: 'markdown' | 'yaml' | 'json';
}

const MARK: Record<DeclaredStatus, string> = {
  complete: 'x',
  in_progress: '~',
  blocked: '!',
  not_started: ' ',
};
const WORDS: Record<DeclaredStatus, string> = {
  complete: '✅ Complete',
  in_progress: '🔄 In Progress',
  blocked: '🔴 Blocked',
  not_started: '⚪ Not Started',
};

/**
 * Returns `text` with the given statuses written in. Updates name lines from the model
 * parsed from this very text; a line that holds no status throws `PlanWriteBackError`.
 *
 * @example
 * writeBackStatuses('- [ ] Parse goals\n', [{ statusSource: { file: 'roadmap.md', line: 1 }, kind: 'task', status: 'complete' }]);
 * // '- [x] Parse goals\n'
 */
export function writeBackStatuses(
  text: string,
  updates: readonly StatusUpdate[],
  options: WriteBackOptions = {},
): string {
  if (updates.length === 0) return text;
  const file = updates[0]?.statusSource.file ?? '';
  const format =
    options.format ?? (/\.ya?ml$/i.test(file) ? 'yaml' : /\.json$/i.test(file) ? 'json' : 'markdown');
  return format === 'markdown' ? writeMarkdown(text, updates) : writeStructured(text, updates, format);
}

function writeMarkdown(text: string, updates: readonly StatusUpdate[]): string {
  const parts = text.split(/(\r?\n)/);
  const tickStyle = /^\s*(?:[-*+]|\d+[.)])\s+\[✅\]/mu.test(text) ? '✅' : 'x';
  for (const u of updates) {
    const index = (u.statusSource.line - 1) * 2;
    const line = parts[index];
    if (line === undefined || u.statusSource.line < 1) {
      throw new PlanWriteBackError(
        u.statusSource.file,
        u.statusSource.line,
        `${u.statusSource.file} has no line ${u.statusSource.line}`,
      );
    }
    parts[index] = markdownLine(line, u, tickStyle);
  }
  return parts.join('');
}

const BOX = /^(\s*(?:[-*+]|\d{1,9}[.)])\s+\[)([^\]\n]{0,4})(\])/u;
const ITEM = /^(\s*(?:[-*+]|\d{1,9}[.)])\s+)/;
const STATUS_LINE =
  /^(\s*(?:(?:[-*+]|\d{1,9}[.)])\s+)?(?:\*\*|__)?\s*(?:status|state)\s*(?:(?:\*\*|__)\s*:|:\s*(?:\*\*|__)?)[ \t]*)(.*?)([ \t]*)$/i;
const STATUS_PREFIX =
  /^(?:[\p{Extended_Pictographic}\u{2705}][\u{FE0F}]?\s*)?(?:not[ _-]?started|in[ _-]?progress|complete[d]?|done|blocked|wip|todo|pending|planned)?/iu;

function markdownLine(line: string, u: StatusUpdate, tickStyle: string): string {
  const box = BOX.exec(line);
  if (box) {
    const mark = box[2] ?? '';
    if (checkboxStatus(mark) === u.status && (mark !== '' || u.status === 'not_started')) return line;
    const next = u.status === 'complete' ? (/✅/u.test(mark) ? '✅' : tickStyle) : MARK[u.status];
    return `${box[1] ?? ''}${next}${line.slice((box[1] ?? '').length + mark.length)}`;
  }
  const status = STATUS_LINE.exec(line);
  if (status) {
    const value = status[2] ?? '';
    if (parseStatus(value) === u.status) return line;
    const word = /\p{Extended_Pictographic}/u.test(value)
      ? WORDS[u.status]
      : value === '' || /^[a-z_]+$/.test(value.trim())
        ? u.status
        : WORDS[u.status].replace(/^\S+ /u, '');
    const prefix = STATUS_PREFIX.exec(value)?.[0] ?? '';
    const tail = prefix.trim() === '' ? '' : value.slice(prefix.length);
    return `${status[1] ?? ''}${word}${tail}${status[3] ?? ''}`;
  }
  const item = ITEM.exec(line);
  if (item && u.kind === 'task')
    return `${item[1] ?? ''}[${u.status === 'complete' ? tickStyle : MARK[u.status]}] ${line.slice((item[1] ?? '').length)}`;
  throw new PlanWriteBackError(
    u.statusSource.file,
    u.statusSource.line,
    `${u.statusSource.file} line ${u.statusSource.line} holds no checkbox or Status to change`,
  );
}
