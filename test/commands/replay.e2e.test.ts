import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Replayer } from '../../src/core/replayer.js';
import { statusDocument } from '../../src/core/status-document.js';
import { saveSnapshot, STATE_SNAPSHOT, STATUS_SNAPSHOT } from '../../src/runtime/log/snapshots.js';
import { openSqliteEventStore } from '../../src/store/index.js';
import type { SqliteEventStore } from '../../src/store/index.js';
import { assertBuilt, orch } from './helpers/cli.js';
import { tempLog, writeCalculatorRun, type TempLog } from './helpers/log-builder.js';

/** State and stream versions up to `to`, folded in the test. */
function foldTo(store: SqliteEventStore, to: number) {
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
  assertBuilt();
  // A clean log with both caches at position 40, as a running orchestrator leaves them.
  log = tempLog();
  const store = openSqliteEventStore(log.file);
  const at40 = foldTo(store, 40);
  saveSnapshot(store, at40.state, at40.versions);
  store.close();
});
afterAll(() => log?.cleanup());

describe('orch replay (built binary)', () => {
  it('--to POSITION --json: the state as of that position, as status shows it', async () => {
    const r = await orch(['replay', '--repo', log.repo, '--to', '14', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const store = openSqliteEventStore(log.file, { readonly: true });
    const expected = statusDocument(foldTo(store, 14).state);
    store.close();
    expect(JSON.parse(r.stdout)).toEqual({ ...expected, replay: { position: 14, by: 'to' } });
    expect(expected.tasks[0]).toMatchObject({ id: 'T001', status: 'complete' });
    expect(expected.tasks[1]).toMatchObject({ id: 'T002', status: 'pending' });
  });

  it('--at ISO_TIME: the last event recorded at or before that time; text like status', async () => {
    // Events are one second apart from 00:00:01.
    const r = await orch(['replay', '--repo', log.repo, '--at', '2025-01-01T00:00:21.500Z']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('Calculator  (.state/plans)  ·  log position 21');
    expect(r.stdout).toContain(
      'T002  running (retryWait)  1 attempt  $0.02  Implement add and subtract (implementer)  last failure: exit code 1',
    );
    expect(r.stdout).not.toContain('lease');
    const before = await orch(['replay', '--repo', log.repo, '--at', '2024-12-31T23:59:59Z', '--json']);
    expect(JSON.parse(before.stdout)).toMatchObject({
      position: 0,
      plan: null,
      replay: { position: 0, by: 'at' },
    });
  });

  it('--html FILE --to POSITION writes the self-contained report as of that position', async () => {
    const file = `${log.repo}/report.html`;
    const r = await orch(['replay', '--repo', log.repo, '--html', file, '--to', '30', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ file, position: 30 });
    const html = fs.readFileSync(file, 'utf8');
    expect(html.startsWith('<!doctype html>') || html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('T001');
    const both = await orch(['replay', '--repo', log.repo, '--html', file, '--verify']);
    expect(both.exitCode).not.toBe(0);
  });

  it('refuses --to beyond the end, negative or not a number, and a bad --at, with exit 1', async () => {
    const beyond = await orch(['replay', '--repo', log.repo, '--to', '61']);
    expect(beyond.exitCode).toBe(1);
    expect(beyond.stderr).toContain('Error: --to 61 is beyond the end of the log (the last position is 60)');
    const negative = await orch(['replay', '--repo', log.repo, '--to=-3', '--json']);
    expect(negative.exitCode).toBe(1);
    expect(JSON.parse(negative.stdout).error).toMatchObject({
      code: 'REPLAY_TARGET_INVALID',
      value: -3,
      last: 60,
    });
    const bad = await orch(['replay', '--repo', log.repo, '--at', 'last tuesday']);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('--at "last tuesday" is not an ISO-8601 time');
  });

  it('--verify on a clean log: exit 0, every check named', async () => {
    const r = await orch(['replay', '--repo', log.repo, '--verify']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(
      'verified 60 events, 10 invariants (pure evolve re-folded all of them; state snapshot at 40 matches; status cache at 40 matches)',
    );
    const json = await orch(['replay', '--repo', log.repo, '--verify', '--pure-limit', '10', '--json']);
    expect(json.exitCode, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout).verify).toEqual({
      events: 60,
      position: 60,
      pureEvents: 10,
      invariants: expect.arrayContaining([
        'wellFormedLog',
        'oneLiveAgentPerTask',
        'staleReportsChangeNothing',
      ]),
      snapshot: 40,
      statusCache: 40,
    });
  });

  it('--verify names an invariant violation (position and sentence) and exits 1', async () => {
    const t = tempLog((store) => {
      const b = writeCalculatorRun(store);
      // A second agent for T004 while s7 is still live.
      b.add('AgentSpawnRequested', {
        spawnId: 's9',
        taskId: 'T004',
        attempt: 2,
        role: 'implementer',
        command: ['claude'],
        workspace: '/ws/T004',
      });
    });
    try {
      const r = await orch(['replay', '--repo', t.repo, '--verify']);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain(
        'Error: replay verification failed after 61 events: invariant oneLiveAgentPerTask is broken at position 61: agent s9 was spawned for task T004 while another agent of it is live',
      );
      const json = await orch(['replay', '--repo', t.repo, '--verify', '--json']);
      expect(JSON.parse(json.stdout).error).toMatchObject({
        code: 'VERIFY_FAILED',
        problems: [{ check: 'invariant', invariant: 'oneLiveAgentPerTask', position: 61 }],
      });
    } finally {
      t.cleanup();
    }
  });

  it('--verify names the path of a difference in a tampered snapshot or status cache, and exits 1', async () => {
    const t = tempLog();
    try {
      const store = openSqliteEventStore(t.file);
      const at50 = foldTo(store, 50);
      saveSnapshot(store, at50.state, at50.versions);
      const tampered = structuredClone(at50.state);
      tampered.tasks['T002']!.context.attempts = 99;
      store.saveSnapshot(STATE_SNAPSHOT, 50, { state: tampered, versions: at50.versions });
      store.close();
      const r = await orch(['replay', '--repo', t.repo, '--verify']);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain(
        `the ${STATE_SNAPSHOT} snapshot differs from the fold from zero at position 50, at tasks.T002.context.attempts: 99 vs 3`,
      );

      const again = openSqliteEventStore(t.file);
      saveSnapshot(again, at50.state, at50.versions);
      const doc = statusDocument(at50.state);
      doc.tasks[2]!.status = 'failed';
      again.saveSnapshot(STATUS_SNAPSHOT, 50, doc);
      again.close();
      const cache = await orch(['replay', '--repo', t.repo, '--verify']);
      expect(cache.exitCode).toBe(1);
      expect(cache.stderr).toContain(
        `the ${STATUS_SNAPSHOT} cache differs from the fold from zero at position 50, at tasks[2].status: "failed" vs "complete"`,
      );
    } finally {
      t.cleanup();
    }
  });
});
