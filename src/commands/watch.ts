import { Flags } from '@oclif/core';
import { BaseCommand } from './_base.js';

/**
 * `orch watch`: the live dashboard. It follows `<state-dir>/orch.db` read-only, so it works
 * from another terminal while `orch spawn` runs, and after a crash. On a terminal it redraws
 * in place until `q` or Ctrl-C; piped, it prints one plain line per interval.
 *
 * @example
 * // orch watch --repo ./calc
 */
export default class Watch extends BaseCommand {
  static override summary = 'Live dashboard of a run, following the log (q quits).';

  static override description = `Follows <state-dir>/orch.db read-only (it never changes the log and needs no lease) and shows: the run, task totals, attempts, tokens and cost (against the configured budget), a rate limit in force, the agents running now (task, role, attempt, elapsed time, whether their output file is still growing, their last output line), claimed, ready and blocked work, progress bars per milestone and phase, and the latest events. On a terminal it redraws in place on every change and every second; q, Esc or Ctrl-C quits and restores the terminal. When stdout is not a terminal it prints one summary line every --interval seconds until interrupted. If the log does not exist yet, it waits for it.`;

  static override examples = [
    '<%= config.bin %> watch',
    '<%= config.bin %> watch --repo ./calc',
    '<%= config.bin %> watch --interval 10 > run.txt',
  ];

  static override enableJsonFlag = false;

  static override flags = {
    interval: Flags.integer({
      description:
        'seconds between redraws (terminal; default 1) or summary lines (not a terminal; default 5)',
      min: 1,
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Watch);
    const { repoDir, stateDir } = this.resolveDirs(flags);
    const { watchFromCli } = await import('../runtime/operations/watch.js');
    await watchFromCli({ repoDir, stateDir, intervalSeconds: flags.interval });
  }
}
