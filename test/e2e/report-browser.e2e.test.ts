import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/core/envelope.js';
import { stateAt } from '../../src/core/evolve.js';
import { replay } from '../../src/core/replayer.js';
import { statusView } from '../../src/core/status-view.js';
import { renderReport } from '../../src/runtime/report/html.js';
import { openSqliteEventStore } from '../../src/store/index.js';
import { runDriver } from '../core/driver.js';
import { makePlan, testConfig } from '../core/fixtures.js';
import { available } from '../setup/required.js';
import { withExtras } from '../runtime/report/extras-log.js';

// The built CLI (`npm run build` first) makes a real log with `orch demo` and writes the
// report with `orch report`; headless Chromium opens it from disk.
const bin = fileURLToPath(new URL('../../bin/run.js', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = available(
  `Chromium (${CHROMIUM})`,
  fs.existsSync(CHROMIUM),
  "the HTML report is not tested in a browser; install Debian's chromium package (.ci/run does)",
);

let dir: string;
let browser: Browser | undefined;
let events: RecordedEvent[] = [];
let reportFile: string;

beforeAll(async () => {
  if (!hasChromium) return;
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-report-e2e-')));
  const env = { ...process.env };
  delete env.NODE_ENV; // vitest sets it; the CLI must run as users run it
  const demo = path.join(dir, 'demo');
  execFileSync(process.execPath, [bin, 'demo', '--dir', demo], { env, stdio: 'pipe', timeout: 110_000 });
  reportFile = path.join(dir, 'report.html');
  const out = execFileSync(process.execPath, [bin, 'report', reportFile, '--repo', demo, '--json'], {
    env,
    encoding: 'utf8',
  });
  expect(JSON.parse(out)).toMatchObject({ file: reportFile, by: 'end' });
  const store = openSqliteEventStore(path.join(demo, '.state', 'orch.db'), { readonly: true });
  try {
    events = [...store.readAll()];
  } finally {
    store.close();
  }
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
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Opens a report, recording console errors, page errors, dialogs and any request leaving the file. */
async function open(file: string) {
  const page = await (browser as Browser).newPage();
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
    if (r.url() !== pathToFileURL(file).href) problems.push(`request: ${r.url()}`);
  });
  await page.goto(pathToFileURL(file).href);
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

async function scrubTo(page: Page, position: number): Promise<void> {
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

const expected = (p: number) =>
  statusView(stateAt(events, p)).tasks.map((t): [string, string, number] => [t.id, t.status, t.attempts]);

describe('the HTML report in headless Chromium', () => {
  it.skipIf(!hasChromium)(
    'loads without errors or requests, shows every task lane, and the scrubber shows orch’s state at each position',
    async () => {
      const { page, problems } = await open(reportFile);
      const final = statusView(stateAt(events));
      expect(final.tasks.length).toBeGreaterThan(3);

      const lanes = await page.$$eval('#timeline g.lane[data-task]', (gs) =>
        gs.map((g) => g.getAttribute('data-task')),
      );
      expect(lanes).toEqual(final.tasks.map((t) => t.id));
      const spawns = events.filter((e) => e.type === 'AgentSpawnRequested').length;
      expect(await page.locator('#timeline rect.attempt').count()).toBe(spawns);
      expect(await page.locator('#attempts tbody tr[data-spawn]').count()).toBe(spawns);
      const nodes = await page.$$eval('#graph g.node', (gs) =>
        gs.map((g) => [
          g.getAttribute('data-kind'),
          g.getAttribute('data-id'),
          g.getAttribute('data-status'),
        ]),
      );
      expect(nodes).toHaveLength(final.tasks.length + final.phases.length);
      for (const t of final.tasks) expect(nodes).toContainEqual(['task', t.id, t.status]);
      const ci = events.filter((e) => e.type === 'CiCompleted').length;
      expect(await page.locator('#timeline .run-lane [data-type="CiCompleted"]').count()).toBe(ci);
      expect(await page.locator('#timeline [data-type="PullRequestOpened"]').count()).toBe(
        events.filter((e) => e.type === 'PullRequestOpened').length,
      );

      const last = events.length;
      expect(await page.getAttribute('body', 'data-position')).toBe(String(last));
      expect(await shownTasks(page)).toEqual(expected(last));

      // Positions where the picture differs: the first start, the first failure, mid-run, the start.
      const firstStart = events.find((e) => e.type === 'AgentStarted')?.position ?? 1;
      const firstRetry = events.find((e) => e.type === 'RetryScheduled')?.position ?? 2;
      const seen = new Set<string>();
      for (const p of [firstStart, firstRetry, Math.floor(last / 2), 0, last - 10, 1, last]) {
        await scrubTo(page, p);
        const shown = await shownTasks(page);
        expect(shown, `position ${p}`).toEqual(expected(p));
        seen.add(JSON.stringify(shown));
        const dots = await page.$$eval('#timeline g.lane[data-task]', (gs) =>
          gs.map((g) => [g.getAttribute('data-task'), g.getAttribute('data-status')]),
        );
        const byId = new Map(shown.map(([id, status]) => [id, status]));
        expect(dots, `lane status at ${p}`).toEqual(
          final.tasks.map((t) => [t.id, byId.get(t.id) ?? 'absent']),
        );
      }
      expect(seen.size).toBeGreaterThanOrEqual(5);
      expect(await page.textContent('#scrub-label')).toContain(`Position ${last} of ${last}`);

      // The step buttons move between drawn events; the x axis can switch to log positions.
      await scrubTo(page, firstStart);
      await page.click('#next');
      expect(Number(await page.getAttribute('body', 'data-position'))).toBeGreaterThan(firstStart);
      await page.selectOption('#axis', 'position');
      expect(await page.locator('#timeline g.lane[data-task]').count()).toBe(final.tasks.length);
      expect(problems).toEqual([]);
      await page.close();
    },
  );

  it.skipIf(!hasChromium)('shows hostile titles, summaries and output from the log as text', async () => {
    const hostile = '</script><script>alert(1)</script><img src=x onerror=alert(2)>';
    const plan = makePlan([
      { id: 'M1', phases: [{ id: 'P1', tasks: [{ id: 'T1' }, { id: 'T2', deps: ['T1'] }] }] },
    ]);
    (plan.tasks[0] as { title: string }).title = hostile;
    const steps = Array.from({ length: 40 }, () => ({ kind: 0, pick: 0, code: 0, dt: 1, keep: 99 }));
    const log = runDriver(plan, testConfig, steps, 'cooperative').log;
    const exit = log.find((e) => e.type === 'AgentExited') as RecordedEvent;
    exit.data = { ...(exit.data as object), exitCode: 3, outputTail: `boom\n${hostile}` };
    const file = path.join(dir, 'hostile.html');
    fs.writeFileSync(file, renderReport(log));
    const { page, problems } = await open(file);
    expect(await page.textContent('#state-table tr[data-task="T1"] .title')).toBe(hostile);
    expect(await page.textContent('#timeline g.lane[data-task="T1"] .lane-label title')).toBe(
      `T1: ${hostile}`,
    );
    expect(await page.textContent('#attempts tbody tr[data-task="T1"] .summary')).toBe(hostile);
    expect(await page.locator('img').count()).toBe(0);
    // Hovering a bar shows its details as text; clicking it moves the scrubber to its end.
    const first = (log.find((e) => e.type === 'AgentSpawnRequested')?.data as { spawnId: string }).spawnId;
    await page.hover(`#timeline rect.attempt[data-spawn="${first}"]`);
    expect(await page.isVisible('#tip')).toBe(true);
    expect(await page.textContent('#tip')).toContain('attempt 1 of T1 (implementer): exit 3, 5 ms\n');
    await page.click(`#timeline rect.attempt[data-spawn="${first}"]`);
    expect(await page.getAttribute('body', 'data-position')).toBe(String(exit.position));
    expect(await page.textContent('#state-table tr[data-task="T1"] .status')).toBe('running');
    expect(await page.locator('script').count()).toBe(2);
    expect(problems).toEqual([]);
    await page.close();
  });

  it.skipIf(!hasChromium)(
    'shows workspace set-up and ports per attempt, notify outcomes and the fork origin, as text',
    async () => {
      const hostile = '<img src=x onerror=alert(3)>';
      const plan = makePlan([
        {
          id: 'M1',
          phases: [
            { id: 'P1', tasks: [{ id: 'T1' }, { id: 'T2', deps: ['T1'] }, { id: 'T3', deps: ['T2'] }] },
          ],
        },
      ]);
      const steps = Array.from({ length: 60 }, () => ({ kind: 0, pick: 0, code: 0, dt: 1, keep: 99 }));
      const log = withExtras(runDriver(plan, testConfig, steps, 'cooperative').log, hostile);
      const file = path.join(dir, 'extras.html');
      fs.writeFileSync(file, renderReport(log));
      const { page, problems } = await open(file);
      const spawnOf = (n: number) =>
        (log.filter((e) => e.type === 'AgentSpawnRequested')[n]?.data as { spawnId: string }).spawnId;
      const row = (n: number) => `#attempts tbody tr[data-spawn="${spawnOf(n)}"]`;
      expect(await page.textContent(`${row(0)} .workspace`)).toBe(
        'set-up sh -c npm ci: exit 0, 1.2 s; 2 file(s) copied; ports 41010-41013',
      );
      expect(await page.textContent(`${row(1)} .workspace`)).toBe(
        'set-up make deps: timed out, 1 m 0 s; ports 41020-41023',
      );
      expect(await page.textContent(`${row(2)} .workspace`)).toBe('');
      expect(await page.textContent(`${row(0)} details.setup-tail pre`)).toBe(
        `added 10 packages\n${hostile}`,
      );
      const summary = await page.$$eval('#summary li', (lis) => lis.map((li) => li.textContent));
      expect(summary).toContain(
        `Forked from /src/.state ${hostile} run run-original at position 2 (2026-01-02T03:04:05.000Z); work goes on in /forks/one/repo`,
      );
      expect(summary).toContain(
        'Notifications TaskFailed → notify-send: 2 delivered, 0 being retried, 0 given up; 1 failed attempt(s) (last error: exit 1)',
      );
      expect(summary).toContain(
        `Notifications TaskUnblocked → curl: 0 delivered, 0 being retried, 1 given up; 1 failed attempt(s) (last error: ${hostile})`,
      );
      expect(await page.locator('#timeline .run-lane [data-type="RunForked"]').count()).toBe(1);
      expect(await page.locator('#timeline .run-lane [data-type="NotificationFailed"]').count()).toBe(1);
      // The extra events share a time: on the position axis they stand apart.
      await page.selectOption('#axis', 'position');
      await page.hover('#timeline .run-lane [data-type="RunForked"]');
      expect(await page.textContent('#tip')).toContain('forked from /src/.state');
      expect(await page.locator('img').count()).toBe(0);
      expect(problems).toEqual([]);
      await page.close();
    },
  );

  it.skipIf(!hasChromium)('pages a long attempts table and scrubs a log of many attempts', async () => {
    const tasks = Array.from({ length: 30 }, (_, i) => ({ id: `T${i + 1}` }));
    const plan = makePlan([{ id: 'M1', phases: [{ id: 'P1', tasks }] }]);
    const log: RecordedEvent[] = [];
    let at = Date.parse('2025-01-01T00:00:00.000Z');
    const add = (type: string, data: unknown) =>
      log.push({
        position: log.length + 1,
        id: `e${log.length + 1}`,
        streamId: 'task',
        streamVersion: log.length + 1,
        type,
        data,
        metadata: {},
        recordedAt: new Date((at += 500)).toISOString(),
      });
    add('PlanLoaded', { plan });
    for (const t of tasks) add('TaskUnblocked', { taskId: t.id, reason: 'dependencies' });
    for (let n = 1; n <= 650; n++) {
      const taskId = `T${((n - 1) % 30) + 1}`;
      const attempt = Math.floor((n - 1) / 30) + 1;
      add('AgentSpawnRequested', {
        spawnId: `s${n}`,
        taskId,
        attempt,
        role: 'dev',
        command: [],
        workspace: '/w',
      });
      add('AgentStarted', {
        spawnId: `s${n}`,
        pid: n + 100,
        pidStartTime: 1,
        startedAt: new Date(at).toISOString(),
      });
      add('AgentExited', {
        spawnId: `s${n}`,
        exitCode: 1,
        signal: null,
        durationMs: 400,
        outputTail: 'x'.repeat(800),
      });
      add('RetryScheduled', {
        taskId,
        attempt: attempt + 1,
        notBefore: new Date(at).toISOString(),
        reason: 'exit code 1',
      });
    }
    const file = path.join(dir, 'long.html');
    fs.writeFileSync(file, renderReport(log));
    const { page, problems } = await open(file);
    expect(await page.locator('#timeline g.lane[data-task]').count()).toBe(30);
    expect(await page.locator('#attempts tbody tr[data-spawn]').count()).toBe(500);
    expect(await page.textContent('#attempts-more')).toBe('show 150 more (150 not shown)');
    await page.click('#attempts-more');
    expect(await page.locator('#attempts tbody tr[data-spawn]').count()).toBe(650);
    expect(await page.isHidden('#attempts-more')).toBe(true);
    for (const p of [log.length - 3, 1500, 40, 2000, 777]) {
      await scrubTo(page, p);
      // The fast Replayer here: the pure stateAt folds a few hundred events a second.
      const want = statusView(replay(log.filter((e) => e.position <= p))).tasks.map((t) => [
        t.id,
        t.status,
        t.attempts,
      ]);
      expect(await shownTasks(page), `position ${p}`).toEqual(want);
    }
    expect(problems).toEqual([]);
    await page.close();
  });
});
