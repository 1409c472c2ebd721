import { Flags } from '@oclif/core';
import { BaseCommand } from './_base.js';

/**
 * `orch replay`: the state rebuilt from zero up to a point (`--to POSITION`, `--at
 * ISO_TIME`, default the end), printed as `status` prints it. `--verify` also checks the
 * fold against the pure `evolve`, the snapshot caches and every invariant, and exits 1
 * naming the first difference or violation.
 *
 * @example
 * // orch replay --to 120 --json
 * // orch replay --verify
 */
export default class Replay extends BaseCommand {
  static override summary =
    'Rebuild the state from the log up to a point; --verify checks every cache and invariant.';

  static override description = `Folds the log from the first event (never from a cache) up to --to POSITION (0 = before any event), or up to the last event recorded at or before --at ISO_TIME, or to the end, and prints the state as orch status does. Read-only.
--verify recomputes from zero and checks: every invariant (position and sentence of each violation); the fast Replayer against the pure evolve (XState transition()) over the first --pure-limit events (the pure fold runs at a few hundred events per second); the state snapshot and the status cache against the fold at their position. Any difference or violation exits 1 naming the first one; otherwise it prints "verified N events, M invariants".
--json prints one compact JSON document: the status document plus "replay" {position, by, at} and, with --verify, "verify".`;

  static override examples = [
    '<%= config.bin %> replay',
    '<%= config.bin %> replay --to 120',
    '<%= config.bin %> replay --at 2025-01-31T12:00:00Z --json',
    '<%= config.bin %> replay --verify',
    '<%= config.bin %> replay --verify --pure-limit 100000',
    '<%= config.bin %> replay --html report.html --to 120',
    '<%= config.bin %> replay --to 120 --fork ../fork-120',
  ];

  static override flags = {
    to: Flags.string({ description: 'stop after this log position (0 to the last)' }),
    at: Flags.string({ description: 'stop at the last event recorded at or before this ISO-8601 time' }),
    html: Flags.string({
      description:
        'write the post-mortem report (a self-contained HTML page: task lanes, dependency graph, attempts, scrubber) to this file instead',
      exclusive: ['verify'],
    }),
    verify: Flags.boolean({
      description: 'recompute from zero and check caches and invariants',
      default: false,
    }),
    'pure-limit': Flags.string({
      description: 'with --verify: how many events (from the first) the pure evolve re-folds (default 5000)',
    }),
    fork: Flags.string({
      description:
        'write a new state directory DIR whose log is this one up to the point, with a clone of the repository (DIR/repo) whose branches are as they were there; then run orch spawn --repo DIR/repo --state-dir DIR',
      exclusive: ['verify', 'html'],
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Replay);
    const { repoDir, stateDir } = this.resolveDirs(flags);
    if (flags.fork !== undefined) {
      const { orchFork } = await import('../runtime/operations/fork.js');
      const fork = await orchFork({
        repoDir,
        stateDir,
        dir: flags.fork,
        ...(flags.to === undefined ? {} : { to: flags.to }),
        ...(flags.at === undefined ? {} : { at: flags.at }),
      });
      if (this.jsonEnabled()) this.printJson(fork);
      else
        this.log(
          `forked ${fork.events} events (up to position ${fork.position}) into ${fork.stateDir}; go on with: orch spawn --repo ${fork.repo} --state-dir ${fork.stateDir}`,
        );
      return;
    }
    if (flags.html !== undefined) {
      const { writeReport } = await import('../runtime/operations/report.js');
      const written = writeReport(stateDir, flags.html, {
        ...(flags.to === undefined ? {} : { to: flags.to }),
        ...(flags.at === undefined ? {} : { at: flags.at }),
      });
      if (this.jsonEnabled()) this.printJson(written);
      else this.log(`wrote the report up to position ${written.position} to ${written.file}`);
      return;
    }
    const { orchReplay } = await import('../runtime/operations/replay.js');
    const result = await orchReplay({
      repoDir,
      stateDir,
      ...(flags.to === undefined ? {} : { to: flags.to }),
      ...(flags.at === undefined ? {} : { at: flags.at }),
      verify: flags.verify,
      ...(flags['pure-limit'] === undefined ? {} : { pureLimit: flags['pure-limit'] }),
    });
    if (this.jsonEnabled()) {
      this.printJson(result);
      return;
    }
    if (result.verify !== undefined) {
      const { verifiedLine } = await import('../runtime/render/outcomes.js');
      this.log(verifiedLine(result.verify));
      return;
    }
    const { renderStatusText } = await import('../runtime/render/status-text.js');
    this.log(renderStatusText(result));
  }
}
