import type { RecordedEvent } from '../../core/envelope.js';

/**
 * Writing a long listing to stdout in chunks (one write per ~64 KB instead of per line),
 * with backpressure, and the `orch log --json` element of an event.
 */

/**
 * Collects text and hands it to `write` in chunks of about `chunkSize` characters. `write`
 * returns false when its stream is full (as `stream.write` does); `push` and `flush` then
 * return true, and the caller should wait for `'drain'` before pushing more — a pipe to a
 * slow reader would otherwise buffer the whole listing in memory.
 */
export class ChunkedWriter {
  private parts: string[] = [];
  private size = 0;

  /**
   * @example
   * const out = new ChunkedWriter((s) => process.stdout.write(s));
   * if (out.push('line\n')) await once(process.stdout, 'drain');
   * out.flush();
   */
  constructor(
    private readonly write: (text: string) => boolean,
    private readonly chunkSize = 64 * 1024,
  ) {}

  /** Adds text; writes when a chunk is full. True: the stream is full, wait for `'drain'`. */
  push(text: string): boolean {
    this.parts.push(text);
    this.size += text.length;
    return this.size >= this.chunkSize ? this.flush() : false;
  }

  /** Writes whatever is pending. True: the stream is full, wait for `'drain'`. */
  flush(): boolean {
    if (this.parts.length === 0) return false;
    const ok = this.write(this.parts.join(''));
    this.parts = [];
    this.size = 0;
    return !ok;
  }
}

/**
 * The `orch log --json` element of an event: `{position, streamId, streamVersion, type,
 * data, metadata, recordedAt}`.
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
