/**
 * The worker of `status-prefetch.ts`: the status probe on a state directory whose cached
 * document is behind the log (the status state's parts and the tail), its answer posted as
 * a `PrefetchAnswer`. Its environment is the main thread's when it started (the configured
 * store applied).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { logLocation } from '../log/location.js';
import { cachedStatus } from './status-cache.js';
import { prefetchAnswer, type PrefetchAnswer } from './status-prefetch.js';

const { stateDir } = workerData as { stateDir: string };
let answer: PrefetchAnswer;
try {
  const location = logLocation(stateDir);
  const file = location.kind === 'sqlite' ? location.file : null;
  answer = prefetchAnswer(file === null ? undefined : await cachedStatus(stateDir), file);
} catch {
  answer = { kind: 'declined', file: null };
}
parentPort?.postMessage(answer);
