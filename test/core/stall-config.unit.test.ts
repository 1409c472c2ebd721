import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, OrchestratorConfigSchema, stallTimeoutMs } from '../../src/core/config.js';

describe('stallTimeout', () => {
  it('defaults to 900 s, and is read globally and per role (command or preset)', () => {
    expect(DEFAULT_CONFIG.stallTimeout).toBe(900);
    const config = OrchestratorConfigSchema.parse({
      stallTimeout: 120,
      agents: {
        dev: { command: ['a'], stallTimeout: 30 },
        review: { preset: 'codex', stallTimeout: 0 },
        other: { command: ['b'] },
      },
    });
    expect(config.stallTimeout).toBe(120);
    expect(config.agents['dev']?.stallTimeout).toBe(30);
    expect(config.agents['review']?.stallTimeout).toBe(0);
    expect(stallTimeoutMs(config, config.agents['dev'])).toBe(30_000);
    expect(stallTimeoutMs(config, config.agents['other'])).toBe(120_000);
    expect(stallTimeoutMs(config, undefined)).toBe(120_000);
  });

  it('0 turns it off, globally or for one role', () => {
    const off = OrchestratorConfigSchema.parse({ stallTimeout: 0, agents: { dev: { command: ['a'] } } });
    expect(stallTimeoutMs(off, off.agents['dev'])).toBeUndefined();
    const role = OrchestratorConfigSchema.parse({ agents: { dev: { command: ['a'], stallTimeout: 0 } } });
    expect(stallTimeoutMs(role, role.agents['dev'])).toBeUndefined();
  });

  it('refuses a negative or non-numeric value, naming the key', () => {
    const negative = OrchestratorConfigSchema.safeParse({ stallTimeout: -1 });
    expect(negative.success).toBe(false);
    expect(negative.error?.issues[0]?.path).toEqual(['stallTimeout']);
    const role = OrchestratorConfigSchema.safeParse({
      agents: { dev: { command: ['a'], stallTimeout: 'x' } },
    });
    expect(role.success).toBe(false);
    expect(role.error?.issues[0]?.path).toEqual(['agents', 'dev', 'stallTimeout']);
  });
});
