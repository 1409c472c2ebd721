/**
 * The lease part of `orch status --json`, in a module of its own so the cached document can
 * be printed without loading the status view (see `src/runtime/operations/status-cache.ts`).
 */

/** The lease holder as `orch status` shows it. */
export interface LeaseView {
  pid: number;
  runId: string;
  host: string;
  acquiredAt: string;
  /** Whether the holder process is alive; null when it runs on another host (cannot check). */
  alive: boolean | null;
}

/**
 * The `orch status --json` text: the document's JSON (as cached, or freshly made) with
 * `"lease"` appended as its last key, without parsing the document again.
 *
 * @example
 * withLease(JSON.stringify(statusDocument(state)), null); // '{"position":12,…,"lease":null}'
 */
export function withLease(documentJson: string, lease: LeaseView | null): string {
  if (!documentJson.endsWith('}')) throw new Error('status document JSON must be an object');
  return `${documentJson.slice(0, -1)},"lease":${JSON.stringify(lease)}}`;
}
