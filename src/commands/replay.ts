import { Flags } from '@oclif/core';
import { BaseCommand } from './_base.js';
import type { StatusDocument } from '../core/status-document.js';

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
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Replay);
    const { repoDir, stateDir } = this.resolveDirs(flags);
    if (flags.html !== undefined) {
      const { writeReport } = await import('../runtime/operations/report.js');
      const written = writeReport(stateDir, flags.html, {
        ...(flags.to === undefined ? {} : { to: flags.to }),
        ...(flags.at === undefined ? {} : { at: flags.at }),
      });
      if (this.jsonEnabled()) process.stdout.write(`${JSON.stringify(written)}\n`);
      else this.log(`wrote the report up to position ${written.position} to ${written.file}`);
      return;
    }
    const [{ openLog, loadState }, replay, { statusDocument }] = await Promise.all([
      import('../runtime/log/load-state.js'),
      import('../runtime/operations/replay.js'),
      import('../core/status-document.js'),
    ]);
    const store = openLog(stateDir);
    try {
      const target = replay.resolveReplayTarget(store, {
        ...(flags.to === undefined ? {} : { to: flags.to }),
        ...(flags.at === undefined ? {} : { at: flags.at }),
      });
      if (flags['pure-limit'] !== undefined && !flags.verify) {
        const { UsageError } = await import('../runtime/operations/errors.js');
        throw new UsageError('--pure-limit only applies with --verify', 'add --verify, or drop --pure-limit');
      }
      const where = { position: target.position, by: target.by, ...(target.at ? { at: target.at } : {}) };
      if (!flags.verify) {
        const { state } = loadState(store, { to: target.position, useSnapshot: false });
        const doc = statusDocument(state);
        if (this.jsonEnabled()) process.stdout.write(`${JSON.stringify({ ...doc, replay: where })}\n`);
        else await this.printText(doc);
        return;
      }
      const [{ loadConfig }, { verifyLog }, { VerifyFailedError }] = await Promise.all([
        import('../runtime/project/config.js'),
        import('../runtime/operations/verify.js'),
        import('../runtime/operations/errors.js'),
      ]);
      const pureLimit =
        flags['pure-limit'] === undefined
          ? undefined
          : replay.parseCount(flags['pure-limit'], '--pure-limit');
      const outcome = verifyLog(store, loadConfig(repoDir), {
        to: target.position,
        ...(pureLimit === undefined ? {} : { pureLimit }),
      });
      if (outcome.problems.length > 0) throw new VerifyFailedError(outcome.problems, outcome.report.events);
      const r = outcome.report;
      if (this.jsonEnabled()) {
        const doc = statusDocument(outcome.state);
        process.stdout.write(`${JSON.stringify({ ...doc, replay: where, verify: r })}\n`);
        return;
      }
      const pure = r.pureEvents === r.events ? 'all of them' : `the first ${r.pureEvents}`;
      const caches = [
        r.snapshot === null ? 'no state snapshot to check' : `state snapshot at ${r.snapshot} matches`,
        r.statusCache === null ? 'no status cache to check' : `status cache at ${r.statusCache} matches`,
      ];
      this.log(
        `verified ${r.events} events, ${r.invariants.length} invariants (pure evolve re-folded ${pure}; ${caches.join('; ')})`,
      );
    } finally {
      store.close();
    }
  }

  private async printText(doc: StatusDocument): Promise<void> {
    const { renderStatusText } = await import('../runtime/render/status-text.js');
    this.log(renderStatusText(doc));
  }
}
