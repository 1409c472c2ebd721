import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLease, readLease, type LeaseInfo } from '../../../src/runtime/system/lease.js';
import { processStartTime } from '../../../src/runtime/system/process-identity.js';
import { removeDir, tempDir } from '../helpers.js';

const run = promisify(execFile);
const projectRoot = fileURLToPath(new URL('../../..', import.meta.url));
const racer = fileURLToPath(new URL('../fixtures/lease-racer.ts', import.meta.url));
let stateDir: string;

beforeEach(() => {
  stateDir = path.join(tempDir('lease'), 'state');
});

afterEach(() => removeDir(path.dirname(stateDir)));

/** The pid and start time of a process that has already exited. */
function deadProcess(): { pid: number; startTime: string } {
  const child = spawnSync(
    process.execPath,
    ['-e', 'console.log(require("fs").readFileSync("/proc/self/stat","utf8"))'],
    {
      encoding: 'utf8',
    },
  );
  const stat = child.stdout;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { pid: child.pid, startTime: fields[19]! };
}

function writeLease(info: Partial<LeaseInfo>): void {
  fs.mkdirSync(stateDir, { recursive: true });
  const full: LeaseInfo = {
    pid: 1,
    startTime: null,
    host: os.hostname(),
    runId: 'old-run',
    acquiredAt: '2020-01-01T00:00:00.000Z',
    nonce: 'old',
    ...info,
  };
  fs.writeFileSync(path.join(stateDir, 'orch.lock'), JSON.stringify(full));
}

describe('lease', () => {
  it('writes the holder and refuses a second holder with LEASE_HELD, exit code 3', async () => {
    const lease = await acquireLease(stateDir, {
      runId: 'run-A',
      clock: { now: () => new Date('2030-01-02T03:04:05Z') },
    });
    const onDisk = JSON.parse(fs.readFileSync(path.join(stateDir, 'orch.lock'), 'utf8'));
    expect(onDisk).toEqual({
      pid: process.pid,
      startTime: processStartTime(process.pid),
      host: os.hostname(),
      runId: 'run-A',
      acquiredAt: '2030-01-02T03:04:05.000Z',
      nonce: lease.info.nonce,
    });
    const err = await acquireLease(stateDir, { runId: 'run-B' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'LEASE_HELD', exitCode: 3 });
    expect((err as Error).message).toContain(`pid ${process.pid}`);
    expect((err as Error).message).toContain('run-A');
    expect(lease.isHeld()).toBe(true);
    // No temp file is left; the state directory got its .gitignore with the first runtime file.
    expect(fs.readdirSync(stateDir).sort()).toEqual(['.gitignore', 'orch.lock']);
  });

  it('is released on stop, and a release never removes a successor’s lease', async () => {
    const first = await acquireLease(stateDir, { runId: 'run-A' });
    first.release();
    expect(readLease(stateDir)).toBeUndefined();
    const second = await acquireLease(stateDir, { runId: 'run-B' });
    first.release();
    expect(readLease(stateDir)?.runId).toBe('run-B');
    expect(second.isHeld()).toBe(true);
    expect(first.isHeld()).toBe(false);
  });

  it('takes over a lease whose holder is dead', async () => {
    const dead = deadProcess();
    writeLease({ pid: dead.pid, startTime: dead.startTime, runId: 'crashed-run' });
    const lease = await acquireLease(stateDir, { runId: 'run-new' });
    expect(readLease(stateDir)).toMatchObject({
      pid: process.pid,
      runId: 'run-new',
      nonce: lease.info.nonce,
    });
  });

  it('takes over a lease whose pid now belongs to another process', async () => {
    writeLease({ pid: process.pid, startTime: 'not-the-same-start', runId: 'reused-pid-run' });
    await acquireLease(stateDir, { runId: 'run-new' });
    expect(readLease(stateDir)?.runId).toBe('run-new');
  });

  it('takes over an unreadable lease file', async () => {
    fs.mkdirSync(stateDir, { recursive: true });
    fs.writeFileSync(path.join(stateDir, 'orch.lock'), '{"pid": 12');
    await acquireLease(stateDir, { runId: 'run-new' });
    expect(readLease(stateDir)?.runId).toBe('run-new');
  });

  it('treats a lease from another host as held', async () => {
    writeLease({ pid: 999999, host: 'some-other-host.example', runId: 'remote-run' });
    await expect(acquireLease(stateDir, { runId: 'run-new' })).rejects.toMatchObject({ code: 'LEASE_HELD' });
  });

  async function race(processes: number): Promise<Array<{ ok: boolean; pid: number; code?: string }>> {
    const barrier = fs.mkdtempSync(path.join(path.dirname(stateDir), 'barrier-'));
    const running = Array.from({ length: processes }, () =>
      run(process.execPath, ['--import', 'tsx', racer, stateDir, barrier, '1000'], { cwd: projectRoot }),
    );
    // Start them all at once, when every one of them has loaded.
    while (fs.readdirSync(barrier).length < processes) await new Promise((r) => setTimeout(r, 20));
    fs.writeFileSync(path.join(barrier, 'go'), '');
    const outputs = await Promise.all(running);
    return outputs.map((o) => JSON.parse(o.stdout.trim()));
  }

  it('lets exactly one of several racing processes take over a dead holder’s lease', async () => {
    const dead = deadProcess();
    writeLease({ pid: dead.pid, startTime: dead.startTime, runId: 'crashed-run' });
    const results = await race(5);
    const winners = results.filter((r) => r.ok);
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => !r.ok).every((r) => r.code === 'LEASE_HELD')).toBe(true);
    // The winner released on exit; no guard or temp files are left behind (only the .gitignore).
    expect(fs.readdirSync(stateDir)).toEqual(['.gitignore']);
  });

  it('lets exactly one of several racing processes take a free lease', async () => {
    fs.mkdirSync(stateDir, { recursive: true });
    const results = await race(5);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
  });
});
