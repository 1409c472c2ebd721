import fs from 'node:fs';
import path from 'node:path';
import { OrchError } from '../../util/errors.js';
import { openLog } from '../log/open.js';
import { resolveReplayTarget } from './replay.js';
import { renderReport } from '../report/html.js';

/** What {@link writeReport} wrote. */
export interface WrittenReport {
  /** Absolute path of the HTML file. */
  file: string;
  /** The last log position the report covers. */
  position: number;
  /** How `position` was chosen (`end`, `to` or `at`). */
  by: 'end' | 'to' | 'at';
  bytes: number;
}

/** The report file could not be written. */
export class ReportWriteError extends OrchError {
  constructor(file: string, cause: unknown) {
    const reason = (cause as { code?: string }).code ?? (cause as Error).message;
    super('REPORT_WRITE_FAILED', `could not write the report to ${file} (${reason})`, {
      hint: 'pass a path in an existing, writable directory',
      cause,
      details: { file },
    });
  }
}

/**
 * Reads `<state-dir>/orch.db` (read-only) up to `--to POSITION` / `--at ISO_TIME` / the end,
 * renders the HTML report and writes it to `file` (through a temporary file and a rename,
 * so a reader never sees half a page).
 *
 * @example
 * const { file } = writeReport('/repo/.state', 'report.html', { to: '120' });
 */
export function writeReport(
  stateDir: string,
  file: string,
  flags: { to?: string; at?: string },
): WrittenReport {
  const target = path.resolve(file);
  const store = openLog(stateDir);
  let html: string;
  let where: ReturnType<typeof resolveReplayTarget>;
  try {
    where = resolveReplayTarget(store, flags);
    html = renderReport(store.readAll(), { to: where.position });
  } finally {
    store.close();
  }
  const temp = `${target}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temp, html);
    fs.renameSync(temp, target);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw new ReportWriteError(target, err);
  }
  return { file: target, position: where.position, by: where.by, bytes: Buffer.byteLength(html) };
}
