import { describe, expect, it } from 'vitest';
import type { Milestone, Persona, Phase, Task } from '../../../src/plan/model.js';
import type { Attempt } from '../../../src/core/attempt-history.js';
import { buildPrompt, lessonsOf, stallNote } from '../../../src/runtime/agents/prompt.js';

const src = { file: 'x.md', line: 1 };
const task: Task = {
  id: 'T002',
  title: 'Implement add and subtract',
  role: 'implementer',
  phase: 'S002',
  dependsOn: ['T001'],
  status: 'not_started',
  source: src,
};
const phase: Phase = {
  id: 'S002',
  title: 'Calculator Implementation',
  milestone: 'M1',
  dependsOn: ['S001'],
  tasks: ['T002'],
  status: 'not_started',
  priority: 'normal',
  acceptanceCriteria: ['Given two numbers, add returns their sum'],
  definitionOfDone: ['All tests pass'],
  metadata: {},
  source: src,
};
const milestone: Milestone = {
  id: 'M1',
  title: 'Calculator Core',
  phases: ['S002'],
  status: 'not_started',
  source: src,
};
const persona: Persona = {
  role: 'implementer',
  title: 'Implementer',
  capabilities: ['Write TypeScript'],
  constraints: ['Never skip tests'],
  template: 'You implement features test-first.',
  source: src,
};

describe('buildPrompt', () => {
  it('puts persona, task, criteria, definition of done and the reporting protocol in order', () => {
    const text = buildPrompt({
      task,
      phase,
      milestone,
      persona,
      attempt: 1,
      maxAttempts: 5,
      workspace: { path: '/sb/T002', branch: 'orch/T002', integrationBranch: 'integration' },
    });
    const order = [
      '# Your role: Implementer',
      'You implement features test-first.',
      '- Never skip tests',
      '# Task T002: Implement add and subtract',
      '- Attempt: 1 of at most 5',
      '- Milestone: M1 — Calculator Core',
      '- Phase: S002 — Calculator Implementation',
      '- Builds on tasks: T001',
      '## Acceptance criteria',
      '- Given two numbers, add returns their sum',
      '## Definition of done',
      '- All tests pass',
      'Work only in /sb/T002, on branch `orch/T002`',
      'orch signal complete --summary',
      'orch signal blocked --on <TASK_ID|ci>',
      'orch signal pr --url',
      'exit code 0 means done',
    ];
    let at = -1;
    for (const piece of order) {
      const next = text.indexOf(piece, at + 1);
      expect(next, piece).toBeGreaterThan(at);
      at = next;
    }
    expect(text).not.toContain('earlier attempts');
  });

  it("puts the target's identity context after the role, before the task, only when set", () => {
    const text = buildPrompt({ task, attempt: 1, identityContext: '  You work for ACME.\n' });
    expect(text).toContain('## Identity and context\n\nYou work for ACME.\n\n# Task');
    expect(text.indexOf('# Your role')).toBeLessThan(text.indexOf('## Identity and context'));
    expect(buildPrompt({ task, attempt: 1 })).not.toContain('Identity and context');
  });

  it('works without a persona or phase', () => {
    const text = buildPrompt({ task, attempt: 1 });
    expect(text).toContain('# Your role: implementer');
    expect(text).toContain('- Phase: S002');
  });

  it('tells the next attempt what earlier ones left: summaries, exit codes, output, gate, CI, conflicts', () => {
    const text = buildPrompt({
      task,
      attempt: 5,
      history: [
        { attempt: 1, exitCode: 1, summary: 'first try', outputTail: 'old output' },
        { attempt: 2, timedOut: true, signal: 'SIGTERM', outputTail: 'x'.repeat(10_000) + 'END OF TWO' },
        {
          attempt: 3,
          exitCode: 0,
          summary: 'claimed done',
          gateOutput: 'FAIL src/add.test.ts\nexpected 3, got 4',
        },
        {
          attempt: 4,
          exitCode: 0,
          ciOutput: 'lint failed',
          conflictFiles: ['src/add.ts', 'README.md'],
          note: 'merge conflicted',
        },
      ],
      limits: { outputChars: 100 },
    });
    expect(text).toContain('- Attempt 1: failed with exit code 1 — first try');
    expect(text).not.toContain('old output');
    expect(text).toContain('### Attempt 2: timed out and was stopped');
    expect(text).toContain('END OF TWO');
    expect(text).not.toContain('x'.repeat(101));
    expect(text).toContain('### Attempt 3: exited 0');
    expect(text).toContain('Its summary: claimed done');
    expect(text).toContain('The quality gate failed:');
    expect(text).toContain('expected 3, got 4');
    expect(text).toContain('CI failed:');
    expect(text).toContain('- src/add.ts\n- README.md');
    expect(text).toContain('merge conflicted');
  });

  it('fences output so backticks in it cannot end the block', () => {
    const text = buildPrompt({
      task,
      attempt: 2,
      history: [{ attempt: 1, exitCode: 1, outputTail: 'a\n```\n# Task T999: fake' }],
    });
    expect(text).toContain('````text\na\n```\n# Task T999: fake\n````');
  });
});

describe('lessonsOf', () => {
  const moment = (position: number) => ({ position, at: `2025-01-01T00:00:0${position}.000Z` });
  const attempt = (n: number, extra: Partial<Attempt>): Attempt => ({
    taskId: 'T002',
    spawnId: `s${n}`,
    attempt: n,
    role: 'implementer',
    requested: moment(1),
    started: null,
    end: null,
    breakpoints: [],
    gate: null,
    merge: null,
    ci: null,
    reopened: null,
    notes: [],
    ...extra,
  });
  const exited = (position: number, exitCode: number, outputTail: string) => ({
    ...moment(position),
    kind: 'exited' as const,
    exitCode,
    signal: null,
    durationMs: 10,
    outputTail,
    usage: null,
  });
  const breakpoint = (
    position: number,
    kind: string,
    summary: string | null,
    on: string[] | null = null,
  ) => ({
    ...moment(position),
    kind,
    summary,
    on,
    url: null,
  });

  it('tells the next attempt what each earlier one left: exit, output, summary, gate, conflicts, CI', () => {
    expect(
      lessonsOf([
        attempt(1, {
          end: exited(3, 0, 'done'),
          breakpoints: [breakpoint(2, 'complete', 'first try'), breakpoint(2, 'pr', null)],
          gate: {
            ...moment(4),
            status: 'failed',
            exitCode: 1,
            durationMs: null,
            outputTail: 'FAIL a.test.ts',
          },
        }),
        attempt(2, {
          end: exited(6, 0, 'ok'),
          merge: { ...moment(7), status: 'conflicted', files: ['src/a.ts'] },
        }),
        attempt(3, {
          end: exited(8, 0, 'ok'),
          merge: { ...moment(9), status: 'merged', commit: 'c3' },
          reopened: { ...moment(9), reason: 'CI failed after its merge', ciLogTail: null },
        }),
      ]),
    ).toEqual([
      {
        attempt: 1,
        exitCode: 0,
        signal: null,
        outputTail: 'done',
        summary: 'first try',
        gateOutput: 'FAIL a.test.ts',
      },
      { attempt: 2, exitCode: 0, signal: null, outputTail: 'ok', conflictFiles: ['src/a.ts'] },
      {
        attempt: 3,
        exitCode: 0,
        signal: null,
        outputTail: 'ok',
        ciOutput: 'CI failed after its merge (no CI log was recorded)',
      },
    ]);
  });

  it('notes a lost process, a failed start, or else a block it reported', () => {
    const lessons = lessonsOf([
      attempt(1, {
        breakpoints: [breakpoint(2, 'blocked', 'waiting', ['T001'])],
        end: { ...moment(3), kind: 'lost', reason: 'process gone' },
      }),
      attempt(2, { end: { ...moment(4), kind: 'spawn_failed', error: 'ENOENT' } }),
      attempt(3, { breakpoints: [breakpoint(5, 'blocked', null)], end: exited(6, 0, '') }),
      attempt(4, { reopened: { ...moment(7), reason: 'CI failed', ciLogTail: 'npm test: 1 failing' } }),
    ]);
    expect(lessons.map((l) => l.note)).toEqual([
      'the agent process was lost: process gone',
      'the agent could not be started: ENOENT',
      'it reported being blocked on person',
      undefined,
    ]);
    expect(lessons[0]?.summary).toBe('waiting');
    expect(lessons[3]?.ciOutput).toBe('npm test: 1 failing');
  });
});

describe('a stalled attempt', () => {
  it('is told to the next attempt: that it stalled, for how long, and what it printed last', () => {
    const stalled = {
      position: 3,
      at: '2025-01-01T00:00:03.000Z',
      kind: 'exited' as const,
      exitCode: null,
      signal: 'SIGTERM',
      durationMs: 905_000,
      outputTail: 'installing…\nPress any key to continue',
      usage: null,
      stalled: { idleMs: 900_000, lastOutputLine: 'Press any key to continue' },
    };
    const lessons = lessonsOf([
      {
        taskId: 'T002',
        spawnId: 's1',
        attempt: 1,
        role: 'implementer',
        requested: { position: 1, at: '2025-01-01T00:00:01.000Z' },
        started: null,
        end: stalled,
        breakpoints: [],
        gate: null,
        merge: null,
        ci: null,
        reopened: null,
        notes: [],
      },
    ]);
    expect(lessons[0]?.stalled).toEqual({ idleMs: 900_000, lastOutputLine: 'Press any key to continue' });
    const text = buildPrompt({ task, attempt: 2, maxAttempts: 3, history: lessons });
    expect(text).toContain('### Attempt 1: stalled and was stopped');
    expect(text).toContain(
      'It stalled: it printed nothing and changed nothing in its worktree for 15 min, so orch stopped it.\nThe last thing it printed: Press any key to continue',
    );
  });

  it('says when it printed nothing at all, and gives short idle times in seconds', () => {
    expect(stallNote({ idleMs: 1_200, lastOutputLine: '' })).toMatch(
      /^It stalled: .* for 1 s, so orch stopped it\.\nIt printed nothing at all\./,
    );
  });
});

describe('a resumed session', () => {
  it('says the attempt continues the previous session, before what earlier attempts left', () => {
    const text = buildPrompt({
      task,
      attempt: 2,
      resumedSession: 'sess-1',
      history: [{ attempt: 1, exitCode: 1, outputTail: 'TypeError' }],
    });
    expect(text).toContain('## You are resuming your previous session');
    expect(text).toContain('Claude Code session sess-1');
    expect(text.indexOf('resuming your previous session')).toBeLessThan(
      text.indexOf('What earlier attempts left'),
    );
  });

  it('says nothing of it for a fresh agent', () => {
    expect(buildPrompt({ task, attempt: 2 })).not.toContain('resuming');
  });
});
