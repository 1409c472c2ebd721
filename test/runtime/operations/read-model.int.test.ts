import fc from 'fast-check';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Replayer } from '../../../src/core/replayer.js';
import { openSqliteEventStore, StoreError } from '../../../src/store/index.js';
import type { EventStore } from '../../../src/store/index.js';
import { loadState, openLog } from '../../../src/runtime/log/load-state.js';
import { loadStatus } from '../../../src/runtime/log/load-status.js';
import { statusDocument } from '../../../src/core/status-document.js';
import {
  loadStateSnapshot,
  maybeSaveSnapshot,
  saveSnapshot,
  STATE_SNAPSHOT,
  STATUS_SNAPSHOT,
} from '../../../src/runtime/log/snapshots.js';
import { tempLog, writeCalculatorRun, type TempLog } from '../../commands/helpers/log-builder.js';

/** The state and stream versions after the events up to `to`, by a plain Replayer from zero. */
function foldTo(store: EventStore, to: number) {
  const replayer = new Replayer();
  const versions: Record<string, number> = {};
  for (const e of store.readAll({ to })) {
    replayer.apply(e);
    versions[e.streamId] = e.streamVersion;
  }
  return { state: replayer.state, versions };
}

let log: TempLog;
beforeAll(() => {
  log = tempLog();
});
afterAll(() => log?.cleanup());

describe('loadState', () => {
  it('folds from zero when there is no snapshot, with every stream version', () => {
    const store = openLog(log.stateDir);
    try {
      const loaded = loadState(store);
      const expected = foldTo(store, store.lastPosition());
      expect(loaded.snapshotPosition).toBeNull();
      expect(loaded.folded).toBe(store.lastPosition());
      expect(loaded.state).toEqual(expected.state);
      expect(loaded.versions).toEqual(expected.versions);
      expect(loaded.versions['task-T002']).toBe(store.streamVersion('task-T002'));
    } finally {
      store.close();
    }
  });

  it('snapshot + tail equals the full fold, for random snapshot positions and targets', () => {
    const writer = openSqliteEventStore(log.file);
    const last = writer.lastPosition();
    try {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: last }), fc.integer({ min: 0, max: last }), (at, to) => {
          const prefix = foldTo(writer, at);
          saveSnapshot(writer, prefix.state, prefix.versions);
          const reader = openLog(log.stateDir);
          try {
            const end = loadState(reader);
            expect(end.snapshotPosition).toBe(at);
            expect(end.folded).toBe(last - at);
            const full = foldTo(reader, last);
            expect(end.state).toEqual(full.state);
            expect(end.versions).toEqual(full.versions);
            // Before the snapshot it is ignored; at or after it, used.
            const partial = loadState(reader, { to });
            expect(partial.snapshotPosition).toBe(at <= to ? at : null);
            expect(partial.state).toEqual(foldTo(reader, to).state);
          } finally {
            reader.close();
          }
        }),
        { numRuns: 25 },
      );
    } finally {
      writer.close();
    }
  });

  it('ignores a snapshot beyond the end of the log, a malformed one, and one of an older fold version', () => {
    const t = tempLog();
    try {
      const writer = openSqliteEventStore(t.file);
      const last = writer.lastPosition();
      const full = foldTo(writer, last);
      writer.saveSnapshot(STATE_SNAPSHOT, last + 10, {
        state: { ...full.state, position: last + 10 },
        versions: {},
      });
      let reader = openLog(t.stateDir);
      expect(loadState(reader).snapshotPosition).toBeNull();
      expect(loadState(reader).state).toEqual(full.state);
      reader.close();
      writer.saveSnapshot(STATE_SNAPSHOT, 5, { nonsense: true });
      writer.saveSnapshot('state-v0', 5, { state: foldTo(writer, 5).state, versions: {} });
      reader = openLog(t.stateDir);
      expect(loadStateSnapshot(reader)).toBeUndefined();
      expect(loadState(reader).snapshotPosition).toBeNull();
      reader.close();
      writer.close();
    } finally {
      t.cleanup();
    }
  });
});

describe('maybeSaveSnapshot', () => {
  it('saves only once `every` events have passed since the last snapshot, reading the stored one once', () => {
    const t = tempLog(() => undefined);
    try {
      const store = openSqliteEventStore(t.file);
      const b = writeCalculatorRun(store);
      const s20 = foldTo(store, 20);
      saveSnapshot(store, s20.state, s20.versions);
      store.close();

      // A new process: the snapshot position is read back from the store.
      const again = openSqliteEventStore(t.file);
      const at = (n: number) => foldTo(again, n);
      const s29 = at(29);
      expect(maybeSaveSnapshot(again, s29.state, s29.versions, { every: 10 })).toBe(false);
      expect(again.loadSnapshot(STATE_SNAPSHOT)?.position).toBe(20);
      const s30 = at(30);
      expect(maybeSaveSnapshot(again, s30.state, s30.versions, { every: 10 })).toBe(true);
      expect(again.loadSnapshot(STATE_SNAPSHOT)?.position).toBe(30);
      expect(again.loadSnapshot(STATUS_SNAPSHOT)?.position).toBe(30);
      const s35 = at(35);
      expect(maybeSaveSnapshot(again, s35.state, s35.versions, { every: 10 })).toBe(false);
      expect(b.runId).toBe('r1');
      again.close();
    } finally {
      t.cleanup();
    }
  });
});

describe('loadStatus', () => {
  it('uses the status cache when current, the state snapshot plus the tail when not, and folds otherwise', async () => {
    const t = tempLog();
    try {
      const writer = openSqliteEventStore(t.file);
      const last = writer.lastPosition();
      const expected = JSON.stringify(statusDocument(foldTo(writer, last).state));

      let reader = openLog(t.stateDir);
      expect(await loadStatus(reader)).toEqual({ json: expected, position: last, source: 'fold' });
      reader.close();

      const mid = foldTo(writer, last - 7);
      saveSnapshot(writer, mid.state, mid.versions);
      reader = openLog(t.stateDir);
      expect(await loadStatus(reader)).toEqual({ json: expected, position: last, source: 'snapshot' });
      reader.close();

      const end = foldTo(writer, last);
      saveSnapshot(writer, end.state, end.versions);
      reader = openLog(t.stateDir);
      expect(await loadStatus(reader)).toEqual({ json: expected, position: last, source: 'cache' });
      reader.close();
      writer.close();
    } finally {
      t.cleanup();
    }
  });
});

describe('openLog', () => {
  it('refuses a missing log with the "run orch spawn" hint, and never creates one, even to write', () => {
    const stateDir = path.join(log.dir, 'nowhere', '.state');
    for (const write of [false, true]) {
      try {
        openLog(stateDir, { write });
        expect.unreachable('openLog should throw');
      } catch (err) {
        expect(err).toBeInstanceOf(StoreError);
        expect((err as StoreError).code).toBe('LOG_NOT_FOUND');
        expect((err as StoreError).hint).toContain('run orch spawn or orch demo first');
      }
    }
    expect(fs.existsSync(stateDir)).toBe(false);
  });

  it('refuses a file that is not an orch log and leaves it untouched', () => {
    const stateDir = path.join(log.dir, 'foreign');
    fs.mkdirSync(stateDir);
    const file = path.join(stateDir, 'orch.db');
    const bytes = Buffer.from('SQLite format 3\0 but not really, just some bytes '.repeat(40));
    fs.writeFileSync(file, bytes);
    for (const write of [false, true]) {
      expect(() => openLog(stateDir, { write })).toThrow(/not an orch log|orch log/);
    }
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
  });
});
