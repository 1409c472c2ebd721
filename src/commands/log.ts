import { Flags } from '@oclif/core';
import { once } from 'node:events';
import { BaseCommand } from './_base.js';

/**
 * `orch log`: the audit trail — events in position order, filtered by task, spawn, type
 * and position; one line each, or `--json` (an array of `{position, streamId,
 * streamVersion, type, data, metadata, recordedAt}`, streamed). With `--task ID` the text
 * also tells the task's story attempt by attempt.
 *
 * @example
 * // orch log --task T003
 * // orch log --type AgentExited --since 100 --json
 */
export default class Log extends BaseCommand {
  static override summary = 'The audit trail: events in order, filtered.';

  static override description = `Reads <state-dir>/orch.db (read-only) and prints every event in position order: position, time, stream and version, type, who wrote it (when not orch) and its key fields. Filters narrow together: --task ID (the task's stream), --spawn ID (events naming that spawn), --type TYPE (repeatable, catalog names), --since POSITION (at or after).
With --task ID the text ends with the task's story: every attempt with its spawn id, start, end, duration, exit, breakpoints, gate, merge and usage.
An id that nothing in the log names is an error (exit 1). --json prints one compact JSON array, written as it is read.`;

  static override examples = [
    '<%= config.bin %> log',
    '<%= config.bin %> log --task T003',
    '<%= config.bin %> log --spawn 7f3a9c2e --json',
    '<%= config.bin %> log --type AgentExited --type GateFailed --since 120',
  ];

  static override flags = {
    task: Flags.string({ description: 'only the events of this task' }),
    spawn: Flags.string({ description: 'only the events naming this spawn id' }),
    type: Flags.string({ description: 'only events of this type (repeatable)', multiple: true }),
    since: Flags.string({ description: 'only events at or after this log position' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Log);
    const { stateDir } = this.resolveDirs(flags);
    const [{ openLog }, readLog, format, out, { parseCount }] = await Promise.all([
      import('../runtime/log/open.js'),
      import('../runtime/operations/log.js'),
      import('../runtime/render/log-lines.js'),
      import('../runtime/render/chunked-output.js'),
      import('../runtime/operations/replay.js'),
    ]);
    const store = openLog(stateDir);
    // A reader that stops early (`orch log | head`) is not an error.
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
    try {
      const filters = {
        ...(flags.task === undefined ? {} : { task: flags.task }),
        ...(flags.spawn === undefined ? {} : { spawn: flags.spawn }),
        ...(flags.type === undefined ? {} : { types: flags.type }),
        ...(flags.since === undefined ? {} : { since: parseCount(flags.since, '--since') }),
      };
      const writer = new out.ChunkedWriter((text) => process.stdout.write(text));
      const json = this.jsonEnabled();
      let count = 0;
      if (json) writer.push('[');
      for (const event of readLog.filteredEvents(store, filters)) {
        const full = json
          ? writer.push(`${count === 0 ? '' : ','}${JSON.stringify(out.logJsonEntry(event))}`)
          : writer.push(`${format.formatEventLine(event)}\n`);
        count += 1;
        // Reads are paged with no statement left open, so waiting here holds nothing.
        if (full) await once(process.stdout, 'drain');
      }
      if (json) writer.push(']\n');
      else if (count === 0) writer.push('No events match.\n');
      if (writer.flush()) await once(process.stdout, 'drain');
      if (!json && flags.task !== undefined) {
        const { renderTaskStory } = await import('../runtime/render/task-story.js');
        this.log(`\n${renderTaskStory(readLog.readTaskHistory(store, flags.task))}`);
      }
    } finally {
      store.close();
    }
  }
}
