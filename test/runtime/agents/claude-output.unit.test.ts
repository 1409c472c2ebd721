import { describe, expect, it } from 'vitest';
import {
  detectRateLimit,
  parseClaudeResult,
  parseResetTime,
} from '../../../src/runtime/agents/claude-output.js';

const result = {
  type: 'result',
  subtype: 'success',
  is_error: false,
  duration_ms: 3952,
  num_turns: 2,
  result: 'done',
  session_id: 'abc',
  total_cost_usd: 0.10457895,
  usage: {
    input_tokens: 2,
    output_tokens: 9,
    cache_creation_input_tokens: 7924,
    cache_read_input_tokens: 13368,
  },
};

describe('parseClaudeResult', () => {
  it('reads usage and cost from the json result', () => {
    expect(parseClaudeResult(JSON.stringify(result) + '\n')).toEqual({
      isError: false,
      subtype: 'success',
      text: 'done',
      sessionId: 'abc',
      usage: {
        inputTokens: 2,
        outputTokens: 9,
        cacheCreationInputTokens: 7924,
        cacheReadInputTokens: 13368,
        costUsd: 0.10457895,
        numTurns: 2,
        durationMs: 3952,
      },
    });
  });

  it('finds the result line of stream-json output after other lines', () => {
    const stream = ['{"type":"system","subtype":"init"}', 'not json', JSON.stringify(result), ''].join('\n');
    expect(parseClaudeResult(stream)?.usage.costUsd).toBe(0.10457895);
  });

  it('accepts the older cost_usd name and missing usage', () => {
    expect(parseClaudeResult('{"type":"result","is_error":true,"cost_usd":0.5}')).toEqual({
      isError: true,
      usage: { costUsd: 0.5 },
    });
  });

  it('returns undefined when there is no result object', () => {
    expect(parseClaudeResult('plain text output\n')).toBeUndefined();
    expect(parseClaudeResult('{"type":"assistant"}')).toBeUndefined();
    expect(parseClaudeResult('{"type":"result", broken')).toBeUndefined();
  });
});

describe('detectRateLimit', () => {
  const now = new Date('2030-03-10T12:00:00Z');

  it('reads the epoch form', () => {
    expect(detectRateLimit('Claude AI usage limit reached|1750708800', now)).toEqual({
      message: 'usage limit reached|1750708800',
      resetAt: '2025-06-23T20:00:00.000Z',
    });
  });

  it('reads "reset at 3pm (zone)" as the next 3pm in that zone', () => {
    const r = detectRateLimit(
      'Claude usage limit reached. Your limit will reset at 3pm (America/Bogota).',
      now,
    );
    // Bogotá is UTC-5: 3pm there is 20:00Z, still ahead on March 10th.
    expect(r?.resetAt).toBe('2030-03-10T20:00:00.000Z');
  });

  it('reads "resets 1:30am (zone)" as tomorrow when the time has passed', () => {
    const r = detectRateLimit("You've hit your limit · resets 1:30am (Asia/Dhaka)", now);
    // Dhaka is UTC+6: it is 18:00 there, so the next 1:30am is March 11th, 19:30Z on the 10th.
    expect(r?.resetAt).toBe('2030-03-10T19:30:00.000Z');
  });

  it('reads a date with the time', () => {
    const r = detectRateLimit("You've hit your limit · resets Apr 23 at 4pm (America/Recife)", now);
    expect(r?.resetAt).toBe('2030-04-23T19:00:00.000Z');
  });

  it('handles a daylight-saving zone on either side of the change', () => {
    // New York moves to UTC-4 on 2030-03-10 at 2am local.
    expect(
      parseResetTime('resets 9am (America/New_York)', new Date('2030-03-09T20:00:00Z'))?.toISOString(),
    ).toBe('2030-03-10T13:00:00.000Z');
    expect(
      parseResetTime('resets 9am (America/New_York)', new Date('2030-03-08T20:00:00Z'))?.toISOString(),
    ).toBe('2030-03-09T14:00:00.000Z');
  });

  it('recognises API throttling without a reset time', () => {
    expect(detectRateLimit('Error: 429 {"type":"error","error":{"type":"rate_limit_error"}}', now)).toEqual({
      message: 'rate_limit_error"}}',
    });
  });

  it('keeps the limit when the zone is unknown, without a reset time', () => {
    expect(detectRateLimit('usage limit reached · resets 3pm (Mars/Olympus)', now)).toEqual({
      message: 'usage limit reached · resets 3pm (Mars/Olympus)',
    });
  });

  it('ignores ordinary output', () => {
    expect(detectRateLimit('all 42 tests passed; the limit function works', now)).toBeUndefined();
    expect(parseResetTime('resets 15 things', now)).toBeUndefined();
  });
});
