import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LastLineTracker, TailBuffer } from '../../../src/runtime/system/output-tail.js';

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
