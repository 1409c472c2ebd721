import { spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Replayer } from '../../../src/core/replayer.js';
import { saveSnapshot } from '../../../src/runtime/log/snapshots.js';
import { orchStatus } from '../../../src/runtime/operations/status.js';
import { prefetchDirs } from '../../../src/runtime/operations/status-prefetch.js';
import type * as Prefetch from '../../../src/runtime/operations/status-prefetch.js';
import type * as Cache from '../../../src/runtime/operations/status-cache.js';
import { openSqliteEventStore } from '../../../src/store/index.js';
import { tempLog, type TempLog } from '../../commands/helpers/log-builder.js';

// The prefetch runs its worker from the built files (a worker thread does not go through
// vitest's transform): the int tier's setup builds dist/ when it is stale.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const built = async <T>(file: string): Promise<T> =>
  (await import(pathToFileURL(path.join(root, 'dist', 'runtime', 'operations', file)).href)) as T;
const BIN = path.join(root, 'bin', 'run.js');

const logs: TempLog[] = [];
afterEach(() => {
  for (const l of logs.splice(0)) l.cleanup();
});

/** The calculator run with the snapshots saved `behind` events before its end. */
function logBehind(behind: number): TempLog {
  const t = tempLog();
  logs.push(t);
  const store = openSqliteEventStore(t.file);
  try {
    const replayer = new Replayer();
    const versions: Record<string, number> = {};
    for (const e of store.readAll({ to: store.lastPosition() - behind })) {
      replayer.apply(e);
      versions[e.streamId] = e.streamVersion;
    }
    saveSnapshot(store, replayer.state, versions);
  } finally {
    store.close();
  }
  return t;
}

describe('status prefetch (bin/run.js reads the status before oclif loads)', () => {
  it('takes only the arguments it understands', () => {
    expect(prefetchDirs([], '/w')).toEqual({ repoDir: '/w', stateDir: '/w/.state' });
    expect(prefetchDirs(['--json', '--repo', 'calc'], '/w')).toEqual({
      repoDir: '/w/calc',
      stateDir: '/w/calc/.state',
    });
    expect(prefetchDirs(['--repo=calc', '--state-dir=/s', '--json'], '/w')).toEqual({
      repoDir: '/w/calc',
      stateDir: '/s',
    });
    expect(prefetchDirs(['--state-dir', 'rel'], '/w')).toEqual({ repoDir: '/w', stateDir: '/w/rel' });
    for (const args of [
      ['--watch'],
      ['--help'],
      ['-h'],
      ['--repo'],
      ['--repo', '--json'],
      ['--repo='],
      ['x'],
    ])
      expect(prefetchDirs(args, '/w'), args.join(' ')).toBeUndefined();
  });

  it('answers as cachedStatus does: the current document on the spot, a tail folded on a worker thread', async () => {
    const { startStatusPrefetch, takeStatusPrefetch } = await built<typeof Prefetch>('status-prefetch.js');
    const { cachedStatus } = await built<typeof Cache>('status-cache.js');
    for (const behind of [0, 5]) {
      const t = logBehind(behind);
      await startStatusPrefetch(['--json', '--repo', t.repo]);
      const taken = await takeStatusPrefetch(t.repo, t.stateDir);
      expect(taken).not.toBeNull();
      expect(taken).toEqual(await cachedStatus(t.stateDir));
      const full = await orchStatus(t.stateDir);
      expect(taken?.json).toBe(full.json);
      expect(full.source).toBe(behind === 0 ? 'cache' : 'snapshot');
    }
  });

  it('is not used for another directory, and says "full path" when the probe declines', async () => {
    const { startStatusPrefetch, takeStatusPrefetch } = await built<typeof Prefetch>('status-prefetch.js');
    const t = logBehind(5);
    await startStatusPrefetch(['--repo', t.repo]);
    expect(await takeStatusPrefetch(t.repo, path.join(t.dir, 'elsewhere'))).toBeNull();
    // Taken once: nothing is left for a second command.
    expect(await takeStatusPrefetch(t.repo, t.stateDir)).toBeNull();
    // No log at all: the probe declines, the command goes to the full path (which says so).
    const empty = path.join(t.dir, 'empty');
    fs.mkdirSync(path.join(empty, '.state'), { recursive: true });
    await startStatusPrefetch(['--repo', empty]);
    expect(await takeStatusPrefetch(empty, path.join(empty, '.state'))).toBeUndefined();
  });

  it('prints `status --json` without oclif: the document the command gives, current or with a tail; declines the rest', async () => {
    const { statusJsonNow, takeStatusPrefetch } = await built<typeof Prefetch>('status-prefetch.js');
    for (const behind of [0, 5]) {
      const t = logBehind(behind);
      const full = await orchStatus(t.stateDir);
      expect(full.source).toBe(behind === 0 ? 'cache' : 'snapshot');
      expect(await statusJsonNow(['--json', '--repo', t.repo])).toBe(full.json);
      expect(await statusJsonNow([`--state-dir=${t.stateDir}`, '--json'])).toBe(full.json);
      // Only --json, and only the arguments the prefetch understands.
      expect(await statusJsonNow(['--repo', t.repo])).toBeUndefined();
      expect(await statusJsonNow(['--json', '--repo', t.repo, '--watch'])).toBeUndefined();
      expect(await takeStatusPrefetch(t.repo, t.stateDir)).toBeNull();
    }
    // A directory without a log: declined, and the command is told to take the full path
    // (which says what is wrong) without probing again.
    const t = logBehind(0);
    const empty = path.join(t.dir, 'empty');
    fs.mkdirSync(path.join(empty, '.state'), { recursive: true });
    expect(await statusJsonNow(['--json', '--repo', empty])).toBeUndefined();
    expect(await takeStatusPrefetch(empty, path.join(empty, '.state'))).toBeUndefined();
    // No status document or parts (a log no run has snapshotted): declined the same way.
    const bare = logBehind(0);
    const db = new Database(bare.file);
    try {
      db.prepare("DELETE FROM snapshots WHERE name LIKE 'status%'").run();
    } finally {
      db.close();
    }
    expect(await statusJsonNow(['--json', '--repo', bare.repo])).toBeUndefined();
    expect(await takeStatusPrefetch(bare.repo, bare.stateDir)).toBeUndefined();
    expect((await orchStatus(bare.stateDir)).json).toBe((await orchStatus(t.stateDir)).json);
  });

  it('gives the CLI the same bytes as without it, on a log whose cache is behind', () => {
    const t = logBehind(5);
    const run = (env: NodeJS.ProcessEnv) => {
      // As a user runs it: not vitest's NODE_ENV (oclif would look for the TypeScript sources).
      const base: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
      delete base['NODE_ENV'];
      return spawnSync(process.execPath, [BIN, 'status', '--json', '--repo', t.repo], {
        env: { ...base, ...env },
        encoding: 'utf8',
      });
    };
    const on = run({});
    const off = run({ ORCH_STATUS_PREFETCH: '0' });
    expect(on.status, on.stderr).toBe(0);
    expect(off.status, off.stderr).toBe(0);
    expect(on.stdout).toBe(off.stdout);
    expect(on.stderr).toBe('');
  });
});
