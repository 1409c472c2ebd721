import { Flags } from '@oclif/core';
import { BaseCommand } from './_base.js';

/**
 * `orch log`: the audit trail — events in position order, filtered by task, spawn, type
 * and position; one line each, or `--json` (an array of `{position, streamId,
 * streamVersion, type, data, metadata, recordedAt}`, streamed). With `--task ID` the text
 * also tells the task's story attempt by attempt. `--export FILE` / `--import FILE` move the
 * whole log (JSON Lines) out of it and into an empty one, e.g. from SQLite to PostgreSQL.
 *
 * @example
 * // orch log --task T003
 * // orch log --type AgentExited --since 100 --json
 */
export default class Log extends BaseCommand {
  static override summary = 'The audit trail: events in order, filtered.';

  static override description = `Reads <state-dir>/orch.db (read-only) and prints every event in position order: position, time, stream and version, type, who wrote it (when not orch) and its key fields. Filters narrow together: --task ID (the task's stream), --spawn ID (events naming that spawn), --type TYPE (repeatable, catalog names), --since POSITION (at or after).
With --task ID the text ends with the task's story: every attempt with its spawn id, start, end, duration, exit, breakpoints, gate, merge and usage.
An id that nothing in the log names is an error (exit 1). --json prints one compact JSON array, written as it is read.
--export FILE writes the whole log as JSON Lines (one event a line, with its id, position, stream version and time); --import FILE writes such a file into the log where ORCH_DATABASE_URL / store.url / --state-dir put it, which must be empty (LOG_NOT_EMPTY otherwise): this moves a log between a SQLite file and PostgreSQL.`;

  static override examples = [
    '<%= config.bin %> log',
    '<%= config.bin %> log --task T003',
    '<%= config.bin %> log --spawn 7f3a9c2e --json',
    '<%= config.bin %> log --type AgentExited --type GateFailed --since 120',
    '<%= config.bin %> log --export orch.jsonl',
    'ORCH_DATABASE_URL=postgres://orch@db/orch <%= config.bin %> log --import orch.jsonl',
  ];

  static override flags = {
    task: Flags.string({ description: 'only the events of this task' }),
    spawn: Flags.string({ description: 'only the events naming this spawn id' }),
    type: Flags.string({ description: 'only events of this type (repeatable)', multiple: true }),
    since: Flags.string({ description: 'only events at or after this log position' }),
    export: Flags.string({
      description: 'write the whole log to this file as JSON Lines (ids, positions, times kept)',
      exclusive: ['import', 'task', 'spawn', 'type', 'since'],
    }),
    import: Flags.string({
      description:
        'write the events of this JSON Lines file (from --export) into the log, which must be empty',
      exclusive: ['export', 'task', 'spawn', 'type', 'since'],
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Log);
    const { stateDir } = this.resolveDirs(flags);
    if (flags.export !== undefined || flags.import !== undefined) {
      const { exportLog, importLog } = await import('../runtime/operations/log-transfer.js');
      const done =
        flags.export !== undefined
          ? exportLog({ stateDir, file: flags.export })
          : importLog({ stateDir, file: flags.import! });
      if (this.jsonEnabled()) this.printJson(done);
      else if (flags.export !== undefined)
        this.log(`exported ${done.events} event(s) from ${done.log} to ${done.file}`);
      else this.log(`imported ${done.events} event(s) from ${done.file} into ${done.log}`);
      return;
    }
    const [{ orchLog }, { formatEventLine }, { logJsonEntry }] = await Promise.all([
      import('../runtime/operations/log.js'),
      import('../runtime/render/log-lines.js'),
      import('../runtime/render/chunked-output.js'),
    ]);
    const listing = orchLog({
      stateDir,
      ...(flags.task === undefined ? {} : { task: flags.task }),
      ...(flags.spawn === undefined ? {} : { spawn: flags.spawn }),
      ...(flags.type === undefined ? {} : { types: flags.type }),
      ...(flags.since === undefined ? {} : { since: flags.since }),
    });
    try {
      if (this.jsonEnabled()) {
        await this.printJsonArray(map(listing.events, logJsonEntry));
        return;
      }
      await this.printStream(lines(listing.events, formatEventLine));
      const story = listing.story();
      if (story !== null) {
        const { renderTaskStory } = await import('../runtime/render/task-story.js');
        this.log(`\n${renderTaskStory(story)}`);
      }
    } finally {
      listing.close();
    }
  }
}

function* map<T, U>(items: Iterable<T>, f: (item: T) => U): Generator<U> {
  for (const item of items) yield f(item);
}

/** One line per event, or a sentence when none matches. */
function* lines<T>(events: Iterable<T>, format: (event: T) => string): Generator<string> {
  let count = 0;
  for (const event of events) {
    yield `${format(event)}\n`;
    count += 1;
  }
  if (count === 0) yield 'No events match.\n';
}
