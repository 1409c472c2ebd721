/**
 * How a PostgreSQL log keeps readers from skipping events, two ways, on the same server in
 * the same run, with 8 writers on their own connections appending one event per transaction
 * while a follower reads along:
 *
 * - **advisory lock** (what orch does): each append takes one transaction-scoped advisory
 *   lock and gives the next position (`max + 1`), so transactions commit in position order and
 *   a follower may read `position > last` without ever skipping one. Measured through orch's
 *   own store (`orch.append`).
 * - **xid8** (Emmett's way): appends take no lock; each row gets a `bigserial` position and its
 *   transaction id (`pg_current_xact_id()`); a follower reads only rows whose transaction is
 *   older than every transaction still running (`tx < pg_snapshot_xmin(pg_current_snapshot())`),
 *   ordered by (tx, position), resuming after the last (tx, position) it saw. Positions then
 *   have gaps (rolled-back sequence values) and the follower's order is commit order, not
 *   position order.
 *
 * Printed: appends per second for each (the lock's cost is the figure), and for each, whether
 * the follower saw every event exactly once. The choice is argued in docs/scale-out.md.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { openPostgresEventStore } from '../src/store/postgres/open.js';
import { findPostgresBin, startTestPostgres } from '../test/setup/postgres.js';
import type { BenchModule, BenchResult } from './types.js';

const WRITERS = 8;

const XID8_SCHEMA = `
CREATE TABLE xlog (
  position bigserial PRIMARY KEY,
  tx xid8 NOT NULL DEFAULT pg_current_xact_id(),
  id text NOT NULL UNIQUE,
  stream_id text NOT NULL,
  data json NOT NULL
);
CREATE INDEX xlog_tx ON xlog (tx, position);`;

async function xid8Run(
  url: string,
  perWriter: number,
): Promise<{ seconds: number; seen: Set<string>; ids: string[] }> {
  const setup = new pg.Client({ connectionString: url });
  await setup.connect();
  await setup.query(XID8_SCHEMA);
  const ids: string[] = [];
  const seen = new Set<string>();
  let doubled = 0;
  let writing = true;
  const follower = (async () => {
    let lastTx = '0';
    let lastPos = '0';
    for (;;) {
      // Ordered by the xid8 column itself (not by its text, which would put 10000 before 9999).
      const { rows } = await setup.query<{ tx_text: string; position_text: string; id: string }>(
        `SELECT tx::text AS tx_text, position::text AS position_text, id FROM xlog
         WHERE (tx > $1::xid8 OR (tx = $1::xid8 AND position > $2::bigint))
           AND tx < pg_snapshot_xmin(pg_current_snapshot())
         ORDER BY xlog.tx, xlog.position LIMIT 5000`,
        [lastTx, lastPos],
      );
      for (const row of rows) {
        if (seen.has(row.id)) {
          doubled++;
          if (process.env.DEBUG_XID8) console.log('dup', row, { lastTx, lastPos });
        }
        seen.add(row.id);
        lastTx = row.tx_text;
        lastPos = row.position_text;
      }
      if (!writing && rows.length === 0 && seen.size >= ids.length) break;
      if (rows.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  const clients = await connectWriters(url);
  const start = performance.now();
  await Promise.all(
    clients.map(async (c, w) => {
      for (let i = 0; i < perWriter; i++) {
        const id = randomUUID();
        ids.push(id);
        await c.query('INSERT INTO xlog (id, stream_id, data) VALUES ($1, $2, $3)', [
          id,
          `task-W${w}-${i % 10}`,
          JSON.stringify({ i, note: 'x'.repeat(60) }),
        ]);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  writing = false;
  await follower;
  await Promise.all(clients.map((c) => c.end()));
  await setup.end();
  if (doubled > 0) throw new Error(`xid8 follower saw ${doubled} event(s) twice`);
  return { seconds, seen, ids };
}

/** One connected client per writer. */
function connectWriters(url: string): Promise<pg.Client[]> {
  return Promise.all(
    Array.from({ length: WRITERS }, async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      return c;
    }),
  );
}

/**
 * The same bare insert as the xid8 side, but under the advisory lock with `max + 1` positions
 * (orch's ordering without the rest of `orch.append`): isolates what the lock costs.
 */
async function rawLockRun(url: string, perWriter: number): Promise<number> {
  const setup = new pg.Client({ connectionString: url });
  await setup.connect();
  await setup.query(
    'CREATE TABLE llog (position bigint PRIMARY KEY, id text NOT NULL UNIQUE, stream_id text NOT NULL, data json NOT NULL)',
  );
  await setup.end();
  const clients = await connectWriters(url);
  const start = performance.now();
  await Promise.all(
    clients.map(async (c, w) => {
      for (let i = 0; i < perWriter; i++) {
        // One round trip, like the xid8 side's insert (the values are plain: a UUID, digits, x's).
        const data = JSON.stringify({ i, note: 'x'.repeat(60) });
        await c.query(
          `BEGIN; SELECT pg_advisory_xact_lock(42); INSERT INTO llog (position, id, stream_id, data) SELECT coalesce(max(position), 0) + 1, '${randomUUID()}', 'task-W${w}-${i % 10}', '${data}' FROM llog; COMMIT;`,
        );
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  await Promise.all(clients.map((c) => c.end()));
  return seconds;
}

async function lockRun(
  url: string,
  perWriter: number,
): Promise<{ seconds: number; seen: Set<string>; ids: string[] }> {
  const stores = await Promise.all(
    Array.from({ length: WRITERS }, () => openPostgresEventStore(url, { poolSize: 1 })),
  );
  const reader = await openPostgresEventStore(url, { readonly: false, poolSize: 1 });
  const ids: string[] = [];
  const seen = new Set<string>();
  const controller = new AbortController();
  const total = WRITERS * perWriter;
  let lastPosition = 0;
  let gaps = 0;
  const follower = (async () => {
    for await (const e of reader.follow({ signal: controller.signal, pollIntervalMs: 5 })) {
      if (e.position !== lastPosition + 1) gaps++;
      lastPosition = e.position;
      seen.add(e.id);
      if (seen.size >= total) controller.abort();
    }
  })();
  const start = performance.now();
  await Promise.all(
    stores.map(async (store, w) => {
      for (let i = 0; i < perWriter; i++) {
        const id = randomUUID();
        ids.push(id);
        await store.append(`task-W${w}-${i % 10}`, [
          { id, type: 'Thing', data: { i, note: 'x'.repeat(60) }, metadata: { actor: 'orch' } },
        ]);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  await follower;
  await Promise.all(stores.map((s) => s.close()));
  await reader.close();
  if (gaps > 0) throw new Error(`the follower of the locked log saw ${gaps} gap(s) in positions`);
  return { seconds, seen, ids };
}

const bench: BenchModule = async ({ quick }) => {
  if (findPostgresBin() === undefined) {
    console.log('postgres-ordering: PostgreSQL (initdb, pg_ctl) is missing; skipped');
    return [];
  }
  const perWriter = quick ? 150 : 600;
  const server = await startTestPostgres();
  try {
    const lock = await lockRun(server.createDatabase('order_lock'), perWriter);
    const xid8 = await xid8Run(server.createDatabase('order_xid8'), perWriter);
    const rawLock = await rawLockRun(server.createDatabase('order_raw_lock'), perWriter);
    const total = WRITERS * perWriter;
    const complete = (r: { seen: Set<string>; ids: string[] }) =>
      r.ids.every((id) => r.seen.has(id)) && r.seen.size === r.ids.length;
    console.log(
      [
        '',
        `Ordering of appends, ${WRITERS} writers × ${perWriter} one-event transactions, a follower reading along:`,
        `  advisory lock (orch): ${(total / lock.seconds).toFixed(0)} appends/s; follower saw every event once, in position order, no gaps: ${complete(lock)}`,
        `  xid8 (no lock):       ${(total / xid8.seconds).toFixed(0)} appends/s; follower saw every event once (commit order; positions have gaps): ${complete(xid8)}`,
        `  the same bare insert under the advisory lock (BEGIN; lock; INSERT max+1; COMMIT in one round trip): ${(total / rawLock).toFixed(0)} appends/s`,
        `  (orch.append also checks the expected version and ids and sends NOTIFY, in one round trip)`,
        '',
      ].join('\n'),
    );
    const lockCost: BenchResult = {
      name: 'pg.ordering.lock-vs-xid8-bare',
      unit: 'appends/s',
      value: total / rawLock,
      baseline: total / xid8.seconds,
      ratio: xid8.seconds / rawLock,
      better: 'higher',
      baselineName: `the same bare insert ordered by xid8 without a lock, ${WRITERS} writers (information)`,
    };
    const result: BenchResult = {
      name: 'pg.ordering.advisory-lock-vs-xid8',
      unit: 'appends/s',
      value: total / lock.seconds,
      baseline: total / xid8.seconds,
      ratio: xid8.seconds / lock.seconds,
      better: 'higher',
      baselineName: `xid8 ordering without a lock, ${WRITERS} writers, same server (information: the lock's cost)`,
    };
    return [result, lockCost];
  } finally {
    server.stop();
  }
};

export default bench;
