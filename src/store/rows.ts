/**
 * An event as both stores keep it: data and metadata as JSON text, parsed on every read, so
 * the twin returns exactly what SQLite would (fresh objects, JSON-only values).
 */
import type { EventMetadata, RecordedEvent } from '../core/envelope.js';
import { StoreError } from './errors.js';

/** One row of the `events` table, in camelCase. */
export interface EventRow {
  position: number;
  id: string;
  streamId: string;
  streamVersion: number;
  type: string;
  dataJson: string;
  metadataJson: string;
  recordedAt: string;
}

/**
 * Parses a row into the event callers see.
 *
 * @example
 * toRecordedEvent(row).data; // a fresh object each call
 */
export function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    position: row.position,
    id: row.id,
    streamId: row.streamId,
    streamVersion: row.streamVersion,
    type: row.type,
    data: JSON.parse(row.dataJson) as unknown,
    metadata: parseMetadata(row.metadataJson),
    recordedAt: row.recordedAt,
  };
}

/**
 * Parses metadata text; the common empty case skips the parser.
 *
 * @example
 * parseMetadata('{}'); // {}
 */
export function parseMetadata(json: string): EventMetadata {
  return json === '{}' ? {} : (JSON.parse(json) as EventMetadata);
}

/**
 * Checks a `types` filter: a list of non-empty strings.
 *
 * @example
 * checkTypes(['AgentStarted']);
 */
export function checkTypes(types: unknown): readonly string[] {
  if (!Array.isArray(types) || types.some((type) => typeof type !== 'string' || type.length === 0)) {
    throw new StoreError(
      'INVALID_ARGUMENT',
      `readAll: types must be a list of event type names, got ${JSON.stringify(types)}`,
      {
        hint: 'pass e.g. { types: ["AgentStarted"] }, or leave types out to read every event',
      },
    );
  }
  return types as readonly string[];
}
