/**
 * The checks `importEvents` applies to each already-recorded event, shared by both stores:
 * a well-formed event, at the next position (no gap), at the next version of its stream.
 * Duplicate ids are caught by each store's id index.
 */
import type { RecordedEvent } from '../core/envelope.js';
import { StoreError } from './errors.js';

/** The cursor an import advances: where the next event must go. */
export interface ImportCursor {
  nextPosition: number;
  /** Current version of a stream, including events imported so far. */
  streamVersion(streamId: string): number;
}

/**
 * Throws `StoreError('IMPORT_INVALID')` (with `details.index`) unless `event` is well formed
 * and continues the log and its stream.
 *
 * @example
 * checkImportedEvent(event, 0, { nextPosition: store.lastPosition() + 1, streamVersion: (s) => store.streamVersion(s) });
 */
export function checkImportedEvent(event: unknown, index: number, cursor: ImportCursor): RecordedEvent {
  const problem = describeProblem(event);
  if (problem !== undefined) throw importInvalid(index, problem);
  const recorded = event as RecordedEvent;
  if (recorded.position !== cursor.nextPosition) {
    const what = recorded.position > cursor.nextPosition ? 'a gap' : 'a duplicate or out-of-order position';
    throw importInvalid(
      index,
      `position ${recorded.position} where ${cursor.nextPosition} is next (${what})`,
    );
  }
  const expectedVersion = cursor.streamVersion(recorded.streamId) + 1;
  if (recorded.streamVersion !== expectedVersion) {
    throw importInvalid(
      index,
      `stream ${recorded.streamId} version ${recorded.streamVersion} where ${expectedVersion} is next`,
    );
  }
  return recorded;
}

/**
 * The error for an imported event whose id is already in the log (or earlier in the import).
 *
 * @example
 * throw duplicateImportedId(3, 'e-1');
 */
export function duplicateImportedId(index: number, id: string): StoreError {
  return importInvalid(index, `event id ${id} is already in the log (duplicate)`);
}

/**
 * JSON text of an imported event's data and metadata.
 *
 * @example
 * const { dataJson, metadataJson } = importedJson(event, 0);
 */
export function importedJson(
  event: RecordedEvent,
  index: number,
): { dataJson: string; metadataJson: string } {
  try {
    return { dataJson: JSON.stringify(event.data) ?? 'null', metadataJson: JSON.stringify(event.metadata) };
  } catch (cause) {
    throw importInvalid(index, `data or metadata cannot be written as JSON (${(cause as Error).message})`);
  }
}

function importInvalid(index: number, reason: string): StoreError {
  return new StoreError('IMPORT_INVALID', `cannot import event #${index + 1}: ${reason}`, {
    hint: 'the import was refused as a whole; nothing was written',
    details: { index, reason },
  });
}

function describeProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const event = value as Record<string, unknown>;
  if (!isPositiveInteger(event.position)) return 'position must be an integer >= 1';
  for (const field of ['id', 'streamId', 'type'] as const) {
    if (typeof event[field] !== 'string' || event[field] === '') return `${field} must be a non-empty string`;
  }
  if (!isPositiveInteger(event.streamVersion)) return 'streamVersion must be an integer >= 1';
  if (!('data' in event)) return 'data is missing';
  const metadata = event.metadata;
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    return 'metadata must be an object';
  }
  if (typeof event.recordedAt !== 'string' || Number.isNaN(Date.parse(event.recordedAt))) {
    return 'recordedAt must be an ISO-8601 time';
  }
  return undefined;
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}
