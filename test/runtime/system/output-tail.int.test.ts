import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OutputFile, readFileEnd } from '../../../src/runtime/system/output-tail.js';
import { removeDir, tempDir } from '../helpers.js';

let dir = '';
afterEach(() => removeDir(dir));

describe('readFileEnd', () => {
  it('reads the last bytes of a file, or all of a shorter one', () => {
    dir = tempDir('output-tail');
    const file = path.join(dir, 'out.log');
    fs.writeFileSync(file, 'hello world');
    expect(readFileEnd(file, 11, 5).toString()).toBe('world');
    expect(readFileEnd(file, 11, 100).toString()).toBe('hello world');
    expect(readFileEnd(file, 0, 100).length).toBe(0);
    // A file that shrank since its size was taken: what is there.
    expect(readFileEnd(file, 20, 100).toString()).toBe('hello world');
  });
});

describe('OutputFile', () => {
  it('glances at size, mtime and last line, reading again only when the file changed', () => {
    dir = tempDir('output-tail');
    const file = path.join(dir, 'out.log');
    const output = new OutputFile(file, { windowBytes: 16 });
    expect(output.glance()).toBeUndefined();
    fs.writeFileSync(file, '');
    expect(output.glance()).toMatchObject({ size: 0, lastLine: '' });
    fs.writeFileSync(file, 'first line that is long\nsecond\n');
    const glance = output.glance();
    expect(glance).toMatchObject({ size: 31, lastLine: 'second' });
    expect(glance?.mtime.getTime()).toBe(fs.statSync(file).mtime.getTime());
    expect(output.glance()).toBe(glance);
    fs.appendFileSync(file, '\x1b[32mok\x1b[0m\n');
    expect(output.glance()?.lastLine).toBe('\x1b[32mok\x1b[0m');
    const plain = new OutputFile(file, { windowBytes: 16, plain: true });
    expect(plain.glance()?.lastLine).toBe('ok');
  });
});
