/**
 * The append operation: one `BEGIN IMMEDIATE` transaction per call (so concurrent writers
 * queue on the lock instead of failing), the version check and inserts inside it, and the
 * retry decision after a conflict. The fast path costs one index seek per stream and one
 * insert per event; ids are only looked up when the insert or the version check fails.
 */
import type Database from 'better-sqlite3';
import type { RecordedEvent } from '../../core/envelope.js';
import { checkExpectedVersion, resolveRetry, type PreparedAppend } from '../append-rules.js';
import { ConcurrencyError } from '../errors.js';
import type { AppendContext, AppendResult, OnAppendHook } from '../event-store.js';
import { isDuplicateIdError } from './sqlite-errors.js';
import type { Statements } from './statements.js';

/** Appends validated events; see `EventStore.appendBatch` for the rules. */
export type Appender = (prepared: readonly PreparedAppend[]) => AppendResult[];

/**
 * Builds the append function of one connection.
 *
 * @example
 * const append = createAppender(db, statements, undefined, context);
 * append(prepareAppends([{ streamId: 'plan', events }], clock));
 */
export function createAppender(
  db: Database.Database,
  statements: Statements,
  onAppend: OnAppendHook | undefined,
  context: AppendContext,
): Appender {
  const { streamVersion, insert, findById } = statements;
  const write = db.transaction((prepared: readonly PreparedAppend[]): AppendResult[] => {
    const written: RecordedEvent[] | undefined = onAppend === undefined ? undefined : [];
    const results: AppendResult[] = [];
    for (const { streamId, expectedVersion, events } of prepared) {
      let version = streamVersion.get(streamId) ?? 0;
      checkExpectedVersion(streamId, expectedVersion, version);
      const positions = new Array<number>(events.length);
      for (let i = 0; i < events.length; i++) {
        const event = events[i]!;
        version++;
        const { lastInsertRowid } = insert.run(
          event.id,
          streamId,
          version,
          event.type,
          event.dataJson,
          event.metadataJson,
          event.recordedAt,
        );
        const position = Number(lastInsertRowid);
        positions[i] = position;
        written?.push({
          position,
          id: event.id,
          streamId,
          streamVersion: version,
          type: event.type,
          data: event.data,
          metadata: event.metadata,
          recordedAt: event.recordedAt,
        });
      }
      results.push({ streamId, nextExpectedVersion: version, positions, alreadyAppended: false });
    }
    if (onAppend !== undefined && written !== undefined && written.length > 0) onAppend(written, context);
    return results;
  });

  return (prepared) => {
    try {
      return write.immediate(prepared);
    } catch (err) {
      // A conflict may just be a retry of an append that already went through: check its ids.
      if (err instanceof ConcurrencyError || isDuplicateIdError(err)) {
        const retry = resolveRetry(
          prepared,
          (id) => findById.get(id),
          (streamId) => streamVersion.get(streamId) ?? 0,
        );
        if (retry !== undefined) return retry;
      }
      throw err;
    }
  };
}
