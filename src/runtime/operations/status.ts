import { withLease, type LeaseView } from '../../core/status-document.js';
import { loadStatus, type StatusSource } from '../log/load-status.js';
import { openLog } from '../log/open.js';
import type { EventStore } from '../../store/event-store.js';
import type { StatusExtras } from '../render/status-extras.js';
import { readLeaseView } from '../system/lease.js';
import { EXTRA_EVENT } from './status-extra-types.js';

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
  /** A fork's origin, `notify` deliveries, live agents' ports: only what is in use (read by type, indexed). */
  extras: StatusExtras;
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
  let extras: StatusExtras;
  const warnings: string[] = [];
  try {
    loaded = await loadStatus(store, (message) => warnings.push(message));
    extras = statusExtras(store, loaded.json);
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
    extras,
    warnings,
  };
}

/**
 * The extras of a log: its `RunForked`, its notification outcomes (per event and rule: the
 * last word), and the `PortsAssigned` of the live agents of the status document.
 */
function statusExtras(store: EventStore, documentJson: string): StatusExtras {
  const extras: StatusExtras = {};
  for (const e of store.readAll({ types: [EXTRA_EVENT.fork] })) {
    const from = (e.data as { from: { stateDir: string; runId: string | null; position: number } }).from;
    extras.fork = { stateDir: from.stateDir, runId: from.runId, position: from.position };
  }
  const last = new Map<string, 'delivered' | 'retrying' | 'givenUp'>();
  for (const e of store.readAll({ types: [EXTRA_EVENT.delivered, EXTRA_EVENT.failed] })) {
    const d = e.data as { position: number; rule: string; final?: boolean };
    const key = `${d.position}|${d.rule}`;
    if (last.get(key) === 'delivered') continue;
    last.set(key, e.type === EXTRA_EVENT.delivered ? 'delivered' : d.final === true ? 'givenUp' : 'retrying');
  }
  if (last.size > 0) {
    const count = (what: string) => [...last.values()].filter((v) => v === what).length;
    extras.notifications = {
      delivered: count('delivered'),
      retrying: count('retrying'),
      givenUp: count('givenUp'),
    };
  }
  // The document is parsed (megabytes on a long log) only when some spawn was given ports.
  const assigned = [...store.readAll({ types: [EXTRA_EVENT.ports] })];
  const live =
    assigned.length === 0
      ? new Set<string>()
      : new Set(
          (JSON.parse(documentJson) as { agents?: { spawnId: string; status: string }[] }).agents
            ?.filter((a) => a.status === 'spawning' || a.status === 'running')
            .map((a) => a.spawnId) ?? [],
        );
  if (live.size > 0) {
    const ports: NonNullable<StatusExtras['ports']> = [];
    for (const e of assigned) {
      const d = e.data as { spawnId: string; taskId: string; base: number; count: number };
      if (live.has(d.spawnId))
        ports.push({ taskId: d.taskId, spawnId: d.spawnId, base: d.base, count: d.count });
    }
    if (ports.length > 0) extras.ports = ports;
  }
  return extras;
}
