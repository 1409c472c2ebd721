import { Flags } from '@oclif/core';
import { BaseCommand } from './_base.js';
import type { StatusDocument } from '../core/status-document.js';

/**
 * `orch status`: the current state rebuilt from the log — plan, run and lease, totals,
 * milestones → phases → tasks, live agents. Fast on a long log: it prints the cached
 * status document when it is current, else folds the events after the status snapshot onto
 * the tasks they name (read as the CLI starts: `status-prefetch.ts`).
 * `--json` prints one compact JSON document (docs/cli.md, "JSON shapes") with `totals`
 * and `lease` added.
 *
 * @example
 * // orch status --repo ./calc --json | jq '.totals.tasks'
 */
export default class Status extends BaseCommand {
  static override summary = 'Show the current state, rebuilt from the log.';

  static override description = `Reads <state-dir>/orch.db (read-only: it never changes the log) and shows the plan, the run (running or stopped, and whether the process holding the state directory's lease is alive), task totals, every milestone, phase and task with its status, attempts and last failure, and the live agents.
--watch shows the live dashboard instead (see orch watch).
--json prints one JSON document: position, plan, milestones, phases, tasks, agents, run, costUsd, totals {tasks by status, attempts, agents, costUsd}, usage {run, tasks, phases, milestones: {inputTokens, outputTokens, costUsd, attempts}} and lease {pid, runId, host, acquiredAt, alive} (null when free).`;

  static override examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status --json',
    '<%= config.bin %> status --state-dir /tmp/run/.state',
    '<%= config.bin %> status --watch',
  ];

  static override flags = {
    watch: Flags.boolean({
      description:
        'follow the log with a live dashboard (same as orch watch): redraws in place on a terminal until q or Ctrl-C, one line per --interval otherwise',
      exclusive: ['json'],
    }),
    interval: Flags.integer({
      description: 'with --watch: seconds between redraws (default 1) or plain lines (default 5)',
      min: 1,
      dependsOn: ['watch'],
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Status);
    const { repoDir, stateDir } = this.resolveDirs(flags);
    if (flags.watch) {
      const { watchFromCli } = await import('../runtime/operations/watch.js');
      await watchFromCli({ repoDir, stateDir, intervalSeconds: flags.interval });
      return;
    }
    // The probe's answer (the cached document, or the status state's parts and the tail),
    // read as the CLI started (bin/run.js, a tail folded on a worker thread) or read here;
    // else the full path.
    const { takeStatusPrefetch } = await import('../runtime/operations/status-prefetch.js');
    const prefetched = await takeStatusPrefetch(repoDir, stateDir);
    const { cachedStatus } = await import('../runtime/operations/status-cache.js');
    const status =
      (prefetched === null ? await cachedStatus(stateDir) : prefetched) ??
      (await (await import('../runtime/operations/status.js')).orchStatus(stateDir));
    if (status.warnings.length > 0) {
      // Warnings quote what was found (garbage in a cache): control characters escaped.
      const { terminalSafe } = await import('../runtime/render/format.js');
      for (const warning of status.warnings) process.stderr.write(`orch: ${terminalSafe(warning)}\n`);
    }
    const hasExtras = Object.keys(status.extras).length > 0;
    if (this.jsonEnabled()) {
      this.printJson(
        hasExtras ? `${status.json.slice(0, -1)},"extras":${JSON.stringify(status.extras)}}` : status.json,
      );
      return;
    }
    const { renderStatusText } = await import('../runtime/render/status-text.js');
    this.log(renderStatusText(JSON.parse(status.documentJson) as StatusDocument, status.lease));
    if (hasExtras) {
      const { statusExtrasLines } = await import('../runtime/render/status-extras.js');
      this.log(statusExtrasLines(status.extras).join('\n'));
    }
  }
}
