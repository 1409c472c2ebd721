import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  closeSpawnProcess,
  execThreaded,
  spawnerKind,
  spawnProcessCpu,
  spawnThreadActive,
  spawnThreaded,
  SpawnThreadError,
  stopSpawnThreadForTests,
  ThreadedSpawnError,
  useSpawnProcess,
} from '../../../src/runtime/system/spawn-thread.js';
import { isProcessAlive } from '../../../src/runtime/system/process-identity.js';

// Real processes started from orch's process-starting thread: the same answers as execFile and
// spawn on the calling thread, and what happens when the thread stops (these tests run in
// order; the last ones stop it).

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-spawn-thread-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const opts = { cwd: dir, env: process.env, maxBuffer: 1024 * 1024 };

function execHere(file: string, args: string[]): Promise<{ code: unknown; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(file, args, { cwd: dir, encoding: 'utf8' }, (err, stdout, stderr) =>
      resolve({ code: err === null ? 0 : (err as { code?: unknown }).code, stdout, stderr }),
    ),
  );
}

/** This module's source, for a script in a fresh Node (tsx loads the TypeScript). */
const MODULE = pathToFileURL(
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src/runtime/system/spawn-thread.ts'),
).href;

/** Runs an ES module `script` in a fresh Node with tsx, in the test's directory; its stdout. */
function runModuleScript(script: string): string {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return execFileSync(process.execPath, ['--import', tsx, '--input-type=module', '-e', script], {
    cwd: dir,
    encoding: 'utf8',
  });
}

/** Field 5 of /proc/<pid>/stat: the process group. */
function pgrpOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

describe('execThreaded', () => {
  it('gives the exit code and output execFile gives, in the directory asked', async () => {
    expect(spawnThreadActive()).toBe(true);
    const script = 'pwd; echo to-stderr >&2; exit 3';
    const r = await execThreaded('sh', ['-c', script], opts);
    const here = await execHere('sh', ['-c', script]);
    expect(r).toEqual({ kind: 'exit', exitCode: 3, stdout: here.stdout, stderr: here.stderr });
    expect(r.kind === 'exit' && r.stdout.trim()).toBe(fs.realpathSync(dir));
    const ok = await execThreaded('git', ['--version'], opts);
    expect(ok.kind === 'exit' && ok.exitCode).toBe(0);
    expect(ok.kind === 'exit' && ok.stdout).toMatch(/^git version /);
  });

  it('uses the environment it is given', async () => {
    const r = await execThreaded('sh', ['-c', 'printf %s "$ORCH_T_VALUE"'], {
      ...opts,
      env: { ...process.env, ORCH_T_VALUE: 'from the caller' },
    });
    expect(r).toMatchObject({ kind: 'exit', exitCode: 0, stdout: 'from the caller' });
  });

  it('says why a command could not run, and when its output overflowed', async () => {
    const missing = await execThreaded('orch-no-such-command-here', [], opts);
    expect(missing).toMatchObject({ kind: 'error', code: 'ENOENT' });
    const big = await execThreaded('sh', ['-c', 'head -c 5000 /dev/zero'], { ...opts, maxBuffer: 100 });
    expect(big).toMatchObject({ kind: 'error', code: 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER' });
    const killed = await execThreaded('sh', ['-c', 'kill -TERM $$'], opts);
    expect(killed).toMatchObject({ kind: 'error', signal: 'SIGTERM' });
  });

  it('runs many calls at once, each answered with its own output', async () => {
    const rs = await Promise.all(
      Array.from({ length: 40 }, (_, i) => execThreaded('sh', ['-c', `echo ${i}`], opts)),
    );
    expect(rs.map((r) => (r.kind === 'exit' ? r.stdout.trim() : r.kind))).toEqual(
      Array.from({ length: 40 }, (_, i) => String(i)),
    );
  });
});

describe('spawnThreaded', () => {
  it('starts a detached process (its own group) that appends to the log, and reports its exit', async () => {
    const logFile = path.join(dir, 'a.log');
    fs.writeFileSync(logFile, 'before\n');
    const child = await spawnThreaded('sh', ['-c', 'echo out; echo err >&2; sleep 0.3; exit 7'], {
      cwd: dir,
      env: process.env,
      detached: true,
      logFile,
    });
    expect(pgrpOf(child.pid)).toBe(child.pid);
    expect(await child.exited).toEqual({ code: 7, signal: null });
    expect(fs.readFileSync(logFile, 'utf8')).toBe('before\nout\nerr\n');
  });

  it('reports a signal, and refuses a command that does not exist', async () => {
    const logFile = path.join(dir, 'b.log');
    const child = await spawnThreaded('sleep', ['30'], {
      cwd: dir,
      env: process.env,
      detached: true,
      logFile,
    });
    process.kill(-child.pid, 'SIGTERM');
    expect(await child.exited).toEqual({ code: null, signal: 'SIGTERM' });
    const err = await spawnThreaded('orch-no-such-command-here', [], {
      cwd: dir,
      env: process.env,
      detached: true,
      logFile,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ThreadedSpawnError);
    expect((err as ThreadedSpawnError).code).toBe('ENOENT');
  });

  it('does not keep a process alive that only waits on a detached child it let go, and keeps it while it waits', () => {
    const script = `
      const m = await import(${JSON.stringify(MODULE)});
      const r = await m.execThreaded('sh', ['-c', 'sleep 0.2; echo answered'], { cwd: process.cwd(), env: process.env, maxBuffer: 1024 });
      console.log(r.stdout.trim());
      const c = await m.spawnThreaded('sleep', ['5'], { cwd: process.cwd(), env: process.env, detached: true, logFile: '/dev/null' });
      c.unref();
      console.log('pid', c.pid);
    `;
    const t0 = Date.now();
    const out = runModuleScript(script);
    expect(out).toMatch(/^answered\npid \d+\n$/);
    // It ended without waiting for the 5-second sleep it let go.
    expect(Date.now() - t0).toBeLessThan(4500);
    const pid = Number(/pid (\d+)/.exec(out)![1]);
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  });
});

/** The contents of a `/proc` file, or '' when it is gone (a thread or process that ended meanwhile). */
function readProc(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** The pids of `pid`'s children (Linux). */
function childrenOf(pid: number): number[] {
  return fs
    .readdirSync(`/proc/${pid}/task`)
    .flatMap((t) => readProc(`/proc/${pid}/task/${t}/children`).trim().split(/\s+/))
    .filter(Boolean)
    .map(Number);
}

describe('the helper process of a run', () => {
  it('gives the same answers from a small helper process, and starts agents in their own groups', async () => {
    expect(spawnerKind()).toBe('thread');
    useSpawnProcess();
    expect(spawnerKind()).toBe('process');
    const helpers = childrenOf(process.pid).filter((pid) =>
      readProc(`/proc/${pid}/cmdline`).startsWith(`${process.execPath}\0-e\0`),
    );
    expect(helpers).toHaveLength(1);
    const script = 'pwd; echo to-stderr >&2; exit 3';
    const here = await execHere('sh', ['-c', script]);
    expect(await execThreaded('sh', ['-c', script], opts)).toEqual({
      kind: 'exit',
      exitCode: 3,
      stdout: here.stdout,
      stderr: here.stderr,
    });
    expect(
      await execThreaded('sh', ['-c', 'printf %s "$ORCH_T_VALUE"'], {
        ...opts,
        env: { ...process.env, ORCH_T_VALUE: 'through the helper' },
      }),
    ).toMatchObject({ stdout: 'through the helper' });
    expect(await execThreaded('orch-no-such-command-here', [], opts)).toMatchObject({
      kind: 'error',
      code: 'ENOENT',
    });
    const rs = await Promise.all(
      Array.from({ length: 40 }, (_, i) => execThreaded('sh', ['-c', `echo ${i}`], opts)),
    );
    expect(rs.map((r) => (r.kind === 'exit' ? r.stdout.trim() : r.kind))).toEqual(
      Array.from({ length: 40 }, (_, i) => String(i)),
    );
    const logFile = path.join(dir, 'p.log');
    const child = await spawnThreaded('sh', ['-c', 'echo out; echo err >&2; sleep 0.2; exit 6'], {
      cwd: dir,
      env: process.env,
      detached: true,
      logFile,
    });
    expect(pgrpOf(child.pid)).toBe(child.pid);
    // The helper's child, not this process's.
    expect(childrenOf(process.pid)).not.toContain(child.pid);
    expect(await child.exited).toEqual({ code: 6, signal: null });
    expect(fs.readFileSync(logFile, 'utf8')).toBe('out\nerr\n');
    const sleeper = await spawnThreaded('sleep', ['30'], {
      cwd: dir,
      env: process.env,
      detached: true,
      logFile,
    });
    process.kill(-sleeper.pid, 'SIGTERM');
    expect(await sleeper.exited).toEqual({ code: null, signal: 'SIGTERM' });

    // Closed by its last user: it ends, its CPU is counted, and calls go to the thread again.
    useSpawnProcess();
    await closeSpawnProcess();
    expect(spawnerKind()).toBe('process');
    const before = spawnProcessCpu();
    await closeSpawnProcess();
    expect(spawnerKind()).toBe('thread');
    const after = spawnProcessCpu();
    expect(after.user + after.system).toBeGreaterThan(before.user + before.system);
    for (const pid of helpers) expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
    expect(await execThreaded('sh', ['-c', 'echo back'], opts)).toMatchObject({ stdout: 'back\n' });
  });

  it('ends when the process that started it is killed', () => {
    const script = `
      const m = await import(${JSON.stringify(MODULE)});
      m.useSpawnProcess();
      await m.execThreaded('true', [], { cwd: process.cwd(), env: process.env, maxBuffer: 1024 });
      const fs = await import('node:fs');
      const kids = fs.readFileSync('/proc/' + process.pid + '/task/' + process.pid + '/children', 'utf8').trim();
      console.log(kids);
      process.kill(process.pid, 'SIGKILL');
    `;
    let out = '';
    try {
      runModuleScript(script);
    } catch (err) {
      out = String((err as { stdout?: string }).stdout);
    }
    const helper = Number(out.trim().split(/\s+/)[0]);
    expect(helper).toBeGreaterThan(0);
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && isProcessAlive(helper)) execFileSync('sleep', ['0.05']);
    expect(isProcessAlive(helper)).toBe(false);
  });
});

describe('when the thread stops', () => {
  it('fails a call in flight, watches a started agent to its end, and starts later ones on the calling thread', async () => {
    const logFile = path.join(dir, 'c.log');
    const agent = await spawnThreaded('sh', ['-c', 'sleep 0.5; echo done'], {
      cwd: dir,
      env: process.env,
      detached: true,
      logFile,
    });
    const inFlight = execThreaded('sh', ['-c', 'sleep 2'], opts).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    await stopSpawnThreadForTests();
    expect(await inFlight).toBeInstanceOf(SpawnThreadError);
    expect(spawnThreadActive()).toBe(false);
    // Nobody reaps the agent now: its end is seen by polling its pid.
    const t0 = Date.now();
    expect(await agent.exited).toEqual({ code: null, signal: null });
    expect(Date.now() - t0).toBeGreaterThan(200);
    expect(fs.readFileSync(logFile, 'utf8')).toBe('done\n');
    // Later calls run on this thread, with the same answers.
    expect(await execThreaded('sh', ['-c', 'echo here; exit 2'], opts)).toEqual({
      kind: 'exit',
      exitCode: 2,
      stdout: 'here\n',
      stderr: '',
    });
    const later = await spawnThreaded('sh', ['-c', 'exit 4'], {
      cwd: dir,
      env: process.env,
      detached: true,
      logFile,
    });
    expect(await later.exited).toEqual({ code: 4, signal: null });
  });
});
