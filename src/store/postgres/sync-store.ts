/**
 * The PostgreSQL log behind orch's synchronous {@link EventStore} interface, so every
 * command and the orchestrator run on it unchanged: a worker thread owns the connection
 * pool and the asynchronous {@link PostgresEventStore}; each call posts a request and blocks
 * the calling thread (`Atomics.wait`) until the answer is posted back, then takes it with
 * `receiveMessageOnPort`. A call costs one round trip to the server plus a few tens of
 * microseconds of thread hand-over (measured in `npm run bench -- postgres`).
 *
 * While the server is unreachable a call blocks, as a SQLite call blocks on a busy file,
 * until the store's reconnect deadline (`LOG_UNREACHABLE`).
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { NewEvent, RecordedEvent } from '../../core/envelope.js';
import { StoreError } from '../errors.js';
import type {
  AppendOptions,
  AppendResult,
  EventStore,
  FollowOptions,
  ReadAllOptions,
  ReadStreamOptions,
  Snapshot,
  SnapshotText,
  StreamAppend,
} from '../event-store.js';
import { DEFAULT_RECONNECT_TIMEOUT_MS } from './defaults.js';
import type { PostgresStoreOptions } from './open.js';
import { redactUrl } from './errors.js';
import { rebuildError, type BridgeResponse, type WorkerInput } from './sync-protocol.js';
import { packageRoot } from '../../util/package-root.js';

/** Events fetched from the worker thread per hand-over while reading. */
const PAGE = 2000;

/**
 * Opens the orch log in the PostgreSQL database at `url` as a synchronous {@link EventStore}
 * (creating or migrating the schema unless `readonly`). Same rules and errors as the SQLite
 * store; `close()` ends the worker thread.
 *
 * @example
 * const store = openPostgresSyncStore('postgres://orch@db.internal/orch');
 * store.append('task-T1', [event], { expectedVersion: 'no_stream' });
 * store.close();
 */
export function openPostgresSyncStore(
  url: string,
  options: PostgresStoreOptions = {},
): EventStore & { readonly url: string } {
  const { clock, ...threadOptions } = options;
  const flag = new SharedArrayBuffer(4);
  const signal = new Int32Array(flag);
  const channel = new MessageChannel();
  const wake = new MessageChannel();
  const input: WorkerInput = { url, options: threadOptions, flag, port: channel.port2, wakePort: wake.port2 };
  const typescript = import.meta.url.endsWith('.ts');
  // Built, the worker is dist/store/postgres/sync-worker.js wherever this code was bundled to.
  const workerUrl = typescript
    ? new URL('./sync-worker.ts', import.meta.url)
    : pathToFileURL(path.join(packageRoot(import.meta.url), 'dist', 'store', 'postgres', 'sync-worker.js'));
  const workerOptions = { workerData: input, transferList: [channel.port2, wake.port2] };
  // Under the test runner this module is TypeScript: the worker registers tsx, then loads it.
  const worker = typescript
    ? new Worker(
        `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(workerUrl.href)}); })`,
        { ...workerOptions, eval: true },
      )
    : new Worker(workerUrl, workerOptions);
  worker.unref();
  channel.port1.unref();
  wake.port1.unref();
  const answerDeadlineMs = (options.reconnectTimeoutMs ?? DEFAULT_RECONNECT_TIMEOUT_MS) + 60_000;
  let nextId = 1;
  let closed = false;

  const call = <T>(op: string, ...args: unknown[]): T => {
    if (closed) throw new StoreError('LOG_CLOSED', 'the PostgreSQL log is closed');
    const id = nextId++;
    Atomics.store(signal, 0, 0);
    channel.port1.postMessage({ id, op, args, ...(clock ? { now: clock().toISOString() } : {}) });
    const started = Date.now();
    for (;;) {
      Atomics.wait(signal, 0, 0, 1000);
      const received = receiveMessageOnPort(channel.port1);
      if (received !== undefined) {
        const message: unknown = received.message;
        const response = message as BridgeResponse;
        if (response.id !== id) continue;
        if (response.error !== undefined) throw rebuildError(response.error);
        return response.value as T;
      }
      if (Date.now() - started > answerDeadlineMs) {
        throw new StoreError(
          'LOG_UNREACHABLE',
          `the PostgreSQL log at ${redactUrl(url)} did not answer ${op}`,
          {
            hint: 'check that the server is up and reachable, then run the command again',
          },
        );
      }
    }
  };

  function* iterate(open: unknown[]): Generator<RecordedEvent> {
    const id = nextId++;
    let done = false;
    let first = true;
    try {
      while (!done) {
        // The first page comes with the opening: a short read (a catch-up) is one round trip.
        const page = first
          ? call<{ events: RecordedEvent[]; done: boolean }>('iterFirst', id, PAGE, ...open)
          : call<{ events: RecordedEvent[]; done: boolean }>('iterNext', id, PAGE);
        first = false;
        done = page.done;
        yield* page.events;
      }
    } finally {
      if (!done && !closed) call('iterClose', id);
    }
  }

  let watching = false;
  const waiters = new Set<() => void>();
  wake.port1.on('message', () => {
    for (const wakeUp of [...waiters]) wakeUp();
  });

  async function* follow(followOptions: FollowOptions = {}): AsyncGenerator<RecordedEvent> {
    let after = followOptions.after ?? 0;
    const pollMs = followOptions.pollIntervalMs ?? 200;
    if (!watching) {
      call('watch', store.lastPosition());
      watching = true;
    }
    while (followOptions.signal?.aborted !== true && !closed) {
      let fresh = 0;
      for (const event of store.readAll({
        from: after + 1,
        ...(followOptions.types ? { types: followOptions.types } : {}),
      })) {
        after = event.position;
        fresh++;
        yield event;
        if (isAborted(followOptions.signal)) return;
      }
      if (fresh === 0) after = Math.max(after, store.lastPosition());
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(done);
          followOptions.signal?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, pollMs);
        waiters.add(done);
        followOptions.signal?.addEventListener('abort', done, { once: true });
        wake.port1.ref();
      }).finally(() => {
        if (waiters.size === 0) wake.port1.unref();
      });
    }
  }

  const store: EventStore & { readonly url: string } = {
    url,
    remote: true,
    append: (streamId: string, events: readonly NewEvent[], appendOptions?: AppendOptions) =>
      call<AppendResult>('append', streamId, events, appendOptions),
    appendBatch: (appends: readonly StreamAppend[]) => call<AppendResult[]>('appendBatch', appends),
    readStream: (streamId: string, readOptions?: ReadStreamOptions) =>
      iterate(['stream', streamId, readOptions ?? {}]),
    readAll: (readOptions?: ReadAllOptions) => iterate(['all', readOptions ?? {}]),
    lastPosition: () => call<number>('lastPosition'),
    streamVersion: (streamId: string) => call<number>('streamVersion', streamId),
    follow,
    saveSnapshot: (name: string, position: number, data: unknown) =>
      call<void>('saveSnapshot', name, position, data),
    saveSnapshotTexts: (rows: readonly SnapshotText[]) => call<void>('saveSnapshotTexts', rows),
    loadSnapshot: <D = unknown>(name: string) => call<Snapshot<D> | undefined>('loadSnapshot', name),
    loadSnapshotText: (name: string) => call<Snapshot<string> | undefined>('loadSnapshotText', name),
    importEvents: (events: Iterable<RecordedEvent>) => call<number>('importEvents', [...events]),
    close: () => {
      if (closed) return;
      try {
        call('close');
      } finally {
        closed = true;
        for (const wakeUp of [...waiters]) wakeUp();
        void worker.terminate();
      }
    },
  };
  try {
    call('open');
  } catch (err) {
    closed = true;
    void worker.terminate();
    throw err;
  }
  return store;
}

/** Whether a signal has aborted (read fresh: it may change while a generator is suspended). */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}
