/**
 * Errors raised by the event store. Each has a stable `code` (see docs/events.md) and a hint;
 * a raw SQLite error never leaves `src/store` without being wrapped in one of these.
 */
import { OrchError } from '../util/errors.js';
import type { ExpectedVersion } from './event-store.js';

/** Stable codes of {@link StoreError}. */
export type StoreErrorCode =
  | 'NOT_AN_ORCH_LOG'
  | 'SCHEMA_TOO_NEW'
  | 'SCHEMA_OUTDATED'
  | 'LOG_NOT_FOUND'
  | 'LOG_READ_ONLY'
  | 'LOG_BUSY'
  | 'LOG_UNREACHABLE'
  | 'LOG_FULL'
  | 'LOG_CLOSED'
  | 'INVALID_ARGUMENT'
  | 'EVENT_ID_CONFLICT'
  | 'PARTIAL_DUPLICATE'
  | 'IMPORT_INVALID'
  | 'STORE_FAILED';

/**
 * Any failure of the event store other than a version conflict.
 *
 * @example
 * throw new StoreError('LOG_NOT_FOUND', 'no orch log at /repo/.state/orch.db', {
 *   hint: 'run orch spawn or orch demo first',
 * });
 */
export class StoreError extends OrchError {
  declare readonly code: StoreErrorCode;

  constructor(
    code: StoreErrorCode,
    message: string,
    options: { hint?: string; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(code, message, options);
  }
}

/**
 * An import refused because of one line of the JSON Lines file; nothing was written.
 *
 * @example
 * throw new ImportError('/tmp/log.jsonl', 12, 'position 14 follows 12 (gap)');
 */
export class ImportError extends StoreError {
  /** 1-based line number in the file. */
  readonly line: number;
  readonly file: string;

  constructor(file: string, line: number, reason: string, cause?: unknown) {
    super('IMPORT_INVALID', `cannot import ${file}: line ${line}: ${reason}`, {
      hint: 'fix or remove that line (nothing was imported)',
      cause,
      details: { file, line },
    });
    this.file = file;
    this.line = line;
  }
}

/**
 * An append refused because the stream was not at the expected version: someone else
 * appended first. Re-read the stream, decide again, and retry with the new version.
 *
 * @example
 * try {
 *   store.append('task-T1', [event], { expectedVersion: 2 });
 * } catch (err) {
 *   if (err instanceof ConcurrencyError) console.log(err.streamId, err.expected, err.actual);
 * }
 */
export class ConcurrencyError extends OrchError {
  declare readonly code: 'CONCURRENCY';
  readonly streamId: string;
  readonly expected: ExpectedVersion;
  /** The stream's version when the append was tried (0: the stream does not exist). */
  readonly actual: number;

  constructor(streamId: string, expected: ExpectedVersion, actual: number) {
    super(
      'CONCURRENCY',
      `cannot append to stream ${streamId}: expected ${describeExpected(expected)}, but it is at version ${actual}`,
      {
        hint: 'another writer appended first; re-read the stream and decide again',
        details: { streamId, expected, actual },
      },
    );
    this.streamId = streamId;
    this.expected = expected;
    this.actual = actual;
  }
}

function describeExpected(expected: ExpectedVersion): string {
  switch (expected) {
    case 'no_stream':
      return 'no stream';
    case 'exists':
      return 'an existing stream';
    case 'any':
      return 'any version';
    default:
      return `version ${expected}`;
  }
}
