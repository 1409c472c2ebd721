import type { RecordedEvent } from '../core/envelope.js';

/**
 * Writing a long listing to stdout in chunks (one write per ~64 KB instead of per line),
 * and the `orch log --json` element of an event.
 */

/** Collects text and hands it to `write` in chunks of about `chunkSize` characters. */
export class ChunkedWriter {
  private parts: string[] = [];
  private size = 0;

  /**
   * @example
   * const out = new ChunkedWriter((s) => process.stdout.write(s));
   * out.push('line\n'); out.flush();
   */
  constructor(
    private readonly write: (text: string) => void,
    private readonly chunkSize = 64 * 1024,
  ) {}

  /** Adds text; writes when a chunk is full. */
  push(text: string): void {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= this.chunkSize) this.flush();
  }

  /** Writes whatever is pending. */
  flush(): void {
    if (this.parts.length === 0) return;
    this.write(this.parts.join(''));
    this.parts = [];
    this.size = 0;
  }
}

/**
 * The `orch log --json` element of an event: `{position, streamId, streamVersion, type,
 * data, metadata, recordedAt}` (../shared/CLI.md).
 *
 * @example
 * JSON.stringify(logJsonEntry(event));
 */
export function logJsonEntry(event: RecordedEvent): {
  position: number;
  streamId: string;
  streamVersion: number;
  type: string;
  data: unknown;
  metadata: RecordedEvent['metadata'];
  recordedAt: string;
} {
  return {
    position: event.position,
    streamId: event.streamId,
    streamVersion: event.streamVersion,
    type: event.type,
    data: event.data,
    metadata: event.metadata,
    recordedAt: event.recordedAt,
  };
}
