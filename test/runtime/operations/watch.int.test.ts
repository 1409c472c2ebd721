import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { replay } from '../../../src/core/replayer.js';
import { summaryLine } from '../../../src/runtime/render/dashboard.js';
import { watchDashboard } from '../../../src/runtime/operations/watch.js';
import { openSqliteEventStore } from '../../../src/store/index.js';
import { makePlan, testConfig } from '../../core/fixtures.js';
import { Sim } from '../../core/sim.js';
import { removeDir, sleep, tempDir } from '../helpers.js';

/** The dashboard loop on a real SQLite log, piped (not a terminal): plain lines, following appends. */

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

/** A log of a run with `n` tasks, each finished; returns the simulation and the log file's state dir. */
function writeLog(n: number): { sim: Sim; stateDir: string } {
  const plan = makePlan([
    { id: 'M1', phases: [{ id: 'P1', tasks: Array.from({ length: n }, (_, i) => ({ id: `T${i + 1}` })) }] },
  ]);
  const sim = new Sim(plan, { ...testConfig, maxConcurrent: n });
  sim.settle();
  for (let i = 1; i <= n; i++) sim.finish(`T${i}`);
  const stateDir = path.join(tempDir('watch'), '.state');
  dirs.push(path.dirname(stateDir));
  fs.mkdirSync(stateDir, { recursive: true });
  const store = openSqliteEventStore(path.join(stateDir, 'orch.db'));
  store.importEvents(sim.log.events);
  store.close();
  return { sim, stateDir };
}

function pipe(): { stream: NodeJS.WriteStream; lines: () => string[] } {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream;
  let text = '';
  (stream as unknown as PassThrough).on('data', (b: Buffer) => (text += b.toString('utf8')));
  return { stream, lines: () => text.split('\n').filter(Boolean) };
}

async function until(test: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!test() && Date.now() < end) await sleep(20);
}

describe('watchDashboard (not a terminal)', () => {
  it('on a long log prints the same summary as a fold from zero, and follows new events', async () => {
    const { sim, stateDir } = writeLog(40);
    expect(sim.log.events.length).toBeGreaterThan(300);
    const out = pipe();
    const stop = new AbortController();
    const start = Date.now();
    const now = () => sim.now + 1000 + (Date.now() - start);
    const done = watchDashboard({
      stateDir,
      stdout: out.stream,
      tty: false,
      intervalMs: 50,
      pollMs: 10,
      signal: stop.signal,
      now,
    });
    await until(() => out.lines().length >= 1);
    const expected = summaryLine(
      // Nobody holds this state directory: the run the log calls running has no orchestrator.
      { state: replay(sim.log.events), source: '', outputs: {}, recent: [], lease: null },
      now(),
    );
    // Past the clock time (hh:mm:ss), the line is the same.
    expect(out.lines()[0]?.slice(9)).toBe(expected.slice(9));
    expect(expected).toContain('tasks 40/40 done');

    // Another process appends: the next lines show it.
    const store = openSqliteEventStore(path.join(stateDir, 'orch.db'));
    const runId = sim.state.run!.runId;
    const stream = sim.log.events.find((e) => e.type === 'RunStarted')!.streamId;
    store.append(stream, [{ id: 'stop-1', type: 'RunStopped', data: { runId, reason: 'done' } }]);
    store.close();
    await until(() => out.lines().some((l) => l.includes('run stopped')));
    stop.abort();
    await done;
    expect(out.lines().at(-1)).toContain(`event ${sim.log.events.length + 1} · run stopped`);
  });

  it('waits for a log that does not exist yet, saying where', async () => {
    const stateDir = path.join(tempDir('watch-missing'), '.state');
    dirs.push(path.dirname(stateDir));
    const out = pipe();
    const stop = new AbortController();
    const done = watchDashboard({
      stateDir,
      stdout: out.stream,
      tty: false,
      intervalMs: 20,
      pollMs: 10,
      signal: stop.signal,
    });
    await until(() => out.lines().length >= 2);
    stop.abort();
    await done;
    expect(out.lines()[0]).toBe(`waiting for the log at ${stateDir}/orch.db`);
    expect(fs.existsSync(stateDir)).toBe(false);
  });
});
