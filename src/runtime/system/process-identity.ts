import fs from 'node:fs';
import { execFileSync } from 'node:child_process';

/**
 * Process identity for crash recovery: a pid alone can be reused by the OS, so orch
 * records the pid together with the process's start time and later checks both.
 * On Linux the start time is field 22 of `/proc/<pid>/stat` (clock ticks since boot);
 * elsewhere it is `ps -o lstart=` output. Either way it is an opaque string to compare.
 */

interface ProcStat {
  state: string;
  pgrp: number;
  startTime: string;
}

function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself contain spaces or ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); field N is rest[N - 3].
  const state = rest[0];
  const pgrp = Number(rest[2]);
  const startTime = rest[19];
  if (state === undefined || startTime === undefined) return undefined;
  return { state, pgrp, startTime };
}

const hasProc = fs.existsSync('/proc/self/stat');

/**
 * The start time of a process (a zombie too: a child that exited but is not reaped yet),
 * or `undefined` if there is no such process.
 *
 * @example
 * const startTime = processStartTime(process.pid); // e.g. '8734512'
 */
export function processStartTime(pid: number): string | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (hasProc) {
    return readProcStat(pid)?.startTime;
  }
  try {
    const out = execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    return out === '' ? undefined : out;
  } catch {
    return undefined;
  }
}

/**
 * True if a process with this pid exists and is not a zombie.
 *
 * @example
 * isProcessAlive(process.pid); // true
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (!hasProc) return true;
  const stat = readProcStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}

/**
 * True if `pid` is alive and is still the process that had `startTime` (not a reused pid).
 *
 * @example
 * const t = processStartTime(pid);
 * // … after a crash and restart:
 * if (t && isSameProcessAlive(pid, t)) console.log('agent still running');
 */
export function isSameProcessAlive(pid: number, startTime: string): boolean {
  if (!isProcessAlive(pid)) return false;
  return processStartTime(pid) === startTime;
}

/**
 * True if any live (non-zombie) process is in process group `pgid`.
 *
 * @example
 * if (isProcessGroupAlive(agent.pid)) await killProcessGroup(agent.pid, 2000);
 */
export function isProcessGroupAlive(pgid: number): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1) return false;
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (!hasProc) return true;
  // Orphaned zombies may linger when PID 1 does not reap; they are not alive.
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcStat(Number(entry));
    if (stat && stat.pgrp === pgid && stat.state !== 'Z') return true;
  }
  return false;
}

/** How a process group ended up stopped. */
export type KillOutcome = 'not-running' | 'terminated' | 'killed';

/**
 * Stops a whole process group (the agent and everything it started): SIGTERM, then
 * SIGKILL if anything is still alive after `graceMs`. Resolves once the group is gone
 * (or shortly after SIGKILL).
 *
 * @example
 * const how = await killProcessGroup(agent.pid, 5000); // 'terminated' | 'killed' | 'not-running'
 */
export async function killProcessGroup(pgid: number, graceMs: number): Promise<KillOutcome> {
  if (!isProcessGroupAlive(pgid)) return 'not-running';
  if (!signalGroup(pgid, 'SIGTERM')) return 'not-running';
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await sleep(Math.min(25, Math.max(1, deadline - Date.now())));
    if (!isProcessGroupAlive(pgid)) return 'terminated';
  }
  signalGroup(pgid, 'SIGKILL');
  const killDeadline = Date.now() + 2000;
  while (isProcessGroupAlive(pgid) && Date.now() < killDeadline) await sleep(10);
  return 'killed';
}

function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
