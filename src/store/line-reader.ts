/**
 * Reading a text file line by line, synchronously, without loading it whole: an import runs
 * inside one SQLite transaction, which cannot await.
 */
import fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

const CHUNK_SIZE = 1 << 20;

/**
 * Yields each line of `file` (without its `\n` or `\r\n`); a final empty line after the
 * last newline is not yielded.
 *
 * @example
 * for (const line of readLinesSync('log.jsonl')) console.log(line.length);
 */
export function* readLinesSync(file: string): Generator<string, void, undefined> {
  const fd = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(CHUNK_SIZE);
    const decoder = new StringDecoder('utf8');
    let pending = '';
    for (;;) {
      const read = fs.readSync(fd, buffer, 0, CHUNK_SIZE, null);
      const text = read === 0 ? decoder.end() : decoder.write(buffer.subarray(0, read));
      pending += text;
      let start = 0;
      for (let newline = pending.indexOf('\n'); newline !== -1; newline = pending.indexOf('\n', start)) {
        const end = newline > start && pending.charCodeAt(newline - 1) === 13 ? newline - 1 : newline;
        yield pending.slice(start, end);
        start = newline + 1;
      }
      pending = pending.slice(start);
      if (read === 0) break;
    }
    if (pending.length > 0) yield pending.endsWith('\r') ? pending.slice(0, -1) : pending;
  } finally {
    fs.closeSync(fd);
  }
}
