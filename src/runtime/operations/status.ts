import { withLease, type LeaseView } from '../../core/status-document.js';
import { loadStatus, type StatusSource } from '../log/load-status.js';
import { openLog } from '../log/open.js';
import { readLeaseView } from '../system/lease.js';

/**
 * `orch status`: the current state rebuilt from the log, as fast as the caches allow (the
 * cached status document when it is current: no fold, no XState loaded), and who holds
 * the state directory's lease.
 */

/** The current status. */
export interface StatusResult {
  /** The status document as JSON text, without the lease (the cached text when it is current). */
  documentJson: string;
  /** `orch status --json`: the document with `lease` added, as JSON text. */
  json: string;
  /** Who holds the state directory's lease, and whether that process is alive (null: nobody). */
  lease: LeaseView | null;
  /** The log position the document is at. */
  position: number;
  /** Where the document came from: the status cache, the state snapshot plus the tail, or a fold from zero. */
  source: StatusSource;
  /** What was noticed and gone on from (an unusable snapshot), one line each; the CLI prints them on stderr. */
  warnings: string[];
}

/**
 * Reads the log of `stateDir` (read-only: it never changes the log) and the lease.
 *
 * @example
 * const { json } = await orchStatus('/repo/.state');
 * process.stdout.write(`${json}\n`);
 */
export async function orchStatus(stateDir: string): Promise<StatusResult> {
  const store = openLog(stateDir);
  let loaded: Awaited<ReturnType<typeof loadStatus>>;
  const warnings: string[] = [];
  try {
    loaded = await loadStatus(store, (message) => warnings.push(message));
  } finally {
    store.close();
  }
  const lease = readLeaseView(stateDir);
  return {
    documentJson: loaded.json,
    json: withLease(loaded.json, lease),
    lease,
    position: loaded.position,
    source: loaded.source,
    warnings,
  };
}
