/**
 * Bounded views of an agent's output: the log file gets every byte, memory keeps only
 * the last `capacity` bytes (for the next attempt's prompt) and the last line (for a
 * dashboard), however much the agent prints.
 */

/**
 * Keeps the last `capacity` bytes pushed into it. Memory is at most `capacity` plus one chunk.
 *
 * @example
 * const tail = new TailBuffer(1024);
 * tail.push(Buffer.from('hello\n'));
 * tail.toString(); // 'hello\n'
 */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private length = 0;
  private total = 0;

  constructor(readonly capacity: number) {}

  /** Adds a chunk, dropping the oldest bytes beyond capacity. */
  push(chunk: Buffer): void {
    this.total += chunk.length;
    if (this.capacity <= 0) return;
    // Copy: stream chunks may be views into pooled memory.
    const own = Buffer.from(
      chunk.length > this.capacity ? chunk.subarray(chunk.length - this.capacity) : chunk,
    );
    this.chunks.push(own);
    this.length += own.length;
    while (this.length > this.capacity) {
      const first = this.chunks[0]!;
      const excess = this.length - this.capacity;
      if (first.length <= excess) {
        this.chunks.shift();
        this.length -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.length -= excess;
      }
    }
    // Many tiny chunks would keep many small buffers alive; compact occasionally.
    if (this.chunks.length > 256) this.chunks = [Buffer.concat(this.chunks)];
  }

  /** Bytes currently held (≤ capacity). */
  get size(): number {
    return this.length;
  }

  /** Bytes ever pushed. */
  get totalBytes(): number {
    return this.total;
  }

  /** The held bytes. */
  toBuffer(): Buffer {
    return Buffer.concat(this.chunks, this.length);
  }

  /** The held bytes as UTF-8 (a character cut at the start shows as U+FFFD). */
  toString(): string {
    return this.toBuffer().toString('utf8');
  }
}

/**
 * Tracks the last non-empty line of a byte stream, keeping at most `maxLineBytes` of it.
 *
 * @example
 * const last = new LastLineTracker();
 * last.push(Buffer.from('one\ntwo\n'));
 * last.lastLine; // 'two'
 */
export class LastLineTracker {
  private current: Buffer = Buffer.alloc(0);
  private completed = '';

  constructor(readonly maxLineBytes = 512) {}

  /** Feeds more output. */
  push(chunk: Buffer): void {
    const nl = chunk.lastIndexOf(0x0a);
    if (nl === -1) {
      this.appendCurrent(chunk);
      return;
    }
    // Walk back over the complete lines of this chunk to the last one with content.
    let end = nl;
    for (;;) {
      const start = end === 0 ? -1 : chunk.lastIndexOf(0x0a, end - 1);
      let bytes = chunk.subarray(start + 1, end);
      if (start === -1) bytes = Buffer.concat([this.current, bytes]);
      const line = clean(bytes.subarray(Math.max(0, bytes.length - this.maxLineBytes)));
      if (line !== '') {
        this.completed = line;
        break;
      }
      if (start === -1) break;
      end = start;
    }
    this.current = Buffer.alloc(0);
    this.appendCurrent(chunk.subarray(nl + 1));
  }

  /** The last line with content (the unfinished one if it has content), without `\r`/`\n`. */
  get lastLine(): string {
    const partial = clean(this.current);
    return partial !== '' ? partial : this.completed;
  }

  private appendCurrent(bytes: Buffer): void {
    if (bytes.length === 0) return;
    const joined = Buffer.concat([this.current, bytes]);
    this.current = Buffer.from(joined.subarray(Math.max(0, joined.length - this.maxLineBytes)));
  }
}

function clean(buf: Buffer): string {
  // Progress bars redraw with \r: the text after the last \r is what a terminal shows.
  const text = buf.toString('utf8');
  const parts = text.split('\r').filter((p) => p.trim() !== '');
  return (parts[parts.length - 1] ?? '').trim();
}
