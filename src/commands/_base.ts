import { Command, Flags } from '@oclif/core';
import { isOrchError } from '../util/errors.js';
import path from 'node:path';

/**
 * Shared flags and error handling for every orch command: `--repo`, `--state-dir`, `--json`,
 * and one place that turns an error into one clear sentence on stderr (plus
 * `{"error": {...}}` on stdout with `--json`) and the exit code from ../shared/CLI.md.
 */
export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true;

  static override baseFlags = {
    repo: Flags.directory({
      description: 'the git repository orch works in',
      default: '.',
      helpGroup: 'GLOBAL',
    }),
    'state-dir': Flags.string({
      description: 'where the log and agent output live (default: <repo>/.state)',
      helpGroup: 'GLOBAL',
    }),
  };

  /** Resolves `--repo` and `--state-dir` to absolute paths. */
  protected resolveDirs(flags: { repo: string; 'state-dir'?: string | undefined }): {
    repoDir: string;
    stateDir: string;
  } {
    const repoDir = path.resolve(flags.repo);
    const stateDir = flags['state-dir'] ? path.resolve(flags['state-dir']) : path.join(repoDir, '.state');
    return { repoDir, stateDir };
  }

  protected override toErrorJson(err: unknown): unknown {
    if (isOrchError(err)) return { error: err.toJSON() };
    const e = err as { message?: string; code?: string };
    return { error: { code: e.code ?? 'INTERNAL', message: e.message ?? String(err) } };
  }

  protected override async catch(
    err: Error & { exitCode?: number; oclif?: { exit?: number } },
  ): Promise<unknown> {
    if (isOrchError(err)) {
      process.exitCode = err.exitCode;
      if (this.jsonEnabled()) this.logJson(this.toErrorJson(err));
      const hint = err.hint ? `\nHint: ${err.hint}` : '';
      process.stderr.write(`Error: ${err.message}${hint}\n`);
      return undefined;
    }
    return super.catch(err);
  }
}
