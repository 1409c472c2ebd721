/**
 * The shape of an event as it sits in the log. `src/store` reads and writes these;
 * `src/core` folds them. Kept here (pure, no I/O) so both sides share one definition.
 */

/** Who caused an event: orch itself, an agent (by spawn id), CI, or a person. */
export type Actor = 'orch' | 'ci' | 'user' | `agent:${string}`;

/** Correlation data carried by every event (docs/events.md, "The log schema"). */
export interface EventMetadata {
  runId?: string;
  causationId?: string;
  correlationId?: string;
  actor?: Actor;
  [key: string]: unknown;
}

/** An event to append: the caller makes the `id` (a UUID made in runtime) so retries are safe. */
export interface NewEvent<T extends string = string, D = unknown> {
  id: string;
  type: T;
  data: D;
  metadata?: EventMetadata;
  /** ISO-8601; the store fills it from its clock when absent. */
  recordedAt?: string;
}

/** An event as recorded: global `position` (1-based, gapless) and per-stream version (1-based). */
export interface RecordedEvent<T extends string = string, D = unknown> {
  position: number;
  id: string;
  streamId: string;
  streamVersion: number;
  type: T;
  data: D;
  metadata: EventMetadata;
  recordedAt: string;
}
