/**
 * `orch status --json` on a long log: the built binary (`node bin/run.js`, so run
 * `npm run build` first) against `orch --version` (node + oclif start-up, the floor of any
 * command), median wall time of several runs, interleaved so machine noise hits both.
 * Goal: within 1.2x of `--version`.
 *
 * The log is the replay bench's coherent 1,000,000-event run (100,000 with --quick),
 * with the snapshots an orchestrator leaves: `saveSnapshot` at shutdown (status prints the
 * cached document) — the goal case. Also measured: the snapshot 4,999 events behind the end
 * (the worst case between two `maybeSaveSnapshot` saves: the status state's parts — each
 * task's row of the document kept as text — with the tasks the tail names parsed and the
 * tail folded onto them; goal within 1.5x of `--version`), and in-process `loadState` from
 * that snapshot against a full fold from zero. `orch status --json` is answered by
 * `bin/run.js` before oclif loads when it can (`statusJsonNow`); with `ORCH_STATUS_PREFETCH=0`
 * the same document goes through the command after oclif's start-up.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Replayer } from '../src/core/replayer.js';
import type * as ReadModel from '../src/runtime/log/load-state.js';
import type * as Snapshots from '../src/runtime/log/snapshots.js';
import type * as Parts from '../src/core/status-parts.js';
import { openSqliteEventStore } from '../src/store/index.js';
import { generateLog, makePlan } from './replay.bench.js';
import type { BenchModule, BenchResult } from './types.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'run.js');
/** The tail a periodic snapshot can leave behind at worst (SNAPSHOT_EVERY - 1). */
const WORST_TAIL = 4999;

/** Wall time of one run of the binary, in ms; throws if it fails. */
function timeRun(args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): { ms: number; bytes: number } {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...extraEnv };
  delete env['NODE_ENV'];
  const t = performance.now();
  const r = spawnSync(process.execPath, [bin, ...args], { env, maxBuffer: 1 << 30, encoding: 'buffer' });
  const ms = performance.now() - t;
  if (r.status !== 0)
    throw new Error(`orch ${args.join(' ')} exited ${r.status}: ${String(r.stderr).slice(0, 500)}`);
  return { ms, bytes: r.stdout.length };
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

/** Medians of `runs` interleaved runs of `a` and `b`. */
function compare(a: readonly string[], b: readonly string[], runs: number, aEnv: NodeJS.ProcessEnv = {}) {
  const ta: number[] = [];
  const tb: number[] = [];
  let bytes = 0;
  timeRun(a, aEnv); // warm the page cache for both sides
  timeRun(b);
  for (let i = 0; i < runs; i++) {
    const ra = timeRun(a, aEnv);
    bytes = ra.bytes;
    ta.push(ra.ms);
    tb.push(timeRun(b).ms);
  }
  return { a: median(ta), b: median(tb), bytes };
}

const bench: BenchModule = async ({ quick }) => {
  if (!fs.existsSync(path.join(root, 'dist', 'cli', 'commands', 'status.js'))) {
    throw new Error('dist/cli/commands/status.js is missing: run `npm run build` before this bench');
  }
  // Snapshots are written and read by the built code, so their names match the binary under test.
  const built = (name: string) =>
    import(pathToFileURL(path.join(root, 'dist', 'runtime', 'log', `${name}.js`)).href);
  const { saveSnapshot, statusState } = (await built('snapshots')) as typeof Snapshots;
  const { loadState } = (await built('load-state')) as typeof ReadModel;
  const { statusParts } = (await import(
    pathToFileURL(path.join(root, 'dist', 'core', 'status-parts.js')).href
  )) as typeof Parts;
  const target = quick ? 100_000 : 1_000_000;
  const runs = quick ? 5 : 7;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-status-bench-'));
  try {
    const file = path.join(dir, 'orch.db');
    const store = openSqliteEventStore(file, { durability: 'normal' });
    const written = store.importEvents(generateLog(makePlan(), target));

    // Fold once, keeping the state WORST_TAIL events before the end for the second case.
    const replayer = new Replayer();
    const versions: Record<string, number> = {};
    const behind = written - WORST_TAIL;
    let behindState: { state: Replayer['state']; versions: Record<string, number> } | null = null;
    let t = performance.now();
    for (const event of store.readAll()) {
      replayer.apply(event);
      versions[event.streamId] = event.streamVersion;
      if (event.position === behind) behindState = { state: replayer.snapshot(), versions: { ...versions } };
    }
    const foldMs = performance.now() - t;
    if (behindState === null) throw new Error(`the log has fewer than ${WORST_TAIL} events`);

    // 1. The snapshot saved at shutdown: status prints the cached document.
    saveSnapshot(store, replayer.state, versions);
    const stateBytes = JSON.stringify(replayer.state).length;
    const cached = compare(['status', '--json', '--state-dir', dir], ['--version'], runs);

    // 2. The worst case between periodic snapshots: state snapshot + fold of the tail.
    saveSnapshot(store, behindState.state, behindState.versions);
    const statusStateBytes = JSON.stringify(statusState(behindState.state)).length;
    const parts = statusParts(behindState.state);
    const chunkBytes = parts.chunks.reduce((sum, c) => sum + c.length, 0);
    store.close();
    const tail = compare(['status', '--json', '--state-dir', dir], ['--version'], runs);
    // The same through the command (ORCH_STATUS_PREFETCH=0): oclif's start-up, then the fold.
    const tailAlone = compare(['status', '--json', '--state-dir', dir], ['--version'], runs, {
      ORCH_STATUS_PREFETCH: '0',
    });

    // 3. In process: snapshot + tail against a fold from zero (same file, same process).
    const reader = openSqliteEventStore(file, { readonly: true });
    t = performance.now();
    const loaded = loadState(reader);
    const loadMs = performance.now() - t;
    reader.close();
    if (loaded.snapshotPosition !== behind || loaded.state.position !== written) {
      throw new Error(`loadState used snapshot ${loaded.snapshotPosition}, reached ${loaded.state.position}`);
    }

    const mb = (n: number) => (n / 1024 / 1024).toFixed(0);
    const n = written.toLocaleString('en-US');
    const results: BenchResult[] = [
      {
        name: `orch status --json, ${n} events, snapshot at the end (${mb(cached.bytes)} MB out)`,
        unit: 'ms',
        value: cached.a,
        baseline: cached.b,
        ratio: cached.a / cached.b,
        better: 'lower',
        goal: '<= 1.2x orch --version',
        met: cached.a / cached.b <= 1.2,
        baselineName: 'orch --version (same binary, interleaved runs, median)',
      },
      {
        name: `orch status --json, ${n} events, snapshot ${WORST_TAIL} events behind (${mb(stateBytes)} MB state; status state ${mb(statusStateBytes)} MB, in parts ${mb(parts.text.length)} MB + ${parts.chunks.length} task chunks of ${mb(chunkBytes)} MB)`,
        unit: 'ms',
        value: tail.a,
        baseline: tail.b,
        ratio: tail.a / tail.b,
        better: 'lower',
        goal: '<= 1.5x orch --version',
        met: tail.a / tail.b <= 1.5,
        baselineName: 'orch --version (same binary, interleaved runs, median)',
      },
      {
        name: `same, through the command after oclif's start-up (ORCH_STATUS_PREFETCH=0)`,
        unit: 'ms',
        value: tailAlone.a,
        baseline: tailAlone.b,
        ratio: tailAlone.a / tailAlone.b,
        better: 'lower',
        baselineName: 'orch --version (same binary, interleaved runs, median)',
      },
      {
        name: `loadState: state snapshot + ${WORST_TAIL}-event tail, ${n} events`,
        unit: 'ms',
        value: loadMs,
        baseline: foldMs,
        ratio: loadMs / foldMs,
        better: 'lower',
        baselineName: 'Replayer fold from zero over store.readAll() (same file)',
      },
    ];
    return results;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
};

export default bench;
