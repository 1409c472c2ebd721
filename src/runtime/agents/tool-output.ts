import path from 'node:path';
import type { AgentUsage } from './claude-output.js';

/**
 * Reading the usage other agent tools report (Claude Code's is in `claude-output.ts`). The
 * formats, and the versions of the tools' docs they were taken from, are in docs/cli.md
 * ("Agent presets"):
 *
 * - Codex (`codex exec --json`): JSON Lines events; each `turn.completed` carries
 *   `usage: { input_tokens, cached_input_tokens, output_tokens }`.
 * - Gemini CLI (`--output-format json`): one object `{ response, stats: { models: { <model>:
 *   { tokens: { prompt, candidates, total, cached, thoughts, tool } } } } }`.
 * - aider: a line per model call, `Tokens: 2.3k sent, 145 received. Cost: $0.0012 message,
 *   $0.0056 session.`
 */

/** The agent tools whose output orch reads. */
export type AgentKind = 'claude' | 'codex' | 'gemini' | 'aider';

/**
 * Which tool argv[0] is, by its base name (`codex`, `gemini`, `aider`, and Claude Code as in
 * `isClaudeCommand`); `undefined` for any other program.
 *
 * @example
 * agentKindOf(['/usr/local/bin/codex', 'exec']); // 'codex'
 */
export function agentKindOf(argv: readonly string[]): AgentKind | undefined {
  const first = argv[0];
  if (first === undefined) return undefined;
  const base = path
    .basename(first)
    .replace(/\.(?:exe|cmd)$/i, '')
    .toLowerCase();
  if (base === 'claude' || base === 'claude-code') return 'claude';
  if (base === 'codex' || base === 'gemini' || base === 'aider') return base;
  return undefined;
}

/**
 * Sums the `usage` of every `turn.completed` event in Codex's `--json` output (one turn for
 * `codex exec`). `cached_input_tokens` are part of `input_tokens` and recorded apart as well.
 *
 * @example
 * parseCodexUsage('{"type":"turn.completed","usage":{"input_tokens":10,"cached_input_tokens":4,"output_tokens":3}}');
 * // { inputTokens: 10, cacheReadInputTokens: 4, outputTokens: 3 }
 */
export function parseCodexUsage(stdout: string): AgentUsage | undefined {
  let usage: AgentUsage | undefined;
  for (const raw of stdout.split('\n')) {
    const line = raw.trim();
    if (!line.startsWith('{') || !line.includes('turn.completed')) continue;
    const obj = parseObject(line);
    if (obj?.['type'] !== 'turn.completed') continue;
    const u = asObject(obj['usage']);
    if (!u) continue;
    usage ??= {};
    add(usage, 'inputTokens', u['input_tokens']);
    add(usage, 'cacheReadInputTokens', u['cached_input_tokens']);
    add(usage, 'outputTokens', u['output_tokens']);
  }
  return usage;
}

/**
 * Gemini CLI's JSON result: the token counts of every model in `stats.models` summed
 * (`prompt` → input, `candidates` → output, `cached` → cache reads).
 *
 * @example
 * parseGeminiUsage('{"response":"ok","stats":{"models":{"gemini-2.5-pro":{"tokens":{"prompt":100,"candidates":20,"total":120}}}}}');
 * // { inputTokens: 100, outputTokens: 20 }
 */
export function parseGeminiUsage(stdout: string): AgentUsage | undefined {
  const obj = lastJsonObject(stdout, (o) => 'stats' in o || 'response' in o);
  const models = asObject(asObject(obj?.['stats'])?.['models']);
  if (!models) return undefined;
  const usage: AgentUsage = {};
  for (const model of Object.values(models)) {
    const tokens = asObject(asObject(model)?.['tokens']);
    if (!tokens) continue;
    add(usage, 'inputTokens', tokens['prompt']);
    add(usage, 'outputTokens', tokens['candidates']);
    add(usage, 'cacheReadInputTokens', tokens['cached']);
  }
  return usage;
}

const AIDER_TOKENS =
  /Tokens:\s*([\d.,]+)\s*([kKmM]?)\s+sent(?:,\s*([\d.,]+)\s*([kKmM]?)\s+cache write)?(?:,\s*([\d.,]+)\s*([kKmM]?)\s+cache hit)?,\s*([\d.,]+)\s*([kKmM]?)\s+received\.(?:\s*Cost:\s*\$([\d.,]+)\s+message,\s*\$([\d.,]+)\s+session\.)?/g;

/**
 * aider's token lines: sent and received summed over every line (one per model call), the
 * cost as the last line's `session` figure (the whole run's), or the sum of the `message`
 * figures when no session figure is printed.
 *
 * @example
 * parseAiderUsage('Tokens: 2.3k sent, 145 received. Cost: $0.0012 message, $0.0056 session.');
 * // { inputTokens: 2300, outputTokens: 145, costUsd: 0.0056 }
 */
export function parseAiderUsage(output: string): AgentUsage | undefined {
  let usage: AgentUsage | undefined;
  let session: number | undefined;
  let messages = 0;
  for (const m of output.matchAll(AIDER_TOKENS)) {
    usage ??= {};
    add(usage, 'inputTokens', count(m[1], m[2]));
    if (m[3] !== undefined) add(usage, 'cacheCreationInputTokens', count(m[3], m[4]));
    if (m[5] !== undefined) add(usage, 'cacheReadInputTokens', count(m[5], m[6]));
    add(usage, 'outputTokens', count(m[7], m[8]));
    if (m[9] !== undefined) messages += Number(m[9].replace(/,/g, ''));
    if (m[10] !== undefined) session = Number(m[10].replace(/,/g, ''));
  }
  if (usage && (session !== undefined || messages > 0)) {
    const cost = session ?? messages;
    if (Number.isFinite(cost)) usage.costUsd = cost;
  }
  return usage;
}

/** Usage from the output of a tool of kind `kind` (Claude Code's is read by `parseClaudeResult`). */
export function parseToolUsage(kind: Exclude<AgentKind, 'claude'>, output: string): AgentUsage | undefined {
  if (kind === 'codex') return parseCodexUsage(output);
  if (kind === 'gemini') return parseGeminiUsage(output);
  return parseAiderUsage(output);
}

function count(digits: string | undefined, suffix: string | undefined): number {
  const n = Number((digits ?? '').replace(/,/g, ''));
  const scale = suffix?.toLowerCase() === 'k' ? 1_000 : suffix?.toLowerCase() === 'm' ? 1_000_000 : 1;
  return Math.round(n * scale);
}

function add(target: AgentUsage, key: keyof AgentUsage, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) return;
  target[key] = (target[key] ?? 0) + value;
}

function asObject(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    return asObject(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** The whole output as one JSON object, else the last `{`-line (or `{`-started block) that is one and passes `accept`. */
function lastJsonObject(
  output: string,
  accept: (o: Record<string, unknown>) => boolean,
): Record<string, unknown> | undefined {
  const whole = parseObject(output.trim());
  if (whole && accept(whole)) return whole;
  const lines = output.split('\n');
  // A pretty-printed object starts with a line that is just `{`: try every start, last first.
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (!line.startsWith('{')) continue;
    const single = parseObject(line);
    if (single && accept(single)) return single;
    if (line !== '{') continue;
    const block = parseObject(lines.slice(i).join('\n').trim());
    if (block && accept(block)) return block;
  }
  return undefined;
}
