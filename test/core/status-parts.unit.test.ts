import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compiledEngine } from '../../src/machines/compiled-engine.js';
import { Replayer } from '../../src/core/replayer.js';
import { statusDocument } from '../../src/core/status-document.js';
import {
  readStatusParts,
  statusFromParts,
  statusParts,
  type StatusPartsText,
} from '../../src/core/status-parts.js';
import { statusState } from '../../src/core/status-state.js';
import type { RecordedEvent } from '../../src/core/envelope.js';
import type { OrchState } from '../../src/core/state.js';
import { setOwn } from '../../src/core/record.js';
import { configArb, planArb, runDriver, stepArb } from './driver.js';

const runs = { numRuns: Number(process.env['PROPERTY_RUNS'] ?? 60) };
const scenario = fc.record({
  plan: planArb,
  config: configArb,
  steps: fc.array(stepArb, { minLength: 20, maxLength: 200 }),
});

/** The document from the parts (their chunks as written) and a tail. */
const fromParts = (parts: StatusPartsText, tail: readonly RecordedEvent[]) =>
  statusFromParts(parts.text, (k) => parts.chunks[k], tail, compiledEngine);
/** The status state the parts hold, read whole. */
const readParts = (parts: StatusPartsText) => readStatusParts(parts.text, (k) => parts.chunks[k]);

/** The state after each prefix of `log` (index i: after i events). */
function states(log: readonly RecordedEvent[]): OrchState[] {
  const r = new Replayer();
  const out: OrchState[] = [structuredClone(r.state)];
  for (const e of log) {
    r.apply(e);
    out.push(structuredClone(r.state));
  }
  return out;
}

describe('the status state in parts (statusParts, statusFromParts)', () => {
  it('gives the document of a fold from zero, byte for byte, from any snapshot position and tail, and declines only for a plan or a cut spawn in the tail', () => {
    const tally = { served: 0, declined: 0, tails: 0 };
    fc.assert(
      fc.property(
        scenario,
        fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
        fc.integer({ min: 1, max: 40 }),
        ({ plan, config, steps }, cuts, chunkTasks) => {
          const run = runDriver(plan, config, steps, 'mixed');
          const all = states(run.log);
          const final = JSON.stringify(statusDocument(run.final));
          for (const c of cuts) {
            const at = c % (run.log.length + 1);
            const parts = statusParts(all[at]!, chunkTasks);
            // The parts' own document is the document at their position.
            expect(parts.document).toBe(JSON.stringify(statusDocument(all[at]!)));
            // Read whole, they are the status state (through JSON, as stored).
            expect(readParts(parts)).toEqual(JSON.parse(JSON.stringify(statusState(all[at]!))));
            const tail = run.log.slice(at);
            tally.tails += 1;
            const json = fromParts(parts, tail);
            if (json === undefined) {
              tally.declined += 1;
              const cutIds = new Set(
                Object.keys(all[at]!.agents).filter(
                  (id) => !Object.hasOwn(statusState(all[at]!).state.agents, id),
                ),
              );
              // Declined: the tail records a plan, or requests (or rate-limits) a spawn the parts
              // may hold (cut, or kept in a task the tail does not name), or an id is a number.
              const why = tail.some(
                (e) =>
                  e.type === 'PlanLoaded' ||
                  e.type === 'PlanRevised' ||
                  ((e.type === 'AgentSpawnRequested' || e.type === 'RateLimited') &&
                    (cutIds.size > 0 ||
                      Object.hasOwn(all[at]!.agents, String((e.data as { spawnId?: unknown }).spawnId)) ||
                      /^\d+$/.test(String((e.data as { spawnId?: unknown }).spawnId)))),
              );
              expect(why).toBe(true);
            } else {
              tally.served += 1;
              expect(json).toBe(final);
            }
          }
        },
      ),
      runs,
    );
    console.log('status parts: tails served / declined', tally);
    expect(tally.served).toBeGreaterThan(tally.tails / 4);
  }, 120_000);

  it('keeps rows of tasks the tail does not name as stored, and folds the ones it names', () => {
    const run = runDriver(
      fc.sample(planArb, { seed: 7, numRuns: 1 })[0]!,
      { maxConcurrent: 2, maxRetries: 2, retryInterval: 0, autoMerge: true },
      fc.sample(fc.array(stepArb, { minLength: 150, maxLength: 150 }), { seed: 11, numRuns: 1 })[0]!,
      'cooperative',
    );
    const all = states(run.log);
    const at = Math.floor(run.log.length / 2);
    const parts = statusParts(all[at]!);
    const { text } = parts;
    // Doctor an untouched row in the stored parts (same length: the offsets stay right):
    // it comes out as stored, not rebuilt.
    const base = text.indexOf('\n') + 1;
    const head = JSON.parse(text.slice(1, base - 2)) as {
      taskIds: string[];
      planTasks: number;
      at: number[];
      rowAt: number[];
    };
    // Only the chunks of the tasks the tail names are read.
    const read = new Set<number>();
    const named = new Set(
      run.log
        .slice(at)
        .map((e) => (e.data as { taskId?: unknown }).taskId)
        .filter((id): id is string => typeof id === 'string'),
    );
    const quiet = head.taskIds.slice(0, head.planTasks).findIndex((id) => !named.has(id));
    expect(quiet).toBeGreaterThanOrEqual(0);
    const chunk = (k: number) => {
      read.add(k);
      return parts.chunks[k];
    };
    expect(statusFromParts(text, chunk, run.log.slice(at), compiledEngine)).toBeDefined();
    expect(read.size).toBeLessThanOrEqual(parts.chunks.length);
    const start = base + head.at[0]! + head.rowAt[quiet]!;
    const end = base + head.at[0]! + head.rowAt[quiet + 1]! - 1;
    const row = text.slice(start, end);
    const title = (JSON.parse(row) as { title: string }).title;
    const doctored = row.replace(
      `"title":${JSON.stringify(title)}`,
      `"title":${JSON.stringify('z'.repeat(title.length))}`,
    );
    const out = JSON.parse(
      statusFromParts(
        text.slice(0, start) + doctored + text.slice(end),
        chunk,
        run.log.slice(at),
        compiledEngine,
      )!,
    ) as { tasks: { title: string }[] };
    expect(out.tasks[quiet]?.title).toBe('z'.repeat(title.length));
  });

  it("rebuilds live agents' rows when only the run changes (their `unresolved` reads it)", () => {
    const run = runDriver(
      fc.sample(planArb, { seed: 21, numRuns: 1 })[0]!,
      { maxConcurrent: 3, maxRetries: 1, retryInterval: 0, autoMerge: true },
      fc.sample(fc.array(stepArb, { minLength: 80, maxLength: 80 }), { seed: 4, numRuns: 1 })[0]!,
      'cooperative',
    );
    const all = states(run.log);
    // A point where an agent of the current run is live.
    const at = all.findIndex(
      (s) => s.run?.status === 'running' && Object.values(s.agents).some((a) => a.status === 'running'),
    );
    expect(at).toBeGreaterThan(0);
    const state = all[at]!;
    const event = (type: string, data: unknown, k: number): RecordedEvent => ({
      position: state.position + k,
      id: `e-${k}`,
      streamId: 'run-next',
      streamVersion: k,
      type,
      data,
      metadata: {},
      recordedAt: '2030-01-01T00:00:00.000Z',
    });
    const tail = [
      event('RunStopped', { runId: state.run!.runId, reason: 'crash' }, 1),
      event(
        'RunStarted',
        { runId: 'run-next', pid: 7, startedAt: '2030-01-01T00:00:00.000Z', config: {} },
        2,
      ),
    ];
    const expected = new Replayer(state);
    for (const e of tail) expected.apply(e);
    const json = fromParts(statusParts(state), tail);
    expect(json).toBe(JSON.stringify(statusDocument(expected.state)));
    expect(JSON.parse(json!).agents.some((a: { unresolved: boolean }) => a.unresolved)).toBe(true);
  });

  it('declines parts whose ids are numbers (an object would list them first), and reads them whole', () => {
    const run = runDriver(
      fc.sample(planArb, { seed: 3, numRuns: 1 })[0]!,
      { maxConcurrent: 2, maxRetries: 1, retryInterval: 0, autoMerge: true },
      fc.sample(fc.array(stepArb, { minLength: 60, maxLength: 60 }), { seed: 5, numRuns: 1 })[0]!,
      'cooperative',
    );
    const state = structuredClone(run.final);
    const first = Object.values(state.agents)[0];
    if (first === undefined) throw new Error('the run spawned nothing');
    setOwn(state.agents, '42', { ...first, spawnId: '42', status: 'running' });
    const parts = statusParts(state);
    expect(parts.document).toBe(JSON.stringify(statusDocument(state)));
    expect(fromParts(parts, [])).toBeUndefined();
    expect(readParts(parts)).toEqual(JSON.parse(JSON.stringify(statusState(state))));
  });

  it('says what is wrong with parts that are not whole', () => {
    const run = runDriver(
      fc.sample(planArb, { seed: 9, numRuns: 1 })[0]!,
      { maxConcurrent: 1, maxRetries: 1, retryInterval: 0, autoMerge: true },
      fc.sample(fc.array(stepArb, { minLength: 40, maxLength: 40 }), { seed: 2, numRuns: 1 })[0]!,
      'cooperative',
    );
    const parts = statusParts(run.final);
    const none = () => undefined;
    expect(readStatusParts('nope', none)).toMatch(/^it is not JSON/);
    expect(readStatusParts('[1,2]', none)).toBe('its head is not a status parts head');
    // A chunk missing, or saved with other parts (the reader gives undefined for both).
    expect(readStatusParts(parts.text, none)).toBe(
      'its task chunk 0 is missing or belongs to another snapshot',
    );
    expect(statusFromParts(parts.text, none, [], compiledEngine)).toBeUndefined();
    // A chunk that lost a task line.
    const lines = parts.chunks[0]!.split('\n');
    expect(lines.length).toBeGreaterThan(1);
    const short = { ...parts, chunks: [[lines[0], ...lines.slice(2)].join('\n'), ...parts.chunks.slice(1)] };
    expect(readParts(short)).toMatch(
      /^its task chunks hold \d+ tasks where its head counts \d+$|^its task line/,
    );
    // A main part that lost an element.
    const main = parts.text.split('\n');
    expect(
      readStatusParts([...main.slice(0, 2), ...main.slice(3)].join('\n'), (k) => parts.chunks[k]),
    ).toMatch(/^it has 4 parts where a status state has 5$/);
    expect(
      statusFromParts(
        [...main.slice(0, 2), ...main.slice(3)].join('\n'),
        (k) => parts.chunks[k],
        [],
        compiledEngine,
      ),
    ).toBeUndefined();
    expect(statusFromParts('garbage', none, [], compiledEngine)).toBeUndefined();
  });
});
