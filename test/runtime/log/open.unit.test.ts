import { describe, expect, it } from 'vitest';
import { databaseTimeoutMs } from '../../../src/runtime/log/open.js';
import { StoreError } from '../../../src/store/errors.js';
import { OrchError } from '../../../src/util/errors.js';

describe('databaseTimeoutMs (ORCH_DATABASE_TIMEOUT)', () => {
  it('is nothing when unset or empty, else the seconds in milliseconds', () => {
    expect(databaseTimeoutMs({})).toBeUndefined();
    expect(databaseTimeoutMs({ ORCH_DATABASE_TIMEOUT: ' ' })).toBeUndefined();
    expect(databaseTimeoutMs({ ORCH_DATABASE_TIMEOUT: '2' })).toBe(2000);
    expect(databaseTimeoutMs({ ORCH_DATABASE_TIMEOUT: '0.25' })).toBe(250);
    expect(databaseTimeoutMs({ ORCH_DATABASE_TIMEOUT: '86400' })).toBe(86_400_000);
  });

  it.each(['soon', '0', '-1', 'Infinity', '86401', '1e9', 'NaN'])(
    'refuses %j with CONFIG_INVALID naming the variable',
    (value) => {
      expect(() => databaseTimeoutMs({ ORCH_DATABASE_TIMEOUT: value })).toThrow(
        expect.objectContaining({
          code: 'CONFIG_INVALID',
          message: `ORCH_DATABASE_TIMEOUT is not a number of seconds: ${value}`,
        }),
      );
    },
  );
});

describe('OrchError.toJSON', () => {
  it('keeps the error code and message first, whatever the details say', () => {
    const err = new StoreError('LOG_UNREACHABLE', 'cannot reach', {
      hint: 'start it',
      details: { code: 'ECONNREFUSED', message: 'raw', url: 'postgres://x' },
    });
    const json = err.toJSON();
    expect(json).toEqual({
      code: 'LOG_UNREACHABLE',
      message: 'cannot reach',
      hint: 'start it',
      url: 'postgres://x',
    });
    expect(Object.keys(json).slice(0, 2)).toEqual(['code', 'message']);
    expect(new OrchError('X', 'm').toJSON()).toEqual({ code: 'X', message: 'm' });
  });
});
