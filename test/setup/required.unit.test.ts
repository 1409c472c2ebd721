import { afterEach, describe, expect, it, vi } from 'vitest';
import { available } from './required.js';

describe('available (tests that need a program of the machine)', () => {
  const ci = process.env['CI'];
  afterEach(() => {
    if (ci === undefined) delete process.env['CI'];
    else process.env['CI'] = ci;
    vi.restoreAllMocks();
  });

  it('is true when the program is there', () => {
    expect(available('tmux', true, 'install tmux')).toBe(true);
  });

  it('with CI=true, a missing program fails instead of skipping', () => {
    process.env['CI'] = 'true';
    expect(() => available('tmux', false, 'install tmux')).toThrow(
      /CI=true and tmux is missing: install tmux/,
    );
  });

  it('outside CI, a missing program skips with a warning', () => {
    delete process.env['CI'];
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(available('tmux', false, 'install tmux')).toBe(false);
    expect(warn).toHaveBeenCalledWith('tmux is missing: install tmux; the tests that need it are skipped');
  });
});
