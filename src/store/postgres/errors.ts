/**
 * Maps node-postgres and server errors to orch's store errors, and says which ones mean
 * "the server is not there right now" (worth waiting for) rather than a refusal.
 */
import { OrchError } from '../../util/errors.js';
import { StoreError } from '../errors.js';

/** A connection URL with its password replaced, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an unparsable PostgreSQL URL)';
  }
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down)
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
]);

/** True for an error that means the connection or the server went away (retrying may help). */
export function isConnectionError(err: unknown): boolean {
  if (err === null || typeof err !== 'object') return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
  const raw = (err as { message?: unknown }).message;
  const message = typeof raw === 'string' ? raw : '';
  return /Connection terminated|connection timeout|Client has encountered a connection error|terminating connection/i.test(
    message,
  );
}

/**
 * The orch error for a failure of a PostgreSQL call (`operation` names it).
 *
 * @example
 * throw wrapPostgresError(err, url, 'append');
 */
export function wrapPostgresError(err: unknown, url: string, operation: string): unknown {
  if (err instanceof OrchError) return err;
  if (err === null || typeof err !== 'object') return err;
  const where = `${operation} on the PostgreSQL log ${redactUrl(url)}`;
  const code = (err as { code?: unknown }).code;
  const message = (err as { message?: unknown }).message;
  if (isConnectionError(err)) {
    return new StoreError(
      'LOG_UNREACHABLE',
      `${where} failed: the server cannot be reached (${String(message)})`,
      {
        hint: 'check that PostgreSQL is running and the URL (store.url or ORCH_DATABASE_URL) is right; orch waits and retries a while before giving up',
        cause: err,
        details: { url: redactUrl(url), postgresCode: code },
      },
    );
  }
  if (code === '28P01' || code === '28000') {
    return new StoreError(
      'LOG_UNREACHABLE',
      `${where} failed: the server refused the login (${String(message)})`,
      {
        hint: 'check the user and password in the URL (store.url or ORCH_DATABASE_URL)',
        cause: err,
        details: { url: redactUrl(url), postgresCode: code },
      },
    );
  }
  if (code === '3D000') {
    return new StoreError('LOG_NOT_FOUND', `${where} failed: ${String(message)}`, {
      hint: 'create the database first (createdb NAME), or point the URL at an existing one',
      cause: err,
      details: { url: redactUrl(url), postgresCode: code },
    });
  }
  if (code === '25006') {
    return new StoreError('LOG_READ_ONLY', `${where} refused: the server is read-only (${String(message)})`, {
      hint: 'point orch at the primary server, not a read replica',
      cause: err,
      details: { url: redactUrl(url), postgresCode: code },
    });
  }
  if (typeof message === 'string') {
    return new StoreError(
      'STORE_FAILED',
      `${where} failed: ${message}${typeof code === 'string' ? ` (${code})` : ''}`,
      {
        hint: 'see the PostgreSQL server log for details; nothing of this call was written',
        cause: err,
        details: { url: redactUrl(url), postgresCode: code },
      },
    );
  }
  return err;
}
