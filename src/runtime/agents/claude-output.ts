/**
 * Reading what Claude Code reports. With `--output-format json` Claude Code prints one
 * result object when it finishes (`stream-json` prints it as the last line):
 * `{"type":"result","subtype":"success","is_error":false,"result":"…","session_id":"…",
 *   "num_turns":3,"duration_ms":…,"total_cost_usd":0.104,"usage":{"input_tokens":2,
 *   "output_tokens":9,"cache_creation_input_tokens":7924,"cache_read_input_tokens":13368}}`.
 * When a subscription's usage limit is hit, the result text (or stderr) says so, in one of
 * the shapes Claude Code has used: `Claude AI usage limit reached|<epoch seconds>`,
 * `Claude usage limit reached. Your limit will reset at 3pm (America/Bogota).`,
 * `You've hit your limit · resets 1:30am (Asia/Dhaka)`, `… resets Apr 23 at 4pm (America/Recife)`;
 * API throttling shows as `rate_limit_error` (HTTP 429) with no reset time.
 */

/** Token and cost figures an agent reported for one attempt. */
export interface AgentUsage {
  inputTokens?: number;
  outputTokens?: number;
  cacheCreationInputTokens?: number;
  cacheReadInputTokens?: number;
  /** `total_cost_usd` as reported by Claude Code. */
  costUsd?: number;
  numTurns?: number;
  /** Claude Code's own `duration_ms`. */
  durationMs?: number;
}

/** The parts of Claude Code's JSON result orch uses. */
export interface ClaudeResult {
  isError: boolean;
  subtype?: string;
  /** The final answer text (`result`). */
  text?: string;
  sessionId?: string;
  usage: AgentUsage;
}

/** An agent stopped by a usage or rate limit; `resetAt` (ISO-8601) when the limit said when it lifts. */
export interface RateLimitInfo {
  message: string;
  resetAt?: string;
}

/**
 * Finds Claude Code's result object in its stdout (a single JSON document, or the last
 * `"type":"result"` line of stream-json) and extracts usage. `undefined` if there is none.
 *
 * @example
 * const r = parseClaudeResult('{"type":"result","is_error":false,"result":"ok","total_cost_usd":0.5,"usage":{"input_tokens":10,"output_tokens":20}}');
 * r?.usage.costUsd; // 0.5
 */
export function parseClaudeResult(stdout: string): ClaudeResult | undefined {
  const whole = tryParseObject(stdout.trim());
  if (whole && whole['type'] === 'result') return toResult(whole);
  const lines = stdout.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (!line.startsWith('{')) continue;
    const obj = tryParseObject(line);
    if (obj && obj['type'] === 'result') return toResult(obj);
  }
  return undefined;
}

function toResult(obj: Record<string, unknown>): ClaudeResult {
  const usageObj = (typeof obj['usage'] === 'object' && obj['usage'] !== null ? obj['usage'] : {}) as Record<
    string,
    unknown
  >;
  const usage: AgentUsage = {};
  setNum(usage, 'inputTokens', usageObj['input_tokens']);
  setNum(usage, 'outputTokens', usageObj['output_tokens']);
  setNum(usage, 'cacheCreationInputTokens', usageObj['cache_creation_input_tokens']);
  setNum(usage, 'cacheReadInputTokens', usageObj['cache_read_input_tokens']);
  // Older Claude Code versions called the cost `cost_usd`.
  setNum(usage, 'costUsd', obj['total_cost_usd'] ?? obj['cost_usd']);
  setNum(usage, 'numTurns', obj['num_turns']);
  setNum(usage, 'durationMs', obj['duration_ms']);
  const result: ClaudeResult = { isError: obj['is_error'] === true, usage };
  if (typeof obj['subtype'] === 'string') result.subtype = obj['subtype'];
  if (typeof obj['result'] === 'string') result.text = obj['result'];
  if (typeof obj['session_id'] === 'string') result.sessionId = obj['session_id'];
  return result;
}

function setNum(target: AgentUsage, key: keyof AgentUsage, value: unknown): void {
  if (typeof value === 'number' && Number.isFinite(value)) target[key] = value;
}

function tryParseObject(text: string): Record<string, unknown> | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const LIMIT_PATTERNS = [
  /usage limit reached[^\n]*/i,
  /you(?:'|’)ve hit your limit[^\n]*/i,
  /\blimit reached\s*[·∙•|-]\s*resets?[^\n]*/i,
  /rate_limit_error[^\n]*/i,
  /rate limit (?:exceeded|reached)[^\n]*/i,
];

/**
 * Recognises a usage/rate-limit message in agent output and works out when the limit
 * resets (relative to `now`). `undefined` when the text is not a limit message.
 *
 * @example
 * detectRateLimit('Claude AI usage limit reached|1750708800', new Date())?.resetAt; // '2025-06-23T20:00:00.000Z'
 */
export function detectRateLimit(text: string, now: Date): RateLimitInfo | undefined {
  for (const pattern of LIMIT_PATTERNS) {
    const m = pattern.exec(text);
    if (!m) continue;
    const message = m[0].trim().slice(0, 300);
    const reset = parseResetTime(m[0], now);
    return reset ? { message, resetAt: reset.toISOString() } : { message };
  }
  return undefined;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * The reset instant named in a limit message: `|<epoch>`, or a wall-clock time such as
 * `reset at 3pm (America/Bogota)`, `resets 1:30am (Asia/Dhaka)`, `resets Apr 23 at 4pm (UTC)`
 * (the next such time after `now`; the local time zone when none is named).
 *
 * @example
 * parseResetTime('resets 5pm (UTC)', new Date('2030-01-01T12:00:00Z'))?.toISOString(); // '2030-01-01T17:00:00.000Z'
 */
export function parseResetTime(text: string, now: Date): Date | undefined {
  const epoch = /\|\s*(\d{10,13})\b/.exec(text);
  if (epoch) {
    const n = Number(epoch[1]);
    return new Date(epoch[1]!.length === 13 ? n : n * 1000);
  }
  const m =
    /resets?\s+(?:at\s+)?(?:(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(\d{1,2}),?\s+(?:at\s+)?)?(\d{1,2})(?::(\d{2}))?\s*([ap]\.?m\.?)?(?:\s*\(([^)]+)\))?/i.exec(
      text,
    );
  if (!m) return undefined;
  let hour = Number(m[3]);
  const minute = m[4] === undefined ? 0 : Number(m[4]);
  const ampm = m[5]?.replace(/\./g, '').toLowerCase();
  if (ampm === undefined && m[4] === undefined) return undefined; // a bare number is not a time
  if (ampm === 'pm' && hour < 12) hour += 12;
  if (ampm === 'am' && hour === 12) hour = 0;
  if (hour > 23 || minute > 59) return undefined;
  const zone = m[6]?.trim();
  try {
    const today = zonedParts(now, zone);
    let month = today.month;
    let day = today.day;
    if (m[1] !== undefined) {
      month = MONTHS.indexOf(m[1].toLowerCase()) + 1;
      day = Number(m[2]);
    }
    let candidate = zonedToUtc(today.year, month, day, hour, minute, zone);
    if (m[1] === undefined) {
      if (candidate.getTime() <= now.getTime())
        candidate = zonedToUtc(today.year, month, day + 1, hour, minute, zone);
    } else if (candidate.getTime() < now.getTime() - 86_400_000) {
      candidate = zonedToUtc(today.year + 1, month, day, hour, minute, zone);
    }
    return Number.isNaN(candidate.getTime()) ? undefined : candidate;
  } catch {
    // An unknown time zone name: the limit is still real, only its end is unknown.
    return undefined;
  }
}

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

function zonedParts(date: Date, timeZone: string | undefined): WallClock {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
  }).formatToParts(date);
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value);
  return {
    year: get('year'),
    month: get('month'),
    day: get('day'),
    hour: get('hour'),
    minute: get('minute'),
  };
}

function offsetMs(date: Date, timeZone: string | undefined): number {
  const p = zonedParts(date, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute);
  return asUtc - Math.floor(date.getTime() / 60_000) * 60_000;
}

function zonedToUtc(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  zone: string | undefined,
): Date {
  const guess = Date.UTC(year, month - 1, day, hour, minute);
  const first = guess - offsetMs(new Date(guess), zone);
  // Re-evaluate once so a DST change between the guess and the answer is accounted for.
  return new Date(guess - offsetMs(new Date(first), zone));
}
