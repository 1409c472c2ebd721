import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LastLineTracker, TailBuffer, lastLineOf } from '../../../src/runtime/system/output-tail.js';

describe('TailBuffer', () => {
  it('keeps exactly the last capacity bytes of any sequence of chunks (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 400 }),
        fc.integer({ min: 0, max: 120 }),
        (chunks, cap) => {
          const tail = new TailBuffer(cap);
          for (const c of chunks) tail.push(Buffer.from(c));
          const all = Buffer.concat(chunks.map((c) => Buffer.from(c)));
          expect(tail.toBuffer().equals(all.subarray(Math.max(0, all.length - cap)))).toBe(true);
          expect(tail.size).toBeLessThanOrEqual(cap);
          expect(tail.totalBytes).toBe(all.length);
        },
      ),
    );
  });

  it('copies chunks, so a reused source buffer does not change the tail', () => {
    const tail = new TailBuffer(10);
    const buf = Buffer.from('abc');
    tail.push(buf);
    buf.write('xyz');
    expect(tail.toString()).toBe('abc');
  });
});

describe('LastLineTracker', () => {
  function lastLine(...chunks: string[]): string {
    const t = new LastLineTracker(20);
    for (const c of chunks) t.push(Buffer.from(c));
    return t.lastLine;
  }

  it('finds the last line with content across chunk boundaries', () => {
    expect(lastLine('one\ntw', 'o\n')).toBe('two');
    expect(lastLine('one\ntwo\n\n\n')).toBe('two');
    expect(lastLine('one\n', '\n', '  \n')).toBe('one');
    expect(lastLine('done\npartial')).toBe('partial');
    expect(lastLine('progress 10%\rprogress 90%\n')).toBe('progress 90%');
    expect(lastLine('')).toBe('');
  });

  it('keeps only the end of a very long line', () => {
    expect(lastLine('x'.repeat(1000) + 'END\n')).toBe('x'.repeat(17) + 'END');
  });

  it('matches a simple split on newlines (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[ab \n]{0,12}$/), { maxLength: 30 }), (chunks) => {
        const t = new LastLineTracker(1000);
        for (const c of chunks) t.push(Buffer.from(c));
        const lines = chunks
          .join('')
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l !== '');
        expect(t.lastLine).toBe(lines[lines.length - 1] ?? '');
      }),
    );
  });
});

// eslint-disable-next-line no-control-regex -- escape sequences are control characters
const ESCAPE = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;
// eslint-disable-next-line no-control-regex -- and so are the rest
const CONTROL = /[\x00-\x1f\x7f]/g;

describe('lastLineOf', () => {
  it('is the tracker over one buffer', () => {
    expect(lastLineOf(Buffer.from('one\ntwo\n'))).toBe('two');
    expect(lastLineOf(Buffer.from('x'.repeat(30) + 'END'), { maxLineBytes: 5 })).toBe('xxEND');
    expect(lastLineOf(Buffer.alloc(0))).toBe('');
  });

  it('plain: as a terminal shows it, without escape sequences, controls as spaces', () => {
    const plain = (text: string) => lastLineOf(Buffer.from(text), { plain: true });
    expect(plain('building\n\x1b[32mok\x1b[0m\n')).toBe('ok');
    expect(plain('done\n\x1b[2K\x1b[0m\n')).toBe('done');
    expect(plain('a\tb\x07c\n')).toBe('a b c');
    expect(plain('10%\r\x1b[1m90%\x1b[0m')).toBe('90%');
    // Without plain the escapes stay (the runner's own view of its output).
    expect(lastLineOf(Buffer.from('\x1b[32mok\x1b[0m\n'))).toBe('\x1b[32mok\x1b[0m');
  });

  it('plain matches splitting on every kind of newline and cleaning each line (property)', () => {
    const piece = fc.constantFrom(
      ...['a', 'b c', ' ', '\n', '\r', '\r\n', '\x1b[32m', '\x1b[2K', '\t', '\x07', 'é', '\x1b'].map((t) =>
        Buffer.from(t),
      ),
      Buffer.from([0xe6, 0x97]),
      Buffer.from([0xff]),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), fc.integer({ min: 0, max: 3 }), (parts, cut) => {
        const bytes = Buffer.concat(parts).subarray(cut);
        const lines = bytes
          .toString('utf8')
          .split(/\r\n|\r|\n/)
          .map((l) => l.replace(ESCAPE, '').replace(CONTROL, ' ').trim())
          .filter((l) => l !== '');
        expect(lastLineOf(bytes, { plain: true, maxLineBytes: 1000 })).toBe(lines.at(-1) ?? '');
      }),
    );
  });
});
