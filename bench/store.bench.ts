/**
 * The event store against raw better-sqlite3 with the same schema and pragmas, in the same
 * run: appends of one event per call and of 100 per call (both with the stream version
 * check, in `BEGIN IMMEDIATE`, synchronous=FULL), and reading everything back with JSON
 * parsing. Raw and orch are interleaved (appends call by call, reads round by round) so
 * drift hits both sides; read figures are medians.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { NewEvent } from '../src/core/envelope.js';
import { openSqliteEventStore } from '../src/store/index.js';
import { writerPragmas } from '../src/store/sqlite/pragmas.js';
import { MIGRATIONS, ORCH_APPLICATION_ID } from '../src/store/sqlite/schema.js';
import type { BenchModule, BenchResult } from './types.js';

const STREAMS = 100;
const ROUNDS = 5;

type Appender = (streamId: string, expected: number, events: readonly NewEvent[]) => number;

interface Side {
  append: Appender;
  close(): void;
}

/** Raw better-sqlite3 doing what an append must: version check and inserts in one IMMEDIATE transaction. */
function rawSide(file: string): Side {
  const db = new Database(file);
  db.pragma(`application_id = ${ORCH_APPLICATION_ID}`);
  for (const pragma of writerPragmas('full', 30_000)) db.pragma(pragma);
  for (const migration of MIGRATIONS) db.exec(migration.sql);
  const version = db
    .prepare<[string], number>(
      'SELECT stream_version FROM events WHERE stream_id = ? ORDER BY stream_version DESC LIMIT 1',
    )
    .pluck();
  const insert = db.prepare(
    'INSERT INTO events (id, stream_id, stream_version, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const write = db.transaction((streamId: string, expected: number, events: readonly NewEvent[]) => {
    let current = version.get(streamId) ?? 0;
    if (current !== expected) throw new Error(`conflict on ${streamId}`);
    const now = new Date().toISOString();
    for (const event of events) {
      insert.run(
        event.id,
        streamId,
        ++current,
        event.type,
        JSON.stringify(event.data),
        JSON.stringify(event.metadata ?? {}),
        now,
      );
    }
    return current;
  });
  return {
    append: (streamId, expected, events) => write.immediate(streamId, expected, events),
    close: () => db.close(),
  };
}

function orchSide(file: string): Side {
  const store = openSqliteEventStore(file);
  return {
    append: (streamId, expected, events) =>
      store.append(streamId, events, { expectedVersion: expected }).nextExpectedVersion,
    close: () => store.close(),
  };
}

function makeEvents(count: number): NewEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    id: randomUUID(),
    type: i % 3 === 0 ? 'AgentSpawnRequested' : i % 3 === 1 ? 'AgentStarted' : 'AgentExited',
    data: { taskId: `T${i % STREAMS}`, spawnId: randomUUID(), attempt: i % 7, note: 'x'.repeat(60) },
    metadata: { runId: 'run-bench', actor: 'orch', correlationId: `c-${i}` },
  }));
}

/**
 * Measures appends of `total` events, `perCall` per call, into fresh files. Calls alternate
 * raw/orch one by one (swapping which goes first), so disk and CPU noise from anything else
 * on the machine hits both sides alike. Leaves the orch file behind for the read bench.
 */
function benchAppends(
  dir: string,
  label: string,
  total: number,
  perCall: number,
): { result: BenchResult; orchFile: string } {
  const orchFile = path.join(dir, `${label}-orch.db`);
  const sides = { raw: rawSide(path.join(dir, `${label}-raw.db`)), orch: orchSide(orchFile) };
  const versions = { raw: new Map<string, number>(), orch: new Map<string, number>() };
  const seconds = { raw: 0, orch: 0 };
  const calls = Math.ceil(total / perCall);
  const batches = { raw: makeEvents(calls * perCall), orch: makeEvents(calls * perCall) };
  const warmupCalls = Math.max(1, Math.floor(calls / 10));
  const warmup = { raw: makeEvents(warmupCalls * perCall), orch: makeEvents(warmupCalls * perCall) };
  const appendOne = (key: 'raw' | 'orch', events: readonly NewEvent[], call: number): number => {
    const streamId = `task-${call % STREAMS}`;
    const start = performance.now();
    const version = sides[key].append(streamId, versions[key].get(streamId) ?? 0, events);
    const elapsed = performance.now() - start;
    versions[key].set(streamId, version);
    return elapsed;
  };
  for (let call = 0; call < warmupCalls; call++) {
    for (const key of ['raw', 'orch'] as const)
      appendOne(key, warmup[key].slice(call * perCall, (call + 1) * perCall), call);
  }
  globalThis.gc?.();
  for (let call = 0; call < calls; call++) {
    for (const key of call % 2 === 0 ? (['raw', 'orch'] as const) : (['orch', 'raw'] as const)) {
      seconds[key] += appendOne(key, batches[key].slice(call * perCall, (call + 1) * perCall), call) / 1000;
    }
  }
  sides.raw.close();
  sides.orch.close();
  const events = calls * perCall;
  return {
    result: result(
      `store.append.${label}`,
      'events/s',
      events / seconds.orch,
      events / seconds.raw,
      0.9,
      `raw better-sqlite3: version check + insert in BEGIN IMMEDIATE, ${perCall} event(s) per call, same schema and pragmas, calls interleaved`,
    ),
    orchFile,
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function result(
  name: string,
  unit: string,
  value: number,
  baseline: number,
  goal: number,
  baselineName: string,
): BenchResult {
  const ratio = value / baseline;
  return {
    name,
    unit,
    value,
    baseline,
    ratio,
    better: 'higher',
    goal: `>= ${goal}x raw`,
    met: ratio >= goal,
    baselineName,
  };
}

/** Reads every event of `file` with JSON parsing, raw iterate() vs the store's readAll. */
function benchReadAll(file: string): BenchResult {
  const raw = new Database(file, { readonly: true });
  const rawQuery = raw
    .prepare(
      'SELECT position, id, stream_id, stream_version, type, data, metadata, recorded_at FROM events ORDER BY position',
    )
    .raw();
  const readRaw = (): number => {
    let count = 0;
    for (const row of rawQuery.iterate() as IterableIterator<unknown[]>) {
      const event = {
        position: row[0],
        id: row[1],
        streamId: row[2],
        streamVersion: row[3],
        type: row[4],
        data: JSON.parse(row[5] as string),
        metadata: JSON.parse(row[6] as string),
        recordedAt: row[7],
      };
      if (event.position !== ++count) throw new Error('raw read out of order');
    }
    return count;
  };
  const store = openSqliteEventStore(file, { readonly: true });
  const readOrch = (): number => {
    let count = 0;
    for (const event of store.readAll())
      if (event.position !== ++count) throw new Error('store read out of order');
    return count;
  };
  const rates = { raw: [] as number[], orch: [] as number[] };
  const readers = { raw: readRaw, orch: readOrch };
  readRaw();
  readOrch();
  for (let round = 0; round < ROUNDS; round++) {
    for (const key of round % 2 === 0 ? (['raw', 'orch'] as const) : (['orch', 'raw'] as const)) {
      globalThis.gc?.();
      const start = performance.now();
      const count = readers[key]();
      rates[key].push(count / ((performance.now() - start) / 1000));
    }
  }
  raw.close();
  store.close();
  return result(
    'store.readAll',
    'events/s',
    median(rates.orch),
    median(rates.raw),
    0.8,
    'raw better-sqlite3 .raw().iterate() over the same file, JSON.parse of data and metadata',
  );
}

const storeBench: BenchModule = async ({ quick }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-bench-store-'));
  try {
    const single = benchAppends(dir, 'single', quick ? 2_000 : 20_000, 1);
    const batched = benchAppends(dir, 'batch100', quick ? 20_000 : 200_000, 100);
    return [single.result, batched.result, benchReadAll(batched.orchFile)];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
};

export default storeBench;
