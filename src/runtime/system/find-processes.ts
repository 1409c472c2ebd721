import fs from 'node:fs';

/**
 * The pids of processes whose environment holds `name=value` (Linux `/proc/<pid>/environ`;
 * processes of other users are unreadable and skipped). Crash recovery uses it to find an
 * agent whose start orch never got to record, by its `ORCH_SPAWN_ID`.
 *
 * @example
 * findProcessesByEnv('ORCH_SPAWN_ID', spawnId); // [4242]
 */
export function findProcessesByEnv(name: string, value: string): number[] {
  const needle = Buffer.from(`${name}=${value}\0`);
  const out: number[] = [];
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return out;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const env = fs.readFileSync(`/proc/${entry}/environ`);
      if (env.indexOf(needle) === 0 || env.includes(Buffer.concat([Buffer.from('\0'), needle])))
        out.push(pid);
    } catch {
      // Gone, or not ours to read.
    }
  }
  return out;
}
