/**
 * The worker thread behind {@link openPostgresSyncStore}: it owns the PostgreSQL connection
 * pool (an {@link AsyncEventStore}) and answers one request at a time from the blocked main
 * thread. Each answer is posted on the request port, then the shared flag is set and
 * notified, so the main thread wakes and takes the answer with `receiveMessageOnPort`.
 */
import { type MessagePort, workerData } from 'node:worker_threads';
import type { RecordedEvent } from '../../core/envelope.js';
import type { AsyncEventStore } from '../async-event-store.js';
import type { SnapshotText } from '../event-store.js';
import { openPostgresEventStore, type PostgresStoreOptions } from './open.js';
import type { BridgeRequest, BridgeResponse, WorkerInput } from './sync-protocol.js';
import { serialiseError } from './sync-protocol.js';

const input = workerData as WorkerInput;
const { port, wakePort } = input;
const flag = new Int32Array(input.flag);
let store: AsyncEventStore | undefined;
const iterators = new Map<number, AsyncIterator<RecordedEvent>>();
let follower: AbortController | undefined;
/** The calling thread's clock at the request being served (its `now`), when it sent one. */
let callerNow: string | undefined;

function answer(response: BridgeResponse): void {
  port.postMessage(response);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

async function handle(request: BridgeRequest): Promise<unknown> {
  if (request.op === 'open') {
    const options: PostgresStoreOptions = {
      ...input.options,
      clock: () => (callerNow === undefined ? new Date() : new Date(callerNow)),
    };
    store = await openPostgresEventStore(input.url, options);
    return null;
  }
  if (store === undefined) throw new Error('the PostgreSQL log is not open');
  const s = store;
  const args = request.args;
  switch (request.op) {
    case 'append':
      return s.append(args[0] as string, args[1] as never, args[2] as never);
    case 'appendBatch':
      return s.appendBatch(args[0] as never);
    case 'lastPosition':
      return s.lastPosition();
    case 'streamVersion':
      return s.streamVersion(args[0] as string);
    case 'saveSnapshot':
      return s.saveSnapshot(args[0] as string, args[1] as number, args[2]);
    case 'saveSnapshotTexts':
      return s.saveSnapshotTexts(args[0] as SnapshotText[]);
    case 'loadSnapshot':
      return s.loadSnapshot(args[0] as string);
    case 'loadSnapshotText':
      return s.loadSnapshotText(args[0] as string);
    case 'importEvents':
      return s.importEvents(args[0] as RecordedEvent[]);
    case 'iterFirst':
    case 'iterNext': {
      const id = args[0] as number;
      const max = args[1] as number;
      if (request.op === 'iterFirst') {
        // Opened and the first page read in one hand-over (args: id, max, kind, …open arguments).
        const kind = args[2] as 'all' | 'stream';
        iterators.set(
          id,
          kind === 'all' ? s.readAll(args[3] as never) : s.readStream(args[3] as string, args[4] as never),
        );
      }
      const iterator = iterators.get(id);
      if (iterator === undefined) return { events: [], done: true };
      const events: RecordedEvent[] = [];
      while (events.length < max) {
        const next = await iterator.next();
        if (next.done === true) {
          iterators.delete(id);
          return { events, done: true };
        }
        events.push(next.value);
      }
      return { events, done: false };
    }
    case 'iterClose': {
      const id = args[0] as number;
      const iterator = iterators.get(id);
      iterators.delete(id);
      await iterator?.return?.();
      return null;
    }
    case 'watch': {
      // LISTEN/NOTIFY (through the store's follow) wakes the main thread's followers.
      if (follower !== undefined) return null;
      const controller = new AbortController();
      follower = controller;
      const after = args[0] as number;
      void (async () => {
        try {
          for await (const event of s.follow({ after, signal: controller.signal })) {
            wakePort.postMessage(event.position);
          }
        } catch {
          // The follow ends with the store; polling in the main thread goes on.
        }
      })();
      return null;
    }
    case 'close':
      follower?.abort();
      for (const iterator of iterators.values()) await iterator.return?.();
      iterators.clear();
      await s.close();
      store = undefined;
      return null;
    default:
      throw new Error(`unknown request ${String(request.op)}`);
  }
}

port.on('message', (request: BridgeRequest) => {
  callerNow = request.now;
  handle(request).then(
    (value) => answer({ id: request.id, value }),
    (err: unknown) => answer({ id: request.id, error: serialiseError(err) }),
  );
});

export type { MessagePort };
