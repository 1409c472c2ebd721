/**
 * The lines `orch status` adds after the status document for the features that write
 * events of their own (a fork's origin, `notify` deliveries, `workspace.ports`): pure text.
 */

/** What the log says about a fork, notifications and the ports of live agents (absent parts: not in use). */
export interface StatusExtras {
  /** `RunForked`: where this log was forked from. */
  fork?: { stateDir: string; runId: string | null; position: number };
  /** `notify`: deliveries made, being retried, and given up. */
  notifications?: { delivered: number; retrying: number; givenUp: number };
  /** `workspace.ports`: the block each live agent holds. */
  ports?: { taskId: string; spawnId: string; base: number; count: number }[];
}

/**
 * The text lines of the extras (none when nothing is in use).
 *
 * @example
 * statusExtrasLines({ notifications: { delivered: 3, retrying: 1, givenUp: 0 } });
 * // ['notify: 3 delivered, 1 being retried, 0 given up']
 */
export function statusExtrasLines(extras: StatusExtras): string[] {
  const lines: string[] = [];
  if (extras.fork) {
    lines.push(
      `forked from ${extras.fork.stateDir} at position ${extras.fork.position}${extras.fork.runId === null ? '' : ` (run ${extras.fork.runId.slice(0, 8)})`}`,
    );
  }
  if (extras.notifications) {
    const n = extras.notifications;
    lines.push(`notify: ${n.delivered} delivered, ${n.retrying} being retried, ${n.givenUp} given up`);
  }
  for (const p of extras.ports ?? []) {
    lines.push(`ports: ${p.taskId} (spawn ${p.spawnId.slice(0, 8)}) holds ${p.base}-${p.base + p.count - 1}`);
  }
  return lines;
}
