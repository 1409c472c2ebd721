import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteEventStore } from '../../src/store/index.js';
import { git, gitRepo, ORCH_BIN, orchEnv, runOrch } from '../fixtures/agents/e2e-repo.js';
import { available } from '../setup/required.js';

/**
 * The wizard of `orch serve` in headless Chromium, through the built CLI (`npm run build`
 * first), on a repository with no plan and no log: the person types a goal, the scripted
 * planner drafts a plan (its first draft invalid, then fixed), the page shows the plan tree
 * and its text, the person adds a task (for a flaky agent) in the text box, saves and
 * approves; the run fails that task for good, the person retries it from its row and starts
 * orch spawn again, and every task completes; then the budget control is refused (no budget configured) and,
 * once orch.config.json has one, raises it. No console error (but the expected 409), no
 * request outside the server.
 */

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = available(
  `Chromium (${CHROMIUM})`,
  fs.existsSync(CHROMIUM),
  "orch serve's wizard is not tested in a browser; install Debian's chromium package (.ci/run does)",
);
const PLANNER = fileURLToPath(new URL('../fixtures/agents/planner/claude', import.meta.url));
const AGENT = fileURLToPath(new URL('../fixtures/agents/succeed.mjs', import.meta.url));
const FAIL_N = fileURLToPath(new URL('../fixtures/agents/fail-n.mjs', import.meta.url));
const TOKEN = 'wizard-e2e-token-0123456789abcdef';

let dir: string;
let repo: string;
let server: ChildProcess | undefined;
let serverOutput = '';
let origin: string;
let browser: Browser | undefined;

async function until<T>(
  what: string,
  probe: () => T | Promise<T>,
  ms = 120_000,
): Promise<Exclude<T, false | null | undefined>> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false)
      return value as Exclude<T, false | null | undefined>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${serverOutput}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  if (!hasChromium) return;
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-wizard-e2e-')));
  repo = gitRepo(path.join(dir, 'repo'));
  fs.writeFileSync(
    path.join(repo, 'orch.config.json'),
    JSON.stringify({
      retryInterval: 0,
      maxRetries: 1,
      agents: {
        planner: { command: [PLANNER, '-p', '{promptFile}'] },
        dev: { command: [process.execPath, AGENT] },
        flaky: {
          command: [process.execPath, FAIL_N],
          env: { FAIL_TIMES: '2', FAIL_N_COUNTER: path.join(dir, 'fail-n-count') },
        },
      },
    }),
  );
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'config');
  const tokenFile = path.join(dir, 'token');
  fs.writeFileSync(tokenFile, `${TOKEN}\n`);
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
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
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

describe.skipIf(!hasChromium)('orch serve in a browser: the wizard', () => {
  it('takes a goal to a drafted plan, an edit, an approval, a run, a retry of a failed task and a finished run', async () => {
    const page = await (browser as Browser).newPage({ viewport: { width: 1400, height: 1000 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('request', (r) => {
      if (!r.url().startsWith(`${origin}/`)) problems.push(`request: ${r.url()}`);
    });
    await page.goto(`${origin}/#token=${TOKEN}`);
    await page.waitForSelector('body[data-draft-step="none"]');

    await page.fill('#goal', 'a command-line calculator');
    await page.click('#draft-start');
    await page.waitForSelector('body[data-draft-step="drafted"]', { timeout: 120_000 });
    expect(await page.textContent('#draft-step')).toBe(
      'Drafted a plan for "a command-line calculator" in plan.yaml: valid.',
    );
    const tree = await page.$$eval('#draft-tree li[data-task]', (items) => items.map((i) => i.textContent));
    expect(tree).toEqual([
      'T1 Parse arithmetic expressions [dev]',
      'T2 Evaluate the parsed expressions [dev] after T1',
      'T3 Add a REPL [dev]',
    ]);

    // The person adds a task in the text box, saves, and sees it in the tree.
    const text = await page.inputValue('#draft-text');
    expect(text).toContain('dependsOn: [T1]');
    await page.fill('#draft-text', `${text}          - { id: T4, title: Print the help, role: flaky }\n`);
    await page.click('#draft-save');
    await page.waitForSelector('#draft-tree li[data-task="T4"]');
    expect(await page.isEnabled('#draft-approve')).toBe(true);

    await page.click('#draft-approve');
    await until('the control line to name the started orch spawn', async () =>
      /approved 4 task\(s\); orch spawn started/.test((await page.textContent('#control-result')) ?? ''),
    );
    const status = async () => {
      const r = await runOrch(['status', '--json', '--repo', repo]);
      return r.code === 0 ? (JSON.parse(r.stdout) as { tasks: { id: string; status: string }[] }) : null;
    };
    // T4's agent fails both its attempts (maxRetries 1): the task fails for good.
    const failed = await until('T4 to fail for good and the others to complete', async () => {
      const doc = await status();
      return doc !== null && doc.tasks.map((t) => t.status).join() === 'complete,complete,complete,failed'
        ? doc
        : null;
    });
    expect(failed.tasks.map((t) => t.id)).toEqual(['T1', 'T2', 'T3', 'T4']);
    // The state table follows the run the wizard started, and offers a retry for T4 only.
    await until('the state table to show T4 failed, with a retry button', async () =>
      page.$('#state-table tbody tr[data-task="T4"][data-status="failed"] button[data-action="retry"]'),
    );
    expect(await page.$$('#state-table button[data-action="retry"]')).toHaveLength(1);
    await until('orch spawn to have ended', async () => page.isEnabled('#spawn-start'));
    await page.click('#state-table button[data-action="retry"]');
    await until('the retry to be recorded', async () =>
      /^retry T4: recorded at log position \d+$/.test((await page.textContent('#control-result')) ?? ''),
    );
    await page.click('#spawn-start');
    const done = await until('every task complete', async () => {
      const doc = await status();
      return doc !== null && doc.tasks.every((t) => t.status === 'complete') ? doc : null;
    });
    expect(done.tasks.map((t) => t.id)).toEqual(['T1', 'T2', 'T3', 'T4']);
    await until('the state table to show T4 complete', async () =>
      page.$('#state-table tbody tr[data-task="T4"][data-status="complete"]'),
    );

    const store = openSqliteEventStore(path.join(repo, '.state', 'orch.db'), { readonly: true });
    try {
      const types = [...store.readAll()].map((e) => e.type).filter((t) => t.startsWith('PlanDraft'));
      expect(types).toEqual([
        'PlanDraftRequested',
        'PlanDraftAttempted',
        'PlanDraftAttempted',
        'PlanDraftAccepted',
        'PlanDraftEdited',
        'PlanDraftApproved',
      ]);
    } finally {
      store.close();
    }
    // The budget control: refused without a configured budget, then raised.
    await page.fill('#budget-raise', '1');
    await page.click('#budget-record');
    await until('the refusal of a raise without a budget', async () =>
      /no budget is configured/.test((await page.textContent('#control-result')) ?? ''),
    );
    const configFile = path.join(repo, 'orch.config.json');
    const config = JSON.parse(fs.readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(configFile, JSON.stringify({ ...config, budget: 2 }));
    await page.click('#budget-record');
    await until('the raise to be recorded', async () =>
      /^budget raised by \$1\.00 to \$3\.00 \(\$0\.00 spent\) at log position \d+$/.test(
        (await page.textContent('#control-result')) ?? '',
      ),
    );
    expect(problems.filter((p) => !p.includes('409'))).toEqual([]);
  }, 300_000);
});
