import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeTaskId,
  encodeTaskId,
  MAX_ENCODED_LENGTH,
  taskBranch,
} from '../../../src/runtime/system/safe-id.js';

/** The rules of `git check-ref-format` for one component, plus what a path component needs. */
function isSafeComponent(s: string): boolean {
  return (
    s.length > 0 &&
    /^[A-Za-z0-9._+-]+$/.test(s) &&
    !s.startsWith('-') &&
    !s.startsWith('.') &&
    !s.endsWith('.') &&
    !s.includes('..') &&
    !/\.lock$/i.test(s)
  );
}

describe('encodeTaskId', () => {
  it('keeps ordinary ids readable', () => {
    for (const id of ['T001', 'S001', '1.2.3', 'batch-1', 'fix_bug-2', 'a.b', 'E001-calc']) {
      expect(encodeTaskId(id)).toBe(id);
    }
    expect(taskBranch('T001')).toBe('orch/T001');
  });

  it.each([
    ['../x', '+2E+2E+2Fx'],
    ['/abs', '+2Fabs'],
    ['-x', '+2Dx'],
    ['--upload-pack=evil', '+2D-upload-pack+3Devil'],
    ['with space', 'with+20space'],
    ['..', '+2E+2E'],
    ['.hidden', '+2Ehidden'],
    ['a..b', 'a.+2Eb'],
    ['x@{1}', 'x+40+7B1+7D'],
    ['a~^:?*[\\', 'a+7E+5E+3A+3F+2A+5B+5C'],
    ['T1.lock', 'T1+2Elock'],
    ['T1.LOCK', 'T1+2ELOCK'],
    ['trailing.', 'trailing+2E'],
    ['+2E', '+2B2E'],
    ['é', '+C3+A9'],
  ])('encodes %j as %j', (id, encoded) => {
    expect(encodeTaskId(id)).toBe(encoded);
    expect(decodeTaskId(encoded)).toBe(id);
  });

  it.each([
    ['', 'empty'],
    ['a\nb', 'control'],
    ['a\u0000b', 'control'],
    ['bell\u0007', 'control'],
    ['del\u007f', 'control'],
    ['\ud800lone', 'Unicode'],
    ['x'.repeat(MAX_ENCODED_LENGTH + 1), 'longer'],
    ['/'.repeat(50), 'longer'],
  ])('refuses %j with INVALID_TASK_ID', (id, reason) => {
    let err: unknown;
    try {
      encodeTaskId(id);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'INVALID_TASK_ID' });
    expect((err as Error).message).toContain(reason);
  });

  it('is safe and reversible for any accepted id (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }), (id) => {
        let encoded: string;
        try {
          encoded = encodeTaskId(id);
        } catch {
          return; // refused ids are covered above
        }
        expect(isSafeComponent(encoded)).toBe(true);
        expect(decodeTaskId(encoded)).toBe(id);
      }),
      { numRuns: 2000 },
    );
  });

  it('never maps two ids to the same name (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b) => {
        fc.pre(a !== b);
        let ea: string, eb: string;
        try {
          ea = encodeTaskId(a);
          eb = encodeTaskId(b);
        } catch {
          return;
        }
        expect(ea).not.toBe(eb);
      }),
      { numRuns: 2000 },
    );
  });
});
