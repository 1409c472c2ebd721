import path from 'node:path';
import { OrchError } from '../../util/errors.js';

/**
 * Where the event log lives: the SQLite file in the state directory (the embedded default),
 * another SQLite file shared by several workers on one machine, or a PostgreSQL database
 * shared by workers on several machines.
 */
export type LogLocation =
  { kind: 'sqlite'; file: string; shared: boolean } | { kind: 'postgres'; url: string };

/** The environment variable naming the log's place; it wins over the config's `store.url`. */
export const DATABASE_URL_ENV = 'ORCH_DATABASE_URL';

/** Set by the CLI beside `ORCH_DATABASE_URL` when it copied the URL from this config file. */
export const DATABASE_URL_FROM_ENV = 'ORCH_DATABASE_URL_FROM';

/**
 * The log's location: `url` (the config's `store.url`), overridden by `ORCH_DATABASE_URL`,
 * else `<state-dir>/orch.db`. Accepts `postgres://…` / `postgresql://…`, and
 * `file:/path/orch.db` (or an absolute path) for a SQLite file; anything else is
 * `CONFIG_INVALID`, saying what is accepted.
 *
 * @example
 * logLocation('/repo/.state'); // { kind: 'sqlite', file: '/repo/.state/orch.db', shared: false }
 * logLocation('/repo/.state', 'postgres://orch@db/orch'); // { kind: 'postgres', url: 'postgres://orch@db/orch' }
 */
export function logLocation(
  stateDir: string,
  url?: string,
  env: NodeJS.ProcessEnv = process.env,
): LogLocation {
  const fromEnv = env[DATABASE_URL_ENV];
  const chosen = fromEnv !== undefined && fromEnv.trim() !== '' ? fromEnv.trim() : url?.trim();
  if (chosen === undefined || chosen === '') {
    return { kind: 'sqlite', file: path.join(stateDir, 'orch.db'), shared: false };
  }
  // A URL the CLI copied from a config file says which file (`ORCH_DATABASE_URL_FROM`).
  const from = env[DATABASE_URL_FROM_ENV];
  const where =
    fromEnv !== undefined && fromEnv.trim() !== ''
      ? from !== undefined && from !== ''
        ? `${from}: store.url`
        : DATABASE_URL_ENV
      : 'store.url';
  if (/^postgres(ql)?:\/\//i.test(chosen)) return { kind: 'postgres', url: chosen };
  const file = chosen.startsWith('file:') ? chosen.slice('file:'.length).replace(/^\/\/(?=\/)/, '') : chosen;
  if (path.isAbsolute(file) && ![...file].some((c) => c.charCodeAt(0) < 0x20))
    return { kind: 'sqlite', file, shared: true };
  throw new OrchError('CONFIG_INVALID', `${where} is not a place for the log: ${redact(chosen)}`, {
    hint: 'use postgres://USER:PASSWORD@HOST:PORT/DATABASE, or file:/absolute/path/orch.db for a SQLite file',
    details: { key: where },
  });
}

/**
 * The location for messages: a PostgreSQL URL without its password, or the file.
 *
 * @example
 * describeLocation({ kind: 'postgres', url: 'postgres://orch:pw@db/orch' }); // 'postgres://orch:***@db/orch'
 */
export function describeLocation(location: LogLocation): string {
  return location.kind === 'postgres' ? redact(location.url) : location.file;
}

function redact(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]+):[^@/]*@/i, '$1:***@');
}
