import { afterEach, describe, expect, it } from 'vitest';
import { Replayer } from '../../../src/core/replayer.js';
import { getOwn } from '../../../src/core/record.js';
import { statusDocument } from '../../../src/core/status-document.js';
import { loadStatusState } from '../../../src/runtime/log/load-state.js';
import { loadStatus } from '../../../src/runtime/log/load-status.js';
import {
  isCompactAgent,
  loadStatusStateSnapshot,
  saveSnapshot,
  STATE_SNAPSHOT,
  STATUS_STATE_SNAPSHOT,
  statusState,
} from '../../../src/runtime/log/snapshots.js';
import { verifyLog } from '../../../src/runtime/operations/verify.js';
import { openSqliteEventStore, type SqliteEventStore } from '../../../src/store/index.js';
import { tempLog, writeCalculatorRun, type TempLog } from '../../commands/helpers/log-builder.js';

/** The state and stream versions after the events up to `to`, by a plain Replayer from zero. */
function foldTo(store: SqliteEventStore, to: number) {
  const replayer = new Replayer();
  const versions: Record<string, number> = {};
  for (const e of store.readAll({ to })) {
    replayer.apply(e);
    versions[e.streamId] = e.streamVersion;
  }
  return { state: replayer.state, versions };
}

const logs: TempLog[] = [];
afterEach(() => {
  for (const l of logs.splice(0)) l.cleanup();
});

/** The calculator run (T002 ran as s2, s3, s4; T003 as s5, s6; T004 and T005 run) with the snapshots saved `behind` events before its end. */
function logWithSnapshots(behind: number): { t: TempLog; store: SqliteEventStore } {
  const t = tempLog(() => undefined);
  logs.push(t);
  const store = openSqliteEventStore(t.file);
  writeCalculatorRun(store);
  const at = foldTo(store, store.lastPosition() - behind);
  saveSnapshot(store, at.state, at.versions);
  return { t, store };
}

describe('the status state snapshot (status-state-v<N>)', () => {
  it('cuts down only the agents the status document does not list, and gives the same document', () => {
    const { store } = logWithSnapshots(0);
    try {
      const { state } = foldTo(store, store.lastPosition());
      const cut = statusState(state);
      expect(Object.keys(cut.agents)).toEqual(Object.keys(state.agents));
      const compact = Object.keys(cut.agents).filter((id) => isCompactAgent(getOwn(cut.agents, id) ?? {}));
      // T002's first two attempts and T003's first are neither live nor their task's last spawn.
      expect(compact).toEqual(['s2', 's3', 's5']);
      const s2 = getOwn(state.agents, 's2');
      expect(getOwn(cut.agents, 's2')).toEqual({
        task: 'T002',
        costUsd: 0.02,
        inputTokens: s2?.inputTokens,
        outputTokens: s2?.outputTokens,
      });
      expect(JSON.stringify(statusDocument(cut))).toBe(JSON.stringify(statusDocument(state)));
      // Saved beside the other two, smaller than the state snapshot.
      const row = store.loadSnapshotText(STATUS_STATE_SNAPSHOT);
      const full = store.loadSnapshotText(STATE_SNAPSHOT);
      expect(row?.position).toBe(store.lastPosition());
      expect(String(row?.data).length).toBeLessThan(String(full?.data).length);
      expect(loadStatusStateSnapshot(store)?.data.state.position).toBe(store.lastPosition());
    } finally {
      store.close();
    }
  });

  it('serves status with the tail folded onto it, without the state snapshot', async () => {
    const { store } = logWithSnapshots(7);
    try {
      const last = store.lastPosition();
      const expected = JSON.stringify(statusDocument(foldTo(store, last).state));
      // The state snapshot made unusable: status does not need it.
      store.saveSnapshot(STATE_SNAPSHOT, last - 7, { not: 'a state' });
      const ignored: string[] = [];
      expect(await loadStatus(store, (m) => ignored.push(m))).toEqual({
        json: expected,
        position: last,
        source: 'snapshot',
      });
      expect(ignored).toEqual([]);
    } finally {
      store.close();
    }
  });

  it('folds a late report from a cut-down agent the same as the whole state does', async () => {
    const t = tempLog(() => undefined);
    logs.push(t);
    const store = openSqliteEventStore(t.file);
    try {
      const b = writeCalculatorRun(store);
      const at = foldTo(store, store.lastPosition());
      saveSnapshot(store, at.state, at.versions);
      // A late report from s2, which the status state holds cut down: ignored either way.
      b.add('BreakpointReported', { spawnId: 's2', kind: 'blocked', summary: 'late' }, 'agent:s2');
      b.add('SignalRejected', { spawnId: 's3', reason: 'stale spawn' }, 'agent:s3');
      const last = store.lastPosition();
      const expected = JSON.stringify(statusDocument(foldTo(store, last).state));
      const state = loadStatusState(store);
      expect(state?.position).toBe(last);
      expect(JSON.stringify(statusDocument(state ?? foldTo(store, 0).state))).toBe(expected);
      expect(await loadStatus(store)).toEqual({ json: expected, position: last, source: 'snapshot' });
    } finally {
      store.close();
    }
  });

  it('is not used when an event after it needs a cut-down agent whole: the state snapshot serves instead', async () => {
    const t = tempLog(() => undefined);
    logs.push(t);
    const store = openSqliteEventStore(t.file);
    try {
      const b = writeCalculatorRun(store);
      const at = foldTo(store, store.lastPosition());
      saveSnapshot(store, at.state, at.versions);
      // A lane of s2 superseded: the fold reads the agent's `superseded`, which s2 cut down lacks.
      b.add('LaneSuperseded', { taskId: 'T002', spawnId: 's2', lane: 1, winner: 's4', winnerLane: 2 });
      const last = store.lastPosition();
      expect(loadStatusState(store)).toBeUndefined();
      const expected = JSON.stringify(statusDocument(foldTo(store, last).state));
      expect(await loadStatus(store)).toEqual({ json: expected, position: last, source: 'snapshot' });
    } finally {
      store.close();
    }
  });

  it('is checked by replay --verify against the fold from zero', () => {
    const { store } = logWithSnapshots(3);
    try {
      const config = { maxConcurrent: 4, maxRetries: 3 };
      expect(verifyLog(store, config).problems).toEqual([]);
      const snap = loadStatusStateSnapshot(store);
      if (snap === undefined) throw new Error('no status state snapshot');
      const doctored = structuredClone(snap.data.state);
      doctored.costUsd += 1;
      store.saveSnapshot(STATUS_STATE_SNAPSHOT, snap.position, { state: doctored });
      const problems = verifyLog(store, config).problems;
      expect(problems.map((p) => p.check)).toEqual(['status-cache']);
      expect(problems[0]?.message).toContain(
        `the ${STATUS_STATE_SNAPSHOT} cache differs from the fold from zero`,
      );
    } finally {
      store.close();
    }
  });
});
