import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/core/envelope.js';
import { replay } from '../../src/core/replayer.js';
import { openSqliteEventStore } from '../../src/store/index.js';
import { assertBuilt, orch } from './helpers/cli.js';
import { calculatorPlan, LogBuilder, tempLog, type TempLog } from './helpers/log-builder.js';

beforeAll(() => assertBuilt());

let log: TempLog | undefined;
afterEach(() => log?.cleanup());

function read(): { events: RecordedEvent[]; state: ReturnType<typeof replay> } {
  const store = openSqliteEventStore(log!.file, { readonly: true });
  try {
    const events = [...store.readAll()];
    return { events, state: replay(events) };
  } finally {
    store.close();
  }
}

describe('orch ci (built binary)', () => {
  it('records pass and fail on the current run stream, as user or as ci', async () => {
    log = tempLog();
    const pass = await orch(['ci', 'pass', '--repo', log.repo]);
    expect(pass.exitCode, pass.stderr).toBe(0);
    expect(pass.stdout).toContain('recorded CI pass at log position 61 (run-r1)');
    const fail = await orch(
      ['ci', 'fail', '--repo', log.repo, '--ref', 'integration', '--url', 'https://ci.test/7', '--json'],
      {
        env: { CI: 'true' },
      },
    );
    expect(fail.exitCode, fail.stderr).toBe(0);
    expect(JSON.parse(fail.stdout)).toEqual({
      position: 62,
      streamId: 'run-r1',
      result: 'fail',
      ref: 'integration',
      url: 'https://ci.test/7',
      actor: 'ci',
    });
    const { events, state } = read();
    expect(
      events.slice(60).map((e) => [e.streamId, e.type, e.data, e.metadata.actor, e.metadata.runId]),
    ).toEqual([
      ['run-r1', 'CiCompleted', { result: 'pass' }, 'user', 'r1'],
      ['run-r1', 'CiCompleted', { result: 'fail', ref: 'integration', url: 'https://ci.test/7' }, 'ci', 'r1'],
    ]);
    expect(state.ci).toMatchObject({ result: 'fail', position: 62, ref: 'integration' });
  });

  it('work blocked on CI sees the result (recorded after the block)', async () => {
    log = tempLog();
    const blocked = await orch(['signal', 'blocked', '--on', 'ci'], {
      env: { ORCH_STATE_DIR: log.stateDir, ORCH_SPAWN_ID: 's8' },
    });
    expect(blocked.exitCode, blocked.stderr).toBe(0);
    const ci = await orch(['ci', 'pass', '--repo', log.repo, '--actor', 'ci']);
    expect(ci.exitCode, ci.stderr).toBe(0);
    const { state } = read();
    expect(state.tasks['T005']?.value).toBe('blocked');
    expect(state.ci!.position).toBeGreaterThan(state.tasks['T005']!.context.blockedAt!);
  });

  it('with no run in the log, records on run-external; a missing log is an error', async () => {
    log = tempLog((store) => new LogBuilder(store).add('PlanLoaded', { plan: calculatorPlan() }));
    const r = await orch(['ci', 'pass', '--repo', log.repo]);
    expect(r.exitCode, r.stderr).toBe(0);
    const { events, state } = read();
    expect(events[1]).toMatchObject({
      streamId: 'run-external',
      type: 'CiCompleted',
      metadata: { actor: 'user' },
    });
    expect(state.ci).toMatchObject({ result: 'pass', position: 2 });

    const missing = await orch(['ci', 'pass', '--state-dir', `${log.dir}/none`]);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain('Hint: run orch spawn or orch demo first');
  });
});
