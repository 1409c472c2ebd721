/**
 * Importing recorded events (from a JSON Lines export) in one write transaction: each is
 * checked as it is read, and the first bad one rolls everything back.
 */
import type Database from 'better-sqlite3';
import type { RecordedEvent } from '../../core/envelope.js';
import { checkImportedEvent, duplicateImportedId, importedJson } from '../import-rules.js';
import { isDuplicateIdError } from './sqlite-errors.js';
import type { Statements } from './statements.js';

/**
 * Writes `events` at their recorded positions; returns how many. Throws
 * `StoreError('IMPORT_INVALID')` (with `details.index`) and writes nothing on any problem.
 *
 * @example
 * const count = importEvents(db, statements, parsedLines);
 */
export function importEvents(
  db: Database.Database,
  statements: Statements,
  events: Iterable<RecordedEvent>,
): number {
  const run = db.transaction((): number => {
    const versions = new Map<string, number>();
    const cursor = {
      nextPosition: (statements.lastPosition.get() ?? 0) + 1,
      streamVersion: (streamId: string) =>
        versions.get(streamId) ?? statements.streamVersion.get(streamId) ?? 0,
    };
    let index = 0;
    for (const candidate of events) {
      const event = checkImportedEvent(candidate, index, cursor);
      const { dataJson, metadataJson } = importedJson(event, index);
      try {
        statements.insertAt.run(
          event.position,
          event.id,
          event.streamId,
          event.streamVersion,
          event.type,
          dataJson,
          metadataJson,
          event.recordedAt,
        );
      } catch (err) {
        if (isDuplicateIdError(err)) throw duplicateImportedId(index, event.id);
        throw err;
      }
      versions.set(event.streamId, event.streamVersion);
      cursor.nextPosition++;
      index++;
    }
    return index;
  });
  return run.immediate();
}
