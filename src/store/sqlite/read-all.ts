/**
 * Reading the log in position order, in pages: no statement stays open between pages, so
 * the caller may write (or close) while iterating, and a million events never sit in memory.
 */
import type { RecordedEvent } from '../../core/envelope.js';
import type { Range } from '../read-options.js';
import { parseMetadata } from '../rows.js';
import type { RawEventRow, Statements } from './statements.js';

/** Rows fetched per query; large enough that paging costs little next to JSON parsing. */
export const PAGE_SIZE = 1000;

/** Runs one page fetch (a store passes its open-check and error mapping here). */
export type PageRunner = <T>(fetch: () => T) => T;

/**
 * Yields the events in `range` (optionally only `types`), fetching one page at a time.
 * Each fetch goes through `run` (the store checks it is still open and wraps SQLite errors).
 *
 * @example
 * for (const event of readAllPages(statements, { from: 1, to: 100 }, undefined, (fetch) => fetch())) {
 *   console.log(event.type);
 * }
 */
export function* readAllPages(
  statements: Statements,
  range: Range,
  types: readonly string[] | undefined,
  run: PageRunner,
): Generator<RecordedEvent, void, undefined> {
  if (types !== undefined && types.length === 0) return;
  const typesJson = types === undefined ? undefined : JSON.stringify(types);
  let from = range.from;
  while (from <= range.to) {
    const start = from;
    const rows = run(() =>
      typesJson === undefined
        ? statements.readPage.all(start, range.to, PAGE_SIZE)
        : statements.readTypesPage.all(start, range.to, typesJson, PAGE_SIZE),
    );
    for (let i = 0; i < rows.length; i++) yield rawToEvent(rows[i]!);
    if (rows.length < PAGE_SIZE) return;
    from = rows[rows.length - 1]![0] + 1;
  }
}

/**
 * Turns a raw row into an event, parsing data and metadata.
 *
 * @example
 * rawToEvent([1, 'e1', 'plan', 1, 'PlanLoaded', '{}', '{}', '2025-01-01T00:00:00.000Z']);
 */
export function rawToEvent(row: RawEventRow): RecordedEvent {
  return {
    position: row[0],
    id: row[1],
    streamId: row[2],
    streamVersion: row[3],
    type: row[4],
    data: JSON.parse(row[5]) as unknown,
    metadata: parseMetadata(row[6]),
    recordedAt: row[7],
  };
}
