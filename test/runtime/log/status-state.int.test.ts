import { afterEach, describe, expect, it } from 'vitest';
import { Replayer } from '../../../src/core/replayer.js';
import { getOwn } from '../../../src/core/record.js';
import { statusDocument } from '../../../src/core/status-document.js';
import { loadStatusState } from '../../../src/runtime/log/load-state.js';
import { loadStatus } from '../../../src/runtime/log/load-status.js';
import {
  loadStatusStateSnapshot,
  mayBeCut,
  saveSnapshot,
  spawnIdHash,
  STATE_SNAPSHOT,
  STATUS_STATE_SNAPSHOT,
  statusState,
} from '../../../src/runtime/log/snapshots.js';
import { statusChunkName } from '../../../src/runtime/log/snapshot-names.js';
import { statusParts } from '../../../src/core/status-parts.js';
import type { AgentRecord, OrchState } from '../../../src/core/state.js';
import { setOwn } from '../../../src/core/record.js';
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

/** The calculator run in a fresh log with the snapshots saved at its end: what is added after is the tail. */
function runWithSnapshotsAtEnd(): { store: SqliteEventStore; b: ReturnType<typeof writeCalculatorRun> } {
  const t = tempLog(() => undefined);
  logs.push(t);
  const store = openSqliteEventStore(t.file);
  const b = writeCalculatorRun(store);
  const at = foldTo(store, store.lastPosition());
  saveSnapshot(store, at.state, at.versions);
  return { store, b };
}

describe('the status state snapshot (status-state-v<N>)', () => {
  it("cuts out each task's spawns before the first one the document reads, and gives the same document", () => {
    const { store } = logWithSnapshots(0);
    try {
      const { state } = foldTo(store, store.lastPosition());
      const cut = statusState(state);
      // T002's first two attempts and T003's first are neither live nor their task's last spawn.
      expect(Object.keys(cut.state.agents)).toEqual(
        Object.keys(state.agents).filter((id) => !['s2', 's3', 's5'].includes(id)),
      );
      const s2 = getOwn(state.agents, 's2');
      const s3 = getOwn(state.agents, 's3');
      expect(getOwn(cut.earlier, 'T002')).toEqual({
        attempts: 2,
        costUsd: 0 + (s2?.costUsd ?? 0) + (s3?.costUsd ?? 0),
        inputTokens: (s2?.inputTokens ?? 0) + (s3?.inputTokens ?? 0),
        outputTokens: (s2?.outputTokens ?? 0) + (s3?.outputTokens ?? 0),
      });
      expect(Object.keys(cut.earlier)).toEqual(['T002', 'T003']);
      expect(cut.cut).toBe([spawnIdHash('s2'), spawnIdHash('s3'), spawnIdHash('s5')].sort().join(''));
      for (const id of ['s2', 's3', 's5']) expect(mayBeCut(cut.cut, id)).toBe(true);
      for (const id of ['s1', 's4', 's6', 'x']) expect(mayBeCut(cut.cut, id)).toBe(false);
      expect(JSON.stringify(statusDocument(cut.state, cut.earlier))).toBe(
        JSON.stringify(statusDocument(state)),
      );
      // Saved beside the other two, smaller than the state snapshot.
      const row = store.loadSnapshotText(STATUS_STATE_SNAPSHOT);
      const full = store.loadSnapshotText(STATE_SNAPSHOT);
      expect(row?.position).toBe(store.lastPosition());
      expect(String(row?.data).length).toBeLessThan(String(full?.data).length);
      expect(loadStatusStateSnapshot(store)?.data).toEqual(JSON.parse(JSON.stringify(cut)));
    } finally {
      store.close();
    }
  });

  it('keeps every spawn after a read one, so usage sums come out bit for bit the same', () => {
    const { store } = logWithSnapshots(0);
    try {
      const { state } = foldTo(store, store.lastPosition());
      // Costs whose sum depends on the order of the additions, on every agent.
      const costs = [0.1, 0.2, 0.3, 1e-17, 0.7, 1e16, 0.30000000000000004, 3.3];
      const agents: Record<string, AgentRecord> = {};
      Object.values(state.agents).forEach((a, i) =>
        setOwn<AgentRecord>(agents, a.spawnId, {
          ...a,
          costUsd: costs[i % costs.length] ?? null,
          inputTokens: i * 7,
        }),
      );
      // s2 stuck live (an unresolved spawn of an old run): s3, after it, must stay too.
      const s2 = getOwn(agents, 's2');
      if (s2 === undefined) throw new Error('no s2');
      setOwn(agents, 's2', { ...s2, status: 'running' });
      const doctored: OrchState = { ...state, agents };
      const cut = statusState(doctored);
      expect(Object.keys(cut.state.agents)).toEqual(Object.keys(agents).filter((id) => id !== 's5'));
      expect(Object.keys(cut.earlier)).toEqual(['T003']);
      expect(JSON.stringify(statusDocument(cut.state, cut.earlier))).toBe(
        JSON.stringify(statusDocument(doctored)),
      );
      // Through JSON, as the snapshot stores it.
      const stored = JSON.parse(JSON.stringify(cut)) as typeof cut;
      expect(JSON.stringify(statusDocument(stored.state, stored.earlier))).toBe(
        JSON.stringify(statusDocument(doctored)),
      );
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
    const { store, b } = runWithSnapshotsAtEnd();
    try {
      // Late reports from s2 and s3, which the status state cut out: ignored either way; a lane
      // mark on s5 changes only s5, which the document does not list.
      b.add('BreakpointReported', { spawnId: 's2', kind: 'blocked', summary: 'late' }, 'agent:s2');
      b.add('SignalRejected', { spawnId: 's3', reason: 'stale spawn' }, 'agent:s3');
      b.add(
        'AgentExited',
        { spawnId: 's3', exitCode: 0, signal: null, durationMs: 5, outputTail: '', usage: { costUsd: 5 } },
        'agent:s3',
      );
      b.add('LaneSuperseded', { taskId: 'T003', spawnId: 's5', lane: 1, winner: 's6', winnerLane: 2 });
      const last = store.lastPosition();
      const expected = JSON.stringify(statusDocument(foldTo(store, last).state));
      const loaded = loadStatusState(store);
      if (loaded === undefined) throw new Error('the status state did not serve');
      expect(loaded.state.position).toBe(last);
      expect(JSON.stringify(statusDocument(loaded.state, loaded.earlier))).toBe(expected);
      expect(await loadStatus(store)).toEqual({ json: expected, position: last, source: 'snapshot' });
    } finally {
      store.close();
    }
  });

  for (const [what, add] of [
    [
      "a second spawn request with a cut spawn's id (a duplicate the fold ignores)",
      (b: ReturnType<typeof writeCalculatorRun>) =>
        b.add('AgentSpawnRequested', {
          spawnId: 's2',
          taskId: 'T002',
          attempt: 9,
          role: 'backend',
          command: ['x'],
          workspace: '/w',
        }),
    ],
    [
      'a rate limit reported by a cut spawn (it still moves rateLimitedUntil)',
      (b: ReturnType<typeof writeCalculatorRun>) =>
        b.add('RateLimited', { spawnId: 's5', resetAt: '2030-01-01T00:00:00.000Z' }, 'agent:s5'),
    ],
  ] as const) {
    it(`is not used after ${what}: the state snapshot serves instead`, async () => {
      const { store, b } = runWithSnapshotsAtEnd();
      try {
        add(b);
        const last = store.lastPosition();
        expect(loadStatusState(store)).toBeUndefined();
        const expected = JSON.stringify(statusDocument(foldTo(store, last).state));
        expect(await loadStatus(store)).toEqual({ json: expected, position: last, source: 'snapshot' });
      } finally {
        store.close();
      }
    });
  }

  it('is checked by replay --verify against the fold from zero, and so are its document rows', () => {
    const { store } = logWithSnapshots(3);
    try {
      const config = { maxConcurrent: 4, maxRetries: 3 };
      expect(verifyLog(store, config).problems).toEqual([]);
      const snap = loadStatusStateSnapshot(store);
      if (snap === undefined) throw new Error('no status state snapshot');
      const save = (parts: ReturnType<typeof statusParts>) =>
        store.saveSnapshotTexts([
          { name: STATUS_STATE_SNAPSHOT, position: snap.position, json: parts.text },
          ...parts.chunks.map((json, k) => ({ name: statusChunkName(k), position: snap.position, json })),
        ]);
      // Parts of another state: their status state differs.
      const doctored = structuredClone(foldTo(store, snap.position).state);
      doctored.costUsd += 1;
      save(statusParts(doctored));
      let problems = verifyLog(store, config).problems;
      expect(problems.map((p) => p.check)).toEqual(['status-cache']);
      expect(problems[0]?.message).toContain(
        `the ${STATUS_STATE_SNAPSHOT} cache differs from the fold from zero`,
      );
      // The right status state, but a document row that is not its own (same length).
      const right = statusParts(foldTo(store, snap.position).state);
      // In the rows (after the head line, which holds the plan's own titles).
      const title = right.text.indexOf('"title":"', right.text.indexOf('\n')) + '"title":"'.length;
      save({ ...right, text: `${right.text.slice(0, title)}#${right.text.slice(title + 1)}` });
      problems = verifyLog(store, config).problems;
      expect(problems.map((p) => p.check)).toEqual(['status-cache']);
      expect(problems[0]?.message).toContain(
        `the document rows of the ${STATUS_STATE_SNAPSHOT} cache differs`,
      );
      // Written right again: nothing to say.
      save(right);
      expect(verifyLog(store, config).problems).toEqual([]);
    } finally {
      store.close();
    }
  });
});
