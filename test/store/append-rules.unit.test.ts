import { describe, expect, it } from 'vitest';
import {
  checkExpectedVersion,
  prepareAppends,
  resolveRetry,
  type ExistingEvent,
} from '../../src/store/append-rules.js';
import { ConcurrencyError } from '../../src/store/index.js';

const clock = () => new Date('2025-01-01T00:00:00.000Z');

describe('checkExpectedVersion', () => {
  const table: [Parameters<typeof checkExpectedVersion>[1], number, boolean][] = [
    ['any', 0, true],
    ['any', 9, true],
    ['no_stream', 0, true],
    ['no_stream', 1, false],
    ['exists', 0, false],
    ['exists', 3, true],
    [0, 0, true],
    [2, 2, true],
    [2, 3, false],
    [3, 2, false],
  ];
  for (const [expected, actual, ok] of table) {
    it(`${String(expected)} against version ${actual}: ${ok ? 'passes' : 'conflicts'}`, () => {
      const run = () => checkExpectedVersion('s', expected, actual);
      if (ok) expect(run).not.toThrow();
      else expect(run).toThrow(ConcurrencyError);
    });
  }
});

describe('prepareAppends', () => {
  it('reads the clock once per append and keeps a given recordedAt', () => {
    let reads = 0;
    const [prepared] = prepareAppends(
      [
        {
          streamId: 's',
          events: [
            { id: '1', type: 'T', data: 1 },
            { id: '2', type: 'T', data: 2, recordedAt: '2020-01-01T00:00:00.000Z' },
            { id: '3', type: 'T', data: 3 },
          ],
        },
      ],
      () => (reads++, clock()),
    );
    expect(reads).toBe(1);
    expect(prepared!.events.map((e) => e.recordedAt)).toEqual([
      '2025-01-01T00:00:00.000Z',
      '2020-01-01T00:00:00.000Z',
      '2025-01-01T00:00:00.000Z',
    ]);
    expect(prepared!.expectedVersion).toBe('any');
    expect(prepared!.events[0]).toMatchObject({ dataJson: '1', metadataJson: '{}', metadata: {} });
  });
});

describe('resolveRetry', () => {
  const log = new Map<string, ExistingEvent>([
    ['a', { position: 4, streamId: 's', streamVersion: 2 }],
    ['b', { position: 5, streamId: 's', streamVersion: 3 }],
    ['c', { position: 6, streamId: 't', streamVersion: 1 }],
  ]);
  const resolve = (appends: Parameters<typeof prepareAppends>[0]) =>
    resolveRetry(
      prepareAppends(appends, clock),
      (id) => log.get(id),
      (streamId) => (streamId === 't' ? 1 : 0),
    );
  const ev = (id: string) => ({ id, type: 'T', data: null });

  it('returns undefined when no id is in the log', () => {
    expect(resolve([{ streamId: 's', events: [ev('x'), ev('y')] }])).toBeUndefined();
  });

  it('returns the original positions and versions when all are', () => {
    expect(
      resolve([
        { streamId: 's', events: [ev('a'), ev('b')] },
        { streamId: 't', events: [] },
        { streamId: 't', events: [ev('c')] },
      ]),
    ).toEqual([
      { streamId: 's', nextExpectedVersion: 3, positions: [4, 5], alreadyAppended: true },
      { streamId: 't', nextExpectedVersion: 1, positions: [], alreadyAppended: true },
      { streamId: 't', nextExpectedVersion: 1, positions: [6], alreadyAppended: true },
    ]);
  });

  it('refuses a partial retry and an id from another stream', () => {
    expect(() => resolve([{ streamId: 's', events: [ev('a'), ev('new')] }])).toThrow(
      expect.objectContaining({ code: 'PARTIAL_DUPLICATE', details: { present: ['a'], absent: ['new'] } }),
    );
    expect(() => resolve([{ streamId: 's', events: [ev('c')] }])).toThrow(
      expect.objectContaining({ code: 'EVENT_ID_CONFLICT' }),
    );
  });
});
