import fs from 'node:fs';

/**
 * The cap on an attempt's log, enforced by orch while it runs the agent.
 *
 * The agent writes its log itself (its stdout and stderr are the log file, opened for
 * appending), so no process of orch's sits between the agent and the disk. When the log has
 * reached the cap, orch copies it to `<log>.1` (replacing the one before) and truncates it to
 * nothing; the agent's next write lands at the start again, because the file is in append
 * mode. What was rotated away is counted in `<log>.rot` (`{"rotations":N,"bytes":B}`), so the
 * total printed survives a restart of orch.
 *
 * What this does not promise (and the docs say): the log and `<log>.1` may pass the cap by
 * what the agent writes before orch looks and while it copies (`.1` by at most a quarter of it;
 * past that, output is dropped and counted in `droppedBytes`; orch looks on every change the
 * kernel reports, and twice a second); a write in flight at the instant of the truncation is
 * lost, uncounted (a flood of 1 MiB writes at full speed loses a few MiB in 200); while orch
 * itself is not running, nothing is rotated.
 */

/** What rotation has done to one attempt's log so far. */
export interface RotationCount {
  rotations: number;
  /** Bytes copied into `<log>.1` over all rotations (the older copies replaced since). */
  bytes: number;
  /** Bytes seen in the log but lost between a copy and its truncation. */
  dropped: number;
}

/** `…/3.log` → `…/3.log.rot`. */
export function rotationCountFile(logFile: string): string {
  return `${logFile}.rot`;
}

/** The rotation count recorded next to `logFile` (all zero when there is none). */
export function readRotationCount(logFile: string): RotationCount {
  try {
    const r = JSON.parse(fs.readFileSync(rotationCountFile(logFile), 'utf8')) as Record<string, unknown>;
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);
    return { rotations: num(r['rotations']), bytes: num(r['bytes']), dropped: num(r['dropped']) };
  } catch {
    return { rotations: 0, bytes: 0, dropped: 0 };
  }
}

/**
 * Rotates `logFile` if it has reached `maxBytes` (see the module comment); returns whether it
 * did. Never throws: a log that cannot be rotated (gone, a full disk) is left as it is.
 *
 * @example
 * rotateIfFull('/repo/.state/logs/T1/1.log', 64 * 1024 * 1024); // true once it was full
 */
export function rotateIfFull(logFile: string, maxBytes: number): boolean {
  if (!(maxBytes > 0)) return false;
  let fd: number;
  try {
    fd = fs.openSync(logFile, 'r+');
  } catch {
    return false;
  }
  try {
    if (fs.fstatSync(fd).size < maxBytes) return false;
    const rotated = `${logFile}.1`;
    const tmp = `${rotated}.tmp`;
    // `.1` gets the newest `maxBytes` of the log; what came before them is dropped (counted).
    // What arrives during the copy follows it, until the log stops growing between two looks
    // (a few rounds at most), so that the truncation right after the last look drops as little
    // as can be: a write in flight at that instant. When more than a quarter of the cap
    // arrives during a round, the copy starts again from the newest `maxBytes`: the newest
    // output is what is kept (its last line, the tail of the next prompt).
    const limit = maxBytes + Math.floor(maxBytes / 4);
    const out = fs.openSync(tmp, 'w');
    let from = 0;
    let copied = 0;
    let before = 0;
    try {
      const buf = Buffer.allocUnsafe(1024 * 1024);
      for (let round = 0; ; round++) {
        before = fs.fstatSync(fd).size;
        if (round === 0 || before - from > limit) {
          from = Math.max(0, before - maxBytes);
          copied = from;
          fs.ftruncateSync(out, 0);
        }
        if (before <= copied || round === 8) {
          fs.ftruncateSync(fd, 0);
          break;
        }
        while (copied < before) {
          const n = fs.readSync(fd, buf, 0, Math.min(buf.length, before - copied), copied);
          if (n === 0) break;
          fs.writeSync(out, buf, 0, n, copied - from);
          copied += n;
        }
      }
    } finally {
      fs.closeSync(out);
    }
    fs.renameSync(tmp, rotated);
    const count = readRotationCount(logFile);
    count.rotations += 1;
    count.bytes += copied - from;
    count.dropped += from + Math.max(0, before - copied);
    fs.writeFileSync(rotationCountFile(logFile), `${JSON.stringify(count)}\n`);
    return true;
  } catch {
    return false;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Keeps `logFile` under `maxBytes` while an agent writes it: looks on every change the kernel
 * reports (`fs.watch`) and every `pollMs` besides. `maxBytes` 0: does nothing.
 *
 * @example
 * const cap = capLog(logFile, 64 * 1024 * 1024);
 * // … the agent runs …
 * cap.stop();
 */
export function capLog(logFile: string, maxBytes: number, pollMs = 500): { stop: () => void } {
  if (!(maxBytes > 0)) return { stop: () => undefined };
  let stopped = false;
  let size = 0;
  const look = () => {
    if (stopped) return;
    try {
      size = fs.statSync(logFile).size;
    } catch {
      return;
    }
    if (size >= maxBytes) rotateIfFull(logFile, maxBytes);
  };
  let watcher: fs.FSWatcher | undefined;
  try {
    watcher = fs.watch(logFile, { persistent: false }, look);
    watcher.on('error', () => watcher?.close());
  } catch {
    // No change notification here: the timer alone.
  }
  const timer = setInterval(look, pollMs);
  timer.unref();
  return {
    stop: () => {
      stopped = true;
      clearInterval(timer);
      watcher?.close();
    },
  };
}
