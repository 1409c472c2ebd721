/**
 * Validation of read ranges, shared by both stores so a bad range fails the same way.
 */
import type { ReadAllOptions, ReadStreamOptions } from './event-store.js';
import { StoreError } from './errors.js';

/** An inclusive range of positions or stream versions. */
export interface Range {
  from: number;
  to: number;
}

/**
 * Turns `{ from, to }` into a checked inclusive range: `from` defaults to 1, `to` to the end.
 *
 * @example
 * readRange({ from: 10 }, 'readAll'); // { from: 10, to: Number.MAX_SAFE_INTEGER }
 */
export function readRange(options: ReadAllOptions | ReadStreamOptions, operation: string): Range {
  const from = options.from ?? 1;
  const to = options.to ?? Number.MAX_SAFE_INTEGER;
  for (const [name, value] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new StoreError(
        'INVALID_ARGUMENT',
        `${operation}: ${name} must be an integer >= 0, got ${String(value)}`,
        {
          hint: 'positions and stream versions start at 1; both ends of the range are inclusive',
        },
      );
    }
  }
  return { from: Math.max(from, 1), to };
}

/**
 * Checks a stream id or snapshot name argument.
 *
 * @example
 * checkName('task-T1', 'stream id', 'readStream');
 */
export function checkName(value: unknown, what: string, operation: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new StoreError(
      'INVALID_ARGUMENT',
      `${operation}: ${what} must be a non-empty string, got ${JSON.stringify(value)}`,
      {
        hint: 'this is a bug in the caller; see src/store/event-store.ts',
      },
    );
  }
}

/**
 * Checks a snapshot position (a log position, 0 for "before any event").
 *
 * @example
 * checkSnapshotPosition(42);
 */
export function checkSnapshotPosition(position: unknown): asserts position is number {
  if (typeof position !== 'number' || !Number.isSafeInteger(position) || position < 0) {
    throw new StoreError(
      'INVALID_ARGUMENT',
      `saveSnapshot: position must be an integer >= 0, got ${String(position)}`,
      {
        hint: 'pass the log position the snapshot is valid up to',
      },
    );
  }
}

/**
 * Checks the rows of `saveSnapshotTexts`: each a name, a position, and non-empty text (its
 * JSON is the caller's word), no name twice.
 *
 * @example
 * checkSnapshotTexts([{ name: 'status', position: 4, json: '{"tasks":[]}' }]);
 */
export function checkSnapshotTexts(rows: unknown): void {
  if (!Array.isArray(rows)) {
    throw new StoreError('INVALID_ARGUMENT', `saveSnapshotTexts: rows must be a list, got ${typeof rows}`, {
      hint: 'pass [{ name, position, json }, ...]',
    });
  }
  const names = new Set<string>();
  for (const row of rows as { name?: unknown; position?: unknown; json?: unknown }[]) {
    checkName(row?.name, 'snapshot name', 'saveSnapshotTexts');
    checkSnapshotPosition(row.position);
    if (typeof row.json !== 'string' || row.json.length === 0) {
      throw new StoreError(
        'INVALID_ARGUMENT',
        `saveSnapshotTexts: the data of snapshot ${row.name} is not JSON text`,
        {
          hint: 'pass the JSON text of the value (JSON.stringify), or use saveSnapshot with the value',
        },
      );
    }
    if (names.has(row.name)) {
      throw new StoreError('INVALID_ARGUMENT', `saveSnapshotTexts: snapshot ${row.name} is given twice`, {
        hint: 'give each snapshot once per call',
      });
    }
    names.add(row.name);
  }
}

/**
 * JSON text of a snapshot's data (undefined is stored as null).
 *
 * @example
 * snapshotJson('tasks', { T1: 'done' }); // '{"T1":"done"}'
 */
export function snapshotJson(name: string, data: unknown): string {
  try {
    return JSON.stringify(data) ?? 'null';
  } catch (cause) {
    throw new StoreError(
      'INVALID_ARGUMENT',
      `saveSnapshot: the data of snapshot ${name} cannot be written as JSON`,
      {
        hint: 'snapshots hold plain JSON values',
        cause,
      },
    );
  }
}
