import type { Attempt } from '../../core/attempt-history.js';
import { lastSummary } from '../../core/attempt-history.js';
import type { Milestone, Persona, Phase, Task } from '../../plan/model.js';

/**
 * The prompt an agent gets: its persona, the task, what earlier attempts left behind,
 * and how to report a breakpoint. Pure text assembly (no I/O), so it can be tested and
 * replayed; the runner writes it to the prompt file.
 */

/** What one earlier attempt of the task left for the next one. */
export interface AttemptHistory {
  attempt: number;
  /** Best of N: the lane of the attempt this entry is (each lane of a failed race has one). */
  lane?: number;
  exitCode?: number | null;
  signal?: string | null;
  timedOut?: boolean;
  /** Stopped by orch's stall watchdog: idle this long (ms), with this last output line. */
  stalled?: { idleMs: number; lastOutputLine: string };
  /** What the agent reported (`orch signal … --summary`). */
  summary?: string;
  /** The end of its output. */
  outputTail?: string;
  /** Output of the quality gate that failed after it. */
  gateOutput?: string;
  /** Output of the CI run that failed after it. */
  ciOutput?: string;
  /** The review comments on the pull request that asked for changes to its merged work. */
  review?: string;
  /** Files that conflicted when its branch was merged. */
  conflictFiles?: string[];
  /** Anything else orch wants the next attempt to know. */
  note?: string;
}

/**
 * What each attempt of a task's history (`core/attempt-history.ts`) left for the next one:
 * its exit and output, its summary, a failed gate's output, conflicting files, the CI log
 * that reopened it, and a note when it was lost, could not start or reported being blocked.
 *
 * @example
 * const history = lessonsOf(new AttemptFold().applyAll(store.readStream('task-T1')).history('T1').attempts);
 * buildPrompt({ task, attempt: history.length + 1, history });
 */
export function lessonsOf(attempts: readonly Attempt[]): AttemptHistory[] {
  return attempts.map((a) => {
    const h: AttemptHistory = { attempt: a.attempt, ...(a.lane ? { lane: a.lane.lane } : {}) };
    const end = a.end;
    if (end?.kind === 'exited') {
      h.exitCode = end.exitCode;
      h.signal = end.signal;
      if (end.outputTail !== null) h.outputTail = end.outputTail;
      if (end.stalled !== undefined) h.stalled = end.stalled;
    }
    const summary = lastSummary(a);
    if (summary !== null) h.summary = summary;
    // A lost process or a failed start came after any block it reported.
    const blocked = a.breakpoints.findLast((b) => b.kind === 'blocked');
    if (end?.kind === 'lost') h.note = `the agent process was lost: ${end.reason}`;
    else if (end?.kind === 'spawn_failed') h.note = `the agent could not be started: ${end.error}`;
    else if (blocked !== undefined)
      h.note = `it reported being blocked on ${(blocked.on ?? ['person']).join(', ')}`;
    if (a.gate?.status === 'failed' && a.gate.outputTail !== null) h.gateOutput = a.gate.outputTail;
    if (a.merge?.status === 'conflicted') h.conflictFiles = a.merge.files;
    if (a.reopened !== null && typeof a.reopened.review === 'string') h.review = a.reopened.review;
    else if (a.reopened !== null)
      h.ciOutput = a.reopened.ciLogTail ?? `${a.reopened.reason} (no CI log was recorded)`;
    return h;
  });
}

/** Everything a prompt is made of. */
export interface PromptInput {
  task: Task;
  phase?: Phase;
  milestone?: Milestone;
  persona?: Persona;
  /** 1-based number of the attempt this prompt is for. */
  attempt: number;
  /** Best of N: this agent's lane and how many lanes the attempt runs. */
  lane?: { lane: number; lanes: number };
  maxAttempts?: number;
  /** Earlier attempts, oldest first. */
  history?: AttemptHistory[];
  workspace?: { path: string; branch: string; integrationBranch: string };
  /** Conventions of the target repository (multi-repo plans). */
  conventions?: string;
  /** The Claude Code session this attempt continues (`agents.<role>.resume`): the agent already has the earlier conversation. */
  resumedSession?: string;
  /** The target's identity context (`identity_context` of config/targets.yaml). */
  identityContext?: string;
  /** Characters kept of each output (default 3000) and attempts shown in full (default 3). */
  limits?: { outputChars?: number; attemptsShown?: number };
}

/**
 * Builds the prompt text for one attempt.
 *
 * @example
 * const text = buildPrompt({ task, phase, persona, attempt: 2, history: [{ attempt: 1, exitCode: 1, outputTail: 'TypeError…' }] });
 */
export function buildPrompt(input: PromptInput): string {
  const outputChars = input.limits?.outputChars ?? 3000;
  const sections = [
    roleSection(input),
    input.identityContext ? `## Identity and context\n\n${input.identityContext.trim()}` : '',
    taskSection(input),
    resumeSection(input),
    historySection(input.history ?? [], outputChars, input.limits?.attemptsShown ?? 3),
    input.conventions ? `## Conventions of this repository\n\n${input.conventions.trim()}` : '',
    protocolSection(input),
  ];
  return sections.filter((s) => s !== '').join('\n\n') + '\n';
}

function resumeSection({ resumedSession, attempt }: PromptInput): string {
  if (resumedSession === undefined) return '';
  return [
    '## You are resuming your previous session',
    '',
    `This attempt (${attempt}) continues your Claude Code session ${resumedSession} of the previous attempt: you`,
    'already have that conversation and the work it did. Read what happened since (below), pick up',
    'where you left off, and do not start over.',
  ].join('\n');
}

function roleSection({ persona, task }: PromptInput): string {
  if (!persona)
    return `# Your role: ${task.role}\n\nYou are the ${task.role} agent of a team working through a project plan.`;
  const lines = [`# Your role: ${persona.title || persona.role}`, '', persona.template.trim()];
  if (persona.capabilities.length > 0)
    lines.push('', 'Capabilities:', ...persona.capabilities.map((c) => `- ${c}`));
  if (persona.constraints.length > 0)
    lines.push('', 'Constraints:', ...persona.constraints.map((c) => `- ${c}`));
  return lines.join('\n');
}

function taskSection({ task, phase, milestone, attempt, maxAttempts, lane }: PromptInput): string {
  const lines = [`# Task ${task.id}: ${task.title}`, ''];
  const of = maxAttempts === undefined ? '' : ` of at most ${maxAttempts}`;
  lines.push(`- Attempt: ${attempt}${of}`);
  if (lane !== undefined)
    lines.push(
      `- Lane: ${lane.lane} of ${lane.lanes} (best of ${lane.lanes}: ${lane.lanes} agents do this task at once, each in its own worktree; the first whose work passes the quality gate is merged and the others are stopped)`,
    );
  if (milestone) lines.push(`- Milestone: ${milestone.id} — ${milestone.title}`);
  lines.push(`- Phase: ${phase ? `${phase.id} — ${phase.title}` : task.phase}`);
  if (task.dependsOn.length > 0) lines.push(`- Builds on tasks: ${task.dependsOn.join(', ')} (already done)`);
  if (task.description) lines.push('', task.description.trim());
  if (phase?.description) lines.push('', `About the phase: ${phase.description.trim()}`);
  if (phase && phase.acceptanceCriteria.length > 0) {
    lines.push('', '## Acceptance criteria', '', ...phase.acceptanceCriteria.map((c) => `- ${c}`));
  }
  if (phase && phase.definitionOfDone.length > 0) {
    lines.push('', '## Definition of done', '', ...phase.definitionOfDone.map((c) => `- ${c}`));
  }
  return lines.join('\n');
}

function historySection(history: AttemptHistory[], outputChars: number, shown: number): string {
  if (history.length === 0) return '';
  const lines = ['## What earlier attempts left', ''];
  // Best of N: every lane of the latest attempt is shown in full (each failed its own way).
  const last = history.at(-1)?.attempt;
  shown = Math.max(shown, history.filter((h) => h.attempt === last).length);
  const older = history.slice(0, Math.max(0, history.length - shown));
  const name = (h: AttemptHistory) => `Attempt ${h.attempt}${h.lane === undefined ? '' : `, lane ${h.lane}`}`;
  for (const h of older)
    lines.push(`- ${name(h)}: ${outcome(h)}${h.summary ? ` — ${oneLine(h.summary)}` : ''}`);
  if (older.length > 0) lines.push('');
  for (const h of history.slice(-shown)) {
    lines.push(`### ${name(h)}: ${outcome(h)}`, '');
    if (h.summary) lines.push(`Its summary: ${h.summary.trim()}`, '');
    if (h.stalled) lines.push(stallNote(h.stalled), '');
    if (h.note) lines.push(h.note.trim(), '');
    if (h.conflictFiles && h.conflictFiles.length > 0) {
      lines.push(
        'Merging its branch into the integration branch conflicted in:',
        ...h.conflictFiles.map((f) => `- ${f}`),
        '',
      );
      lines.push('Bring your branch up to date with the integration branch and resolve these conflicts.', '');
    }
    if (h.gateOutput)
      lines.push('The quality gate failed:', '', fence(tailOf(h.gateOutput, outputChars)), '');
    if (h.ciOutput) lines.push('CI failed:', '', fence(tailOf(h.ciOutput, outputChars)), '');
    if (h.review)
      lines.push(
        'After its work was merged, a review of the pull request asked for changes. Address every comment:',
        '',
        fence(tailOf(h.review, outputChars)),
        '',
      );
    if (h.outputTail) lines.push('The end of its output:', '', fence(tailOf(h.outputTail, outputChars)), '');
  }
  lines.push(
    'Your workspace still holds what earlier attempts committed or left uncommitted; check it before you start.',
  );
  return lines.join('\n').trimEnd();
}

function protocolSection({ workspace }: PromptInput): string {
  const lines = ['## How to work and report', ''];
  if (workspace) {
    lines.push(
      `- Work only in ${workspace.path}, on branch \`${workspace.branch}\` (it is merged into \`${workspace.integrationBranch}\` when the task is done).`,
    );
  }
  lines.push(
    '- Commit your work with git before you finish: only committed work is merged.',
    '- When you reach a breakpoint, report it (the command reads `ORCH_SPAWN_ID` from your environment, so run it from anywhere; if `orch` is not on PATH use `node "$ORCH_CLI"` instead):',
    '  - `orch signal complete --summary "<what you did>"`: the task is done; orch runs the quality gate.',
    '  - `orch signal blocked --on <TASK_ID|ci> --summary "<what you wait for>"`: you cannot go on until that task or CI is done.',
    '  - `orch signal pr --url <URL> --summary "<what it contains>"`: you opened a pull request.',
    '- Or simply exit: exit code 0 means done (the quality gate runs), any other code means this attempt failed and a fresh agent retries the task.',
  );
  return lines.join('\n');
}

/** What the next attempt is told about a stalled one. */
export function stallNote(stalled: { idleMs: number; lastOutputLine: string }): string {
  const minutes = Math.round(stalled.idleMs / 60_000);
  const idle = minutes >= 1 ? `${minutes} min` : `${Math.round(stalled.idleMs / 1000)} s`;
  const last = oneLine(stalled.lastOutputLine);
  return [
    `It stalled: it printed nothing and changed nothing in its worktree for ${idle}, so orch stopped it.`,
    last === '' ? 'It printed nothing at all.' : `The last thing it printed: ${last}`,
    'Do not wait on anything interactive (a prompt, a pager, a server that never exits); keep going or exit.',
  ].join('\n');
}

function outcome(h: AttemptHistory): string {
  if (h.stalled) return 'stalled and was stopped';
  if (h.timedOut) return 'timed out and was stopped';
  if (h.signal) return `was killed by ${h.signal}`;
  if (h.exitCode === undefined || h.exitCode === null) return 'ended';
  return h.exitCode === 0 ? 'exited 0' : `failed with exit code ${h.exitCode}`;
}

function tailOf(text: string, chars: number): string {
  const trimmed = text.trimEnd();
  return trimmed.length <= chars ? trimmed : `…${trimmed.slice(trimmed.length - chars)}`;
}

function oneLine(text: string): string {
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/** A code fence longer than any backtick run inside, so output cannot close it early. */
function fence(text: string): string {
  const longest = Math.max(0, ...Array.from(text.matchAll(/`+/g), (m) => m[0].length));
  const ticks = '`'.repeat(Math.max(3, longest + 1));
  return `${ticks}text\n${text}\n${ticks}`;
}
