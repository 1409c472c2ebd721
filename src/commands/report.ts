import { Args, Flags } from '@oclif/core';
import { BaseCommand } from './_base.js';

/**
 * `orch report FILE`: the post-mortem of a run as one self-contained HTML file (timeline
 * with a lane per task, dependency graph by final status, attempts table, and a scrubber
 * showing the state at any log position), up to `--to POSITION` / `--at ISO_TIME`.
 *
 * @example
 * // orch report report.html --to 120
 * // orch report /tmp/run.html --json   → {"file":"/tmp/run.html","position":105,...}
 */
export default class Report extends BaseCommand {
  static override summary = 'Write the post-mortem of the log as one self-contained HTML file.';

  static override description = `Reads <state-dir>/orch.db (read-only) up to --to POSITION, or the last event recorded at or before --at ISO_TIME, or the end, and writes FILE: one HTML page with no external resources (open it offline) showing a timeline with one lane per task (every attempt from spawn to exit, breakpoints, gates, merges, retries; CI results, milestones and pull requests in the run lane), the plan's dependency graph coloured by final status, a table of attempts (duration, exit, summary, usage, output tail), and a scrubber that shows every task's status at any position of the log.
--json prints {file, position, by, bytes}.`;

  static override examples = [
    '<%= config.bin %> report report.html',
    '<%= config.bin %> report report.html --to 120',
    '<%= config.bin %> report report.html --at 2025-01-31T12:00:00Z --json',
  ];

  static override args = {
    file: Args.string({ description: 'the HTML file to write (replaced if it exists)', required: true }),
  };

  static override flags = {
    to: Flags.string({ description: 'stop after this log position (0 to the last)' }),
    at: Flags.string({ description: 'stop at the last event recorded at or before this ISO-8601 time' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Report);
    const { stateDir } = this.resolveDirs(flags);
    const { writeReport } = await import('../runtime/operations/report.js');
    const written = writeReport(stateDir, args.file, {
      ...(flags.to === undefined ? {} : { to: flags.to }),
      ...(flags.at === undefined ? {} : { at: flags.at }),
    });
    if (this.jsonEnabled()) this.printJson(written);
    else this.log(`wrote the report up to position ${written.position} to ${written.file}`);
  }
}
