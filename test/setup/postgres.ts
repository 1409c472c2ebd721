/**
 * A throwaway PostgreSQL server for tests: `initdb` in a temp directory, `pg_ctl start` on a
 * free loopback port with its socket in that directory, trust authentication, stopped and
 * deleted by `stop()`. Run as the `postgres` user when the tests run as root (PostgreSQL
 * refuses to run as root). Nothing is mocked: the tests talk to a real server.
 *
 * With `CI=true` a machine without PostgreSQL fails the test file instead of skipping it
 * (`.ci/run` installs Debian's `postgresql` when `initdb` is missing).
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { available } from './required.js';

/** A running throwaway server. */
export interface TestPostgres {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` */
  url: string;
  port: number;
  dataDir: string;
  /** A connection URL for a fresh, empty database on this server. */
  createDatabase(name: string): string;
  /**
   * Stops the server (`immediate`: as a crash does) and starts it again, without blocking the
   * event loop, so clients keep running (and failing, and retrying) meanwhile.
   */
  restart(mode?: 'fast' | 'immediate', downMs?: number): Promise<void>;
  stop(): void;
}

/** Where Debian keeps the server binaries (initdb is not on PATH there). */
export function findPostgresBin(): string | undefined {
  const candidates: string[] = [];
  const root = '/usr/lib/postgresql';
  if (fs.existsSync(root)) {
    for (const version of fs.readdirSync(root).sort((a, b) => Number(b) - Number(a))) {
      candidates.push(path.join(root, version, 'bin'));
    }
  }
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) candidates.push(dir);
  return candidates.find(
    (dir) => dir !== '' && fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'pg_ctl')),
  );
}

/** True when a PostgreSQL server can be started here; with `CI=true` a missing one throws. */
export function hasPostgres(): boolean {
  return available(
    'PostgreSQL (initdb, pg_ctl)',
    findPostgresBin() !== undefined,
    "install Debian's postgresql package (apt-get install postgresql)",
  );
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function asServerUser(bin: string, args: string[]): string {
  if (!isRoot) return execFileSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return execFileSync('runuser', ['-u', 'postgres', '--', bin, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function asServerUserAsync(bin: string, args: string[]): Promise<void> {
  const run = promisify(execFile);
  if (isRoot) await run('runuser', ['-u', 'postgres', '--', bin, ...args]);
  else await run(bin, args);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a fresh server. Call `stop()` in `afterAll`.
 *
 * @example
 * const pg = await startTestPostgres();
 * const url = pg.createDatabase('contract_1');
 */
export async function startTestPostgres(): Promise<TestPostgres> {
  const bin = findPostgresBin();
  if (bin === undefined) throw new Error('PostgreSQL is not installed (no initdb under /usr/lib/postgresql)');
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-pg-'));
  const dataDir = path.join(base, 'data');
  fs.mkdirSync(dataDir);
  if (isRoot) {
    fs.chmodSync(base, 0o755);
    execFileSync('chown', ['-R', 'postgres:postgres', base]);
  }
  asServerUser(path.join(bin, 'initdb'), [
    '-D',
    dataDir,
    '-U',
    'postgres',
    '-A',
    'trust',
    '-E',
    'UTF8',
    '--no-sync',
    '--locale=C',
  ]);
  const port = await freePort();
  const options = [
    `-p ${port}`,
    `-k ${base}`,
    '-c listen_addresses=127.0.0.1',
    '-c fsync=off',
    '-c full_page_writes=off',
    '-c max_connections=200',
  ].join(' ');
  const startArgs = [
    '-D',
    dataDir,
    '-o',
    options,
    '-l',
    path.join(base, 'server.log'),
    '-w',
    '-t',
    '60',
    'start',
  ];
  asServerUser(path.join(bin, 'pg_ctl'), startArgs);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let stopped = false;
  return {
    url,
    port,
    dataDir,
    createDatabase(name: string): string {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad test database name ${name}`);
      asServerUser(path.join(bin, 'psql'), [
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '-U',
        'postgres',
        '-q',
        '-c',
        `CREATE DATABASE ${name}`,
      ]);
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async restart(mode: 'fast' | 'immediate' = 'fast', downMs = 500): Promise<void> {
      await asServerUserAsync(path.join(bin, 'pg_ctl'), ['-D', dataDir, '-m', mode, '-w', 'stop']);
      await new Promise((resolve) => setTimeout(resolve, downMs));
      await asServerUserAsync(path.join(bin, 'pg_ctl'), startArgs);
    },
    stop(): void {
      if (stopped) return;
      stopped = true;
      try {
        asServerUser(path.join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
      } finally {
        fs.rmSync(base, { recursive: true, force: true });
      }
    },
  };
}

/** One test file's throwaway server: see {@link usePostgres}. */
export interface PostgresForFile {
  /** False when PostgreSQL is missing here (outside CI: the file's tests skip). */
  enabled: boolean;
  /** The running server (inside tests). */
  server(): TestPostgres;
  /** A URL for a fresh, empty database named `<prefix>_<n>`. */
  freshDatabase(): string;
}

/**
 * Starts a throwaway server for the calling test file in `beforeAll` (when PostgreSQL is
 * installed; with `CI=true` a missing one fails) and stops it in `afterAll`.
 *
 * @example
 * const pg = usePostgres('orch_sync');
 * describe.runIf(pg.enabled)('…', () => { it('…', () => open(pg.freshDatabase())); });
 */
export function usePostgres(prefix: string): PostgresForFile {
  const enabled = hasPostgres();
  let running: TestPostgres | undefined;
  let databases = 0;
  beforeAll(async () => {
    if (enabled) running = await startTestPostgres();
  }, 60_000);
  afterAll(() => running?.stop());
  const server = () => {
    if (running === undefined) throw new Error('the test PostgreSQL server is not running');
    return running;
  };
  return { enabled, server, freshDatabase: () => server().createDatabase(`${prefix}_${++databases}`) };
}
