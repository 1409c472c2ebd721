import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseEventData, streamIds, type OrchEventData, type OrchEventType } from '../../core/events.js';
import type { PlanProblem } from '../../plan/errors.js';
import type { PlanView } from '../../plan/index.js';
import { logLocation } from '../log/location.js';
import { createLog, openLogIfAny } from '../log/open.js';
import { OrchError } from '../../util/errors.js';
import { orchPlanDraft } from './draft.js';
import { UsageError } from './errors.js';
import { orchPlan } from './plan.js';

/**
 * The wizard of `orch serve`: goal → the planner drafts (`orch plan --draft`, run inside the
 * server) → the problems and the plan tree are shown → the person edits the plan file's text
 * (`PlanDraftEdited`) or approves it (`PlanDraftApproved`) → the page starts `orch spawn`.
 * One draft at a time; every step is in the log (`PlanDraft*` on the `plan` stream).
 */

/** The most plan text the page may send or be shown. */
export const MAX_PLAN_TEXT = 256 * 1024;

/** Where the wizard is: no draft yet, the planner at work, a draft to look at, or none valid. */
export type WizardStep = 'none' | 'drafting' | 'drafted' | 'failed';

/** What the page shows of the wizard. */
export interface WizardView {
  step: WizardStep;
  goal: string | null;
  draftId: string | null;
  /** The plan file, from the repository. */
  file: string | null;
  /** The plan file's text (null: not written, too large, or a plan directory). */
  text: string | null;
  /** What is wrong with the plan as it stands (empty: valid). */
  problems: PlanProblem[];
  /** The plan tree when it is valid. */
  plan: Pick<PlanView, 'plan' | 'milestones' | 'phases' | 'tasks'> | null;
  /** Why the draft failed (`failed`). */
  error: string | null;
  /** Whether a person approved this draft. */
  approved: boolean;
}

interface Job {
  goal: string;
  running: boolean;
  draftId: string | null;
  file: string | null;
  error: string | null;
  approved: boolean;
  abort: AbortController;
  done: Promise<void>;
}

/**
 * The wizard's state in the server: at most one draft, the last one kept for the page.
 *
 * @example
 * const wizard = new DraftWizard(repoDir, stateDir);
 * wizard.start('a command-line calculator');
 */
export class DraftWizard {
  private job: Job | null = null;

  constructor(
    readonly repoDir: string,
    readonly stateDir: string,
  ) {}

  /** Starts the planner for `goal`; refused while a draft runs (`DRAFT_RUNNING`). */
  start(goal: unknown): WizardView {
    if (typeof goal !== 'string' || goal.trim() === '' || goal.length > 2000) {
      throw new UsageError('the goal must be text of 1 to 2000 characters', 'send {"goal": "what to build"}');
    }
    if (this.job?.running === true) {
      throw new OrchError('DRAFT_RUNNING', 'the planner is already drafting a plan', {
        hint: 'wait for it to finish (the page shows when it does)',
      });
    }
    const abort = new AbortController();
    // A failed draft is known by the PlanDraftRequested it recorded after this point, if any
    // (one refused before it asked the planner, e.g. for the lease, recorded nothing).
    const since = this.lastPosition();
    const job: Job = {
      goal: goal.trim(),
      running: true,
      draftId: null,
      file: null,
      error: null,
      approved: false,
      abort,
      done: Promise.resolve(),
    };
    job.done = orchPlanDraft({
      repoDir: this.repoDir,
      stateDir: this.stateDir,
      goal: job.goal,
      signal: abort.signal,
    }).then(
      (result) => {
        job.draftId = result.draft.draftId;
        job.file = result.draft.file;
      },
      (err: unknown) => {
        job.error = (err as Error).message;
        const last = this.lastDraft(since);
        if (last !== null) {
          job.draftId = last.draftId;
          job.file = last.file;
        }
      },
    );
    void job.done.finally(() => {
      job.running = false;
    });
    this.job = job;
    return { ...emptyView(), step: 'drafting', goal: job.goal };
  }

  /** What the page shows now (validating the plan file as it stands). */
  async view(): Promise<WizardView> {
    const job = this.job;
    if (job === null) return emptyView();
    if (job.running) return { ...emptyView(), step: 'drafting', goal: job.goal };
    const base = {
      goal: job.goal,
      draftId: job.draftId,
      file: job.file,
      text: this.readText(job.file),
      error: job.error,
      approved: job.approved,
    };
    const checked = job.file === null ? null : await this.check(job.file);
    return {
      ...base,
      step: job.error === null ? 'drafted' : 'failed',
      problems: checked?.problems ?? [],
      plan: checked?.plan ?? null,
    };
  }

  /** Writes the person's text to the plan file, validates it and records `PlanDraftEdited`. */
  async edit(text: unknown): Promise<WizardView> {
    const job = this.finished();
    if (typeof text !== 'string' || text.length > MAX_PLAN_TEXT) {
      throw new UsageError(
        `the plan text must be text of at most ${MAX_PLAN_TEXT} characters`,
        'send {"text": "…the plan file…"}',
      );
    }
    const file = this.fileOf(job);
    fs.writeFileSync(path.join(this.repoDir, file), text);
    const { problems } = await this.check(file);
    this.record('PlanDraftEdited', {
      draftId: job.draftId ?? '',
      file,
      bytes: Buffer.byteLength(text),
      problems: problems.slice(0, 50),
      problemCount: problems.length,
    });
    return this.view();
  }

  /** Records `PlanDraftApproved` for a valid plan; refused (`PLAN_INVALID`) while it has problems. */
  async approve(): Promise<WizardView & { tasks: number }> {
    const job = this.finished();
    const file = this.fileOf(job);
    const { problems, plan } = await this.check(file);
    if (plan === null) {
      throw new OrchError('PLAN_INVALID', `${file} has ${problems.length} problem(s); fix them first`, {
        hint: 'edit the plan on the page (every problem is listed at its file:line)',
        details: { problems },
      });
    }
    this.record('PlanDraftApproved', {
      draftId: job.draftId ?? '',
      file,
      tasks: plan.tasks.length,
      phases: plan.phases.length,
    });
    job.approved = true;
    return { ...(await this.view()), tasks: plan.tasks.length };
  }

  /** Stops a running planner and waits for the draft to end. */
  async close(): Promise<void> {
    const job = this.job;
    if (job === null) return;
    job.abort.abort();
    await job.done;
  }

  private finished(): Job {
    const job = this.job;
    if (job === null) {
      throw new OrchError('NO_DRAFT', 'no plan has been drafted here yet', {
        hint: 'describe the goal and draft a plan first',
      });
    }
    if (job.running) {
      throw new OrchError('DRAFT_RUNNING', 'the planner is still drafting the plan', {
        hint: 'wait for it to finish',
      });
    }
    return job;
  }

  private fileOf(job: Job): string {
    const file = job.file;
    if (file === null || this.readText(file) === null) {
      throw new OrchError('DRAFT_NOT_EDITABLE', 'the drafted plan is not a single file the page can edit', {
        hint: 'edit the plan files in the repository and run orch plan to check them',
      });
    }
    return file;
  }

  private readText(file: string | null): string | null {
    if (file === null) return null;
    const full = path.join(this.repoDir, file);
    try {
      const stat = fs.statSync(full);
      if (!stat.isFile() || stat.size > MAX_PLAN_TEXT) return null;
      return fs.readFileSync(full, 'utf8');
    } catch {
      return null;
    }
  }

  private async check(file: string): Promise<{ problems: PlanProblem[]; plan: WizardView['plan'] }> {
    try {
      const view = await orchPlan({ repoDir: this.repoDir, stateDir: this.stateDir, planDir: file });
      return {
        problems: [],
        plan: { plan: view.plan, milestones: view.milestones, phases: view.phases, tasks: view.tasks },
      };
    } catch (err) {
      const problems = (err as { problems?: unknown }).problems;
      return {
        problems:
          Array.isArray(problems) && problems.length > 0
            ? (problems as PlanProblem[])
            : [{ file, line: 0, message: (err as Error).message }],
        plan: null,
      };
    }
  }

  private record<T extends OrchEventType>(type: T, data: OrchEventData<T>): void {
    const store = createLog(logLocation(this.stateDir));
    try {
      store.append(
        streamIds.plan(),
        [{ id: randomUUID(), type, data: parseEventData(type, data), metadata: { actor: 'user' } }],
        { expectedVersion: 'any' },
      );
    } finally {
      store.close();
    }
  }

  /** The log's last position (0: no log yet). */
  private lastPosition(): number {
    const store = openLogIfAny(this.stateDir);
    if (store === null) return 0;
    try {
      return store.lastPosition();
    } finally {
      store.close();
    }
  }

  /** The last `PlanDraftRequested` after position `since` (a failed draft's id and file). */
  private lastDraft(since: number): { draftId: string; file: string } | null {
    const store = openLogIfAny(this.stateDir);
    if (store === null) return null;
    try {
      let last: { draftId: string; file: string } | null = null;
      for (const e of store.readAll({ types: ['PlanDraftRequested'], from: since + 1 })) {
        const d = e.data as OrchEventData<'PlanDraftRequested'>;
        last = { draftId: d.draftId, file: d.file };
      }
      return last;
    } finally {
      store.close();
    }
  }
}

function emptyView(): WizardView {
  return {
    step: 'none',
    goal: null,
    draftId: null,
    file: null,
    text: null,
    problems: [],
    plan: null,
    error: null,
    approved: false,
  };
}
