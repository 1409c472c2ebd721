import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/runtime/operations/serve.js';
import { openSqliteEventStore } from '../../src/store/index.js';
import { git, gitRepo, ORCH_BIN, orchEnv } from '../fixtures/agents/e2e-repo.js';

/**
 * Starting and stopping `orch spawn` through `orch serve`'s API, with the built CLI (`npm run
 * build` first) as the child: it takes the lease as from a terminal; a second start, and a
 * start from another server on the same state directory, are refused naming the holder;
 * stopping it stops its agent and records the run's stop.
 */

const hang = fileURLToPath(new URL('../fixtures/agents/hang.mjs', import.meta.url));
let dir: string;
let repo: string;
let server: RunningServer;
let other: RunningServer;

function events(): { type: string; data: Record<string, unknown> }[] {
  const file = path.join(repo, '.state', 'orch.db');
  if (!fs.existsSync(file)) return [];
  let store: ReturnType<typeof openSqliteEventStore>;
  try {
    store = openSqliteEventStore(file, { readonly: true });
  } catch {
    return []; // being created by orch spawn right now
  }
  try {
    return [...store.readAll()] as never;
  } finally {
    store.close();
  }
}

beforeAll(async () => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-serve-spawn-e2e-')));
  repo = gitRepo(path.join(dir, 'repo'));
  fs.writeFileSync(
    path.join(repo, 'plan.yaml'),
    `name: Serve spawn
milestones:
  - id: M1
    title: One
    phases:
      - id: P1
        title: One task
        tasks:
          - { id: T1, title: Never ends, role: slow }
`,
  );
  fs.writeFileSync(
    path.join(repo, 'orch.config.json'),
    JSON.stringify({ planDir: 'plan.yaml', agents: { slow: { command: [process.execPath, hang] } } }),
  );
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'plan');
  const options = {
    repoDir: repo,
    stateDir: path.join(repo, '.state'),
    orchCommand: [process.execPath, ORCH_BIN],
    pollMs: 100,
  };
  server = await startServer(options);
  other = await startServer(options);
});

afterAll(async () => {
  await server?.close();
  await other?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const post = (s: RunningServer, url: string) =>
  s.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${s.token}` } });

describe('orch spawn from orch serve', () => {
  it('starts it as a child holding the lease, refuses a second one naming it, and stops it', async () => {
    const started = await post(server, '/api/spawn/start');
    expect(started.statusCode).toBe(200);
    const pid = started.json<{ running: boolean; pid: number }>().pid;
    expect(started.json()).toMatchObject({ running: true });

    // Wait for T1's agent.
    let agentPid: number | undefined;
    for (let i = 0; i < 600 && agentPid === undefined; i++) {
      await new Promise((r) => setTimeout(r, 100));
      agentPid = events().find((e) => e.type === 'AgentStarted')?.data['pid'] as number | undefined;
    }
    expect(agentPid).toBeDefined();

    const again = await post(server, '/api/spawn/start');
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'SPAWN_RUNNING' });
    const elsewhere = await post(other, '/api/spawn/start');
    expect(elsewhere.statusCode).toBe(409);
    expect(elsewhere.json()).toMatchObject({ code: 'LEASE_HELD' });
    expect(elsewhere.json<{ error: string }>().error).toContain(`pid ${pid} on ${os.hostname()}`);
    const view = await other.app.inject({
      method: 'GET',
      url: '/api/spawn',
      headers: { authorization: `Bearer ${other.token}` },
    });
    expect(view.json()).toMatchObject({ spawn: { running: false }, lease: { pid, alive: true } });

    const stopped = await post(server, '/api/spawn/stop');
    expect(stopped.statusCode).toBe(200);
    expect(stopped.json()).toMatchObject({ running: false, code: 130 });
    expect(() => process.kill(agentPid!, 0)).toThrow();
    expect(events().at(-1)).toMatchObject({ type: 'RunStopped' });
    const free = await server.app.inject({
      method: 'GET',
      url: '/api/spawn',
      headers: { authorization: `Bearer ${server.token}` },
    });
    expect(free.json()).toMatchObject({ spawn: { running: false }, lease: null });
  }, 120_000);

  it('binds 127.0.0.1 by default; another address only with --host, and then it warns', async () => {
    const run = async (extra: string[]) => {
      const child = spawn(process.execPath, [ORCH_BIN, 'serve', '--repo', repo, '--port', '0', ...extra], {
        env: orchEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      for (let i = 0; i < 300 && !/open http/.test(out); i++) await new Promise((r) => setTimeout(r, 100));
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      return { out, err };
    };
    const local = await run([]);
    expect(local.out).toMatch(/open http:\/\/127\.0\.0\.1:\d+\/#token=[\w-]{43}\n/);
    expect(local.err).toBe('');
    const wide = await run(['--host', '0.0.0.0']);
    expect(wide.out).toMatch(/open http:\/\/0\.0\.0\.0:\d+\/#token=/);
    expect(wide.err).toMatch(/orch serve binds 0\.0\.0\.0, which other machines may reach/);
  }, 60_000);
});
