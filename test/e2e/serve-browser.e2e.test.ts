import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, gitRepo, ORCH_BIN, orchEnv, readLogEvents, runOrch } from '../fixtures/agents/e2e-repo.js';
import { available } from '../setup/required.js';

/**
 * `orch serve` in headless Chromium, through the built CLI (`npm run build` first): a page
 * opened before the run starts orch spawn from its controls; scripted agents run (one hangs,
 * two work, one prints hostile text under a hostile title); the lanes fill in; a cancel from
 * the page stops the hanging agent and shows in `orch log`; a page opened mid-run and the
 * first one show what `orch status --json` (and `orch replay --to`) says at their position;
 * no console error, no request outside the server, no script from the log runs.
 */

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = available(
  `Chromium (${CHROMIUM})`,
  fs.existsSync(CHROMIUM),
  "orch serve is not tested in a browser; install Debian's chromium package (.ci/run does)",
);
const agents = (name: string) => fileURLToPath(new URL(`../fixtures/agents/${name}`, import.meta.url));
/**
 * The README's screenshot: rewritten only with ORCH_UPDATE_SCREENSHOT=1 (a normal run writes
 * it to a temp file, so running the tests leaves the checkout unchanged).
 */
const SCREENSHOT =
  process.env['ORCH_UPDATE_SCREENSHOT'] === '1'
    ? fileURLToPath(new URL('../../docs/serve.png', import.meta.url))
    : path.join(os.tmpdir(), `orch-serve-screenshot-${process.pid}.png`);

/** A title and output that would run script, if the page parsed them as HTML. */
const HOSTILE_HTML = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"><b>bold</b>';
const HOSTILE_TERMINAL = 'x\x1b[2Jy\x1b]52;c;aGk=\x07 bell cr\r end';

let dir: string;
let repo: string;
let server: ChildProcess | undefined;
let serverOutput = '';
let origin: string;
let url: string;
let browser: Browser | undefined;

function events(): { type: string; data: Record<string, unknown>; metadata: Record<string, unknown> }[] {
  const file = path.join(repo, '.state', 'orch.db');
  return readLogEvents(file) as never;
}

async function until<T>(what: string, probe: () => T | Promise<T>, ms = 90_000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${serverOutput}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

beforeAll(async () => {
  if (!hasChromium) return;
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-serve-e2e-')));
  repo = gitRepo(path.join(dir, 'repo'));
  const plan = {
    name: 'Serve e2e',
    milestones: [
      {
        id: 'M1',
        title: 'One',
        phases: [
          {
            id: 'P1',
            title: 'Work',
            tasks: [
              { id: 'T1', title: 'Never ends', role: 'slow' },
              { id: 'T2', title: 'Lay out', role: 'dev' },
              { id: 'T3', title: 'Build on it', role: 'dev', dependsOn: ['T2'] },
              { id: 'T4', title: `Hostile ${HOSTILE_HTML}`, role: 'hostile' },
            ],
          },
        ],
      },
    ],
  };
  fs.writeFileSync(path.join(repo, 'plan.json'), JSON.stringify(plan, null, 2));
  fs.writeFileSync(
    path.join(repo, 'orch.config.json'),
    JSON.stringify({
      planDir: 'plan.json',
      maxConcurrent: 2,
      maxRetries: 0,
      retryInterval: 0,
      agents: {
        slow: { command: [process.execPath, agents('hang.mjs')] },
        dev: { command: [process.execPath, agents('work.mjs')], env: { WORK_MS: '2500' } },
        hostile: {
          command: [process.execPath, agents('hostile.mjs')],
          env: { HOSTILE_TEXT: `${HOSTILE_HTML} ${HOSTILE_TERMINAL}`, ORCH_BIN },
        },
      },
    }),
  );
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'plan');
  const tokenFile = path.join(dir, 'token');
  fs.writeFileSync(tokenFile, 'serve-e2e-token-0123456789abcdef\n');
  server = spawn(
    process.execPath,
    [ORCH_BIN, 'serve', '--repo', repo, '--port', '0', '--token-file', tokenFile],
    {
      env: orchEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  server.stdout!.on('data', (c: Buffer) => (serverOutput += c.toString()));
  server.stderr!.on('data', (c: Buffer) => (serverOutput += c.toString()));
  const printed = await until(
    'the URL orch serve prints',
    () => /open (http:\/\/127\.0\.0\.1:\d+)\/#token=(\S+)/.exec(serverOutput),
    60_000,
  );
  origin = printed[1]!;
  expect(printed[2]).toBe('serve-e2e-token-0123456789abcdef');
  url = `${origin}/#token=${printed[2]}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (server !== undefined && server.exitCode === null) {
    const exited = new Promise((r) => server!.once('exit', r));
    server.kill('SIGINT');
    await exited;
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Opens the page, recording console errors and warnings, page errors, dialogs and requests elsewhere. */
async function open(address: string) {
  const page = await (browser as Browser).newPage({ viewport: { width: 1400, height: 1000 } });
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(`${origin}/`)) problems.push(`request: ${r.url()}`);
  });
  await page.goto(address);
  await page.waitForSelector('body[data-position]');
  return { page, problems };
}

/** The task rows of the state table: [id, status, attempts]. */
async function shownTasks(page: Page): Promise<[string, string, number][]> {
  return page.$$eval('#state-table tbody tr[data-task]', (rows) =>
    rows.map((r): [string, string, number] => [
      r.getAttribute('data-task') ?? '',
      r.querySelector('.status')?.textContent ?? '',
      Number(r.querySelector('.attempts')?.textContent),
    ]),
  );
}

type StatusJson = { position: number; tasks: { id: string; status: string; attempts: number }[] };
const rows = (doc: StatusJson) =>
  doc.tasks.map((t): [string, string, number] => [t.id, t.status, t.attempts]);

async function scrubTo(page: Page, position: number): Promise<void> {
  await page.uncheck('#follow');
  await page.$eval(
    '#scrubber',
    (input, p) => {
      (input as unknown as { value: string }).value = String(p);
      input.dispatchEvent(new Event('input', { bubbles: true }));
    },
    position,
  );
  await page.waitForSelector(`body[data-position="${position}"]`);
}

describe('orch serve in headless Chromium', () => {
  it.skipIf(!hasChromium)(
    'follows a run started from the page, cancels a task from it, and shows what orch status says',
    async () => {
      const first = await open(url);
      const page = first.page;
      expect(await page.getAttribute('body', 'data-position')).toBe('0');
      expect(await page.textContent('#connection')).toMatch(/live/);

      await page.click('#spawn-start');
      await page.waitForSelector('#control-result.good >> text=/orch spawn started \\(pid \\d+\\)/');
      // The lanes fill in as agents run: T1 hangs, so its attempt bar and live agent row appear.
      await page.waitForSelector('#timeline g.lane[data-task="T1"] rect.attempt', { timeout: 90_000 });
      await page.waitForSelector('#agent-table tbody tr[data-task="T1"]', { timeout: 90_000 });
      await page.waitForSelector('#state-table tr[data-task="T1"][data-status="running"]');
      expect(await page.textContent('#run-line')).toMatch(
        /orch spawn started here is running \(pid \d+\); lease held by pid \d+/,
      );
      // The agent's elapsed time is shown and grows.
      const elapsed = () => page.textContent('#agent-table tr[data-task="T1"] td.elapsed');
      const e1 = await elapsed();
      await until('elapsed time to grow', async () => (await elapsed()) !== e1, 10_000);

      // A page opened mid-run.
      const second = await open(url);
      const midPosition = Number(await second.page.getAttribute('body', 'data-position'));
      expect(midPosition).toBeGreaterThan(0);

      // Hostile text: the output of T4 and its title are text, never markup.
      await page.waitForSelector('#state-table tr[data-task="T4"][data-status="complete"]', {
        timeout: 90_000,
      });
      expect(await page.textContent('#state-table tr[data-task="T4"] td.title')).toBe(
        `Hostile ${HOSTILE_HTML}`,
      );
      expect(await page.locator('#state-table b, #attempts b, img').count()).toBe(0);

      // The agent's output, from its log file.
      await page.click('#agent-table tr[data-task="T1"] button[data-spawn]');
      await page.waitForSelector('#agent-output:not([hidden]) >> text=/hanging \\(pid \\d+\\)/');
      await page.screenshot({ path: SCREENSHOT, fullPage: false });
      expect(await page.textContent('#scrub-extra')).toMatch(/; \d+ live agent\(s\);/);

      // Cancel T1 from the page, with a note.
      const t1Spawn = events().find((e) => e.type === 'AgentSpawnRequested' && e.data['taskId'] === 'T1')!
        .data['spawnId'];
      const t1Pid = events().find((e) => e.type === 'AgentStarted' && e.data['spawnId'] === t1Spawn)!.data[
        'pid'
      ] as number;
      expect(() => process.kill(t1Pid, 0)).not.toThrow();
      await page.fill('#note', 'not needed <i>after all</i>');
      await page.click('#state-table tr[data-task="T1"] button[data-action="cancel"]');
      await page.waitForSelector('#control-result.good >> text=/cancel T1: recorded at log position \\d+/');
      await page.waitForSelector('#state-table tr[data-task="T1"][data-status="failed"]', {
        timeout: 60_000,
      });

      // The run ends by itself (T1 cancelled: exit 1); the page says orch spawn is not running.
      await page.waitForSelector('#spawn-start:not([disabled])', { timeout: 120_000 });
      await until('T1 agent to be stopped', () => {
        try {
          process.kill(t1Pid, 0);
          return false;
        } catch {
          return true;
        }
      });
      const cancelled = events().filter((e) => e.type === 'TaskCancelled');
      expect(cancelled.map((e) => [e.data, e.metadata['actor']])).toEqual([
        [{ taskId: 'T1', reason: 'not needed <i>after all</i>' }, 'user'],
      ]);
      const log = await runOrch(['log', '--repo', repo]);
      expect(log.code, log.stderr).toBe(0);
      expect(log.stdout).toMatch(/TaskCancelled.*T1/);

      // Both pages end at the end of the log and show what orch status --json says.
      const status = JSON.parse((await runOrch(['status', '--json', '--repo', repo])).stdout) as StatusJson;
      expect(status.position).toBe(events().length);
      for (const p of [page, second.page]) {
        await p.waitForSelector(`body[data-position="${status.position}"]`, { timeout: 30_000 });
        expect(await shownTasks(p)).toEqual(rows(status));
      }
      expect(rows(status)).toEqual([
        ['T1', 'failed', 1],
        ['T2', 'complete', 1],
        ['T3', 'complete', 1],
        ['T4', 'complete', 1],
      ]);
      const api = await fetch(`${origin}/api/status`, {
        headers: { authorization: 'Bearer serve-e2e-token-0123456789abcdef' },
      });
      expect(await api.json()).toEqual(
        JSON.parse((await runOrch(['status', '--json', '--repo', repo])).stdout),
      );

      // The page opened mid-run, scrubbed back to where it opened, shows orch's state there.
      await scrubTo(second.page, midPosition);
      const replayed = JSON.parse(
        (await runOrch(['replay', '--to', String(midPosition), '--json', '--repo', repo])).stdout,
      ) as StatusJson;
      expect(await shownTasks(second.page)).toEqual(rows(replayed));

      // The output of the hostile agent: escapes made visible, markup as text.
      const t4Spawn = events().find((e) => e.type === 'AgentSpawnRequested' && e.data['taskId'] === 'T4')!
        .data['spawnId'] as string;
      const out = await fetch(`${origin}/api/agents/${t4Spawn}/output`, {
        headers: { authorization: 'Bearer serve-e2e-token-0123456789abcdef' },
      });
      const text = ((await out.json()) as { text: string }).text;
      expect(text).toContain('<script>window.__pwned = 1</script>');
      expect(text).toContain('\\x1b[2J');
      expect(
        await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned),
      ).toBeUndefined();
      expect(
        await second.page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned),
      ).toBeUndefined();

      expect(first.problems).toEqual([]);
      expect(second.problems).toEqual([]);
    },
    300_000,
  );
});
