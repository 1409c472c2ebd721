/**
 * The messages between {@link openPostgresSyncStore}'s main thread and its worker thread,
 * and how errors cross between them (the store's own error classes are rebuilt on the main
 * side, so `instanceof ConcurrencyError` and `err.code` work as with SQLite).
 */
import type { MessagePort } from 'node:worker_threads';
import { OrchError } from '../../util/errors.js';
import { ConcurrencyError, StoreError, type StoreErrorCode } from '../errors.js';
import type { ExpectedVersion } from '../event-store.js';
import type { PostgresStoreOptions } from './open.js';

/** What the worker thread is started with. */
export interface WorkerInput {
  url: string;
  options: Omit<PostgresStoreOptions, 'clock'>;
  /** Int32[1]: set to 1 by the worker when an answer is posted. */
  flag: SharedArrayBuffer;
  port: MessagePort;
  wakePort: MessagePort;
}

/** One request: an operation of the store and its (structured-cloneable) arguments. */
export interface BridgeRequest {
  id: number;
  op: string;
  args: unknown[];
  /** The caller's clock at the call (ISO): the store's clock for this request. */
  now?: string;
}

/** The answer to one request. */
export interface BridgeResponse {
  id: number;
  value?: unknown;
  error?: SerialisedError;
}

/** An error as it crosses the thread boundary. */
export interface SerialisedError {
  name: string;
  message: string;
  code?: string;
  hint?: string;
  details?: Record<string, unknown>;
  exitCode?: number;
  stack?: string;
}

/** An error as plain data (class, code, hint and details kept). */
export function serialiseError(err: unknown): SerialisedError {
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown; hint?: unknown; details?: unknown; exitCode?: unknown };
    return {
      name:
        err instanceof ConcurrencyError
          ? 'ConcurrencyError'
          : err instanceof StoreError
            ? 'StoreError'
            : err.name,
      message: err.message,
      ...(typeof e.code === 'string' ? { code: e.code } : {}),
      ...(typeof e.hint === 'string' ? { hint: e.hint } : {}),
      ...(e.details !== null && typeof e.details === 'object'
        ? { details: e.details as Record<string, unknown> }
        : {}),
      ...(typeof e.exitCode === 'number' ? { exitCode: e.exitCode } : {}),
      ...(err.stack === undefined ? {} : { stack: err.stack }),
    };
  }
  return { name: 'Error', message: String(err) };
}

/** The error again, as the class it was thrown as in the worker thread. */
export function rebuildError(e: SerialisedError): Error {
  if (e.name === 'ConcurrencyError' && e.details) {
    const d = e.details as { streamId: string; expected: ExpectedVersion; actual: number };
    return new ConcurrencyError(d.streamId, d.expected, d.actual);
  }
  if (e.name === 'StoreError' && e.code !== undefined) {
    return new StoreError(e.code as StoreErrorCode, e.message, {
      ...(e.hint === undefined ? {} : { hint: e.hint }),
      ...(e.details === undefined ? {} : { details: e.details }),
    });
  }
  if (e.code !== undefined) {
    return new OrchError(e.code, e.message, {
      ...(e.hint === undefined ? {} : { hint: e.hint }),
      ...(e.exitCode === undefined ? {} : { exitCode: e.exitCode }),
      ...(e.details === undefined ? {} : { details: e.details }),
    });
  }
  const error = new Error(e.message);
  error.name = e.name;
  return error;
}
