/**
 * Reading one stream in version order, in pages like `readAll`.
 */
import type { RecordedEvent } from '../../core/envelope.js';
import type { Range } from '../read-options.js';
import { PAGE_SIZE, rawToEvent, type PageRunner } from './read-all.js';
import type { Statements } from './statements.js';

/**
 * Yields the events of `streamId` whose versions are in `range`.
 *
 * @example
 * const events = [...readStreamPages(statements, 'task-T1', { from: 1, to: 10 }, (fetch) => fetch())];
 */
export function* readStreamPages(
  statements: Statements,
  streamId: string,
  range: Range,
  run: PageRunner,
): Generator<RecordedEvent, void, undefined> {
  let from = range.from;
  while (from <= range.to) {
    const start = from;
    const rows = run(() => statements.readStreamPage.all(streamId, start, range.to, PAGE_SIZE));
    for (let i = 0; i < rows.length; i++) yield rawToEvent(rows[i]!);
    if (rows.length < PAGE_SIZE) return;
    from = rows[rows.length - 1]![3] + 1;
  }
}
