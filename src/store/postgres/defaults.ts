// Values shared by the PostgreSQL store and its synchronous bridge, in a module of their own
// so that the bridge (loaded by every command that opens a log) does not load `pg` itself.

/** Default of `reconnectTimeoutMs` (the PostgreSQL store options): how long a call waits for an unreachable server. */
export const DEFAULT_RECONNECT_TIMEOUT_MS = 30_000;
