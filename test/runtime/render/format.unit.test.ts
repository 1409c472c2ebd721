import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../../src/core/envelope.js';
import { Replayer } from '../../../src/core/replayer.js';
import { createMemoryEventStore } from '../../../src/store/index.js';
import { AttemptFold, taskHistory } from '../../../src/core/attempt-history.js';
import type { Attempt } from '../../../src/core/attempt-history.js';
import {
  attemptCi,
  attemptEnd,
  attemptGate,
  attemptMerge,
  noteText,
  renderTaskStory,
} from '../../../src/runtime/render/task-story.js';
import { formatEventLine, keyFields } from '../../../src/runtime/render/log-lines.js';
import { firstDifference, join } from '../../../src/core/diff.js';
import { parseCount, parsePosition, positionAt } from '../../../src/runtime/operations/replay.js';
import { renderStatusText } from '../../../src/runtime/render/status-text.js';
import { statusDocument } from '../../../src/core/status-document.js';
import { withLease } from '../../../src/core/status-document.js';
import { calculatorPlan, iso, LogBuilder, writeCalculatorRun } from '../../commands/helpers/log-builder.js';
import * as format from '../../../src/runtime/render/format.js';
import { duration } from '../../../src/runtime/render/format.js';
import { fileLine } from '../../../src/plan/errors.js';

function calculatorEvents(): RecordedEvent[] {
  const store = createMemoryEventStore();
  writeCalculatorRun(store);
  return [...store.readAll()];
}

const event = (type: string, data: unknown, extra: Partial<RecordedEvent> = {}): RecordedEvent => ({
  position: 7,
  id: 'e7',
  streamId: 'task-T1',
  streamVersion: 3,
  type,
  data,
  metadata: { actor: 'orch' },
  recordedAt: '2025-01-01T00:00:07.000Z',
  ...extra,
});

describe('format', () => {
  it('writes durations: seconds, a story duration, elapsed time', () => {
    expect([format.seconds(0), format.seconds(61_000), format.seconds(1234)]).toEqual([
      '0.0s',
      '61.0s',
      '1.2s',
    ]);
    expect(format.duration(3200)).toBe('3.2s');
    expect(format.duration(59_940)).toBe('59.9s');
    expect(format.duration(65_000)).toBe('1m 5s');
    expect(format.duration(3_725_000)).toBe('1h 2m 5s');
    const elapsed = [-5, 59_999, 60_000, 185_000, 3_725_000].map(format.elapsed);
    expect(elapsed).toEqual(['0s', '59s', '1m00s', '3m05s', '1h02m']);
  });

  it('writes the time of day of an ISO time', () => {
    expect(format.timeOfDay('2025-01-01T12:03:04.567Z')).toBe('12:03:04');
  });

  it('writes tokens, shortened from a thousand on', () => {
    const shown = [0, 999, 1000, 12_345, 999_999, 1_000_000, 1_234_567].map(format.tokens);
    expect(shown).toEqual(['0', '999', '1.0k', '12.3k', '1000.0k', '1.00M', '1.23M']);
  });

  it('writes money to the hundredth of a cent, or to the cent', () => {
    expect([format.usd(0), format.usd(0.0123), format.usd(0.25)]).toEqual(['$0.0000', '$0.0123', '$0.2500']);
    expect([format.usd(1.5, 2), format.usd(0.004, 2), format.usd(12.345, 2)]).toEqual([
      '$1.50',
      '$0.00',
      '$12.35',
    ]);
  });

  it('draws bars', () => {
    expect(format.bar(0, 0)).toBe('[....................]');
    expect(format.bar(3, 3)).toBe('[####################]');
    expect(format.bar(1, 4)).toBe('[#####...............]');
    expect(format.bar(1, 4, 8)).toBe('[##......]');
  });

  it('lays out tables: padded columns, a free last column, an indent or a rule', () => {
    const rows = [
      ['T1', 'complete', 'fine'],
      ['T22', 'failed', ''],
    ];
    expect(format.table(['id', 'status', 'note'], rows)).toEqual([
      'id   status    note',
      'T1   complete  fine',
      'T22  failed',
    ]);
    expect(format.table(['id', 'status', 'note'], rows, { indent: '  ', rule: true })).toEqual([
      '  id   status    note',
      '  ---  --------  ----',
      '  T1   complete  fine',
      '  T22  failed',
    ]);
    expect(format.table(['a'], [])).toEqual(['a']);
  });

  it('writes file:line, the file alone for line 0 unless asked, the same from src/plan', () => {
    expect(format.fileLine({ file: 'roadmap.md', line: 12 })).toBe('roadmap.md:12');
    expect(format.fileLine({ file: 'plan.yaml', line: 0 })).toBe('plan.yaml');
    expect(format.fileLine({ file: 'plan.yaml', line: 0 }, { showZero: true })).toBe('plan.yaml:0');
    expect(format.fileLine).toBe(fileLine);
  });
});

describe('firstDifference', () => {
  it('names the path of the first difference, with brackets for ids that are not identifiers', () => {
    const a = { tasks: { '1.2': { context: { attempts: 2, on: ['ci'] } } }, position: 3 };
    const b = { tasks: { '1.2': { context: { attempts: 3, on: ['ci'] } } }, position: 3 };
    expect(firstDifference(a, b)).toEqual({ path: 'tasks["1.2"].context.attempts', left: 2, right: 3 });
    expect(firstDifference({ x: [1, 2] }, { x: [1, 2, 3] })).toEqual({
      path: 'x[2]',
      left: undefined,
      right: 3,
    });
    expect(firstDifference({ x: 1 }, { x: 1, y: 2 })).toEqual({ path: 'y', left: undefined, right: 2 });
    expect(firstDifference({ x: null }, { x: {} })).toEqual({ path: 'x', left: null, right: {} });
  });

  it('treats deep-equal values, undefined keys and -0 as equal', () => {
    expect(firstDifference({ a: [{ b: 'c' }], d: undefined }, { a: [{ b: 'c' }] })).toBeNull();
    expect(firstDifference({ n: -0 }, { n: 0 })).toBeNull();
    const state = new Replayer().applyAll(calculatorEvents()).state;
    expect(firstDifference(state, JSON.parse(JSON.stringify(state)))).toBeNull();
  });

  it('joins keys readably', () => {
    expect(join('', 'tasks')).toBe('tasks');
    expect(join('tasks', 'T-1')).toBe('tasks.T-1');
    expect(join('tasks', '../../x')).toBe('tasks["../../x"]');
  });
});

describe('formatEventLine', () => {
  it('shows position, time, stream, version, type, a non-orch actor and the key fields', () => {
    const exited = event('AgentExited', {
      spawnId: 's1',
      exitCode: 1,
      signal: null,
      durationMs: 61_000,
      outputTail: 'x',
      usage: { costUsd: 0.01 },
    });
    expect(formatEventLine(exited)).toBe(
      '#7  2025-01-01T00:00:07.000Z  task-T1 v3  AgentExited  spawn=s1 exit=1 duration=61.0s cost=$0.0100',
    );
    const report = event(
      'BreakpointReported',
      { spawnId: 's1', kind: 'blocked', on: ['ci', 'T2'], summary: 'waiting for "CI"\nnow' },
      { metadata: { actor: 'agent:s1' } },
    );
    expect(formatEventLine(report)).toContain(
      'BreakpointReported  by agent:s1  spawn=s1 kind=blocked on=ci,T2',
    );
    expect(formatEventLine(report)).toContain('summary="waiting for \\"CI\\" now"');
  });

  it('shows a stalled exit with its idle time and last output line', () => {
    const stalled = event('AgentExited', {
      spawnId: 's1',
      exitCode: null,
      signal: 'SIGTERM',
      durationMs: 905_000,
      outputTail: 'x',
      stalled: { idleMs: 900_000, lastOutputLine: 'Press any key' },
    });
    expect(keyFields(stalled)).toBe(
      'spawn=s1 signal=SIGTERM duration=905.0s stalled="idle 900.0s" last="Press any key"',
    );
  });

  it('summarises plans and falls back to scalar fields for types without a rule', () => {
    const [, planLoaded] = calculatorEvents();
    expect(keyFields(planLoaded!)).toBe('plan=Calculator milestones=2 phases=3 tasks=5');
    expect(keyFields(event('TaskFailed', { taskId: 'T1', reason: 'retries used up' }))).toBe(
      'taskId=T1 reason="retries used up"',
    );
    expect(keyFields(event('SomethingNew', 'not an object'))).toBe('');
  });
});

describe('the task story (orch log --task)', () => {
  const usage = (a: Attempt | undefined) => (a?.end?.kind === 'exited' ? a.end.usage : null);

  it('tells every attempt of a task: spawn, start, end, exit, gate, merge, usage, retries', () => {
    const story = taskHistory(calculatorEvents(), 'T002');
    expect(
      story.attempts.map((a) => [a.attempt, a.spawnId, attemptEnd(a), attemptGate(a), attemptMerge(a)]),
    ).toEqual([
      [1, 's2', 'exit code 1', null, null],
      [2, 's3', 'exit code 0', 'failed (exit code 1)', null],
      [3, 's4', 'exit code 0', 'passed in 4.2s', 'merged as c0ffees4'],
    ]);
    expect(usage(story.attempts[0])).toEqual({ inputTokens: 1200, outputTokens: 800, costUsd: 0.02 });
    const stalled = {
      ...story.attempts[0]!,
      end: {
        position: 9,
        at: iso(9),
        kind: 'exited' as const,
        exitCode: null,
        signal: 'SIGTERM',
        durationMs: 1_500,
        outputTail: null,
        usage: null,
        stalled: { idleMs: 1_000, lastOutputLine: 'Continue? [y/N]' },
      },
    };
    expect(attemptEnd(stalled)).toBe('stalled (idle 1.0s, last line: Continue? [y/N]), killed by SIGTERM');
    expect(
      attemptEnd({ ...stalled, end: { ...stalled.end, stalled: { idleMs: 2_000, lastOutputLine: '' } } }),
    ).toBe('stalled (idle 2.0s, it printed nothing), killed by SIGTERM');
    const text = renderTaskStory(story);
    expect(text).toMatch(/^Task T002: 3 attempts/);
    expect(text).toContain('retry scheduled: attempt 2 not before');
    expect(text).toContain('took 1m 1s · exit code 1');
    expect(text).toContain('usage: 1200 input tokens, 800 output tokens, $0.0200');
  });

  it('shows breakpoints and a block on CI', () => {
    const stream = calculatorEvents().filter((e) => e.streamId === 'task-T003');
    const story = new AttemptFold().applyAll(stream).history('T003');
    expect(
      story.attempts[0]?.breakpoints.map(({ kind, summary, on, url }) => ({ kind, summary, on, url })),
    ).toEqual([{ kind: 'blocked', summary: 'needs CI', on: ['ci'], url: null }]);
    expect(renderTaskStory(story)).toContain('breakpoint blocked on ci: needs CI');
    const first = story.timeline[0];
    expect(first?.kind === 'attempt' ? null : noteText(first!)).toMatch(/TaskUnblocked: dependencies$/);
  });

  it("names the CI result that judged each merge, as orch's fold judged it", () => {
    const store = createMemoryEventStore();
    const b = new LogBuilder(store);
    const c1 = 'a'.repeat(40);
    const c2 = 'b'.repeat(40);
    const other = 'c'.repeat(40);
    const merged = (taskId: string, spawnId: string, attempt: number, commit: string) => {
      b.attempt(taskId, spawnId, attempt, 0);
      b.add('GatePassed', { taskId, spawnId, durationMs: 10 });
      b.add('MergeRequested', { taskId, spawnId, branch: `orch/${taskId}` });
      return b.add('BranchMerged', { taskId, spawnId, commit });
    };
    b.add('PlanLoaded', { plan: calculatorPlan() });
    for (const taskId of ['T001', 'T002', 'T004']) b.add('TaskUnblocked', { taskId, reason: 'dependencies' });
    merged('T001', 's1', 1, other); // another task's merge, before T002's
    merged('T002', 's2', 1, c1);
    const pass = b.add('CiCompleted', { result: 'pass', ref: other }, 'ci'); // judges T001's merge only
    const fail = b.add('CiCompleted', { result: 'fail', ref: c1, url: 'https://ci/4' }, 'ci');
    b.add('TaskReopened', {
      taskId: 'T002',
      spawnId: 's2',
      reason: 'CI failed after its merge',
      ciPosition: fail,
    });
    b.add('RetryScheduled', { taskId: 'T002', attempt: 2, notBefore: iso(b.now), reason: 'CI failed' });
    merged('T002', 's3', 2, c2);
    const external = b.add('CiCompleted', { result: 'pass', ref: 'integration' }, 'ci'); // by branch: judges all
    merged('T004', 's4', 1, 'd'.repeat(40)); // after the last result: waits for its own
    const log = [...store.readAll()];

    const story = taskHistory(log, 'T002');
    expect(story.attempts.map(attemptCi)).toEqual([
      `fail on aaaaaaaaaaaa (#${fail}) https://ci/4`,
      `pass on integration (#${external})`,
    ]);
    expect(renderTaskStory(story)).toContain(`  ci: fail on aaaaaaaaaaaa (#${fail}) https://ci/4`);
    expect(taskHistory(log, 'T001').attempts.map(attemptCi)).toEqual([`pass on cccccccccccc (#${pass})`]);
    expect(taskHistory(log, 'T004').attempts.map(attemptCi)).toEqual([null]);
    // Without the rest of the log (or before any result), no attempt claims one.
    const own = log.filter((e) => e.streamId === 'task-T002');
    expect(new AttemptFold().applyAll(own).history('T002').attempts.map(attemptCi)).toEqual([null, null]);
    expect(
      taskHistory(
        log.filter((e) => e.position < pass),
        'T002',
      ).attempts.map(attemptCi),
    ).toEqual([null]);
  });

  it('formats durations', () => {
    expect(duration(3200)).toBe('3.2s');
    expect(duration(65_000)).toBe('1m 5s');
    expect(duration(3_725_000)).toBe('1h 2m 5s');
  });
});

describe('status text and JSON', () => {
  const state = new Replayer().applyAll(calculatorEvents()).state;
  const doc = statusDocument(state);

  it('adds totals to the status view', () => {
    expect(doc.totals).toEqual({
      tasks: { pending: 0, ready: 0, running: 2, blocked: 0, complete: 3, failed: 0 },
      attempts: 8,
      agents: { live: 2, total: 8 },
      costUsd: doc.costUsd,
    });
    expect(doc.costUsd).toBeCloseTo(0.13);
  });

  it('appends the lease as the last key without reparsing', () => {
    const json = withLease(JSON.stringify(doc), null);
    expect(JSON.parse(json)).toEqual({ ...doc, lease: null });
    expect(json.endsWith(',"lease":null}')).toBe(true);
  });

  it('renders plan, run, lease, totals, the tree and the live agents', () => {
    const text = renderStatusText(doc, {
      pid: 42,
      runId: 'r1',
      host: 'h',
      acquiredAt: '2025-01-01T00:00:00.000Z',
      alive: false,
    });
    expect(text).toContain('Calculator  (.state/plans)  ·  log position 60');
    expect(text).toContain(
      'Run r1: running (started 2025-01-01T00:00:00.000Z)  ·  lease: pid 42 (dead), run r1',
    );
    expect(text).toContain('Tasks: 5 tasks (2 running, 3 complete)  ·  attempts 8  ·  cost $0.13');
    expect(text).toContain('M1  Core  [complete]  PR https://example.test/pr/1 (milestone/M1)');
    // Each phase and task that used any shows its cost.
    expect(text).toContain('    T002  complete  3 attempts  $0.07  Implement add and subtract (implementer)');
    expect(text).toContain('  S002  Phase S002  [complete]  $0.08  ← S001');
    expect(text).toContain('  S003  Phase S003  [in_progress]  ← S002');
    expect(text).toContain('Live agents (2):\n  s7  T004  attempt 1  running  pid 40001');
    expect(renderStatusText(doc)).not.toContain('lease');
  });
});

describe('replay targets', () => {
  it('accepts positions from 0 to the end and refuses others with a clear message', () => {
    expect(parsePosition('0', 10, '--to')).toBe(0);
    expect(parsePosition(' 10 ', 10, '--to')).toBe(10);
    expect(() => parsePosition('11', 10, '--to')).toThrow(
      '--to 11 is beyond the end of the log (the last position is 10)',
    );
    expect(() => parsePosition('-1', 10, '--to')).toThrow('--to -1 is negative');
    expect(() => parsePosition('abc', 10, '--to')).toThrow('--to "abc" is not a log position');
    expect(() => parseCount('1.5', '--since')).toThrow('--since "1.5" is not a whole number');
  });

  it('--at picks the last event recorded at or before the time', () => {
    const store = createMemoryEventStore();
    writeCalculatorRun(store);
    // Events are a second apart from 2025-01-01T00:00:01Z.
    expect(positionAt(store, '2025-01-01T00:00:05.000Z')).toBe(5);
    expect(positionAt(store, '2025-01-01T00:00:05.999Z')).toBe(5);
    expect(positionAt(store, '2025-01-01T01:00:05+01:00')).toBe(5);
    expect(positionAt(store, '2024-12-31')).toBe(0);
    expect(positionAt(store, '2030-01-01')).toBe(60);
    expect(() => positionAt(store, 'yesterday')).toThrow('--at "yesterday" is not an ISO-8601 time');
  });
});

describe('terminalSafe', () => {
  const { terminalSafe } = format;

  it('shows every control character but newline and tab escaped', () => {
    expect(terminalSafe('a\x1b[2Jb')).toBe('a\\x1b[2Jb');
    expect(terminalSafe('\x1b]52;c;aGk=\x07')).toBe('\\x1b]52;c;aGk=\\x07');
    expect(terminalSafe('\x1b]8;;https://x\x1b\\t\x1b]8;;\x1b\\')).toBe(
      '\\x1b]8;;https://x\\x1b\\t\\x1b]8;;\\x1b\\',
    );
    expect(terminalSafe('over\rwrite')).toBe('over\\rwrite');
    expect(terminalSafe('lone \x1b')).toBe('lone \\x1b');
    expect(terminalSafe('\x00\x08\x0b\x0c\x1f\x7f')).toBe('\\x00\\x08\\x0b\\x0c\\x1f\\x7f');
    expect(terminalSafe('line\n\tindented')).toBe('line\n\tindented');
  });

  it('escapes C1 controls and bidi overrides and isolates', () => {
    expect(terminalSafe('\x9b2J \x85 \x80 \x9f')).toBe('\\x9b2J \\x85 \\x80 \\x9f');
    expect(terminalSafe('a\u202eb\u2066c\u2069d\u202a')).toBe('a\\u202eb\\u2066c\\u2069d\\u202a');
  });

  it('leaves ordinary text as it is, and is idempotent', () => {
    const ordinary = 'T003 ▶ attempt 2 (implementer) · $0.0123 — C:\\path\\file "quoted" é 漢字 🙂 \u00a0';
    expect(terminalSafe(ordinary)).toBe(ordinary);
    const hostile = 'x\x1b[2J\x07\r\x9b\u202e';
    expect(terminalSafe(terminalSafe(hostile))).toBe(terminalSafe(hostile));
  });

  it('is what the log lines use: a value with control characters shows escaped, quoted as before', () => {
    const event = {
      position: 1,
      recordedAt: '2025-01-01T00:00:00.000Z',
      streamId: 'task-T1',
      streamVersion: 1,
      type: 'BreakpointReported',
      data: { spawnId: 's1', kind: 'complete', summary: 'done \x1b]0;title\x07 "now"' },
      metadata: {},
    } as unknown as RecordedEvent;
    expect(formatEventLine(event)).toBe(
      '#1  2025-01-01T00:00:00.000Z  task-T1 v1  BreakpointReported  spawn=s1 kind=complete summary="done \\x1b]0;title\\x07 \\"now\\""',
    );
  });
});
