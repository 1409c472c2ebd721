/**
 * The snapshots table: a mutable cache of folded state beside the log (never part of it).
 */
import type { Snapshot } from '../event-store.js';
import type { Statements } from './statements.js';

/**
 * Stores or replaces snapshot `name`.
 *
 * @example
 * saveSnapshot(statements, 'status', 412, '{"tasks":[]}', new Date().toISOString());
 */
export function saveSnapshot(
  statements: Statements,
  name: string,
  position: number,
  dataJson: string,
  writtenAt: string,
): void {
  statements.saveSnapshot.run(name, position, dataJson, writtenAt);
}

/**
 * Reads snapshot `name`, or `undefined` when there is none.
 *
 * @example
 * const snapshot = loadSnapshot<{ tasks: unknown[] }>(statements, 'status');
 */
export function loadSnapshot<D>(statements: Statements, name: string): Snapshot<D> | undefined {
  const row = statements.loadSnapshot.get(name);
  if (row === undefined) return undefined;
  return { name, position: row.position, data: JSON.parse(row.data) as D, writtenAt: row.writtenAt };
}
