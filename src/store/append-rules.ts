/**
 * The append rules both stores share, so the SQLite store and the in-memory twin cannot
 * drift apart: argument validation and serialisation, the expected-version check, and the
 * decision for a batch whose ids are already in the log (a retry, or a conflict).
 */
import type { EventMetadata, NewEvent } from '../core/envelope.js';
import type { AppendResult, ExpectedVersion, StreamAppend } from './event-store.js';
import { ConcurrencyError, StoreError } from './errors.js';

/** An event ready to write: validated, with its JSON text and `recordedAt` decided. */
export interface PreparedEvent {
  id: string;
  type: string;
  data: unknown;
  metadata: EventMetadata;
  dataJson: string;
  metadataJson: string;
  recordedAt: string;
}

/** One stream's part of a validated append. */
export interface PreparedAppend {
  streamId: string;
  expectedVersion: ExpectedVersion;
  events: PreparedEvent[];
}

/** Where an event id already sits in the log. */
export interface ExistingEvent {
  position: number;
  streamId: string;
  streamVersion: number;
}

const EMPTY_METADATA_JSON = '{}';

/**
 * Validates an append and serialises its events; every event without `recordedAt` gets
 * `now` (one clock reading per append). Throws `StoreError('INVALID_ARGUMENT')` or, for an id
 * given twice, `StoreError('EVENT_ID_CONFLICT')`.
 *
 * @example
 * const [prepared] = prepareAppends([{ streamId: 's', events: [e] }], () => new Date());
 */
export function prepareAppends(appends: readonly StreamAppend[], clock: () => Date): PreparedAppend[] {
  let now: string | undefined;
  const seen = appends.length === 1 && appends[0]!.events.length === 1 ? undefined : new Set<string>();
  return appends.map(({ streamId, events, expectedVersion = 'any' }) => {
    if (typeof streamId !== 'string' || streamId.length === 0) {
      throw invalid(`stream id must be a non-empty string, got ${JSON.stringify(streamId)}`);
    }
    checkExpectedVersionArgument(streamId, expectedVersion);
    if (!Array.isArray(events)) throw invalid(`events for stream ${streamId} must be an array`);
    const prepared = events.map((event: NewEvent): PreparedEvent => {
      const { id, type, data, metadata, recordedAt } = event;
      if (typeof id !== 'string' || id.length === 0) {
        throw invalid(`an event for stream ${streamId} has no id (a non-empty string)`);
      }
      if (typeof type !== 'string' || type.length === 0) {
        throw invalid(`event ${id} for stream ${streamId} has no type (a non-empty string)`);
      }
      if (seen !== undefined) {
        if (seen.has(id)) {
          throw new StoreError('EVENT_ID_CONFLICT', `event id ${id} appears twice in one append`, {
            hint: 'give every event its own id',
            details: { ids: [id] },
          });
        }
        seen.add(id);
      }
      if (
        metadata !== undefined &&
        (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata))
      ) {
        throw invalid(`event ${id} has metadata that is not an object`);
      }
      if (
        recordedAt !== undefined &&
        (typeof recordedAt !== 'string' || Number.isNaN(Date.parse(recordedAt)))
      ) {
        throw invalid(`event ${id} has recordedAt ${JSON.stringify(recordedAt)}, not an ISO-8601 time`);
      }
      return {
        id,
        type,
        data,
        metadata: metadata ?? {},
        dataJson: toJson(data, id, 'data'),
        metadataJson: metadata === undefined ? EMPTY_METADATA_JSON : toJson(metadata, id, 'metadata'),
        recordedAt: recordedAt ?? (now ??= clock().toISOString()),
      };
    });
    return { streamId, expectedVersion, events: prepared };
  });
}

/**
 * Throws `ConcurrencyError` unless a stream at `actual` satisfies `expected`.
 *
 * @example
 * checkExpectedVersion('task-T1', 'no_stream', 0); // passes
 */
export function checkExpectedVersion(streamId: string, expected: ExpectedVersion, actual: number): void {
  const ok =
    expected === 'any' ||
    (expected === 'no_stream' && actual === 0) ||
    (expected === 'exists' && actual > 0) ||
    expected === actual;
  if (!ok) throw new ConcurrencyError(streamId, expected, actual);
}

/**
 * Decides what an append whose ids may already be in the log means. Returns the original
 * results when every id is already there in the stream it is appended to (a retry);
 * `undefined` when none is; otherwise throws (`EVENT_ID_CONFLICT` for an id in another
 * stream, `PARTIAL_DUPLICATE` when some ids are there and some not).
 *
 * @example
 * const retry = resolveRetry(prepared, (id) => index.get(id), (streamId) => versions.get(streamId) ?? 0);
 * if (retry !== undefined) return retry;
 */
export function resolveRetry(
  appends: readonly PreparedAppend[],
  lookup: (id: string) => ExistingEvent | undefined,
  currentVersion: (streamId: string) => number,
): AppendResult[] | undefined {
  const present: string[] = [];
  const absent: string[] = [];
  const results = appends.map(({ streamId, events }) => {
    const positions: number[] = [];
    let nextExpectedVersion = 0;
    for (const { id } of events) {
      const existing = lookup(id);
      if (existing === undefined) {
        absent.push(id);
        continue;
      }
      if (existing.streamId !== streamId) {
        throw new StoreError(
          'EVENT_ID_CONFLICT',
          `event id ${id} is already in the log in stream ${existing.streamId} (position ${existing.position}), not in ${streamId}`,
          { hint: 'event ids must be unique across the log; make a new id', details: { ids: [id] } },
        );
      }
      present.push(id);
      positions.push(existing.position);
      nextExpectedVersion = Math.max(nextExpectedVersion, existing.streamVersion);
    }
    // A stream given no events in a retried batch simply reports where it is now.
    if (events.length === 0) nextExpectedVersion = currentVersion(streamId);
    return { streamId, nextExpectedVersion, positions, alreadyAppended: true };
  });
  if (present.length === 0) return undefined;
  if (absent.length > 0) {
    throw new StoreError(
      'PARTIAL_DUPLICATE',
      `append refused: ${present.length} of its ${present.length + absent.length} event ids are already in the log (${present.slice(0, 3).join(', ')}) and the others are not`,
      {
        hint: 'a retry must resend exactly the events of the first attempt; new events need new ids',
        details: { present, absent },
      },
    );
  }
  return results;
}

function checkExpectedVersionArgument(streamId: string, expected: unknown): void {
  if (expected === 'any' || expected === 'no_stream' || expected === 'exists') return;
  if (typeof expected === 'number' && Number.isSafeInteger(expected) && expected >= 0) return;
  throw invalid(
    `expectedVersion for stream ${streamId} must be a version (integer >= 0), 'no_stream', 'exists' or 'any', got ${JSON.stringify(expected)}`,
  );
}

function toJson(value: unknown, id: string, field: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (cause) {
    throw invalid(
      `event ${id} has ${field} that cannot be written as JSON (${(cause as Error).message})`,
      cause,
    );
  }
  // undefined (or a function) has no JSON text; it is stored as null, as JSON.stringify does inside objects.
  return json ?? 'null';
}

function invalid(message: string, cause?: unknown): StoreError {
  return new StoreError('INVALID_ARGUMENT', `cannot append: ${message}`, {
    hint: 'this is a bug in the caller; see the EventStore interface (src/store/event-store.ts)',
    cause,
  });
}
