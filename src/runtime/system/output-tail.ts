import fs from 'node:fs';

/**
 * Bounded views of an agent's output: the log file gets every byte, memory keeps only
 * the last `capacity` bytes (for the next attempt's prompt) and the last line (for a
 * dashboard), however much the agent prints. Read back from a file, only its end is read.
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

/** How a last line is read. */
export interface LastLineOptions {
  /** Keep at most the last this many bytes of a line (default 512). */
  maxLineBytes?: number;
  /**
   * As a terminal shows it: without escape sequences (colours, cursor moves), other control
   * characters as spaces; a line left with nothing else does not count (the dashboard).
   */
  plain?: boolean;
}

/**
 * Tracks the last line with content of a byte stream, keeping at most `maxLineBytes` of it.
 * A line is what a terminal would show: the text after its last `\r` (progress bars redraw).
 *
 * @example
 * const last = new LastLineTracker();
 * last.push(Buffer.from('one\ntwo\n'));
 * last.lastLine; // 'two'
 */
export class LastLineTracker {
  private current: Buffer = Buffer.alloc(0);
  private completed = '';
  private readonly plain: boolean;

  constructor(
    readonly maxLineBytes = 512,
    options: { plain?: boolean } = {},
  ) {
    this.plain = options.plain ?? false;
  }

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
      const line = clean(bytes.subarray(Math.max(0, bytes.length - this.maxLineBytes)), this.plain);
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
    const partial = clean(this.current, this.plain);
    return partial !== '' ? partial : this.completed;
  }

  private appendCurrent(bytes: Buffer): void {
    if (bytes.length === 0) return;
    const joined = Buffer.concat([this.current, bytes]);
    this.current = Buffer.from(joined.subarray(Math.max(0, joined.length - this.maxLineBytes)));
  }
}

/**
 * The last line with content of some output (see {@link LastLineTracker}); '' when none.
 *
 * @example
 * lastLineOf(Buffer.from('building\n\x1b[32mok\x1b[0m\n'), { plain: true }); // 'ok'
 */
export function lastLineOf(bytes: Buffer, options: LastLineOptions = {}): string {
  const last = new LastLineTracker(options.maxLineBytes, { plain: options.plain ?? false });
  last.push(bytes);
  return last.lastLine;
}

/**
 * The last `bytes` bytes of a file that is `size` bytes long (fewer when it is shorter, or
 * shrank meanwhile).
 *
 * @example
 * readFileEnd('/state/logs/T1/1.log', fs.statSync('/state/logs/T1/1.log').size, 4096);
 */
export function readFileEnd(file: string, size: number, bytes: number): Buffer {
  const length = Math.max(0, Math.min(size, bytes));
  const buf = Buffer.alloc(length);
  if (length === 0) return buf;
  const fd = fs.openSync(file, 'r');
  try {
    let done = 0;
    while (done < length) {
      const n = fs.readSync(fd, buf, done, length - done, size - length + done);
      if (n === 0) break;
      done += n;
    }
    return buf.subarray(0, done);
  } finally {
    fs.closeSync(fd);
  }
}

/** An output file at a glance. */
export interface OutputGlance {
  /** Bytes in the file. */
  size: number;
  /** When it last changed. */
  mtime: Date;
  mtimeMs: number;
  /** Its last line with content ('' when none). */
  lastLine: string;
}

/**
 * An agent's output file as a dashboard follows it: its size, when it last changed and its
 * last line, read from the last `windowBytes` of the file, and read again only when the
 * file's size or modification time changed.
 *
 * @example
 * const output = new OutputFile('/state/logs/T1/1.log', { windowBytes: 4096 });
 * output.glance()?.lastLine; // 'running tests: 41/42'
 */
export class OutputFile {
  private known: OutputGlance | undefined;

  constructor(
    readonly file: string,
    private readonly options: { windowBytes: number } & LastLineOptions,
  ) {}

  /** The file now, or undefined when it cannot be read (not there yet). */
  glance(): OutputGlance | undefined {
    let st: fs.Stats;
    try {
      st = fs.statSync(this.file);
    } catch {
      return undefined;
    }
    const known = this.known;
    if (known !== undefined && known.size === st.size && known.mtimeMs === st.mtimeMs) return known;
    const lastLine = lastLineOf(readFileEnd(this.file, st.size, this.options.windowBytes), this.options);
    this.known = { size: st.size, mtime: st.mtime, mtimeMs: st.mtimeMs, lastLine };
    return this.known;
  }
}

/** ESC [ … final byte: colours, cursor moves, erasures. */
// eslint-disable-next-line no-control-regex -- escape sequences are control characters
const ESCAPE_SEQUENCE = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;
// eslint-disable-next-line no-control-regex -- what is left of them shows as a space
const CONTROL = /[\x00-\x1f\x7f]/g;

function clean(buf: Buffer, plain: boolean): string {
  // Progress bars redraw with \r: the text after the last \r is what a terminal shows.
  const text = buf.toString('utf8');
  const parts = text
    .split('\r')
    .map((p) => (plain ? p.replace(ESCAPE_SEQUENCE, '').replace(CONTROL, ' ') : p))
    .filter((p) => p.trim() !== '');
  return (parts[parts.length - 1] ?? '').trim();
}
