import { OrchError } from '../util/errors.js';
import type { Source } from './model.js';

/** One thing wrong with a plan: where it is and a sentence saying what to change. */
export interface PlanProblem {
  /** Path relative to the plan root (or the plan file's name). */
  file: string;
  /** 1-based line; 0 when the problem is about the file as a whole. */
  line: number;
  message: string;
}

/**
 * The plan input cannot be read at all: a YAML/JSON syntax error, a file with the wrong
 * shape, a roadmap without a single phase. Code `PLAN_PARSE`; `problems` lists every
 * location found (often just one).
 *
 * @example
 * throw new PlanParseError('plan.yaml', 3, 'plan.yaml line 3 is not valid YAML: bad indentation', {
 *   hint: 'fix the YAML syntax',
 * });
 */
export class PlanParseError extends OrchError {
  readonly file: string;
  readonly line: number;
  readonly problems: PlanProblem[];

  constructor(
    file: string,
    line: number,
    message: string,
    options: { hint?: string; cause?: unknown; problems?: PlanProblem[] } = {},
  ) {
    const problems = options.problems ?? [{ file, line, message }];
    super('PLAN_PARSE', message, {
      hint: options.hint ?? 'fix the file so it matches one of the formats in docs/plan-formats.md',
      cause: options.cause,
      details: { file, line, problems },
    });
    this.file = file;
    this.line = line;
    this.problems = problems;
  }
}

/**
 * The plan was read but is not consistent: duplicate ids, unknown dependencies, cycles,
 * `Blocks` that disagree with `Dependencies`, roles nobody can play. Code `PLAN_INVALID`;
 * carries every problem, sorted by file and line.
 *
 * @example
 * throw new PlanValidationError('.state/plans', [
 *   { file: 'stories/E001/S002-impl.md', line: 6, message: 'S002 depends on S009, which does not exist' },
 * ]);
 */
export class PlanValidationError extends OrchError {
  readonly problems: PlanProblem[];

  constructor(source: string, problems: PlanProblem[]) {
    const n = problems.length;
    super('PLAN_INVALID', `the plan in ${source} has ${n} problem${n === 1 ? '' : 's'}`, {
      hint: 'fix each problem listed at its file:line, then run `orch plan` again',
      details: { problems },
    });
    this.problems = problems;
  }
}

/**
 * A problem at an entity's source line.
 *
 * @example
 * problemAt(phase.source, `phase ${phase.id} depends on itself: remove it from its dependencies`);
 */
export function problemAt(source: Source, message: string): PlanProblem {
  return { file: source.file, line: source.line, message };
}

/**
 * `file:line` of a source or a problem, for messages and for editors to jump to; the file
 * alone when the line is 0 (the file as a whole), unless `showZero` (`orch log` shows an
 * event's fields as recorded). The one place this is written: the runtime's text output
 * takes it through `runtime/render/format.ts`.
 *
 * @example
 * fileLine({ file: 'roadmap.md', line: 12 }); // 'roadmap.md:12'
 * fileLine({ file: 'plan.yaml', line: 0 }); // 'plan.yaml'
 * fileLine({ file: 'plan.yaml', line: 0 }, { showZero: true }); // 'plan.yaml:0'
 */
export function fileLine(
  at: { readonly file: string; readonly line: number },
  options: { showZero?: boolean } = {},
): string {
  return at.line > 0 || options.showZero === true ? `${at.file}:${at.line}` : at.file;
}

/**
 * Orders problems by file, then line, then message, so output is stable.
 *
 * @example
 * sortProblems([{ file: 'b.md', line: 1, message: 'x' }, { file: 'a.md', line: 9, message: 'y' }]);
 */
export function sortProblems(problems: readonly PlanProblem[]): PlanProblem[] {
  return [...problems].sort(
    (a, b) =>
      (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
      a.line - b.line ||
      (a.message < b.message ? -1 : a.message > b.message ? 1 : 0),
  );
}

/**
 * A status could not be written back because the line named by `statusSource` holds no
 * status any more (the file changed since the plan was read). Code `PLAN_WRITE_BACK`.
 *
 * @example
 * throw new PlanWriteBackError('roadmap.md', 12, 'roadmap.md line 12 holds no status to change');
 */
export class PlanWriteBackError extends OrchError {
  readonly file: string;
  readonly line: number;

  constructor(file: string, line: number, message: string) {
    super('PLAN_WRITE_BACK', message, {
      hint: 'read the plan again and retry: the file changed since it was parsed',
      details: { file, line },
    });
    this.file = file;
    this.line = line;
  }
}
