import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { killProcessGroup } from './process-identity.js';
import path from 'node:path';

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
  const inside = Buffer.concat([Buffer.from('\0'), needle]);
  const out: number[] = [];
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return out;
  }
  // Run after every agent's exit over every process of the machine, most of which cannot be
  // read (kernel threads, other users'): a failed open costs little, but the error's stack
  // trace cost most of the scan, so none is captured here.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    for (const entry of entries) {
      if (!/^\d+$/.test(entry)) continue;
      const pid = Number(entry);
      if (pid === process.pid) continue;
      const env = readEnviron(entry);
      if (env === undefined) continue;
      if (env.indexOf(needle) === 0 || env.includes(inside)) out.push(pid);
    }
  } finally {
    Error.stackTraceLimit = limit;
  }
  return out;
}

/** The `/proc/<pid>/environ` of a process, or undefined when it is gone or not ours to read. */
function readEnviron(pid: string): Buffer | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`);
  } catch {
    return undefined;
  }
}

/**
 * Stops every process carrying `ORCH_SPAWN_ID=<spawnId>`: what an agent left behind, also
 * outside its process group (a daemon that double-forked into a new session). A process
 * that leads its own group has that group stopped (SIGTERM, SIGKILL after `graceMs`); any
 * other is killed by pid. It looks again until none is left (a process may fork while it is
 * being stopped), at most `rounds` times. Resolves to how many processes were found.
 * A process that cleared its environment cannot be found this way.
 *
 * @example
 * await killSpawnProcesses(spawnId, 2000); // 1: a daemon the agent left was stopped
 */
export async function killSpawnProcesses(spawnId: string, graceMs: number, rounds = 5): Promise<number> {
  let found = 0;
  for (let round = 0; round < rounds; round++) {
    const pids = findProcessesByEnv('ORCH_SPAWN_ID', spawnId);
    if (pids.length === 0) break;
    found += pids.length;
    await Promise.all(
      pids.map(async (pid) => {
        if ((await killProcessGroup(pid, graceMs)) !== 'not-running') return;
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }),
    );
  }
  return found;
}

/** A live git process and its working directory (null when it cannot be read). */
export interface GitProcess {
  pid: number;
  cwd: string | null;
}

/**
 * The live git processes (Linux: `/proc/<pid>/comm` is `git`, the working directory from
 * `/proc/<pid>/cwd`, leaving out those whose working directory cannot be read: exiting
 * ones, or other users'; elsewhere `ps`, without working directories), or null when the
 * processes cannot be listed at all.
 *
 * @example
 * const gits = findGitProcesses(); // [{ pid: 4242, cwd: '/repo/.state/sandbox/T1' }]
 */
export function findGitProcesses(): GitProcess[] | null {
  let entries: string[] | null = null;
  try {
    entries = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    entries = null;
  }
  if (entries !== null && fs.existsSync(`/proc/${process.pid}/comm`)) {
    const out: GitProcess[] = [];
    for (const entry of entries) {
      let comm: string;
      try {
        comm = fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      } catch {
        continue; // gone
      }
      if (comm !== 'git' && !comm.startsWith('git-')) continue;
      try {
        out.push({ pid: Number(entry), cwd: fs.readlinkSync(`/proc/${entry}/cwd`) });
      } catch {
        // Exiting (a zombie holds nothing), or another user's that we may not inspect.
      }
    }
    return out;
  }
  try {
    const text = execFileSync('ps', ['-A', '-o', 'pid=,comm='], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const out: GitProcess[] = [];
    for (const line of text.split('\n')) {
      const m = /^\s*(\d+)\s+(.*)$/.exec(line);
      if (!m) continue;
      const name = path.basename(m[2]!.trim());
      if (name === 'git' || name.startsWith('git-')) out.push({ pid: Number(m[1]), cwd: null });
    }
    return out;
  } catch {
    return null;
  }
}
