import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/core/envelope.js';
import {
  checkJsonl,
  createMemoryEventStore,
  exportJsonl,
  ImportError,
  importJsonl,
  openSqliteEventStore,
  toJsonLine,
  type EventStore,
} from '../../src/store/index.js';
import { readLinesSync } from '../../src/store/line-reader.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-store-jsonl-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function sourceLog(): EventStore {
  const store = openSqliteEventStore(path.join(dir, 'source.db'));
  store.append('plan', [{ id: 'p1', type: 'PlanLoaded', data: { name: 'Calc' }, metadata: { runId: 'r1' } }]);
  store.append('task-T1', [
    { id: 't1', type: 'AgentSpawnRequested', data: { spawnId: 's1', note: 'héllo ✓' } },
    { id: 't2', type: 'AgentStarted', data: { pid: 42 }, metadata: { actor: 'agent:s1' } },
  ]);
  store.append('plan', [{ id: 'p2', type: 'PlanChanged', data: null }]);
  return store;
}

function lines(events: readonly RecordedEvent[]): string[] {
  return events.map(toJsonLine);
}

describe('export and import', () => {
  it('round-trips the whole log through a JSON Lines file', () => {
    const source = sourceLog();
    const file = path.join(dir, 'export.jsonl');
    fs.writeFileSync(file, 'old content that must be replaced\n');
    expect(exportJsonl(source, file)).toBe(4);
    expect(fs.readdirSync(dir).sort()).toEqual([
      'export.jsonl',
      'source.db',
      'source.db-shm',
      'source.db-wal',
    ]);
    const text = fs.readFileSync(file, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const parsed = text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(Object.keys(parsed[0]!)).toEqual([
      'position',
      'id',
      'streamId',
      'streamVersion',
      'type',
      'data',
      'metadata',
      'recordedAt',
    ]);
    const original = [...source.readAll()];
    expect(parsed).toEqual(original);

    const target = openSqliteEventStore(path.join(dir, 'target', 'orch.db'));
    expect(importJsonl(target, file)).toBe(4);
    expect([...target.readAll()]).toEqual(original);
    expect(target.streamVersion('plan')).toBe(2);
    const memory = createMemoryEventStore();
    expect(importJsonl(memory, file)).toBe(4);
    expect([...memory.readAll()]).toEqual(original);
    source.close();
    target.close();
  });

  it('continues a log that already holds the events before the file, and accepts CRLF', () => {
    const source = sourceLog();
    const all = [...source.readAll()];
    const target = openSqliteEventStore(path.join(dir, 'target.db'));
    target.importEvents(all.slice(0, 2));
    const file = path.join(dir, 'tail.jsonl');
    fs.writeFileSync(file, lines(all.slice(2)).join('\r\n'));
    expect(importJsonl(target, file)).toBe(2);
    expect([...target.readAll()]).toEqual(all);
    source.close();
    target.close();
  });

  describe('refuses a bad file, naming the line, and writes nothing', () => {
    const source = (): RecordedEvent[] => {
      const store = sourceLog();
      const events = [...store.readAll()];
      store.close();
      return events;
    };
    const cases: [string, (events: RecordedEvent[]) => string[], number, RegExp][] = [
      [
        'invalid JSON',
        (e) => [...lines(e.slice(0, 2)), '{"position": 3,', ...lines(e.slice(3))],
        3,
        /not valid JSON/,
      ],
      ['a blank line', (e) => [toJsonLine(e[0]!), '', ...lines(e.slice(1))], 2, /empty line/],
      ['a gap in positions', (e) => lines([e[0]!, e[1]!, e[3]!]), 3, /position 4 where 3 is next \(a gap\)/],
      ['a repeated line', (e) => lines([e[0]!, e[1]!, e[1]!, e[2]!]), 3, /position 2 where 3 is next/],
      [
        'a duplicate id',
        (e) => lines([e[0]!, e[1]!, { ...e[2]!, id: 'p1' }]),
        3,
        /event id p1 is already in the log \(duplicate\)/,
      ],
      [
        'a stream version gap',
        (e) => lines([e[0]!, e[1]!, { ...e[2]!, streamVersion: 3 }]),
        3,
        /stream task-T1 version 3 where 2 is next/,
      ],
      [
        'a missing field',
        (e) => [toJsonLine(e[0]!), JSON.stringify({ ...e[1]!, recordedAt: undefined })],
        2,
        /recordedAt/,
      ],
      ['an array', (e) => [toJsonLine(e[0]!), '[1,2]'], 2, /not a JSON object/],
      ['metadata that is not an object', (e) => [JSON.stringify({ ...e[0]!, metadata: 'x' })], 1, /metadata/],
    ];
    for (const [label, make, line, reason] of cases) {
      it(label, () => {
        const file = path.join(dir, 'bad.jsonl');
        fs.writeFileSync(file, make(source()).join('\n') + '\n');
        const logFile = path.join(dir, 'target.db');
        const target = openSqliteEventStore(logFile);
        let caught: unknown;
        try {
          importJsonl(target, file);
        } catch (err) {
          caught = err;
        }
        expect(caught).toBeInstanceOf(ImportError);
        const err = caught as ImportError;
        expect(err.code).toBe('IMPORT_INVALID');
        expect(err.line).toBe(line);
        expect(err.message).toContain(`line ${line}:`);
        expect(err.message).toContain(file);
        expect(err.message).toMatch(reason);
        expect(err.toJSON()).toMatchObject({ code: 'IMPORT_INVALID', line, file });
        // The check without a store refuses the same line for the same reason.
        expect(() => checkJsonl(file)).toThrow(expect.objectContaining({ line, message: err.message }));
        expect(target.lastPosition()).toBe(0);
        target.close();
        const reopened = openSqliteEventStore(logFile, { readonly: true });
        expect(reopened.lastPosition()).toBe(0);
        reopened.close();
      });
    }

    it('a file that starts after the log ends', () => {
      const events = source();
      const file = path.join(dir, 'late.jsonl');
      fs.writeFileSync(file, lines(events.slice(1)).join('\n'));
      const memory = createMemoryEventStore();
      expect(() => importJsonl(memory, file)).toThrow(expect.objectContaining({ line: 1 }));
      expect(memory.lastPosition()).toBe(0);
    });

    it('checkJsonl passes an export, counting its events, and writes nothing anywhere', () => {
      const store = sourceLog();
      const file = path.join(dir, 'good.jsonl');
      expect(exportJsonl(store, file)).toBe(4);
      store.close();
      const before = fs.readdirSync(dir).sort();
      expect(checkJsonl(file)).toBe(4);
      expect(fs.readdirSync(dir).sort()).toEqual(before);
      const empty = path.join(dir, 'empty.jsonl');
      fs.writeFileSync(empty, '');
      expect(checkJsonl(empty)).toBe(0);
      expect(() => checkJsonl(path.join(dir, 'nope.jsonl'))).toThrow(
        expect.objectContaining({ code: 'LOG_NOT_FOUND' }),
      );
    });
  });

  it('names a missing file', () => {
    expect(() => importJsonl(createMemoryEventStore(), path.join(dir, 'nope.jsonl'))).toThrow(
      expect.objectContaining({ code: 'LOG_NOT_FOUND' }),
    );
  });
});

describe('readLinesSync', () => {
  it('splits lines across 1 MiB chunk boundaries without breaking multi-byte characters', () => {
    const file = path.join(dir, 'big.txt');
    const expected = Array.from({ length: 9000 }, (_, i) => `${i} ${'é✓🙂'.repeat((i % 70) + 1)}`);
    fs.writeFileSync(file, expected.join('\n') + '\n');
    expect(fs.statSync(file).size).toBeGreaterThan(2 * 1024 * 1024);
    expect([...readLinesSync(file)]).toEqual(expected);
    fs.writeFileSync(file, 'a\r\nb\n\nc');
    expect([...readLinesSync(file)]).toEqual(['a', 'b', '', 'c']);
  });
});
