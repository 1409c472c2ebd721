/**
 * Every command of the built CLI on a log in a real PostgreSQL server, reached through
 * `ORCH_DATABASE_URL` and through the config's `store.url`: a run whose scripted agent reports
 * with `orch signal`, then status, watch, replay, report, log, signal and ci against it; the
 * environment winning over the config; a bad URL, a database without a log and a server that
 * is not there; and a whole log moved SQLite → PostgreSQL → SQLite with `orch log --export` /
 * `--import`.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/core/envelope.js';
import { openPostgresEventStore } from '../../src/store/postgres/open.js';
import { gitRepo, ORCH_BIN, orchEnv, runOrch, type OrchResult } from '../fixtures/agents/e2e-repo.js';
import { hasPostgres, startTestPostgres, type TestPostgres } from '../setup/postgres.js';

const enabled = hasPostgres();
let server: TestPostgres | undefined;
let databases = 0;
let dir: string;

const blockPerson = fileURLToPath(new URL('../fixtures/agents/block-person.mjs', import.meta.url));

beforeAll(async () => {
  if (enabled) server = await startTestPostgres();
}, 120_000);
afterAll(() => server?.stop());

beforeEach(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-pg-cli-')));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function freshDatabase(): string {
  return server!.createDatabase(`orch_cli_${process.pid}_${++databases}`);
}

/**
 * A repo with a three-task plan (T3 after T1) and the `block-person` agent: T1 commits a draft
 * and reports `orch signal blocked` on its first attempt; the others commit and exit 0.
 */
function project(name: string, store?: string): string {
  const repo = gitRepo(path.join(dir, name));
  fs.mkdirSync(path.join(repo, '.state', 'plans'), { recursive: true });
  fs.writeFileSync(
    path.join(repo, '.state', 'plans', 'plan.yaml'),
    `name: On PostgreSQL
milestones:
  - id: M1
    title: One
    phases:
      - id: S1
        title: Three tasks
        tasks:
          - { id: T1, title: First, role: dev }
          - { id: T2, title: Second, role: dev }
          - { id: T3, title: Third, role: dev, dependsOn: [T1] }
`,
  );
  const config = {
    maxConcurrent: 2,
    maxRetries: 1,
    retryInterval: 0,
    agents: { default: { command: [process.execPath, blockPerson], env: { ORCH_BIN } } },
    ...(store === undefined ? {} : { store: { url: store } }),
  };
  fs.writeFileSync(path.join(repo, 'orch.config.json'), JSON.stringify(config));
  return repo;
}

/** The CLI's environment without any ORCH_DATABASE_URL of the outer shell, plus `extra`. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base = orchEnv(extra);
  if (extra['ORCH_DATABASE_URL'] === undefined) delete base['ORCH_DATABASE_URL'];
  if (extra['ORCH_DATABASE_TIMEOUT'] === undefined) delete base['ORCH_DATABASE_TIMEOUT'];
  delete base['ORCH_STATE_DIR'];
  return base;
}

function orch(repo: string, environment: NodeJS.ProcessEnv, ...args: string[]): Promise<OrchResult> {
  return runOrch([...args, '--repo', repo], { env: environment, timeout: 150_000 });
}

/** Every event of the PostgreSQL log at `url`, read with the store itself. */
async function pgEvents(url: string): Promise<RecordedEvent[]> {
  const store = await openPostgresEventStore(url, { readonly: true });
  try {
    const events: RecordedEvent[] = [];
    for await (const event of store.readAll()) events.push(event);
    return events;
  } finally {
    await store.close();
  }
}

/** The names of the tables in the database's `orch` schema (none: no log was created there). */
async function orchTables(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'orch' ORDER BY 1",
    );
    return result.rows.map((row) => row.table_name);
  } finally {
    await client.end();
  }
}

function jsonOf(result: OrchResult): Record<string, unknown> {
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

function errorOf(result: OrchResult): { code: string; message: string } {
  expect(result.code, result.stderr).not.toBe(0);
  return (jsonOf(result) as { error: { code: string; message: string } }).error;
}

/** One `Error:` line, and the hint: the one clear error. */
function expectOneError(result: OrchResult, fragment: string): void {
  expect(result.code, result.stdout).toBe(1);
  const errors = result.stderr.split('\n').filter((line) => line.startsWith('Error:'));
  expect(errors, result.stderr).toHaveLength(1);
  expect(errors[0]).toContain(fragment);
  expect(result.stderr).toContain('Hint:');
}

function sqliteFiles(repo: string): string[] {
  return fs.readdirSync(path.join(repo, '.state')).filter((name) => name.startsWith('orch.db'));
}

/** `orch status --watch` with stdout piped, until it printed `lines` summary lines. */
function watchLines(repo: string, environment: NodeJS.ProcessEnv, lines: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [ORCH_BIN, 'status', '--watch', '--interval', '1', '--repo', repo],
      {
        env: environment,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
      if (stdout.split('\n').filter((l) => l !== '').length >= lines) child.kill('SIGTERM');
    });
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('close', () => {
      clearTimeout(timer);
      const got = stdout.split('\n').filter((l) => l !== '');
      if (got.length >= lines) resolve(got);
      else reject(new Error(`status --watch printed ${got.length} line(s): ${stdout}${stderr}`));
    });
  });
}

/** Starts `orch serve`, reads its banner and `GET /api/status`, and stops it. */
function serveStatus(
  repo: string,
  environment: NodeJS.ProcessEnv,
): Promise<{ banner: string; status: unknown }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ORCH_BIN, 'serve', '--repo', repo], {
      env: environment,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let asked = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const finish = (result: { banner: string; status: unknown } | Error) => {
      clearTimeout(timer);
      child.kill('SIGTERM');
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
      const address = /open (http:\/\/[^/]+)\/#token=(\S+)/.exec(stdout);
      if (address === null || asked) return;
      asked = true;
      fetch(`${address[1]}/api/status`, { headers: { authorization: `Bearer ${address[2]}` } })
        .then(async (response) => finish({ banner: stdout, status: await response.json() }))
        .catch((err: unknown) => finish(err as Error));
    });
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('close', () => {
      if (!asked) finish(new Error(`orch serve ended before it served: ${stdout}${stderr}`));
    });
  });
}

describe.runIf(enabled)('every command on a PostgreSQL log', () => {
  it.each([
    ['ORCH_DATABASE_URL', true],
    ['store.url in orch.config.json', false],
  ])('through %s', async (_how, viaEnv) => {
    const url = freshDatabase();
    const repo = project('repo', viaEnv ? undefined : url);
    const e = viaEnv ? env({ ORCH_DATABASE_URL: url }) : env();

    // No log yet: the plan is checked on its own, and nothing is created.
    const before = await orch(repo, e, 'plan', '--check');
    expect(before.code, before.stderr).toBe(0);
    expect(before.stdout).toContain('no log yet');
    expect(await orchTables(url)).toEqual([]);

    // The run: T2 completes, T1's agent reports blocked through `orch signal` (it gets
    // ORCH_DATABASE_URL from orch, whichever way orch was told), T3 waits for T1.
    const run = await orch(repo, e, 'spawn', '--quiet');
    expect(run.code, run.stdout + run.stderr).toBe(2);
    let events = await pgEvents(url);
    const reports = events.filter((x) => x.type === 'BreakpointReported');
    expect(reports).toHaveLength(1);
    expect(reports[0]!.streamId).toBe('task-T1');
    expect(reports[0]!.metadata.actor).toMatch(/^agent:/);
    expect(reports[0]!.data).toMatchObject({
      kind: 'blocked',
      summary: 'which database: sqlite or postgres?',
    });
    expect(events.filter((x) => x.type === 'AgentExited')).toHaveLength(2);
    expect(events.map((x) => x.position)).toEqual(events.map((_, i) => i + 1));
    expect(sqliteFiles(repo)).toEqual([]);

    const check = await orch(repo, e, 'plan', '--check');
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toContain('agree with the log');

    // status, text and JSON.
    const status = await orch(repo, e, 'status');
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(`log position ${events.length}`);
    expect(status.stdout).toMatch(/T1\s+blocked/);
    expect(status.stdout).toMatch(/T2\s+complete/);
    const statusJson = jsonOf(await orch(repo, e, 'status', '--json')) as {
      position: number;
      tasks: { id: string; status: string }[];
    };
    expect(statusJson.position).toBe(events.length);
    expect(Object.fromEntries(statusJson.tasks.map((t) => [t.id, t.status]))).toEqual({
      T1: 'blocked',
      T2: 'complete',
      T3: 'pending',
    });

    // status --watch, not on a terminal: summary lines.
    const watched = await watchLines(repo, e, 2);
    expect(watched[0]).toContain(`event ${events.length}`);
    expect(watched[0]).toContain('tasks 1/3 done');
    expect(watched[0]).toContain('1 blocked');

    // serve: the page's API reads the same log.
    const served = await serveStatus(repo, e);
    expect(served.banner).toContain(`orch serve: following postgres://postgres@127.0.0.1:${server!.port}/`);
    expect(served.status).toMatchObject({ position: events.length });

    // replay, replay --verify, replay --html and report.
    const replay = await orch(repo, e, 'replay', '--to', '3');
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toContain('log position 3');
    const verify = await orch(repo, e, 'replay', '--verify');
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toContain(`verified ${events.length} events`);
    const html = path.join(dir, 'replay.html');
    const replayHtml = await orch(repo, e, 'replay', '--html', html);
    expect(replayHtml.code, replayHtml.stderr).toBe(0);
    expect(fs.readFileSync(html, 'utf8')).toContain('which database: sqlite or postgres?');
    const reportFile = path.join(dir, 'report.html');
    const report = jsonOf(await orch(repo, e, 'report', reportFile, '--json'));
    expect(report).toMatchObject({ file: reportFile, position: events.length, by: 'end' });
    expect(fs.readFileSync(reportFile, 'utf8')).toContain('<html');

    // replay --fork is refused: the clone's config and the environment would point a run in
    // the fork at this same log.
    const forkDir = path.join(dir, 'fork');
    const fork = await orch(repo, e, 'replay', '--fork', forkDir, '--json');
    expect(errorOf(fork)).toMatchObject({
      code: 'FORK_REFUSED',
      message: expect.stringContaining('postgres://'),
    });
    expect(fs.existsSync(forkDir)).toBe(false);

    // log and log --json.
    const log = await orch(repo, e, 'log', '--task', 'T1');
    expect(log.code, log.stderr).toBe(0);
    expect(log.stdout).toContain('BreakpointReported');
    const logJson = JSON.parse((await orch(repo, e, 'log', '--json')).stdout) as {
      position: number;
      type: string;
    }[];
    expect(logJson.map((x) => [x.position, x.type])).toEqual(events.map((x) => [x.position, x.type]));

    // A person: cancel T3, release T1; the next run finishes T1 on a fresh agent.
    const cancel = await orch(repo, e, 'signal', 'cancel', '--task', 'T3', '--summary', 'not needed');
    expect(cancel.code, cancel.stderr).toBe(0);
    const unblock = await orch(repo, e, 'signal', 'unblock', '--task', 'T1');
    expect(unblock.code, unblock.stderr).toBe(0);
    events = await pgEvents(url);
    expect(events.slice(-2).map((x) => [x.type, x.streamId, x.metadata.actor])).toEqual([
      ['TaskCancelled', 'task-T3', 'user'],
      ['TaskUnblocked', 'task-T1', 'user'],
    ]);
    const again = await orch(repo, e, 'spawn', '--quiet');
    // Exit 1: the run ends with a task that will not be done (cancelled).
    expect(again.code, again.stdout + again.stderr).toBe(1);
    expect(again.stdout).toContain('cancelled: T3');
    const afterJson = jsonOf(await orch(repo, e, 'status', '--json')) as {
      tasks: { id: string; status: string }[];
    };
    expect(Object.fromEntries(afterJson.tasks.map((t) => [t.id, t.status]))).toEqual({
      T1: 'complete',
      T2: 'complete',
      T3: 'failed',
    });

    // ci.
    const ci = await orch(repo, e, 'ci', 'pass', '--actor', 'ci');
    expect(ci.code, ci.stderr).toBe(0);
    events = await pgEvents(url);
    expect(events.at(-1)).toMatchObject({ type: 'CiCompleted', metadata: { actor: 'ci' } });

    const verifyEnd = await orch(repo, e, 'replay', '--verify');
    expect(verifyEnd.code, verifyEnd.stderr).toBe(0);
    expect(verifyEnd.stdout).toContain(`verified ${events.length} events`);
    // The log never went to the state directory's SQLite file.
    expect(sqliteFiles(repo)).toEqual([]);
  });

  it('ORCH_DATABASE_URL wins over store.url', async () => {
    const configured = freshDatabase();
    const chosen = freshDatabase();
    const repo = project('repo', configured);
    const run = await orch(repo, env({ ORCH_DATABASE_URL: chosen }), 'spawn', '--quiet');
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect((await pgEvents(chosen)).some((x) => x.type === 'BreakpointReported')).toBe(true);
    expect(await orchTables(configured)).toEqual([]);
    const viaEnv = await orch(repo, env({ ORCH_DATABASE_URL: chosen }), 'status', '--json');
    expect(viaEnv.code, viaEnv.stderr).toBe(0);
    // Without the variable the config's database is used, and it has no log.
    expect(errorOf(await orch(repo, env(), 'status', '--json')).code).toBe('LOG_NOT_FOUND');
    expect(await orchTables(configured)).toEqual([]);
    expect(sqliteFiles(repo)).toEqual([]);
  });

  it('orch demo keeps its log in its own repository, whatever ORCH_DATABASE_URL says', async () => {
    const url = freshDatabase();
    const demoDir = path.join(dir, 'demo');
    const demo = await runOrch(['demo', '--dir', demoDir], {
      env: env({ ORCH_DATABASE_URL: url }),
      timeout: 170_000,
    });
    expect(demo.code, demo.stdout + demo.stderr).toBe(0);
    expect(demo.stdout).toContain('ORCH_DATABASE_URL was ignored');
    expect(fs.existsSync(path.join(demoDir, '.state', 'orch.db'))).toBe(true);
    expect(await orchTables(url)).toEqual([]);
  });

  it('a URL that is no place for the log is one CONFIG_INVALID, naming where it came from', async () => {
    const repo = project('repo');
    for (const args of [['status'], ['signal', 'cancel', '--task', 'T1'], ['spawn', '--quiet'], ['log']]) {
      const fromEnv = await orch(repo, env({ ORCH_DATABASE_URL: 'mysql://x' }), ...args);
      expectOneError(fromEnv, 'ORCH_DATABASE_URL is not a place for the log: mysql://x');
      expect(errorOf(await orch(repo, env({ ORCH_DATABASE_URL: 'mysql://x' }), ...args, '--json')).code).toBe(
        'CONFIG_INVALID',
      );
    }
    const configured = project('configured', 'mysql://x');
    for (const args of [['status'], ['spawn', '--quiet'], ['ci', 'pass']]) {
      const fromConfig = await orch(configured, env(), ...args);
      expectOneError(
        fromConfig,
        `${path.join(configured, 'orch.config.json')}: store.url is not a place for the log`,
      );
    }
    expect(sqliteFiles(repo)).toEqual([]);
    expect(sqliteFiles(configured)).toEqual([]);
  });

  it('signal, ci, status and log on a database without an orch log: LOG_NOT_FOUND, nothing created', async () => {
    const url = freshDatabase();
    const repo = project('repo');
    const e = env({ ORCH_DATABASE_URL: url });
    for (const args of [
      ['signal', 'cancel', '--task', 'T1'],
      ['signal', 'unblock', '--task', 'T1'],
      ['ci', 'pass'],
      ['status'],
      ['log'],
      ['replay'],
    ]) {
      const result = await orch(repo, e, ...args, '--json');
      const error = errorOf(result);
      expect(error.code, result.stdout).toBe('LOG_NOT_FOUND');
      expect(error.message).toContain(`postgres://postgres@127.0.0.1:${server!.port}/`);
    }
    expect(await orchTables(url)).toEqual([]);
    expect(sqliteFiles(repo)).toEqual([]);
  });

  it('a server that is not there: LOG_UNREACHABLE after ORCH_DATABASE_TIMEOUT, nothing created', async () => {
    const port = await closedPort();
    const repo = project('repo');
    const e = env({
      ORCH_DATABASE_URL: `postgres://postgres:secret@127.0.0.1:${port}/orch`,
      ORCH_DATABASE_TIMEOUT: '2',
    });
    for (const args of [['status'], ['signal', 'cancel', '--task', 'T1'], ['log']]) {
      // The runner's timeout (150 s) kills a command that waits without end: it then fails here.
      const result = await orch(repo, e, ...args, '--json');
      const error = errorOf(result);
      expect(error.code, result.stdout).toBe('LOG_UNREACHABLE');
      expect(error.message).toContain(`127.0.0.1:${port}`);
      expect(result.stdout + result.stderr).not.toContain('secret');
    }
    expectOneError(
      await orch(
        repo,
        env({ ORCH_DATABASE_URL: 'postgres://x@127.0.0.1:1/x', ORCH_DATABASE_TIMEOUT: 'soon' }),
        'status',
      ),
      'ORCH_DATABASE_TIMEOUT is not a number of seconds: soon',
    );
    expect(sqliteFiles(repo)).toEqual([]);
  });
});

describe.runIf(enabled)(
  'moving a log between SQLite and PostgreSQL with orch log --export / --import',
  () => {
    it('SQLite → PostgreSQL → SQLite keeps every event as it was, and the copy verifies', async () => {
      const repo = project('repo');
      const sqlite = env();
      const run = await orch(repo, sqlite, 'spawn', '--quiet');
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(sqliteFiles(repo)).toContain('orch.db');
      const first = path.join(dir, 'first.jsonl');
      const exported = jsonOf(await orch(repo, sqlite, 'log', '--export', first, '--json'));
      const lines = fs.readFileSync(first, 'utf8').trimEnd().split('\n');
      expect(exported).toMatchObject({
        file: first,
        log: path.join(repo, '.state', 'orch.db'),
        events: lines.length,
      });
      const original = lines.map((line) => JSON.parse(line) as RecordedEvent);
      expect(original.map((x) => x.position)).toEqual(original.map((_, i) => i + 1));

      // Into PostgreSQL.
      const url = freshDatabase();
      const pgEnv = env({ ORCH_DATABASE_URL: url });
      const imported = await orch(repo, pgEnv, 'log', '--import', first);
      expect(imported.code, imported.stderr).toBe(0);
      expect(imported.stdout).toContain(`imported ${lines.length} event(s) from ${first} into postgres://`);
      expect(await pgEvents(url)).toEqual(original);
      const verify = await orch(repo, pgEnv, 'replay', '--verify');
      expect(verify.code, verify.stderr).toBe(0);
      expect(verify.stdout).toContain(`verified ${lines.length} events`);
      const statusPg = await orch(repo, pgEnv, 'status', '--json');
      const statusSqlite = await orch(repo, sqlite, 'status', '--json');
      expect(JSON.parse(statusPg.stdout)).toEqual(JSON.parse(statusSqlite.stdout));
      expect((await orch(repo, pgEnv, 'log', '--json')).stdout).toBe(
        (await orch(repo, sqlite, 'log', '--json')).stdout,
      );

      // A second import into the same database is refused, and changes nothing.
      const again = await orch(repo, pgEnv, 'log', '--import', first, '--json');
      expect(errorOf(again).code).toBe('LOG_NOT_EMPTY');
      expect(await pgEvents(url)).toEqual(original);

      // The PostgreSQL copy goes on: a person releases T1 there, and the next run finishes it.
      const unblock = await orch(repo, pgEnv, 'signal', 'unblock', '--task', 'T1');
      expect(unblock.code, unblock.stderr).toBe(0);
      const more = await orch(repo, pgEnv, 'spawn', '--quiet');
      expect(more.code, more.stdout + more.stderr).toBe(0);
      const grown = await pgEvents(url);
      expect(grown.slice(0, original.length)).toEqual(original);

      // Back to SQLite, in another state directory: the same bytes again.
      const second = path.join(dir, 'second.jsonl');
      expect((await orch(repo, pgEnv, 'log', '--export', second)).code).toBe(0);
      const back = path.join(dir, 'back');
      const restored = await orch(repo, sqlite, 'log', '--import', second, '--state-dir', back);
      expect(restored.code, restored.stderr).toBe(0);
      expect(fs.existsSync(path.join(back, 'orch.db'))).toBe(true);
      const third = path.join(dir, 'third.jsonl');
      expect((await orch(repo, sqlite, 'log', '--export', third, '--state-dir', back)).code).toBe(0);
      expect(fs.readFileSync(third, 'utf8')).toBe(fs.readFileSync(second, 'utf8'));
      expect(
        fs
          .readFileSync(second, 'utf8')
          .split('\n')
          .filter((l) => l !== ''),
      ).toHaveLength(grown.length);
      const verifyBack = await orch(repo, sqlite, 'replay', '--verify', '--state-dir', back);
      expect(verifyBack.code, verifyBack.stderr).toBe(0);
      const backStatus = jsonOf(await orch(repo, sqlite, 'status', '--json', '--state-dir', back)) as {
        tasks: { id: string; status: string }[];
      };
      expect(backStatus.tasks.map((t) => [t.id, t.status])).toEqual([
        ['T1', 'complete'],
        ['T2', 'complete'],
        ['T3', 'complete'],
      ]);
    });

    it('a bad file is refused naming its line before any log is created', async () => {
      const repo = project('repo');
      const url = freshDatabase();
      const bad = path.join(dir, 'bad.jsonl');
      const good = {
        position: 1,
        id: 'e-1',
        streamId: 'plan',
        streamVersion: 1,
        type: 'PlanLoaded',
        data: {},
        metadata: { actor: 'orch' },
        recordedAt: '2026-01-01T00:00:00.000Z',
      };
      fs.writeFileSync(
        bad,
        `${JSON.stringify(good)}\n${JSON.stringify({ ...good, position: 3, id: 'e-3' })}\n`,
      );
      const intoPg = await orch(repo, env({ ORCH_DATABASE_URL: url }), 'log', '--import', bad);
      expectOneError(intoPg, `cannot import ${bad}: line 2: position 3 where 2 is next (a gap)`);
      expect(await orchTables(url)).toEqual([]);
      const intoSqlite = await orch(repo, env(), 'log', '--import', bad);
      expectOneError(intoSqlite, 'line 2');
      expect(sqliteFiles(repo)).toEqual([]);
      const empty = path.join(dir, 'empty.jsonl');
      fs.writeFileSync(empty, '');
      expect(errorOf(await orch(repo, env(), 'log', '--import', empty, '--json')).code).toBe(
        'IMPORT_INVALID',
      );
      const both = await orch(repo, env(), 'log', '--import', bad, '--task', 'T1');
      expect(both.code).not.toBe(0);
      expect(sqliteFiles(repo)).toEqual([]);
    });
  },
);

/** A loopback port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
