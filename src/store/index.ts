/**
 * The event store: the durable, append-only log of everything orch does.
 *
 * @example
 * import { openSqliteEventStore, ConcurrencyError } from './store/index.js';
 * const store = openSqliteEventStore('.state/orch.db');
 */
export type {
  AppendContext,
  AppendOptions,
  AppendResult,
  EventStore,
  ExpectedVersion,
  FollowOptions,
  OnAppendHook,
  ReadAllOptions,
  ReadStreamOptions,
  Snapshot,
  StoreOptions,
  StreamAppend,
} from './event-store.js';
export { ConcurrencyError, ImportError, StoreError, type StoreErrorCode } from './errors.js';
export { createMemoryEventStore, MemoryEventStore } from './memory-store.js';
export { openSqliteEventStore, type SqliteStoreOptions } from './sqlite/open.js';
export { SqliteEventStore } from './sqlite/sqlite-event-store.js';
export { DEFAULT_BUSY_TIMEOUT_MS, type Durability } from './sqlite/pragmas.js';
export { LATEST_SCHEMA_VERSION, ORCH_APPLICATION_ID } from './sqlite/schema.js';
export {
  checkJsonl,
  exportJsonl,
  exportJsonlAsync,
  importJsonl,
  importJsonlAsync,
  toJsonLine,
} from './jsonl.js';
export { toAsyncStore, type AsyncEventStore } from './async-event-store.js';
export { openPostgresEventStore, type PostgresStoreOptions } from './postgres/open.js';
export { PostgresEventStore } from './postgres/postgres-event-store.js';
export { followEvents, DEFAULT_POLL_INTERVAL_MS } from './follow.js';
