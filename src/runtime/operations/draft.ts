import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { agentFor } from '../../core/config.js';
import { parseEventData, streamIds, type OrchEventData, type OrchEventType } from '../../core/events.js';
import type { PlanProblem } from '../../plan/errors.js';
import { detectPlanFormat, type PlanFormat } from '../../plan/index.js';
import { OrchError } from '../../util/errors.js';
import { startAgent } from '../agents/runner.js';
import { loadConfig } from '../project/config.js';
import { findPlan } from '../project/plan-loader.js';
import { systemClock, type Clock } from '../system/clock.js';
import { acquireLease } from '../system/lease.js';
import { agentLogPath } from '../system/state-paths.js';
import { logLocation } from '../log/location.js';
import { createLog } from '../log/open.js';
import { PlanDraftFailedError } from './errors.js';
import { orchPlan, type PlanResult } from './plan.js';

/**
 * `orch plan --draft "GOAL"`: a planner agent (role `planner`, else `default`) writes a plan
 * for the goal in the repository's format, in the repository itself (not a task worktree);
 * orch validates it as `orch plan` does and gives every problem, as `file:line`, to the
 * next attempt, until the plan is valid or the attempts are used up. Every attempt is
 * recorded in the log (`PlanDraftRequested`, `PlanDraftAttempted`, then `PlanDraftAccepted`
 * or `PlanDraftFailed`). No task agent is ever spawned: the plan waits for `orch spawn`.
 */

/** The role whose agent drafts plans. */
export const PLANNER_ROLE = 'planner';

/** At most this many retries after the first attempt, whatever `maxRetries` says. */
export const DRAFT_MAX_RETRIES = 2;

/** The planner's timeout when its agent has none configured (seconds). */
export const DRAFT_DEFAULT_TIMEOUT_S = 1800;

/** What `orch plan --draft` is asked. */
export interface DraftRequest {
  repoDir: string;
  stateDir: string;
  goal: string;
  /** The plan directory or file (default: the plan the repository has, else `plan.yaml`). */
  planDir?: string;
  clock?: Clock;
  /** Aborted (Ctrl-C): the planner's process group is stopped and the draft fails. */
  signal?: AbortSignal;
}

/** One attempt of the planner, as recorded in `PlanDraftAttempted`. */
export type DraftAttempt = OrchEventData<'PlanDraftAttempted'>;

/** `orch plan --draft --json`: the plan view of the accepted plan, plus the draft's attempts. */
export type DraftResult = PlanResult & {
  draft: {
    draftId: string;
    goal: string;
    format: PlanFormat;
    /** Where the plan was written, from the repository. */
    file: string;
    attempts: DraftAttempt[];
  };
};

/**
 * Where the planner writes and in which format: the plan the repository has (the place and
 * format `orch plan` reads); else `--plan-dir` (a `.md` file is a roadmap, `.yaml`/`.yml`/
 * `.json` a structured plan, anything else a directory that gets a `plan.yaml`); else
 * `plan.yaml` (format C) at the repository root.
 */
export function draftTarget(
  repoDir: string,
  config: { planDir: string },
  planDir?: string,
): { format: PlanFormat; location: string; existing: boolean } {
  let found: string | undefined;
  try {
    found = findPlan(repoDir, config, planDir);
  } catch (err) {
    if (!(err instanceof OrchError && err.code === 'PLAN_NOT_FOUND')) throw err;
  }
  const byName = (p: string): PlanFormat | null =>
    /\.ya?ml$/i.test(p) ? 'yaml' : /\.json$/i.test(p) ? 'json' : /\.md$/i.test(p) ? 'roadmap' : null;
  if (found !== undefined) {
    if (fs.statSync(found).isFile())
      return { format: byName(found) ?? 'roadmap', location: found, existing: true };
    const detected = detectPlanFormat(fs.readdirSync(found));
    if (detected !== undefined) {
      const location = detected.format === 'directory' ? found : path.join(found, detected.entry);
      return { format: detected.format, location, existing: true };
    }
    return { format: 'yaml', location: path.join(found, 'plan.yaml'), existing: false };
  }
  if (planDir !== undefined) {
    const p = path.resolve(repoDir, planDir);
    const format = byName(p);
    return format === null
      ? { format: 'yaml', location: path.join(p, 'plan.yaml'), existing: false }
      : { format, location: p, existing: false };
  }
  return { format: 'yaml', location: path.join(repoDir, 'plan.yaml'), existing: false };
}

/**
 * Runs the planner until its plan is valid or the attempts are used up. Takes the state
 * directory's lease (a running `orch spawn` holds it: `LEASE_HELD`, exit 3). Resolves to
 * the plan view and the attempts; throws `PLAN_DRAFT_FAILED` (exit 1, with the last
 * attempt's problems) when no attempt produced a valid plan.
 *
 * @example
 * const result = await orchPlanDraft({ repoDir, stateDir, goal: 'a command-line calculator' });
 * result.draft.attempts.length; // 2
 */
export async function orchPlanDraft(request: DraftRequest): Promise<DraftResult> {
  const { repoDir, stateDir, goal } = request;
  const clock = request.clock ?? systemClock;
  const config = loadConfig(repoDir);
  const agent = agentFor(config, PLANNER_ROLE);
  if (agent === undefined) {
    throw new OrchError(
      'PLANNER_NOT_CONFIGURED',
      'no agent is configured for role planner and there is no default agent',
      {
        hint: 'add agents.planner (or agents.default) to orch.config.json, e.g. { "command": ["claude", "-p", "{prompt}"] }',
      },
    );
  }
  const target = draftTarget(repoDir, config, request.planDir);
  const rel = (p: string): string => path.relative(repoDir, p) || '.';
  const file = rel(target.location);
  const planDir = request.planDir ?? (target.existing ? undefined : file);
  const maxAttempts = 1 + Math.min(config.maxRetries, DRAFT_MAX_RETRIES);
  const draftId = randomUUID();
  const runId = `draft-${draftId}`;
  fs.mkdirSync(stateDir, { recursive: true });
  const lease = await acquireLease(stateDir, { runId, clock });
  const store = createLog(logLocation(stateDir, config.store?.url), { clock: () => clock.now() });
  const record = <T extends OrchEventType>(type: T, data: OrchEventData<T>): void => {
    store.append(
      streamIds.plan(),
      [{ id: randomUUID(), type, data: parseEventData(type, data), metadata: { runId, actor: 'orch' } }],
      { expectedVersion: 'any' },
    );
  };
  const attempts: DraftAttempt[] = [];
  try {
    record('PlanDraftRequested', {
      draftId,
      goal,
      format: target.format,
      file,
      role: PLANNER_ROLE,
      command: [...agent.command],
      maxAttempts,
      requestedAt: clock.now().toISOString(),
    });
    const taskId = `draft-${draftId.slice(0, 8)}`;
    let lastProblems: PlanProblem[] = [];
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const spawnId = randomUUID();
      const prompt = draftPrompt({
        goal,
        format: target.format,
        file,
        existing: target.existing,
        attempt,
        previous: attempts.at(-1),
        roles: Object.keys(config.agents).filter((r) => r !== PLANNER_ROLE),
      });
      let result;
      try {
        const running = await startAgent({
          command: agent.command,
          prompt,
          identity: { runId, taskId, spawnId, role: PLANNER_ROLE, attempt, stateDir, workspace: repoDir },
          ...(agent.env ? { env: agent.env } : {}),
          timeoutMs: (agent.timeout ?? DRAFT_DEFAULT_TIMEOUT_S) * 1000,
          clock,
        });
        const stop = () => void running.stop();
        request.signal?.addEventListener('abort', stop, { once: true });
        if (request.signal?.aborted === true) stop();
        try {
          result = await running.done;
        } finally {
          request.signal?.removeEventListener('abort', stop);
        }
      } catch (err) {
        const reason = `the planner could not be started: ${(err as Error).message}`;
        record('PlanDraftFailed', { draftId, attempts: attempts.length, reason });
        throw new PlanDraftFailedError(
          reason,
          [],
          'fix agents.planner (or agents.default) in orch.config.json',
          {
            attempts,
          },
        );
      }
      const interrupted = result.stopped || request.signal?.aborted === true;
      const problems = interrupted
        ? [{ file, line: 0, message: 'the planner was stopped (interrupted)' }]
        : await validate(repoDir, stateDir, planDir, file);
      if (result.exitCode !== 0 && problems.length === 0) {
        problems.push({
          file,
          line: 0,
          message: result.timedOut
            ? 'the planner timed out; the plan was written but is not accepted'
            : `the planner exited with code ${String(result.exitCode ?? result.signal)}; the plan is not accepted until it exits 0`,
        });
      }
      const done: DraftAttempt = {
        draftId,
        spawnId,
        attempt,
        exitCode: result.exitCode,
        signal: result.signal,
        timedOut: result.timedOut,
        durationMs: result.durationMs,
        logFile: path.relative(stateDir, agentLogPath(stateDir, taskId, attempt)),
        outputTail: result.tail.slice(-4000),
        problems: problems.slice(0, 50),
        problemCount: problems.length,
        ...(result.usage ? { usage: result.usage } : {}),
      };
      record('PlanDraftAttempted', done);
      attempts.push(done);
      if (interrupted) {
        const reason = 'interrupted: the planner was stopped';
        record('PlanDraftFailed', { draftId, attempts: attempts.length, reason });
        throw new OrchError('INTERRUPTED', reason, {
          hint: `${file} is as the planner left it; run orch plan --draft again`,
          exitCode: 130,
        });
      }
      lastProblems = problems;
      if (problems.length === 0) {
        const view = await orchPlan({ repoDir, stateDir, ...(planDir === undefined ? {} : { planDir }) });
        record('PlanDraftAccepted', {
          draftId,
          attempt,
          tasks: view.tasks.length,
          phases: view.phases.length,
        });
        return { ...view, draft: { draftId, goal, format: target.format, file, attempts } };
      }
    }
    const reason = `the plan is still not valid after ${maxAttempts} attempt(s) of the planner`;
    record('PlanDraftFailed', { draftId, attempts: attempts.length, reason });
    throw new PlanDraftFailedError(
      reason,
      lastProblems,
      `fix ${file} by hand (every problem is listed at its file:line) or run orch plan --draft again`,
      { attempts },
    );
  } finally {
    store.close();
    lease.release();
  }
}

/** Every problem of the plan as `orch plan` would report it (none: it is valid). */
async function validate(
  repoDir: string,
  stateDir: string,
  planDir: string | undefined,
  file: string,
): Promise<PlanProblem[]> {
  try {
    await orchPlan({ repoDir, stateDir, ...(planDir === undefined ? {} : { planDir }) });
    return [];
  } catch (err) {
    const problems = (err as { problems?: unknown }).problems;
    if (Array.isArray(problems) && problems.length > 0) return problems as PlanProblem[];
    return [{ file, line: 0, message: (err as Error).message }];
  }
}

const FORMAT_HELP: Record<PlanFormat, string> = {
  yaml: `Format C, a YAML plan (see docs/plan-formats.md of orch):

name: <project name>
milestones:
  - id: M1
    title: <milestone>
    phases:
      - id: P1
        title: <phase>
        dependsOn: []
        tasks:
          - { id: T1, title: <task>, role: dev, description: <what to do> }
          - { id: T2, title: <task>, role: dev, dependsOn: [T1] }

Every id is unique; dependsOn names tasks (or phases) that exist.`,
  json: 'Format C as JSON: { "name", "milestones": [{ "id", "title", "phases": [{ "id", "title", "dependsOn", "tasks": [{ "id", "title", "role", "dependsOn" }] }] }] } (see docs/plan-formats.md of orch).',
  roadmap:
    'Format B, a Markdown roadmap: batches, "### Phase N.M: Title" sections with their tasks and dependencies, as the existing file does (see docs/plan-formats.md of orch).',
  directory:
    'Format A, a plan directory: project.md, epics/ and stories/ files with front matter, as the existing files do (see docs/plan-formats.md of orch).',
};

/**
 * The planner's prompt: the goal, where and in which format to write, and, after the first
 * attempt, every problem orch found in the last one as `file:line: message`.
 */
export function draftPrompt(input: {
  goal: string;
  format: PlanFormat;
  file: string;
  existing: boolean;
  attempt: number;
  previous: DraftAttempt | undefined;
  /** The roles orch.config.json has an agent for (a task's role needs one, or a persona). */
  roles?: readonly string[];
}): string {
  const out = [
    `# Plan the work toward a goal (attempt ${input.attempt})`,
    '',
    `Goal: ${input.goal}`,
    '',
    input.existing
      ? `Write the plan into ${input.file} (it exists: keep its format, extend or rewrite it for the goal).`
      : `Write the plan into ${input.file} (a new file).`,
    'You are in the repository itself; write only the plan files. Do not implement anything and do not commit:',
    'orch validates the plan when you exit 0, and nothing runs until the user starts it.',
    '',
    FORMAT_HELP[input.format],
  ];
  const roles = (input.roles ?? []).filter((r) => r !== 'default');
  if (roles.length > 0 || input.roles?.includes('default') === true) {
    const any = input.roles?.includes('default') === true ? ' (agents.default runs any other role)' : '';
    out.push(
      '',
      `Give each task one of the roles orch has an agent for: ${roles.join(', ') || 'any'}${any}.`,
    );
  }
  const prev = input.previous;
  if (prev !== undefined) {
    out.push('', `## The previous attempt (${prev.attempt}) was not accepted`, '');
    out.push(`orch found ${prev.problemCount} problem(s) in the plan; fix every one:`);
    for (const p of prev.problems) out.push(`- ${p.file}:${p.line}: ${p.message}`);
    if (prev.problemCount > prev.problems.length)
      out.push(`- … and ${prev.problemCount - prev.problems.length} more`);
  }
  return `${out.join('\n')}\n`;
}
