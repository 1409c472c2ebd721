/**
 * The PostgreSQL event store against raw `pg` statements on the same schema and server, in
 * the same run: appends of one event per call and of 100 per call, and reading everything
 * back with JSON parsing. The server is a throwaway cluster (test/setup/postgres.ts: fsync
 * off, so the figures are round trips and server work, not the disk).
 *
 * The raw side writes the same rows with one autocommit statement per call (positions and
 * versions computed by sub-selects, no lock, no version check); orch's side is a call of
 * `orch.append` (the append lock, the expected-version check, the inserts and the
 * notification). Calls alternate raw/orch so drift hits both.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { NewEvent } from '../src/core/envelope.js';
import { openPostgresEventStore } from '../src/store/postgres/open.js';
import { findPostgresBin, startTestPostgres, type TestPostgres } from '../test/setup/postgres.js';
import type { BenchModule, BenchResult } from './types.js';

const STREAMS = 100;
const ROUNDS = 5;

type Appender = (streamId: string, expected: number, events: readonly NewEvent[]) => Promise<number>;

const RAW_INSERT = `
INSERT INTO orch.events (position, id, stream_id, stream_version, type, data, metadata, recorded_at)
SELECT (SELECT coalesce(max(position), 0) FROM orch.events) + u.o, u.id, $1,
       (SELECT coalesce(max(stream_version), 0) FROM orch.events WHERE stream_id = $1) + u.o,
       u.type, u.data::json, u.meta::json, u.rec
FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS u(id, type, data, meta, rec, o)
RETURNING stream_version`;

function makeEvents(count: number): NewEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    id: randomUUID(),
    type: i % 3 === 0 ? 'AgentSpawnRequested' : i % 3 === 1 ? 'AgentStarted' : 'AgentExited',
    data: { taskId: `T${i % STREAMS}`, spawnId: randomUUID(), attempt: i % 7, note: 'x'.repeat(60) },
    metadata: { runId: 'run-bench', actor: 'orch', correlationId: `c-${i}` },
  }));
}

function result(
  name: string,
  value: number,
  baseline: number,
  goal: number,
  baselineName: string,
): BenchResult {
  const ratio = value / baseline;
  return {
    name,
    unit: 'events/s',
    value,
    baseline,
    ratio,
    better: 'higher',
    goal: `>= ${goal}x raw pg`,
    met: ratio >= goal,
    baselineName,
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function benchAppends(server: TestPostgres, label: string, total: number, perCall: number) {
  const orchUrl = server.createDatabase(`bench_${label}_orch`);
  const rawUrl = server.createDatabase(`bench_${label}_raw`);
  const store = await openPostgresEventStore(orchUrl, { poolSize: 1 });
  // The raw side gets the same schema (made by orch), then talks to it with plain statements.
  await (await openPostgresEventStore(rawUrl)).close();
  const raw = new pg.Client({ connectionString: rawUrl });
  await raw.connect();
  const sides: Record<'raw' | 'orch', Appender> = {
    raw: async (streamId, _expected, events) => {
      const now = new Date().toISOString();
      const { rows } = await raw.query<{ stream_version: number }>(RAW_INSERT, [
        streamId,
        events.map((e) => e.id),
        events.map((e) => e.type),
        events.map((e) => JSON.stringify(e.data)),
        events.map((e) => JSON.stringify(e.metadata ?? {})),
        events.map(() => now),
      ]);
      return rows.at(-1)!.stream_version;
    },
    orch: async (streamId, expected, events) =>
      (await store.append(streamId, events, { expectedVersion: expected })).nextExpectedVersion,
  };
  const versions = { raw: new Map<string, number>(), orch: new Map<string, number>() };
  const seconds = { raw: 0, orch: 0 };
  const calls = Math.ceil(total / perCall);
  const batches = { raw: makeEvents(calls * perCall), orch: makeEvents(calls * perCall) };
  for (let call = 0; call < calls; call++) {
    for (const key of call % 2 === 0 ? (['raw', 'orch'] as const) : (['orch', 'raw'] as const)) {
      const streamId = `task-${call % STREAMS}`;
      const start = performance.now();
      const version = await sides[key](
        streamId,
        versions[key].get(streamId) ?? 0,
        batches[key].slice(call * perCall, (call + 1) * perCall),
      );
      // The first tenth of the calls warms both sides up and is not counted.
      if (call >= calls / 10) seconds[key] += (performance.now() - start) / 1000;
      versions[key].set(streamId, version);
    }
  }
  await raw.end();
  await store.close();
  const counted = (calls - Math.ceil(calls / 10)) * perCall;
  return {
    result: result(
      `pg.append.${label}`,
      counted / seconds.orch,
      counted / seconds.raw,
      0.9,
      `raw pg: one INSERT … SELECT per call (positions and versions by sub-select, no lock or check), ${perCall} event(s) per call, same schema and server`,
    ),
    orchUrl,
  };
}

async function benchReadAll(url: string): Promise<BenchResult> {
  const raw = new pg.Client({ connectionString: url });
  await raw.connect();
  const store = await openPostgresEventStore(url, { readonly: true, poolSize: 1 });
  const readRaw = async (): Promise<number> => {
    const { rows } = await raw.query<{
      position: string;
      id: string;
      stream_id: string;
      stream_version: number;
      type: string;
      data: string;
      metadata: string;
      recorded_at: string;
    }>(
      'SELECT position::text AS position, id, stream_id, stream_version, type, data::text AS data, metadata::text AS metadata, recorded_at FROM orch.events ORDER BY events.position',
    );
    let count = 0;
    for (const row of rows) {
      const event = {
        position: Number(row.position),
        id: row.id,
        streamId: row.stream_id,
        streamVersion: row.stream_version,
        type: row.type,
        data: JSON.parse(row.data) as unknown,
        metadata: JSON.parse(row.metadata) as unknown,
        recordedAt: row.recorded_at,
      };
      if (event.position !== ++count) throw new Error('raw read out of order');
    }
    return count;
  };
  const readOrch = async (): Promise<number> => {
    let count = 0;
    for await (const event of store.readAll())
      if (event.position !== ++count) throw new Error('store read out of order');
    return count;
  };
  const readers = { raw: readRaw, orch: readOrch };
  const rates = { raw: [] as number[], orch: [] as number[] };
  await readRaw();
  await readOrch();
  for (let round = 0; round < ROUNDS; round++) {
    for (const key of round % 2 === 0 ? (['raw', 'orch'] as const) : (['orch', 'raw'] as const)) {
      globalThis.gc?.();
      const start = performance.now();
      const count = await readers[key]();
      rates[key].push(count / ((performance.now() - start) / 1000));
    }
  }
  await raw.end();
  await store.close();
  return result(
    'pg.readAll',
    median(rates.orch),
    median(rates.raw),
    0.8,
    'raw pg: one SELECT of the whole table, JSON.parse of data and metadata (orch reads pages of 5,000 positions)',
  );
}

const postgresBench: BenchModule = async ({ quick }) => {
  if (findPostgresBin() === undefined) {
    process.stderr.write(
      'postgres-store: PostgreSQL is not installed here (apt-get install postgresql); skipped\n',
    );
    return [];
  }
  const server = await startTestPostgres();
  try {
    const single = await benchAppends(server, 'single', quick ? 1_000 : 10_000, 1);
    const batched = await benchAppends(server, 'batch100', quick ? 10_000 : 100_000, 100);
    return [single.result, batched.result, await benchReadAll(batched.orchUrl)];
  } finally {
    server.stop();
  }
};

export default postgresBench;
