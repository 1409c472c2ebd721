import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { systemClock, type Clock } from './clock.js';
import { LeaseError, LeaseHeldError } from './errors.js';
import { isProcessAlive, isSameProcessAlive, processStartTime } from './process-identity.js';
import { leaseFilePath, prepareStateDir } from './state-paths.js';
import type { LeaseView } from '../../core/status-document.js';

/**
 * One orchestrator per state directory. The lease is `<state-dir>/orch.lock`, a JSON file
 * created atomically (written to a temp file, then hard-linked into place, which fails if
 * the name exists), naming its holder by pid + process start time + host.
 *
 * A lease whose holder is dead (or whose pid now belongs to another process) is taken over.
 * Takers serialise on `orch.lock.takeover` (created exclusively) and remove the stale lease
 * only if it is still byte-for-byte the one they judged stale, so of several racing takers
 * exactly one wins. Residual risk: if a taker dies inside that short critical section and
 * two others then clear its guard at the same instant, both may proceed; each still creates
 * the lease with an exclusive link, so at worst one of them removes the other's fresh lease.
 * A holder on another host cannot be checked and is always treated as alive.
 */

/** What the lease file says about its holder. */
export interface LeaseInfo {
  pid: number;
  /** Process start time ({@link processStartTime}); null where it cannot be read. */
  startTime: string | null;
  host: string;
  runId: string;
  acquiredAt: string;
  /** Unique per acquisition, so a holder can tell its own lease from a successor's. */
  nonce: string;
}

/** A held lease. */
export class Lease {
  constructor(
    readonly file: string,
    readonly info: LeaseInfo,
  ) {}

  /** True while the lease file is still this acquisition's. */
  isHeld(): boolean {
    return readLeaseFile(this.file)?.info?.nonce === this.info.nonce;
  }

  /** Removes the lease file if it is still ours (synchronous, so it can run in an exit handler). */
  release(): void {
    if (this.isHeld()) unlinkQuietly(this.file);
  }
}

/**
 * Takes the state directory's lease for this process, or throws {@link LeaseHeldError}
 * (`LEASE_HELD`, exit code 3) naming the live holder's pid and runId.
 *
 * @example
 * const lease = await acquireLease('/repo/.state', { runId });
 * try { … } finally { lease.release(); }
 */
export async function acquireLease(
  stateDir: string,
  options: { runId: string; clock?: Clock },
): Promise<Lease> {
  const file = leaseFilePath(stateDir);
  const me: LeaseInfo = {
    pid: process.pid,
    startTime: processStartTime(process.pid) ?? null,
    host: os.hostname(),
    runId: options.runId,
    acquiredAt: (options.clock ?? systemClock).now().toISOString(),
    nonce: randomUUID(),
  };
  const tmp = `${file}.${me.nonce}.tmp`;
  try {
    // The first runtime file of a run: the state directory gets its .gitignore first.
    prepareStateDir(path.dirname(file));
    fs.writeFileSync(tmp, JSON.stringify(me, null, 2) + '\n');
  } catch (cause) {
    throw new LeaseError(file, (cause as Error).message, cause);
  }
  try {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      try {
        fs.linkSync(tmp, file);
        return new Lease(file, me);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
          throw new LeaseError(file, (err as Error).message, err);
      }
      const holder = readLeaseFile(file);
      if (!holder) continue; // released in the meantime
      if (holder.info && holderAlive(holder.info)) throw new LeaseHeldError(file, holder.info);
      await takeOver(file, holder.raw);
    }
    throw new LeaseError(file, 'gave up after 10 s of contention with other orch processes');
  } finally {
    unlinkQuietly(tmp);
  }
}

/**
 * The current lease holder, if any (for `orch status` and crash recovery).
 *
 * @example
 * const holder = readLease('/repo/.state'); // { pid, runId, … } | undefined
 */
export function readLease(stateDir: string): LeaseInfo | undefined {
  return readLeaseFile(leaseFilePath(stateDir))?.info;
}

function holderAlive(info: LeaseInfo): boolean {
  if (info.host !== os.hostname()) return true;
  return info.startTime === null ? isProcessAlive(info.pid) : isSameProcessAlive(info.pid, info.startTime);
}

/** Removes the stale lease `staleRaw`, unless another taker got there first. */
async function takeOver(file: string, staleRaw: string): Promise<void> {
  const guard = `${file}.takeover`;
  const mine = JSON.stringify({
    pid: process.pid,
    startTime: processStartTime(process.pid) ?? null,
    nonce: randomUUID(),
  });
  try {
    fs.writeFileSync(guard, mine, { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
      throw new LeaseError(file, (err as Error).message, err);
    clearDeadGuard(guard);
    await sleep(2 + Math.random() * 10);
    return;
  }
  try {
    if (readRaw(file) === staleRaw) unlinkQuietly(file);
  } finally {
    if (readRaw(guard) === mine) unlinkQuietly(guard);
  }
}

/** A guard left by a taker that died mid-takeover would block everyone forever. */
function clearDeadGuard(guard: string): void {
  const raw = readRaw(guard);
  if (raw === undefined) return;
  let dead: boolean;
  try {
    const g = JSON.parse(raw) as { pid: number; startTime: string | null };
    dead = g.startTime === null ? !isProcessAlive(g.pid) : !isSameProcessAlive(g.pid, g.startTime);
  } catch {
    // Empty or partial: being written right now, unless it has been like that for a while.
    dead = ageMs(guard) > 2000;
  }
  if (dead && readRaw(guard) === raw) unlinkQuietly(guard);
}

function readLeaseFile(file: string): { raw: string; info: LeaseInfo | undefined } | undefined {
  const raw = readRaw(file);
  if (raw === undefined) return undefined;
  try {
    const v = JSON.parse(raw) as Partial<LeaseInfo>;
    const ok = typeof v.pid === 'number' && typeof v.runId === 'string' && typeof v.host === 'string';
    // An unreadable lease names no live holder: it is treated as stale.
    return { raw, info: ok ? (v as LeaseInfo) : undefined };
  } catch {
    return { raw, info: undefined };
  }
}

function readRaw(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LeaseError(file, (err as Error).message, err);
  }
}

function ageMs(file: string): number {
  try {
    return Date.now() - fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function unlinkQuietly(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    // Already gone.
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Who holds `<state-dir>/orch.lock`, and whether that process is still alive (null: no lease).
 *
 * @example
 * readLeaseView('/repo/.state'); // { pid: 4242, runId: 'r1', alive: true, … } | null
 */
export function readLeaseView(stateDir: string): LeaseView | null {
  const info = readLease(stateDir);
  if (info === undefined) return null;
  const alive =
    info.host !== os.hostname()
      ? null
      : info.startTime === null
        ? isProcessAlive(info.pid)
        : isSameProcessAlive(info.pid, info.startTime);
  return { pid: info.pid, runId: info.runId, host: info.host, acquiredAt: info.acquiredAt, alive };
}
