/**
 * The error every orch failure derives from: it says what failed, where, and what to do
 * next, carries a stable `code` for `--json` output and the process exit code the CLI
 * maps it to (docs/cli.md, "Exit codes": 1 failure, 2 waiting on the outside, 3 refused).
 *
 * @example
 * throw new OrchError('PLAN_NOT_FOUND', 'no plan found in /repo/.state/plans', {
 *   hint: 'create .state/plans/project.md or pass --plan-dir',
 * });
 */
export class OrchError extends Error {
  /** Stable machine-readable code, e.g. `PLAN_INVALID`. */
  readonly code: string;
  /** What the user can do about it. */
  readonly hint: string | undefined;
  /** Exit code the CLI uses for this error. */
  readonly exitCode: number;
  /** Extra structured detail for `--json` output. */
  readonly details: Record<string, unknown>;

  constructor(
    code: string,
    message: string,
    options: { hint?: string; exitCode?: number; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
    this.details = options.details ?? {};
  }

  /** The `{"error": {...}}` body printed by `--json` commands. */
  toJSON(): { code: string; message: string; hint?: string } & Record<string, unknown> {
    const body = {
      code: this.code,
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...this.details,
    };
    // A detail never hides what the error is (the keys keep their place at the front).
    return Object.assign(body, { code: this.code, message: this.message });
  }
}

/** True for any error raised by orch itself (as opposed to a bug or a library failure). */
export function isOrchError(err: unknown): err is OrchError {
  return err instanceof OrchError;
}
