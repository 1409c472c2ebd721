/**
 * The PostgreSQL log behind the synchronous store interface (a worker thread owns the pool;
 * the caller blocks until the answer): the same contract as SQLite and memory, on a real
 * throwaway server, plus what the thread hand-over adds — errors keep their class, a closed
 * store refuses, and a follower is woken by another writer.
 */
import { describe, expect, it } from 'vitest';
import { ConcurrencyError, StoreError } from '../../src/store/errors.js';
import { openPostgresSyncStore } from '../../src/store/postgres/sync-store.js';
import { usePostgres } from '../setup/postgres.js';
import { defineStoreContract, event } from './contract.js';

const pg = usePostgres('orch_sync');
const freshDatabase = pg.freshDatabase;

describe.runIf(pg.enabled)('postgres store, synchronous face', () => {
  defineStoreContract(
    'postgres sync store',
    (options) => openPostgresSyncStore(freshDatabase(), options.clock ? { clock: options.clock } : {}),
    { onAppend: false },
  );

  it('rebuilds the store errors as their classes, and refuses calls once closed', () => {
    const store = openPostgresSyncStore(freshDatabase());
    store.append('s', [event('a')], { expectedVersion: 'no_stream' });
    let caught: unknown;
    try {
      store.append('s', [event('b')], { expectedVersion: 'no_stream' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConcurrencyError);
    expect(caught).toMatchObject({ code: 'CONCURRENCY', streamId: 's', actual: 1 });
    store.close();
    expect(() => store.lastPosition()).toThrow(StoreError);
  });

  it('wakes a follower when another connection appends', async () => {
    const url = freshDatabase();
    const reader = openPostgresSyncStore(url);
    const writer = openPostgresSyncStore(url);
    const controller = new AbortController();
    const seen: number[] = [];
    const following = (async () => {
      // An hour-long poll: only LISTEN/NOTIFY can wake it in time.
      for await (const e of reader.follow({ signal: controller.signal, pollIntervalMs: 3_600_000 })) {
        seen.push(e.position);
        if (seen.length === 3) controller.abort();
      }
    })();
    for (const id of ['x', 'y', 'z']) {
      writer.append('w', [event(id)]);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await following;
    expect(seen).toEqual([1, 2, 3]);
    reader.close();
    writer.close();
  });
});
