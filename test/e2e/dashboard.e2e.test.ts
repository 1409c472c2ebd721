import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoRepo } from '../../src/runtime/demo/demo.js';
import { orchEnv, sleep } from '../fixtures/agents/e2e-repo.js';
import { available } from '../setup/required.js';

/**
 * `orch watch` for real: the built CLI (`npm run build` first) in a pseudo-terminal (tmux),
 * following a real `orch spawn` of the demo repository from another process. The screen is
 * read with `tmux capture-pane`; keys are sent with `send-keys`.
 */

const bin = fileURLToPath(new URL('../../bin/run.js', import.meta.url));
const found = ['/usr/bin/tmux', '/usr/local/bin/tmux'].find((p) => fs.existsSync(p)) ?? null;
const TMUX = available(
  'tmux',
  found !== null,
  'the dashboard is not tested in a terminal; install tmux (.ci/run does)',
)
  ? found
  : null;
// A private tmux server: nothing of the user's sessions is touched, and kill-server ends only ours.
const SOCKET = `orch-e2e-${process.pid}`;

let dir: string;
let repo: string;
let spawnRun: ChildProcess | null = null;
let spawnExit: Promise<number | null>;

function tmux(...args: string[]): string {
  return execFileSync(TMUX!, ['-L', SOCKET, ...args], { encoding: 'utf8', env: orchEnv() });
}

/**
 * Starts `orch <argv>` in a 160×50 tmux session that stays (dead) after the command exits.
 * A shell around it writes the command's exit status to `<dir>/<name>.status`: tmux itself
 * can show a pane dead without its status for a long time on a loaded machine.
 */
function startWatch(name: string, ...argv: string[]): void {
  tmux(
    'new-session',
    '-d',
    '-s',
    name,
    '-x',
    '160',
    '-y',
    '50',
    '-e',
    `STATUS_FILE=${statusFile(name)}`,
    '/bin/sh',
    '-c',
    '"$@"; echo $? > "$STATUS_FILE"',
    'sh',
    process.execPath,
    bin,
    ...argv,
    '--repo',
    repo,
  );
  tmux('set-option', '-t', name, 'remain-on-exit', 'on');
}

const screen = (name: string) => tmux('capture-pane', '-p', '-t', name);
const statusFile = (name: string) => path.join(dir, `${name}.status`);

/** Polls the screen until `test` holds; returns that screen (fails with the last one seen). */
async function waitForScreen(name: string, test: (s: string) => boolean, ms = 30_000): Promise<string> {
  const end = Date.now() + ms;
  let last = '';
  while (Date.now() < end) {
    last = screen(name);
    if (test(last)) return last;
    await sleep(100);
  }
  throw new Error(`the screen never showed what was expected; last screen:\n${last}`);
}

/** Waits for the command's exit status (130 is death by SIGINT); `null` if it never exits. */
async function waitForExit(name: string, ms = 20_000): Promise<number | null> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const text = fs.existsSync(statusFile(name)) ? fs.readFileSync(statusFile(name), 'utf8') : '';
    if (text.endsWith('\n')) return Number(text.trim());
    await sleep(50);
  }
  return null;
}

describe.runIf(TMUX !== null)('orch watch in a terminal', () => {
  beforeAll(async () => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-dashboard-e2e-')));
    repo = await createDemoRepo(path.join(dir, 'repo'));
  });

  afterAll(() => {
    if (spawnRun !== null && spawnRun.exitCode === null) spawnRun.kill('SIGKILL');
    try {
      tmux('kill-server');
    } catch {
      // No server left.
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('status --watch waits for the log, then follows a live spawn: agents, work, progress bars, events, totals', async () => {
    startWatch('live', 'status', '--watch');
    await waitForScreen('live', (s) => s.includes('orch watch: waiting for the log at'));
    spawnRun = spawn(process.execPath, [bin, 'spawn', '--repo', repo], { env: orchEnv(), stdio: 'ignore' });
    spawnExit = new Promise((resolve) => spawnRun!.once('exit', (code) => resolve(code)));

    // An agent at work, as the log and its output file show it.
    const busy = await waitForScreen('live', (s) =>
      /^ {2}T\d{3} +(architect|implementer|tester) +\d +\S+ +\S/m.test(s),
    );
    expect(busy).toMatch(
      /^orch watch · Calculator · run #1 running since \d\d:\d\d:\d\d \(pid \d+\) · event \d+/m,
    );
    expect(busy).toMatch(/^Agents running \(\d\)\n {2}TASK +ROLE +TRY +ELAPSED +IDLE +OUTPUT +LAST LINE$/m);
    expect(busy).toMatch(/^Claimed: T\d{3} \w+/m);
    expect(busy).toMatch(/^ {2}M1 +\[[#.]{20}\] +\d\/4 +open +Calculator Core$/m);
    expect(busy).toMatch(/^ {4}S001 +\[[#.]{20}\] +\d\/1 /m);
    expect(busy).toMatch(/^Recent events\n {2}\d\d:\d\d:\d\d /m);
    expect(busy.split('\n').every((l) => l.length <= 160)).toBe(true);
    // Output activity: the agent's log file is growing, or it is just starting.
    expect(busy).toMatch(/ (active|starting|no output|quiet \d+[sm])/);

    // The run ends on its own (the demo plan completes); the dashboard shows the final state.
    expect(await spawnExit).toBe(0);
    const done = await waitForScreen('live', (s) => s.includes('Tasks 8/8 done') && s.includes('stopped: '));
    expect(done).toMatch(/run #1 stopped: /);
    expect(done).toContain('Agents: none running');
    expect(done).toMatch(/^ {2}M2 +\[#{20}\] +4\/4 +complete +Extras$/m);
    expect(done).toMatch(/^Usage \d+ attempt\(s\) · tokens 0 in \/ 0 out · cost \$0\.0000$/m);

    // q quits with status 0 and leaves the alternate screen: the dashboard is gone from the pane.
    tmux('send-keys', '-t', 'live', 'q');
    expect(await waitForExit('live')).toBe(0);
    expect(screen('live')).not.toContain('orch watch ·');
  });

  let ctrlcTry = 0;
  it('orch watch quits on Ctrl-C too, restoring the terminal', { retry: 1 }, async () => {
    // A session of its own per try: a retry must not collide with the first try's pane.
    const name = `ctrlc-${++ctrlcTry}`;
    startWatch(name, 'watch');
    await waitForScreen(name, (s) => s.includes('orch watch · Calculator'));
    tmux('send-keys', '-t', name, 'C-c');
    expect(await waitForExit(name)).toBe(0);
    expect(screen(name)).not.toContain('orch watch ·');
  });

  it('prints plain periodic lines when stdout is not a terminal, and stops on SIGINT', async () => {
    const child = spawn(process.execPath, [bin, 'watch', '--repo', repo, '--interval', '1'], {
      env: orchEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const end = Date.now() + 15_000;
    while (out.split('\n').filter(Boolean).length < 2 && Date.now() < end) await sleep(100);
    child.kill('SIGINT');
    expect(await exit).toBe(0);
    const lines = out.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) {
      expect(line).toMatch(
        /^\d\d:\d\d:\d\d event \d+ · run stopped · tasks 8\/8 done, 0 running, 0 failed, 0 blocked · agents none · \$0\.0000$/,
      );
    }
    expect(out).not.toContain('\x1b');
  });
});
