import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import type { ServerResponse } from 'node:http';
import Fastify from 'fastify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { OrchError } from '../../util/errors.js';
import { liveScript, liveStyle, renderLivePage } from '../report/live-page.js';
import { loadConfig } from '../project/config.js';
import { readLeaseView } from '../system/lease.js';
import { orchRaiseBudget } from './budget.js';
import { orchCi } from './ci.js';
import { UsageError } from './errors.js';
import { DraftWizard } from './serve-draft.js';
import { RunFollower, UnknownSpawnError } from './serve-follow.js';
import { SpawnChild } from './serve-spawn.js';
import { orchSignal } from './signal.js';

/**
 * `orch serve`: the run in a browser. A Fastify server over the repository's log, followed
 * read-only ({@link RunFollower}); the page (`/`, `/app.js`, `/app.css`) is static, and
 * everything from the log comes through the API, which needs the token:
 *
 * | route | what |
 * | --- | --- |
 * | `GET /api/events` | server-sent events: `update` {position, now, agents, lease, spawn} when the log moves and every second |
 * | `GET /api/status?to=N` | `orch status --json` at position N (default: the end) |
 * | `GET /api/report` | the report page's data at the end of the log |
 * | `GET /api/agents/:spawnId/output` | the end of an agent's output, made safe |
 * | `GET /api/spawn` | the `orch spawn` child and the lease |
 * | `POST /api/tasks/:id/cancel`, `/unblock`, `/retry` | `orch signal cancel|unblock|retry --task ID --summary NOTE` |
 * | `POST /api/ci` | `orch ci pass|fail --ref --url` (actor `user`) |
 * | `POST /api/budget` | `orch signal budget --raise USD --summary NOTE` |
 * | `POST /api/spawn/start`, `/api/spawn/stop` | start or stop `orch spawn` as a child process |
 * | `GET /api/draft` | the wizard: its step, the plan file's text, its problems and plan tree |
 * | `POST /api/draft` | `orch plan --draft GOAL`, run in the server ({@link DraftWizard}) |
 * | `POST /api/draft/edit`, `/api/draft/approve` | write and check the person's plan text; approve it and start `orch spawn` |
 */

/** How `orch serve` is started. */
export interface ServeOptions {
  repoDir: string;
  stateDir: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /** The token; default: a fresh random one. */
  token?: string;
  /** The command that runs orch, for `orch spawn` from the page. */
  orchCommand: readonly string[];
  /** Ms between checks of the log for new events (default 200). */
  pollMs?: number;
}

/** A running server. */
export interface RunningServer {
  /** `http://host:port` */
  origin: string;
  /** The page's address with the token in its fragment. */
  url: string;
  token: string;
  port: number;
  app: FastifyInstance;
  /** Stops the event streams, a started `orch spawn`, the server, and closes the log. */
  close(): Promise<void>;
}

/** The Content-Security-Policy of every response: nothing inline, nothing from elsewhere. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'";

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;

/**
 * True for an address that only this machine reaches.
 *
 * @example
 * isLoopback('127.0.0.1'); // true
 * isLoopback('0.0.0.0'); // false
 */
export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}

/**
 * The token: read from `file` (trimmed; at least 16 characters) or fresh (32 random bytes, base64url).
 *
 * @example
 * serveToken(undefined).length; // 43
 */
export function serveToken(file: string | undefined): string {
  if (file === undefined) return randomBytes(32).toString('base64url');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new UsageError(
      `--token-file ${file} could not be read (${(err as { code?: string }).code ?? (err as Error).message})`,
      'pass a readable file holding the token',
    );
  }
  if (text.length < 16 || /\s/.test(text)) {
    throw new UsageError(
      `--token-file ${file} must hold one token of at least 16 characters without spaces`,
      'write a long random token to the file, e.g. `openssl rand -hex 32 > token`',
    );
  }
  return text;
}

/**
 * Compares a presented token with the server's in constant time (both hashed first, so
 * neither the content nor the length leaks through timing).
 *
 * @example
 * tokenMatches('abc', 'abc'); // true
 */
export function tokenMatches(presented: string, token: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

function presentedToken(request: FastifyRequest): string | null {
  const auth = request.headers.authorization;
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) return auth.slice('Bearer '.length).trim();
  const query = request.query as Record<string, unknown> | undefined;
  // Only the event stream may carry the token in its address: EventSource sends no headers.
  if (
    request.method === 'GET' &&
    request.url.startsWith('/api/events?') &&
    typeof query?.['token'] === 'string'
  )
    return query['token'];
  return null;
}

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

/**
 * Starts the server and the follower. Resolves once it listens.
 *
 * @example
 * const server = await startServer({ repoDir, stateDir, orchCommand: [process.execPath, bin] });
 * console.log(server.url);
 */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? serveToken(undefined);
  const follower = new RunFollower(options.stateDir);
  const child = new SpawnChild({
    repoDir: options.repoDir,
    stateDir: options.stateDir,
    orchCommand: options.orchCommand,
  });
  const wizard = new DraftWizard(options.repoDir, options.stateDir);
  const streams = new Set<ServerResponse>();
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 });

  app.addHook('onRequest', async (request, reply) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) void reply.header(k, v);
    const url = request.url;
    if (!url.startsWith('/api/')) return;
    // A state-changing request from another site's page is refused whatever it carries.
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      const origin = request.headers.origin;
      if (origin !== undefined && origin !== `http://${request.headers.host ?? ''}`) {
        return reply.code(403).send({ error: `requests from ${origin} are refused`, code: 'FOREIGN_ORIGIN' });
      }
    }
    const presented = presentedToken(request);
    if (presented === null || !tokenMatches(presented, token)) {
      return reply.code(401).header('www-authenticate', 'Bearer').send({
        error: 'the token is missing or wrong',
        code: 'UNAUTHORIZED',
        hint: 'open the URL orch serve printed',
      });
    }
    return undefined;
  });

  app.setErrorHandler((err: unknown, _request, reply) => {
    if (err instanceof UnknownSpawnError)
      return reply.code(404).send({ error: err.message, code: 'UNKNOWN_SPAWN' });
    if (err instanceof OrchError) {
      const status =
        err.code === 'UNKNOWN_TASK' ? 404 : err instanceof UsageError || err.code === 'USAGE' ? 400 : 409;
      return reply.code(status).send({ error: err.message, code: err.code, hint: err.hint ?? null });
    }
    const e = err as { statusCode?: number; message?: string; code?: string };
    if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      return reply
        .code(e.statusCode)
        .send({ error: e.message ?? 'bad request', code: e.code ?? 'BAD_REQUEST' });
    }
    return reply.code(500).send({ error: e.message ?? String(err), code: 'INTERNAL' });
  });

  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(renderLivePage()));
  const script = liveScript();
  const style = liveStyle();
  app.get('/app.js', async (_request, reply) => reply.type('text/javascript; charset=utf-8').send(script));
  app.get('/app.css', async (_request, reply) => reply.type('text/css; charset=utf-8').send(style));

  // Browsers ask for it; there is none.
  app.get('/favicon.ico', async (_request, reply) => reply.code(204).send());

  app.get('/api/status', async (request, reply) => {
    follower.poll();
    const to = positionParam((request.query as Record<string, unknown>)['to'], follower.position);
    return reply.type('application/json').send(follower.statusJson(to));
  });
  app.get('/api/report', async (_request, reply) => {
    follower.poll();
    return reply.send(follower.report());
  });
  app.get('/api/agents/:spawnId/output', async (request) => {
    follower.poll();
    return follower.output((request.params as { spawnId: string }).spawnId);
  });
  app.get('/api/spawn', async () => ({ spawn: child.view(), lease: readLeaseView(options.stateDir) }));

  app.post('/api/tasks/:id/:action', async (request, reply) => {
    const { id, action } = request.params as { id: string; action: string };
    const note = noteOf(request.body);
    if (action !== 'cancel' && action !== 'unblock' && action !== 'retry') {
      return reply.code(404).send({ error: `no task action ${JSON.stringify(action)}`, code: 'NOT_FOUND' });
    }
    const outcome = orchSignal(options.stateDir, {
      kind: action,
      taskId: id,
      ...(note === undefined ? {} : { summary: note }),
    });
    wake();
    return outcome;
  });
  app.post('/api/ci', async (request) => {
    const body = objectBody(request.body);
    const result = body['result'];
    if (result !== 'pass' && result !== 'fail') {
      throw new UsageError(
        'the CI result must be "pass" or "fail"',
        'send {"result": "pass"} or {"result": "fail"}',
      );
    }
    const ref = optionalText(body, 'ref', 200);
    const url = optionalText(body, 'url', 2000);
    const outcome = orchCi(options.stateDir, {
      result,
      actor: 'user',
      ...(ref === undefined ? {} : { ref }),
      ...(url === undefined ? {} : { url }),
    });
    wake();
    return outcome;
  });
  app.post('/api/budget', async (request) => {
    const body = objectBody(request.body);
    const raise = body['raiseUsd'];
    if (typeof raise !== 'number') {
      throw new UsageError('"raiseUsd" must be a number of dollars', 'send {"raiseUsd": 5}');
    }
    const note = optionalText(body, 'note', 2000);
    const outcome = orchRaiseBudget(options.stateDir, {
      amountUsd: raise,
      // Read on each request: the file may have changed since the server started.
      configuredUsd: loadConfig(options.repoDir).budget,
      ...(note === undefined ? {} : { summary: note }),
    });
    wake();
    return outcome;
  });
  app.post('/api/spawn/start', async () => {
    const view = child.start();
    wake();
    return view;
  });
  app.post('/api/spawn/stop', async () => {
    const view = await child.stop();
    wake();
    return { ...view, code: view.lastExit?.code ?? null };
  });

  app.get('/api/draft', async () => wizard.view());
  app.post('/api/draft', async (request) => {
    const view = wizard.start(objectBody(request.body)['goal']);
    wake();
    return view;
  });
  app.post('/api/draft/edit', async (request) => {
    const view = await wizard.edit(objectBody(request.body)['text']);
    wake();
    return view;
  });
  app.post('/api/draft/approve', async () => {
    const view = await wizard.approve();
    const spawn = child.start();
    wake();
    return { ...view, spawn };
  });

  app.get('/api/events', async (request, reply) => {
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    raw.write('retry: 2000\n\n');
    streams.add(raw);
    request.raw.on('close', () => streams.delete(raw));
    follower.poll();
    send(raw);
  });

  function update(): string {
    const run = follower.run();
    return JSON.stringify({
      position: run.position,
      now: Date.now(),
      agents: run.agents,
      lease: readLeaseView(options.stateDir),
      spawn: child.view(),
      waiting: follower.waitingFor,
    });
  }
  function send(raw: ServerResponse, text = update()): void {
    raw.write(`event: update\ndata: ${text}\n\n`);
  }
  function broadcast(): void {
    if (streams.size === 0) return;
    const text = update();
    for (const raw of streams) send(raw, text);
  }
  let lastBeat = 0;
  let closed = false;
  function tick(): void {
    if (closed) return;
    try {
      const moved = follower.poll();
      const now = Date.now();
      if (moved || now - lastBeat >= 1000) {
        lastBeat = now;
        broadcast();
      }
    } catch (err) {
      // A log that cannot be read now (being replaced, locked) is tried again on the next tick.
      for (const raw of streams)
        raw.write(`event: problem\ndata: ${JSON.stringify(String((err as Error).message))}\n\n`);
    }
  }
  function wake(): void {
    lastBeat = 0;
    tick();
  }
  const timer = setInterval(tick, options.pollMs ?? 200);

  await app.listen({ host, port: options.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 0);
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const origin = `http://${shownHost}:${port}`;
  return {
    origin,
    url: `${origin}/#token=${token}`,
    token,
    port,
    app,
    close: async () => {
      closed = true;
      clearInterval(timer);
      for (const raw of streams) raw.end();
      streams.clear();
      await wizard.close();
      await child.close();
      await app.close();
      follower.close();
    },
  };
}

function objectBody(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new UsageError(
      'the request body must be a JSON object',
      'send Content-Type: application/json and an object',
    );
  }
  return body as Record<string, unknown>;
}

function optionalText(body: Record<string, unknown>, key: string, max: number): string | undefined {
  const value = body[key];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || value.length > max) {
    throw new UsageError(`"${key}" must be text of at most ${max} characters`, `fix "${key}" in the request`);
  }
  return value;
}

function noteOf(body: unknown): string | undefined {
  return optionalText(objectBody(body), 'note', 2000);
}

function positionParam(value: unknown, last: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !/^\d+$/.test(value) || Number(value) > last) {
    throw new UsageError(
      `to=${JSON.stringify(value)} is not a log position`,
      `pass a whole number from 0 to ${last}`,
    );
  }
  return Number(value);
}
