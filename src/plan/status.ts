import type { DeclaredStatus } from './model.js';
import { stripInline } from './text.js';

/** Status words and checkbox marks as people write them, read into a declared status. */

const STATUS_WORDS: [RegExp, DeclaredStatus][] = [
  [/\b(not[ _-]?(started|begun|done|complete|yet)|incomplete|unstarted)\b/, 'not_started'],
  [/\b(complete|completed|done|finished|shipped|merged|closed)\b/, 'complete'],
  [/\b(blocked|on[ _-]?hold|stuck|waiting)\b/, 'blocked'],
  [/\b(in[ _-]?progress|wip|started|ongoing|in[ _-]?review|active|doing|partial|partially)\b/, 'in_progress'],
  [/\b(todo|to[ _-]do|pending|planned|open|backlog|queued|new|ready|next|later)\b/, 'not_started'],
];
const STATUS_EMOJI: [RegExp, DeclaredStatus][] = [
  [/[✅✔☑🟢✓]/u, 'complete'],
  [/[🔄🟡🚧⏳🔁🟠]/u, 'in_progress'],
  [/[🔴⛔🚫❌🛑]/u, 'blocked'],
  [/[⚪⬜🔵⭕⬛]/u, 'not_started'],
];

/**
 * Reads a status value as people write it (`✅ Complete`, `not_started`, `WIP`), or
 * `undefined` when it is not recognisable. Words win over emoji.
 *
 * @example
 * parseStatus('🔄 In Progress'); // 'in_progress'
 */
export function parseStatus(value: string): DeclaredStatus | undefined {
  const words = stripInline(value).toLowerCase().replace(/_/g, ' ');
  for (const [re, status] of STATUS_WORDS) if (re.test(words)) return status;
  for (const [re, status] of STATUS_EMOJI) if (re.test(value)) return status;
  return undefined;
}

/** What may stand between the brackets of a checkbox. */
export const CHECKBOX_MARK = /^(?:\s?|[xX~!/-]|✅|✔️?|✓|☑️?|🔄|⏳|🚧|🔴|❌|⚪)$/u;

/**
 * The status a checkbox's inner mark stands for: `x`/`✅` complete, `~`/`🔄` in
 * progress, `!`/`🔴` blocked, blank not started.
 *
 * @example
 * checkboxStatus('x'); // 'complete'
 */
export function checkboxStatus(mark: string): DeclaredStatus {
  const m = mark.trim();
  if (m === '') return 'not_started';
  if (/^[xX]$|✅|✔|✓|☑/u.test(m)) return 'complete';
  if (/^[~/]$|🔄|⏳|🚧/u.test(m)) return 'in_progress';
  if (/^[!]$|🔴|❌/u.test(m)) return 'blocked';
  return 'not_started';
}
