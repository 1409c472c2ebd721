import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { encodeTaskId } from '../system/safe-id.js';
import { promptFilePath } from '../system/state-paths.js';
import { packageRoot } from '../../util/package-root.js';

/**
 * `orch-sim`, the built-in simulated agent (`bin/orch-sim.js`): a real process that does
 * real git work in its workspace, for demos and end-to-end tests without an AI. It writes
 * `orch-sim/<task>.md` (one section per attempt), commits it on the task branch, and
 * reports with the real `orch signal` command.
 *
 * Behaviour (environment):
 * - `ORCH_SIM_MODE`: `auto` (default: succeed, but fail the first attempt of some tasks),
 *   `succeed`, `fail` (always exit 1), `block-ci` (commit, then `orch signal blocked --on ci`),
 *   `conflict` (also rewrite the shared `orch-sim/SHARED.md`, so parallel tasks conflict on
 *   merge), `exit-only` (commit, exit 0 without signalling), `noop` (signal complete, change
 *   nothing), `hang` (never finish).
 * - `ORCH_SIM_FAIL_FIRST`: `1` fails every task's first attempt, `0` none; unset, a task's
 *   first attempt fails when a hash of its id falls under `ORCH_SIM_FAIL_RATE` (default 0.25).
 * - `ORCH_SIM_DELAY_MS`: pretend to think this long first.
 * - `ORCH_SIM_ORCH_CLI`: another orch CLI script to report with (default: this package's `bin/run.js`).
 */

/** The behaviours `ORCH_SIM_MODE` selects. */
export const SIM_MODES = [
  'auto',
  'succeed',
  'fail',
  'block-ci',
  'conflict',
  'exit-only',
  'noop',
  'hang',
] as const;
/** @see SIM_MODES */
export type SimMode = (typeof SIM_MODES)[number];

/** What the simulated agent needs from its process. */
export interface SimContext {
  env: Record<string, string | undefined>;
  cwd: string;
  /** Lines for stdout / stderr. */
  out: (line: string) => void;
  err: (line: string) => void;
}

/**
 * A number in [0, 1) from the task id (FNV-1a, then mixed), so "does the first attempt fail" is the same
 * on every run.
 *
 * @example
 * taskHash('T001'); // 0.618…
 */
export function taskHash(taskId: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(taskId)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // FNV alone barely moves the high bits for ids like T1, T2…; a murmur3 finaliser mixes them.
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 2 ** 32;
}

/**
 * Whether this attempt is one the simulated agent fails on purpose.
 *
 * @example
 * failsThisAttempt({ ORCH_TASK_ID: 'T1', ORCH_ATTEMPT: '1', ORCH_SIM_FAIL_FIRST: '1' }); // true
 */
export function failsThisAttempt(env: Record<string, string | undefined>): boolean {
  const mode = (env['ORCH_SIM_MODE'] ?? 'auto') as SimMode;
  if (mode === 'fail') return true;
  if (mode !== 'auto' || env['ORCH_ATTEMPT'] !== '1') return false;
  const forced = env['ORCH_SIM_FAIL_FIRST'];
  if (forced !== undefined && forced !== '') return forced !== '0' && forced.toLowerCase() !== 'false';
  return taskHash(env['ORCH_TASK_ID'] ?? '') < Number(env['ORCH_SIM_FAIL_RATE'] ?? '0.25');
}

/**
 * Runs the simulated agent; resolves to its exit code.
 *
 * @example
 * process.exitCode = await runSimAgent({ env: process.env, cwd: process.cwd(), out: console.log, err: console.error });
 */
export async function runSimAgent(ctx: SimContext): Promise<number> {
  const { env, out, err } = ctx;
  const mode = (env['ORCH_SIM_MODE'] ?? 'auto') as SimMode;
  if (!SIM_MODES.includes(mode)) {
    err(`orch-sim: unknown ORCH_SIM_MODE "${mode}"; use one of ${SIM_MODES.join(', ')}`);
    return 2;
  }
  const taskId = env['ORCH_TASK_ID'];
  if (!taskId) {
    err('orch-sim: ORCH_TASK_ID is not set; orch-sim is meant to be started by orch');
    return 2;
  }
  const attempt = env['ORCH_ATTEMPT'] ?? '1';
  const workspace = env['ORCH_WORKSPACE'] ?? ctx.cwd;
  out(`orch-sim: task ${taskId}, attempt ${attempt}, mode ${mode}, in ${workspace}`);
  await sleep(Number(env['ORCH_SIM_DELAY_MS'] ?? '0'));
  if (mode === 'hang') {
    out('orch-sim: hanging on purpose');
    await new Promise(() => setInterval(() => undefined, 1 << 30));
  }
  if (failsThisAttempt(env)) {
    err(`orch-sim: failing attempt ${attempt} of ${taskId} on purpose`);
    return 1;
  }
  if (mode !== 'noop') {
    const title = taskTitle(env, taskId);
    const file = path.join('orch-sim', `${encodeTaskId(taskId)}.md`);
    const files = [file];
    fs.mkdirSync(path.join(workspace, 'orch-sim'), { recursive: true });
    const target = path.join(workspace, file);
    const header = fs.existsSync(target) ? '' : `# ${taskId}: ${title}\n`;
    fs.appendFileSync(
      target,
      `${header}\n## Attempt ${attempt}\n\nRole ${env['ORCH_ROLE'] ?? '?'}, spawn ${env['ORCH_SPAWN_ID'] ?? '?'}.\n`,
    );
    if (mode === 'conflict') {
      fs.writeFileSync(path.join(workspace, 'orch-sim', 'SHARED.md'), `last written by ${taskId}\n`);
      files.push(path.join('orch-sim', 'SHARED.md'));
    }
    const committed = commit(workspace, files, `${taskId}: ${title} (orch-sim, attempt ${attempt})`);
    if (!committed.ok) {
      err(`orch-sim: git commit failed in ${workspace}: ${committed.output}`);
      return 1;
    }
    out(`orch-sim: committed ${files.join(', ')}`);
  }
  if (mode === 'exit-only') return 0;
  if (mode === 'block-ci') {
    return report(ctx, ['blocked', '--on', 'ci', '--summary', `${taskId} waits for CI`]) ? 0 : 1;
  }
  // The work is committed, and exit 0 means "done" anyway: a failed report is only a warning.
  report(ctx, ['complete', '--summary', `orch-sim finished ${taskId} (attempt ${attempt})`]);
  return 0;
}

/**
 * Entry point of `bin/orch-sim.js`.
 *
 * @example
 * process.exitCode = await main();
 */
export async function main(): Promise<number> {
  return runSimAgent({
    env: process.env,
    cwd: process.cwd(),
    out: (line) => process.stdout.write(line + '\n'),
    err: (line) => process.stderr.write(line + '\n'),
  });
}

function taskTitle(env: Record<string, string | undefined>, taskId: string): string {
  const stateDir = env['ORCH_STATE_DIR'];
  if (!stateDir) return 'simulated work';
  try {
    const prompt = fs.readFileSync(
      promptFilePath(stateDir, taskId, Number(env['ORCH_ATTEMPT'] ?? '1')),
      'utf8',
    );
    const m = /^# Task [^:\n]*: (.+)$/m.exec(prompt);
    return m?.[1]?.trim() ?? 'simulated work';
  } catch {
    return 'simulated work';
  }
}

function commit(cwd: string, files: string[], message: string): { ok: boolean; output: string } {
  const gitIn = (args: string[]) => spawnSync('git', args, { cwd, encoding: 'utf8' });
  const identity: string[] = [];
  if (gitIn(['config', 'user.name']).stdout.trim() === '') identity.push('-c', 'user.name=orch-sim');
  if (gitIn(['config', 'user.email']).stdout.trim() === '')
    identity.push('-c', 'user.email=orch-sim@localhost.invalid');
  for (const args of [
    ['add', '--', ...files],
    [...identity, 'commit', '-q', '-m', message, '--', ...files],
  ]) {
    const r = gitIn(args);
    if (r.status !== 0) return { ok: false, output: `${r.stdout}${r.stderr}`.trim() || String(r.error) };
  }
  return { ok: true, output: '' };
}

/** Runs `orch signal <args>` with this process's ORCH_* environment; false (and says why) if it failed. */
function report(ctx: SimContext, args: string[]): boolean {
  const cli = ctx.env['ORCH_SIM_ORCH_CLI'] || path.join(packageRoot(import.meta.url), 'bin', 'run.js');
  ctx.out(
    `orch-sim: reporting: orch signal ${args.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ')}`,
  );
  const r = spawnSync(process.execPath, [cli, 'signal', ...args], {
    cwd: ctx.cwd,
    env: { ...ctx.env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status === 0) return true;
  const lines = `${r.stderr ?? ''}\n${r.stdout ?? ''}`
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  // A crash prints a stack trace; the line naming the error says the most.
  const why = (
    lines.find((l) => /error/i.test(l)) ??
    lines[lines.length - 1] ??
    r.error?.message ??
    `exit code ${r.status}`
  ).slice(0, 300);
  ctx.err(`orch-sim: could not report "${args[0]}" with \`orch signal\` (${cli}): ${why}`);
  return false;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Number.isFinite(ms) && ms > 0 ? ms : 0));
}
