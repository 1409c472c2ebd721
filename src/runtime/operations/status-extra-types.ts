/**
 * The event types that add `extras` to `orch status`, named once: `statusExtras` (status.ts)
 * reads them, and the cached-status probe (status-cache.ts) leaves any log holding one of
 * them to the full path.
 */
export const EXTRA_EVENT = {
  fork: 'RunForked',
  delivered: 'NotificationDelivered',
  failed: 'NotificationFailed',
  ports: 'PortsAssigned',
} as const;

/** Every type of {@link EXTRA_EVENT}. */
export const STATUS_EXTRA_TYPES: readonly string[] = Object.values(EXTRA_EVENT);
