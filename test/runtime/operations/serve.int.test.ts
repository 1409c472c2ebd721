import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withLease } from '../../../src/core/status-document.js';
import { buildReportData } from '../../../src/runtime/report/data.js';
import { orchReplay } from '../../../src/runtime/operations/replay.js';
import {
  CONTENT_SECURITY_POLICY,
  isLoopback,
  serveToken,
  startServer,
  tokenMatches,
  type RunningServer,
} from '../../../src/runtime/operations/serve.js';
import { orchSignal } from '../../../src/runtime/operations/signal.js';
import { orchStatus } from '../../../src/runtime/operations/status.js';
import { acquireLease, readLeaseView } from '../../../src/runtime/system/lease.js';
import { agentLogPath } from '../../../src/runtime/system/state-paths.js';
import { openSqliteEventStore } from '../../../src/store/index.js';
import { LogBuilder, tempLog, type TempLog } from '../../commands/helpers/log-builder.js';

/**
 * `orch serve`'s HTTP API on a real SQLite log (the calculator run: T004 and T005 running,
 * spawns s7 and s8 live), through Fastify's inject and, for the event stream, real HTTP.
 */

let log: TempLog;
let server: RunningServer;
const auth = () => ({ authorization: `Bearer ${server.token}` });

function events(): { type: string; data: Record<string, unknown>; metadata: Record<string, unknown> }[] {
  const store = openSqliteEventStore(log.file, { readonly: true });
  try {
    return [...store.readAll()] as never;
  } finally {
    store.close();
  }
}

beforeAll(async () => {
  log = tempLog();
  server = await startServer({
    repoDir: log.repo,
    stateDir: log.stateDir,
    orchCommand: [process.execPath, '/nonexistent/bin/run.js'],
    pollMs: 50,
  });
});

afterAll(async () => {
  await server?.close();
  log?.cleanup();
});

describe('orch serve: the page', () => {
  it('serves the page, its script and its style with a strict CSP and no inline script', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=[\w-]{43}$/);
    const page = await server.app.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-inline');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    const scripts = page.body.match(/<script[^>]*>/g) ?? [];
    expect(scripts).toEqual(['<script src="/app.js" defer>']);
    expect(page.body).not.toMatch(/<style|\sstyle=|\son[a-z]+=/);
    const js = await server.app.inject({ method: 'GET', url: '/app.js' });
    expect(js.headers['content-type']).toMatch(/^text\/javascript/);
    expect(js.body).toContain('new EventSource(');
    expect(js.body).not.toMatch(/innerHTML|insertAdjacentHTML|document\.write|eval\(/);
    const css = await server.app.inject({ method: 'GET', url: '/app.css' });
    expect(css.headers['content-type']).toMatch(/^text\/css/);
  });
});

describe('orch serve: the token', () => {
  const reads = ['/api/status', '/api/report', '/api/spawn', '/api/agents/s7/output', '/api/events'];
  const writes: [string, object][] = [
    ['/api/tasks/T004/cancel', { note: 'no' }],
    ['/api/tasks/T003/unblock', {}],
    ['/api/tasks/T005/retry', {}],
    ['/api/ci', { result: 'fail' }],
    ['/api/budget', { raiseUsd: 5 }],
    ['/api/spawn/start', {}],
    ['/api/spawn/stop', {}],
  ];

  it('refuses every API route without the token or with a wrong one (401), and nothing changes', async () => {
    const before = events().length;
    for (const url of reads) {
      for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: server.token }]) {
        const r = await server.app.inject({ method: 'GET', url, headers });
        expect([url, r.statusCode]).toEqual([url, 401]);
        expect(r.json()).toMatchObject({ code: 'UNAUTHORIZED' });
      }
    }
    for (const [url, body] of writes) {
      for (const headers of [{}, { authorization: `Bearer ${server.token}x` }]) {
        const r = await server.app.inject({ method: 'POST', url, headers, payload: body });
        expect([url, r.statusCode]).toEqual([url, 401]);
      }
      // The stream's query token is only for the event stream.
      const q = await server.app.inject({
        method: 'POST',
        url: `${url}?token=${server.token}`,
        payload: body,
      });
      expect([url, q.statusCode]).toEqual([url, 401]);
    }
    expect(events().length).toBe(before);
    expect(readLeaseView(log.stateDir)).toBeNull();
  });

  it('refuses a state-changing request from another origin even with the token (403)', async () => {
    const before = events().length;
    const r = await server.app.inject({
      method: 'POST',
      url: '/api/ci',
      headers: { ...auth(), origin: 'http://evil.example' },
      payload: { result: 'fail' },
    });
    expect(r.statusCode).toBe(403);
    expect(events().length).toBe(before);
  });

  it('compares tokens in constant time and reads a token file', () => {
    expect(tokenMatches('a'.repeat(20), 'a'.repeat(20))).toBe(true);
    expect(tokenMatches('a'.repeat(20), 'a'.repeat(19))).toBe(false);
    expect(tokenMatches('', 'x')).toBe(false);
    expect(serveToken(undefined)).not.toBe(serveToken(undefined));
    const file = path.join(log.dir, 'token');
    fs.writeFileSync(file, 'a-fixed-token-of-enough-length\n');
    expect(serveToken(file)).toBe('a-fixed-token-of-enough-length');
    fs.writeFileSync(file, 'short');
    expect(() => serveToken(file)).toThrow(/at least 16 characters/);
    expect(() => serveToken(path.join(log.dir, 'missing'))).toThrow(/could not be read \(ENOENT\)/);
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('localhost')).toBe(true);
    expect(isLoopback('0.0.0.0')).toBe(false);
    expect(isLoopback('192.168.1.2')).toBe(false);
  });
});

describe('orch serve: reading the run', () => {
  it('GET /api/status is orch status --json, and at ?to=N the status document orch replay --to N gives', async () => {
    const r = await server.app.inject({ method: 'GET', url: '/api/status', headers: auth() });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual(JSON.parse((await orchStatus(log.stateDir)).json));
    for (const to of [0, 1, 12, 30]) {
      const at = await server.app.inject({ method: 'GET', url: `/api/status?to=${to}`, headers: auth() });
      const { replay: _replay, ...doc } = await orchReplay({
        repoDir: log.repo,
        stateDir: log.stateDir,
        to: String(to),
      });
      expect(at.json()).toEqual(JSON.parse(withLease(JSON.stringify(doc), null)));
      expect(at.json()).toMatchObject({ position: to });
    }
    for (const bad of ['abc', '-1', '100000', '1.5']) {
      const r2 = await server.app.inject({ method: 'GET', url: `/api/status?to=${bad}`, headers: auth() });
      expect([bad, r2.statusCode]).toEqual([bad, 400]);
      expect(r2.json().error).toMatch(/is not a log position/);
    }
  });

  it('GET /api/report is the report data of the whole log', async () => {
    const r = await server.app.inject({ method: 'GET', url: '/api/report', headers: auth() });
    const data = r.json<{ to: number; attempts: { spawnId: string }[]; final: { tasks: unknown[] } }>();
    const all = events();
    expect(data.to).toBe(all.length);
    expect(data.attempts.map((a) => a.spawnId)).toEqual(
      all.filter((e) => e.type === 'AgentSpawnRequested').map((e) => e.data['spawnId']),
    );
    expect(data.final.tasks).toHaveLength(5);
    // The data collected beside the followed log is the report's own, built from zero.
    const store = openSqliteEventStore(log.file, { readonly: true });
    try {
      expect(r.json()).toEqual(
        JSON.parse(JSON.stringify(buildReportData(store.readAll(), { title: 'orch serve' }))),
      );
    } finally {
      store.close();
    }
  });

  it('GET /api/agents/:spawnId/output shows the end of the output with escapes made visible', async () => {
    const file = agentLogPath(log.stateDir, 'T004', 1);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(
      file,
      'first line\n<script>alert(1)</script> \x1b[2J\x1b]0;title\x07 bell\r\nlast <b>bold</b>',
    );
    const r = await server.app.inject({ method: 'GET', url: '/api/agents/s7/output', headers: auth() });
    expect(r.statusCode).toBe(200);
    const out = r.json<{ task: string; attempt: number; text: string; size: number }>();
    expect(out).toMatchObject({ task: 'T004', attempt: 1, size: fs.statSync(file).size });
    expect(out.text).toContain('<script>alert(1)</script>');
    expect(out.text).toContain('\\x1b[2J');
    // No control character but the line breaks.
    expect([...out.text].filter((c) => c !== '\n' && (c < ' ' || c === '\x7f'))).toEqual([]);
    expect(out.text.split('\n').at(-1)).toBe('last <b>bold</b>');
    expect(r.headers['content-type']).toMatch(/^application\/json/);
  });

  it('never reads outside the state directory: unknown or traversing spawn ids and links out are 404', async () => {
    for (const url of [
      '/api/agents/..%2F..%2F..%2Fetc%2Fpasswd/output',
      '/api/agents/../../etc/passwd/output',
      '/api/agents/%2Fetc%2Fpasswd/output',
      '/api/agents/nope/output',
      '/api/agents/__proto__/output',
      '/api/agents/constructor/output',
    ]) {
      const r = await server.app.inject({ method: 'GET', url, headers: auth() });
      expect([url, r.statusCode]).toEqual([url, 404]);
      expect(r.body).not.toContain('root:');
    }
    // An output file that is a link out of the state directory is not followed.
    const file = agentLogPath(log.stateDir, 'T005', 1);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.symlinkSync('/etc/passwd', file);
    const linked = await server.app.inject({ method: 'GET', url: '/api/agents/s8/output', headers: auth() });
    expect(linked.statusCode).toBe(404);
    expect(linked.body).not.toContain('root:');
  });

  it('GET /api/events streams updates: the position now, and again when the log moves', async () => {
    const controller = new AbortController();
    const res = await fetch(`${server.origin}/api/events?token=${encodeURIComponent(server.token)}`, {
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    const reader = res.body!.getReader();
    let text = '';
    const updates = () =>
      [...text.matchAll(/event: update\ndata: (.*)\n\n/g)].map(
        (m) => JSON.parse(m[1]!) as { position: number; agents: { spawnId: string }[] },
      );
    const readUntil = async (test: () => boolean) => {
      const end = Date.now() + 20_000;
      while (!test() && Date.now() < end) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
    };
    const start = events().length;
    await readUntil(() => updates().length > 0);
    expect(updates()[0]).toMatchObject({ position: start });
    expect(
      updates()[0]!
        .agents.map((a) => a.spawnId)
        .sort(),
    ).toEqual(['s7', 's8']);
    const r = await server.app.inject({
      method: 'POST',
      url: '/api/ci',
      headers: auth(),
      payload: { result: 'pass' },
    });
    expect(r.statusCode).toBe(200);
    await readUntil(() => updates().some((u) => u.position === start + 1));
    expect(updates().some((u) => u.position === start + 1)).toBe(true);
    controller.abort();
  });
});

describe('orch serve: controls', () => {
  it('cancel and unblock record what orch signal records, with the person as actor; refusals change nothing', async () => {
    const cancel = await server.app.inject({
      method: 'POST',
      url: '/api/tasks/T004/cancel',
      headers: auth(),
      payload: { note: 'not needed <b>after all</b>' },
    });
    expect(cancel.statusCode).toBe(200);
    expect(cancel.json()).toMatchObject({ taskId: 'T004', kind: 'cancel', was: 'running' });
    const last = events().at(-1)!;
    expect([last.type, last.data, last.metadata['actor']]).toEqual([
      'TaskCancelled',
      { taskId: 'T004', reason: 'not needed <b>after all</b>' },
      'user',
    ]);
    const before = events().length;
    const again = await server.app.inject({ method: 'POST', url: '/api/tasks/T004/cancel', headers: auth() });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'TASK_OVER' });
    const unknown = await server.app.inject({
      method: 'POST',
      url: '/api/tasks/T999/cancel',
      headers: auth(),
    });
    expect(unknown.statusCode).toBe(404);
    const notBlocked = await server.app.inject({
      method: 'POST',
      url: '/api/tasks/T005/unblock',
      headers: auth(),
    });
    expect(notBlocked.statusCode).toBe(409);
    expect(notBlocked.json()).toMatchObject({ code: 'TASK_NOT_BLOCKED' });
    const badAction = await server.app.inject({
      method: 'POST',
      url: '/api/tasks/T005/explode',
      headers: auth(),
    });
    expect(badAction.statusCode).toBe(404);
    const badNote = await server.app.inject({
      method: 'POST',
      url: '/api/tasks/T005/cancel',
      headers: auth(),
      payload: { note: 42 },
    });
    expect(badNote.statusCode).toBe(400);
    const notJson = await server.app.inject({
      method: 'POST',
      url: '/api/tasks/T005/cancel',
      headers: { ...auth(), 'content-type': 'application/json' },
      payload: '{nope',
    });
    expect(notJson.statusCode).toBe(400);
    expect(events().length).toBe(before);
  });

  it('unblock releases a blocked task as orch signal unblock does, the note kept with the person as actor', async () => {
    // T005's agent reports blocked (on a person), as an agent would.
    orchSignal(log.stateDir, { kind: 'blocked', spawnId: 's8', runId: 'r1' });
    const r = await server.app.inject({
      method: 'POST',
      url: '/api/tasks/T005/unblock',
      headers: auth(),
      payload: { note: 'the key is in the vault' },
    });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ taskId: 'T005', kind: 'unblock', wasBlockedOn: ['person'] });
    const last = events().at(-1)!;
    expect([last.type, last.data, last.metadata]).toEqual([
      'TaskUnblocked',
      { taskId: 'T005', reason: 'person' },
      { actor: 'user', summary: 'the key is in the vault' },
    ]);
  });

  it('retry puts a task that failed for good back to pending as orch signal retry does; other tasks are refused', async () => {
    const before = events().length;
    // T005 is ready (released above), not failed: refused, nothing recorded.
    const notFailed = await server.app.inject({
      method: 'POST',
      url: '/api/tasks/T005/retry',
      headers: auth(),
    });
    expect(notFailed.statusCode).toBe(409);
    expect(notFailed.json()).toMatchObject({
      code: 'TASK_NOT_FAILED',
      error: 'task T005 has not failed (it is ready)',
    });
    // T004 was cancelled: a cancelled task stays cancelled.
    const cancelled = await server.app.inject({
      method: 'POST',
      url: '/api/tasks/T004/retry',
      headers: auth(),
    });
    expect(cancelled.statusCode).toBe(409);
    expect(events().length).toBe(before);
    // orch fails T005 for good, as decide does once its retries are used up.
    const store = openSqliteEventStore(log.file);
    try {
      new LogBuilder(store).add('TaskFailed', {
        taskId: 'T005',
        reason: 'retries used up after 2 attempt(s)',
      });
    } finally {
      store.close();
    }
    const r = await server.app.inject({
      method: 'POST',
      url: '/api/tasks/T005/retry',
      headers: auth(),
      payload: { note: 'the sandbox is fixed' },
    });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ taskId: 'T005', kind: 'retry', attempts: 1 });
    const last = events().at(-1)!;
    expect([last.type, last.data, last.metadata['actor']]).toEqual([
      'TaskRetryRequested',
      { taskId: 'T005', reason: 'the sandbox is fixed' },
      'user',
    ]);
    const status = await server.app.inject({ method: 'GET', url: '/api/status', headers: auth() });
    expect(status.json().tasks.find((t: { id: string }) => t.id === 'T005')).toMatchObject({
      status: 'pending',
      detail: 'pending',
    });
    // The report's data carries the retry, for T005's lane of the timeline.
    const report = await server.app.inject({ method: 'GET', url: '/api/report', headers: auth() });
    const drawn = report.json<{ events: [number, string, number | null, Record<string, unknown>][] }>()
      .events;
    expect(drawn.filter((e) => e[1] === 'TaskRetryRequested').map((e) => e[3])).toEqual([
      { taskId: 'T005', reason: 'the sandbox is fixed' },
    ]);
    const again = await server.app.inject({ method: 'POST', url: '/api/tasks/T005/retry', headers: auth() });
    expect(again.statusCode).toBe(409);
  });

  it('raises the budget as orch signal budget does (actor user); refuses a bad amount and a repo without a budget', async () => {
    const before = events().length;
    const raise = (payload: object) =>
      server.app.inject({ method: 'POST', url: '/api/budget', headers: auth(), payload });
    // The calculator repo has no orch.config.json: no budget, nothing to raise.
    const none = await raise({ raiseUsd: 5 });
    expect(none.statusCode).toBe(409);
    expect(none.json()).toMatchObject({ code: 'NO_BUDGET' });
    const configFile = path.join(log.repo, 'orch.config.json');
    fs.writeFileSync(configFile, JSON.stringify({ budget: 2 }));
    try {
      for (const bad of [{}, { raiseUsd: '5' }, { raiseUsd: 0 }, { raiseUsd: -1 }, { raiseUsd: 1e9 }]) {
        const r = await raise(bad);
        expect([bad, r.statusCode]).toEqual([bad, 400]);
      }
      expect(events().length).toBe(before);
      const r = await raise({ raiseUsd: 2.5, note: 'T005 is close' });
      expect(r.statusCode).toBe(200);
      expect(r.json()).toMatchObject({ kind: 'budget', amountUsd: 2.5, budgetUsd: 4.5, wasExhausted: false });
      const last = events().at(-1)!;
      expect([last.type, last.data, last.metadata['actor']]).toEqual([
        'BudgetRaised',
        { amountUsd: 2.5, reason: 'T005 is close' },
        'user',
      ]);
      // Raises add up.
      expect((await raise({ raiseUsd: 1 })).json()).toMatchObject({ budgetUsd: 5.5 });
    } finally {
      fs.rmSync(configFile);
    }
  });

  it('records a CI result as orch ci does (actor user) and refuses a bad one', async () => {
    const r = await server.app.inject({
      method: 'POST',
      url: '/api/ci',
      headers: auth(),
      payload: { result: 'fail', ref: 'integration', url: 'https://ci.example/1' },
    });
    expect(r.statusCode).toBe(200);
    const last = events().at(-1)!;
    expect([last.type, last.data, last.metadata['actor']]).toEqual([
      'CiCompleted',
      { result: 'fail', ref: 'integration', url: 'https://ci.example/1' },
      'user',
    ]);
    const before = events().length;
    const bad = await server.app.inject({
      method: 'POST',
      url: '/api/ci',
      headers: auth(),
      payload: { result: 'maybe' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(/"pass" or "fail"/);
    expect(events().length).toBe(before);
  });

  it('refuses to start orch spawn while another process holds the lease, naming it; stop with none running is 409', async () => {
    const lease = await acquireLease(log.stateDir, { runId: 'held-elsewhere' });
    try {
      const r = await server.app.inject({ method: 'POST', url: '/api/spawn/start', headers: auth() });
      expect(r.statusCode).toBe(409);
      expect(r.json()).toMatchObject({ code: 'LEASE_HELD' });
      expect(r.json().error).toContain(`pid ${process.pid}`);
      expect(r.json().error).toContain('run held-elsewhere');
      const view = await server.app.inject({ method: 'GET', url: '/api/spawn', headers: auth() });
      expect(view.json()).toMatchObject({
        spawn: { running: false },
        lease: { pid: process.pid, runId: 'held-elsewhere' },
      });
    } finally {
      lease.release();
    }
    const stop = await server.app.inject({ method: 'POST', url: '/api/spawn/stop', headers: auth() });
    expect(stop.statusCode).toBe(409);
    expect(stop.json()).toMatchObject({ code: 'SPAWN_NOT_RUNNING' });
  });
});
