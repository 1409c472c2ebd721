import { describe, expect, it } from 'vitest';
import {
  agentKindOf,
  parseAiderUsage,
  parseCodexUsage,
  parseGeminiUsage,
} from '../../../src/runtime/agents/tool-output.js';

describe('agentKindOf', () => {
  it('recognises the tools by argv[0]’s base name', () => {
    expect(agentKindOf(['/usr/local/bin/codex', 'exec'])).toBe('codex');
    expect(agentKindOf(['gemini'])).toBe('gemini');
    expect(agentKindOf(['C:\\tools\\aider.exe'.replace(/\\/g, '/')])).toBe('aider');
    expect(agentKindOf(['claude-code'])).toBe('claude');
    expect(agentKindOf(['node', 'codex'])).toBeUndefined();
    expect(agentKindOf([])).toBeUndefined();
  });
});

describe('Codex --json', () => {
  it('sums turn.completed usage and ignores other lines', () => {
    const out = [
      'Reading prompt from stdin...',
      '{"type":"thread.started","thread_id":"t1"}',
      '{"type":"item.completed","item":{"id":"item_0","type":"agent_message","text":"turn.completed"}}',
      '{"type":"turn.completed","usage":{"input_tokens":10,"cached_input_tokens":4,"output_tokens":3}}',
      '{"type":"turn.completed","usage":{"input_tokens":5,"cached_input_tokens":0,"output_tokens":2}}',
    ].join('\n');
    expect(parseCodexUsage(out)).toEqual({ inputTokens: 15, cacheReadInputTokens: 4, outputTokens: 5 });
  });

  it('undefined without a completed turn', () => {
    expect(parseCodexUsage('{"type":"turn.failed","error":{"message":"x"}}\n')).toBeUndefined();
  });
});

describe('Gemini CLI --output-format json', () => {
  it('reads a pretty-printed result after other output, summing the models', () => {
    const result = {
      response: 'done',
      stats: {
        models: {
          a: { tokens: { prompt: 100, candidates: 20, total: 130, cached: 50, thoughts: 10, tool: 0 } },
          b: { tokens: { prompt: 1, candidates: 2, total: 3 } },
        },
      },
    };
    const out = `Loaded cached credentials.\n${JSON.stringify(result, null, 2)}\n`;
    expect(parseGeminiUsage(out)).toEqual({ inputTokens: 101, outputTokens: 22, cacheReadInputTokens: 50 });
  });

  it('undefined without stats', () => {
    expect(parseGeminiUsage('plain text answer')).toBeUndefined();
  });
});

describe('aider token lines', () => {
  it('k and M suffixes, thousands separators, cost of the session', () => {
    expect(
      parseAiderUsage(
        'Tokens: 2.3k sent, 145 received. Cost: $0.0012 message, $0.0012 session.\n' +
          'Tokens: 1.2M sent, 1,024 received. Cost: $3.50 message, $3.5012 session.\n',
      ),
    ).toEqual({ inputTokens: 1_202_300, outputTokens: 1169, costUsd: 3.5012 });
  });

  it('tokens without cost (a model with no known price)', () => {
    expect(parseAiderUsage('Tokens: 900 sent, 12 received.\n')).toEqual({
      inputTokens: 900,
      outputTokens: 12,
    });
  });

  it('undefined without a token line', () => {
    expect(parseAiderUsage('Aider v0.86.1\n')).toBeUndefined();
  });
});
