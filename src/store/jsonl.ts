/**
 * Export and import of the whole log as JSON Lines: one event per line, with the keys of
 * `orch log --json` plus `id`. An import refuses a file with a gap, a duplicate or an
 * invalid event, naming the line, and then writes nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { RecordedEvent } from '../core/envelope.js';
import { ImportError, StoreError } from './errors.js';
import type { AsyncEventStore } from './async-event-store.js';
import type { EventStore } from './event-store.js';
import { checkImportedEvent, duplicateImportedId, importedJson } from './import-rules.js';
import { readLinesSync } from './line-reader.js';

const FLUSH_AT = 1 << 20;

/**
 * The JSON Lines text of one event (without the newline), keys in a fixed order.
 *
 * @example
 * process.stdout.write(toJsonLine(event) + '\n');
 */
export function toJsonLine(event: RecordedEvent): string {
  const { position, id, streamId, streamVersion, type, data, metadata, recordedAt } = event;
  return JSON.stringify({ position, id, streamId, streamVersion, type, data, metadata, recordedAt });
}

/**
 * Writes every event of `store` to `file` (replaced atomically: a partial export never
 * sits at that path). Returns the number of events written.
 *
 * @example
 * const count = exportJsonl(store, 'backup/orch.jsonl');
 */
export function exportJsonl(store: Pick<EventStore, 'readAll'>, file: string): number {
  const writer = openExport(file);
  try {
    for (const event of store.readAll()) writer.write(event);
  } catch (err) {
    writer.abort();
    throw err;
  }
  return writer.finish();
}

/**
 * {@link exportJsonl} for any store, synchronous or not (PostgreSQL): the same file, byte for
 * byte, for the same events.
 *
 * @example
 * const count = await exportJsonlAsync(await openPostgresEventStore(url), 'backup/orch.jsonl');
 */
export async function exportJsonlAsync(
  store: Pick<EventStore, 'readAll'> | Pick<AsyncEventStore, 'readAll'>,
  file: string,
): Promise<number> {
  const writer = openExport(file);
  try {
    for await (const event of store.readAll()) writer.write(event);
  } catch (err) {
    writer.abort();
    throw err;
  }
  return writer.finish();
}

/** A temporary file filled chunk by chunk, renamed into place only when complete. */
function openExport(file: string): { write(event: RecordedEvent): void; abort(): void; finish(): number } {
  const target = path.resolve(file);
  const temporary = `${target}.${process.pid}.tmp`;
  const fd = fs.openSync(temporary, 'w');
  let count = 0;
  let chunk = '';
  return {
    write(event) {
      chunk += toJsonLine(event) + '\n';
      count++;
      if (chunk.length >= FLUSH_AT) {
        fs.writeSync(fd, chunk);
        chunk = '';
      }
    },
    abort() {
      fs.closeSync(fd);
      fs.rmSync(temporary, { force: true });
    },
    finish() {
      try {
        fs.writeSync(fd, chunk);
        fs.fsyncSync(fd);
      } catch (err) {
        this.abort();
        throw err;
      }
      fs.closeSync(fd);
      fs.renameSync(temporary, target);
      return count;
    },
  };
}

/**
 * Imports a JSON Lines export into `store` (whose last position must be just before the
 * file's first). All or nothing: on any bad line throws `ImportError` (code
 * `IMPORT_INVALID`, with `line`) and writes nothing. Returns the number of events imported.
 *
 * @example
 * const store = openSqliteEventStore('restored/orch.db');
 * importJsonl(store, 'backup/orch.jsonl');
 */
export function importJsonl(store: Pick<EventStore, 'importEvents'>, file: string): number {
  const source = checkSource(file);
  const parsed = parseExport(source);
  try {
    return store.importEvents(parsed);
  } catch (err) {
    throw lineError(source, err);
  }
}

/**
 * {@link importJsonl} into any store (PostgreSQL included): all or nothing, the same
 * refusals, naming the line.
 *
 * @example
 * await importJsonlAsync(await openPostgresEventStore(url), 'backup/orch.jsonl');
 */
export async function importJsonlAsync(
  store: Pick<AsyncEventStore, 'importEvents'>,
  file: string,
): Promise<number> {
  const source = checkSource(file);
  try {
    return await store.importEvents(parseExport(source));
  } catch (err) {
    throw lineError(source, err);
  }
}

/**
 * Checks, without writing anywhere, that `file` would import into an empty log: every line an
 * event, positions from 1 without a gap, stream versions in order, no id twice. Throws what
 * {@link importJsonl} would (`ImportError` naming the line); returns the number of events.
 * Holds one id per event in memory.
 *
 * @example
 * const count = checkJsonl('backup/orch.jsonl'); // before creating the log to import into
 */
export function checkJsonl(file: string): number {
  const source = checkSource(file);
  const versions = new Map<string, number>();
  const ids = new Set<string>();
  let index = 0;
  try {
    for (const candidate of parseExport(source)) {
      const event = checkImportedEvent(candidate, index, {
        nextPosition: index + 1,
        streamVersion: (stream) => versions.get(stream) ?? 0,
      });
      importedJson(event, index);
      if (ids.has(event.id)) throw duplicateImportedId(index, event.id);
      ids.add(event.id);
      versions.set(event.streamId, event.streamVersion);
      index++;
    }
  } catch (err) {
    throw lineError(source, err);
  }
  return index;
}

function checkSource(file: string): string {
  const source = path.resolve(file);
  if (!fs.existsSync(source)) {
    throw new StoreError('LOG_NOT_FOUND', `cannot import ${source}: no such file`, {
      hint: 'pass the path of a file written by an orch export',
      details: { file: source },
    });
  }
  return source;
}

function* parseExport(source: string): Generator<RecordedEvent, void, undefined> {
  let lineNumber = 0;
  for (const line of readLinesSync(source)) {
    lineNumber++;
    if (line.trim() === '')
      throw new ImportError(source, lineNumber, 'empty line (one event per line, none blank)');
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (cause) {
      throw new ImportError(source, lineNumber, `not valid JSON (${(cause as Error).message})`, cause);
    }
    yield value as RecordedEvent;
  }
}

/** The store numbers events from 0; every line holds one event, so line = index + 1. */
function lineError(source: string, err: unknown): unknown {
  if (err instanceof StoreError && err.code === 'IMPORT_INVALID' && !(err instanceof ImportError)) {
    const index = err.details.index;
    const reason = err.details.reason;
    if (typeof index === 'number' && typeof reason === 'string') {
      return new ImportError(source, index + 1, reason, err);
    }
  }
  return err;
}
