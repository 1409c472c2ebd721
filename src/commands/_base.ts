import { Command, Flags } from '@oclif/core';
import { once } from 'node:events';
import { isOrchError } from '../util/errors.js';
import { useConfiguredStore } from '../runtime/log/configured-store.js';
import path from 'node:path';

/**
 * Shared flags, output and error handling for every orch command: `--repo`, `--state-dir`,
 * `--json`; one way to print a JSON document or stream a long listing; and one place that
 * turns an error into one clear sentence on stderr (plus `{"error": {...}}` on stdout with
 * `--json`) and its exit code (docs/cli.md, "Exit codes").
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
    useConfiguredStore(repoDir);
    return { repoDir, stateDir };
  }

  /**
   * Prints a `--json` document as one compact line on stdout: JSON text as it is (a cached
   * document), or a value to stringify. `status`, `replay` and `log` print their documents
   * this way, for scripts that read one line; the other commands return their result from
   * `run()` and oclif prints it indented.
   */
  protected printJson(json: string | object): void {
    process.stdout.write(`${typeof json === 'string' ? json : JSON.stringify(json)}\n`);
  }

  /**
   * Streams `pieces` to stdout as they are produced, in chunks of about 64 KB, waiting for
   * `'drain'` when the pipe is full (a slow reader never makes the whole listing sit in
   * memory). A reader that stops early (`orch log | head`) ends the process quietly.
   * If producing a piece throws, what is still pending is not written.
   */
  protected async printStream(pieces: Iterable<string>): Promise<void> {
    const { ChunkedWriter } = await import('../runtime/render/chunked-output.js');
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
    const writer = new ChunkedWriter((text) => process.stdout.write(text));
    for (const piece of pieces) {
      if (writer.push(piece)) await once(process.stdout, 'drain');
    }
    if (writer.flush()) await once(process.stdout, 'drain');
  }

  /**
   * Streams a `--json` array, one compact element per item, as {@link printStream} does:
   * `[a,b,…]` on one line.
   */
  protected async printJsonArray(items: Iterable<unknown>): Promise<void> {
    await this.printStream(jsonArray(items));
  }

  protected override toErrorJson(err: unknown): unknown {
    if (isOrchError(err)) return { error: err.toJSON() };
    const e = err as { message?: string; code?: string };
    return { error: { code: e.code ?? 'INTERNAL', message: e.message ?? String(err) } };
  }

  protected override async catch(
    err: Error & { exitCode?: number; oclif?: { exit?: number } },
  ): Promise<unknown> {
    // Error text quotes ids, paths and output from outside orch: made safe for the terminal
    // (the --json document keeps the original).
    const { terminalSafe } = await import('../runtime/render/format.js');
    if (isOrchError(err)) {
      process.exitCode = err.exitCode;
      if (this.jsonEnabled()) this.logJson(this.toErrorJson(err));
      const hint = err.hint ? `\nHint: ${err.hint}` : '';
      process.stderr.write(terminalSafe(`Error: ${err.message}${hint}\n`));
      return undefined;
    }
    if (!this.jsonEnabled() && typeof err.message === 'string') err.message = terminalSafe(err.message);
    return super.catch(err);
  }
}

function* jsonArray(items: Iterable<unknown>): Generator<string> {
  yield '[';
  let first = true;
  for (const item of items) {
    yield `${first ? '' : ','}${JSON.stringify(item)}`;
    first = false;
  }
  yield ']\n';
}
