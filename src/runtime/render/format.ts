/**
 * How orch writes figures for people, in one place: durations, times of day, token counts,
 * money, tables, progress bars, `file:line`, and untrusted text made safe for a terminal. Every text output (`orch status`, the
 * dashboard, progress lines, `orch log`) formats through here, so a figure reads the same
 * wherever it is shown. Pure: no clock, every input is an argument.
 */

/**
 * `file:line` (the file alone for line 0). It lives in `src/plan`, which the plan's own
 * problems use and which may not import the runtime; everything else takes it from here.
 */
export { fileLine } from '../../plan/errors.js';

/**
 * Code points a terminal would act on instead of showing: C0 controls but tab (09) and
 * newline (0a), DEL (7f), C1 controls (80–9f), and the bidi embeddings, overrides and
 * isolates (U+202A–U+202E, U+2066–U+2069) that reorder what follows them on screen.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text from outside orch (agent summaries and output, plan titles and ids, git messages and
 * file names, error text) made safe for a terminal: every code point a terminal would act
 * on is shown escaped instead, so no escape sequence (CSI, OSC 52 to the clipboard, OSC 8
 * links, a window title), bell, carriage return or bidi override reaches it. Carriage
 * return shows as `\r`; other controls below U+0100 as `\xHH` (ESC as `\x1b`, BEL as
 * `\x07`); bidi controls as `\u202e`. Newline and tab are kept; a backslash is not
 * doubled, so ordinary text (and a Windows path) reads as it is. Every text output applies
 * it to what it prints; `--json` carries the original text.
 *
 * @example
 * terminalSafe('done\x1b[2J\r'); // 'done\\x1b[2J\\r'
 */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, (c) => {
    if (c === '\r') return '\\r';
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
  });
}

/**
 * Milliseconds as seconds with one decimal: agent runs, gates, the run summary.
 *
 * @example
 * seconds(61_000); // '61.0s'
 */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/**
 * A duration as `3.2s` under a minute, else `1m 5s` or `1h 2m 3s` (a task's story).
 *
 * @example
 * duration(65_000); // '1m 5s'
 */
export function duration(ms: number): string {
  if (ms < 60_000) return seconds(ms);
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h ${m}m ${s % 60}s` : `${m}m ${s % 60}s`;
}

/**
 * Elapsed time for a narrow column, to the second or the minute: `42s`, `3m05s`, `1h02m`
 * (the dashboard's ages and countdowns). Below zero counts as zero.
 *
 * @example
 * elapsed(185_000); // '3m05s'
 */
export function elapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * The UTC time of day of an ISO timestamp, to the second.
 *
 * @example
 * timeOfDay('2025-01-01T12:03:04.567Z'); // '12:03:04'
 */
export function timeOfDay(iso: string): string {
  return iso.slice(11, 19);
}

/**
 * A token count, shortened from a thousand on: `950`, `12.3k`, `1.23M`.
 *
 * @example
 * tokens(12_345); // '12.3k'
 */
export function tokens(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(1)}k`;
  return `${(n / 1_000_000).toFixed(2)}M`;
}

/**
 * US dollars: to the hundredth of a cent (`digits` 4, the default: one attempt's cost, the
 * dashboard), or to the cent (`digits` 2: totals in `orch status`, budgets).
 *
 * @example
 * usd(0.0123); // '$0.0123'
 * usd(1.5, 2); // '$1.50'
 */
export function usd(amount: number, digits: 2 | 4 = 4): string {
  return `$${amount.toFixed(digits)}`;
}

/**
 * An ASCII progress bar of `cells` cells (20 by default).
 *
 * @example
 * bar(1, 4); // '[#####...............]'
 */
export function bar(done: number, total: number, cells = 20): string {
  const filled = total === 0 ? 0 : Math.round((done / total) * cells);
  return `[${'#'.repeat(filled)}${'.'.repeat(cells - filled)}]`;
}

/** How {@link table} lays out its lines. */
export interface TableOptions {
  /** Put before every line (default none). */
  indent?: string;
  /** A line of dashes under the head (default false). */
  rule?: boolean;
}

/**
 * Rows under a head, as lines: columns padded to their widest cell and two spaces apart;
 * the last column (often free text) is not padded and no line ends in spaces.
 *
 * @example
 * table(['task', 'status'], [['T1', 'complete']], { rule: true });
 * // ['task  status', '----  --------', 'T1    complete']
 */
export function table(
  head: readonly string[],
  rows: readonly (readonly string[])[],
  options: TableOptions = {},
): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) =>
    `${options.indent ?? ''}${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')}`.trimEnd();
  return [
    line(head),
    ...(options.rule === true ? [line(widths.map((w) => '-'.repeat(w)))] : []),
    ...rows.map(line),
  ];
}
