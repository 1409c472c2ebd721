import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/core/envelope.js';
import { replay } from '../../src/core/replayer.js';
import { openSqliteEventStore } from '../../src/store/index.js';
import { assertBuilt, orch } from './helpers/cli.js';
import { tempLog, type TempLog } from './helpers/log-builder.js';

beforeAll(() => assertBuilt());

let log: TempLog | undefined;
afterEach(() => log?.cleanup());

/** Runs `orch signal` as an agent does: from another directory, with the ORCH_* variables. */
function signal(args: string[], env: Record<string, string>) {
  return orch(['signal', ...args], {
    cwd: os.tmpdir(),
    env: { ORCH_STATE_DIR: log!.stateDir, ORCH_RUN_ID: 'r1', ...env },
  });
}

function eventsAfter(position: number): RecordedEvent[] {
  const store = openSqliteEventStore(log!.file, { readonly: true });
  try {
    return [...store.readAll({ from: position + 1 })];
  } finally {
    store.close();
  }
}

function state() {
  const store = openSqliteEventStore(log!.file, { readonly: true });
  try {
    return replay(store.readAll());
  } finally {
    store.close();
  }
}

describe('orch signal (built binary)', () => {
  it('records a report from the current, live spawn with the task stream version it read', async () => {
    log = tempLog();
    const r = await signal(['complete', '--summary', 'scientific functions done'], { ORCH_SPAWN_ID: 's7' });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('recorded complete for task T004 (spawn s7) at log position 61');
    const [event] = eventsAfter(60);
    expect(event).toMatchObject({
      streamId: 'task-T004',
      streamVersion: 4,
      type: 'BreakpointReported',
      data: { spawnId: 's7', kind: 'complete', summary: 'scientific functions done' },
      metadata: { actor: 'agent:s7', runId: 'r1' },
    });
    expect(state().tasks['T004']?.context.summary).toBe('scientific functions done');
  });

  it('blocked defaults to person, takes --on ci/task ids, and refuses unknown ones without writing', async () => {
    log = tempLog();
    const bad = await signal(['blocked', '--on', 'T404'], { ORCH_SPAWN_ID: 's7' });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('Error: --on T404: not ci, person, or a task of the plan');
    expect(eventsAfter(60)).toEqual([]);

    const person = await signal(['blocked', '--json'], { ORCH_SPAWN_ID: 's7' });
    expect(person.exitCode, person.stderr).toBe(0);
    expect(JSON.parse(person.stdout)).toMatchObject({ taskId: 'T004', kind: 'blocked', on: ['person'] });
    const many = await signal(['blocked', '--spawn', 's8', '--on', 'ci', 'T001'], { ORCH_SPAWN_ID: 's7' });
    expect(many.exitCode, many.stderr).toBe(0);
    expect(eventsAfter(60).map((e) => [e.streamId, e.data])).toEqual([
      ['task-T004', { spawnId: 's7', kind: 'blocked', on: ['person'] }],
      ['task-T005', { spawnId: 's8', kind: 'blocked', on: ['ci', 'T001'] }],
    ]);
    const s = state();
    expect(s.tasks['T004']?.value).toBe('blocked');
    expect(s.tasks['T005']?.context.blockedOn).toEqual(['ci', 'T001']);
  });

  it('pr needs --url; with it the pull request is recorded', async () => {
    log = tempLog();
    const missing = await signal(['pr'], { ORCH_SPAWN_ID: 's8' });
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain('Error: orch signal pr needs --url URL');
    expect(eventsAfter(60)).toEqual([]);
    const ok = await signal(['pr', '--url', 'https://example.test/pr/9'], { ORCH_SPAWN_ID: 's8' });
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(state().tasks['T005']?.context.prUrl).toBe('https://example.test/pr/9');
  });

  it('a stale spawn, a finished agent and an unknown spawn are recorded as rejected, change nothing, exit 1', async () => {
    log = tempLog();
    const before = JSON.stringify({ ...state(), position: 0, updatedAt: null });

    const stale = await signal(['complete'], { ORCH_SPAWN_ID: 's2' });
    expect(stale.exitCode).toBe(1);
    expect(stale.stderr).toContain(
      'Error: signal from spawn s2 rejected: stale spawn: task T002 is on attempt 3 with spawn s4',
    );
    expect(stale.stderr).toContain('Hint: recorded as SignalRejected at log position 61');

    const finished = await signal(['complete'], { ORCH_SPAWN_ID: 's4' });
    expect(finished.exitCode).toBe(1);
    expect(finished.stderr).toContain('rejected: the agent is no longer live (exited with code 0)');

    const unknownOnTask = await signal(['blocked', '--on', 'ci'], {
      ORCH_SPAWN_ID: 'ghost',
      ORCH_TASK_ID: 'T005',
    });
    expect(unknownOnTask.exitCode).toBe(1);
    expect(unknownOnTask.stderr).toContain('rejected: unknown spawn');

    const unknown = await signal(['complete'], { ORCH_SPAWN_ID: 'ghost', ORCH_TASK_ID: '../../etc' });
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain('Hint: nothing was recorded (no task is known for this spawn)');

    expect(eventsAfter(60).map((e) => [e.streamId, e.type, e.data, e.metadata.actor])).toEqual([
      [
        'task-T002',
        'SignalRejected',
        { spawnId: 's2', reason: 'stale spawn: task T002 is on attempt 3 with spawn s4', kind: 'complete' },
        'orch',
      ],
      [
        'task-T002',
        'SignalRejected',
        { spawnId: 's4', reason: 'the agent is no longer live (exited with code 0)', kind: 'complete' },
        'orch',
      ],
      [
        'task-T005',
        'SignalRejected',
        {
          spawnId: 'ghost',
          reason: 'unknown spawn (no agent with this spawn id was started)',
          kind: 'blocked',
        },
        'orch',
      ],
    ]);
    expect(JSON.stringify({ ...state(), position: 0, updatedAt: null })).toBe(before);
  });

  it('needs a spawn id; --state-dir beats ORCH_STATE_DIR; a missing log is not created', async () => {
    log = tempLog();
    const none = await signal(['complete'], {});
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toContain('Error: no spawn id: pass --spawn ID or set ORCH_SPAWN_ID');

    const elsewhere = path.join(log.dir, 'elsewhere');
    const missing = await signal(['complete', '--state-dir', elsewhere], { ORCH_SPAWN_ID: 's7' });
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain(`Error: no orch log at ${path.join(elsewhere, 'orch.db')}`);
    expect(fs.existsSync(elsewhere)).toBe(false);
    expect(eventsAfter(60)).toEqual([]);
  });
});
