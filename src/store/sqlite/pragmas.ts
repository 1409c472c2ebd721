/**
 * Connection settings of every log connection. The bench's raw baseline applies the same
 * ones, so its comparison is fair.
 */
import type Database from 'better-sqlite3';

/**
 * `'full'`: an acknowledged append survives power loss (the WAL is synced at each commit).
 * `'normal'`: it survives a crash of orch, but the last commits may be lost on power loss.
 */
export type Durability = 'full' | 'normal';

/** How long a writer waits for another process's write transaction before giving up. */
export const DEFAULT_BUSY_TIMEOUT_MS = 30_000;

/**
 * The pragmas of a writing connection, in order (journal mode first).
 *
 * @example
 * for (const pragma of writerPragmas('full', 5000)) db.pragma(pragma);
 */
export function writerPragmas(durability: Durability, busyTimeoutMs: number): string[] {
  return [
    `busy_timeout = ${busyTimeoutMs}`,
    'journal_mode = WAL',
    `synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`,
  ];
}

/**
 * Applies the pragmas of a reading or writing connection.
 *
 * @example
 * applyPragmas(db, { readonly: false, durability: 'full', busyTimeoutMs: 30_000 });
 */
export function applyPragmas(
  db: Database.Database,
  options: { readonly: boolean; durability: Durability; busyTimeoutMs: number },
): void {
  if (options.readonly) {
    db.pragma(`busy_timeout = ${options.busyTimeoutMs}`);
    db.pragma('query_only = ON');
    return;
  }
  for (const pragma of writerPragmas(options.durability, options.busyTimeoutMs)) db.pragma(pragma);
}
