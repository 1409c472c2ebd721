import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteEventStore } from '../../src/store/index.js';
import { assertBuilt, orch } from './helpers/cli.js';
import { tempLog, type TempLog } from './helpers/log-builder.js';

let log: TempLog;
beforeAll(() => {
  assertBuilt();
  log = tempLog();
});
afterAll(() => log?.cleanup());

const positions = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('#'))
    .map((l) => Number(l.slice(1, l.indexOf(' '))));

describe('orch log (built binary)', () => {
  it('prints every event in order, one line each, with the key fields', async () => {
    const r = await orch(['log', '--repo', log.repo]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(positions(r.stdout)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(r.stdout).toContain(
      '#2  2025-01-01T00:00:02.000Z  plan v1  PlanLoaded  plan=Calculator milestones=2 phases=3 tasks=5',
    );
    expect(r.stdout).toContain(
      '#8  2025-01-01T00:00:08.000Z  task-T001 v4  BreakpointReported  by agent:s1  spawn=s1 kind=complete summary="API designed"',
    );
  });

  it('--json: an array of {position, streamId, streamVersion, type, data, metadata, recordedAt} in order', async () => {
    const r = await orch(['log', '--repo', log.repo, '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const events = JSON.parse(r.stdout);
    const store = openSqliteEventStore(log.file, { readonly: true });
    const expected = [...store.readAll()].map(({ id: _id, ...rest }) => rest);
    store.close();
    expect(events).toEqual(expected);
    expect(Object.keys(events[0])).toEqual([
      'position',
      'streamId',
      'streamVersion',
      'type',
      'data',
      'metadata',
      'recordedAt',
    ]);
  });

  it('filters by task, spawn, type and position, together', async () => {
    const exits = await orch([
      'log',
      '--repo',
      log.repo,
      '--task',
      'T002',
      '--type',
      'AgentExited',
      '--json',
    ]);
    expect(JSON.parse(exits.stdout).map((e: { data: { spawnId: string } }) => e.data.spawnId)).toEqual([
      's2',
      's3',
      's4',
    ]);

    const spawn = await orch(['log', '--repo', log.repo, '--spawn', 's3', '--json']);
    expect(JSON.parse(spawn.stdout).map((e: { type: string }) => e.type)).toEqual([
      'AgentSpawnRequested',
      'AgentStarted',
      'AgentExited',
      'GateStarted',
      'GateFailed',
    ]);

    const types = await orch([
      'log',
      '--repo',
      log.repo,
      '--type',
      'PhaseCompleted',
      '--type',
      'CiCompleted',
    ]);
    expect(
      types.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('  ')[3]),
    ).toEqual(['PhaseCompleted', 'CiCompleted', 'PhaseCompleted']);

    const since = await orch(['log', '--repo', log.repo, '--since', '55']);
    expect(positions(since.stdout)).toEqual([55, 56, 57, 58, 59, 60]);
    const late = await orch(['log', '--repo', log.repo, '--task', 'T003', '--since', '45', '--json']);
    expect(JSON.parse(late.stdout).map((e: { position: number }) => e.position)).toEqual([45, 46, 47, 48]);
  });

  it('--task ID also tells the story of every attempt', async () => {
    const r = await orch(['log', '--repo', log.repo, '--task', 'T003']);
    expect(r.exitCode, r.stderr).toBe(0);
    const story = r.stdout.slice(r.stdout.indexOf('Task T003:'));
    expect(story).toContain('Task T003: 2 attempts');
    expect(story).toContain('Attempt 1  spawn s5  (implementer)');
    expect(story).toContain('  breakpoint blocked on ci: needs CI');
    expect(story).toMatch(/#\d+ TaskUnblocked: ci\nAttempt 2 {2}spawn s6/);
    expect(story).toContain('  gate: passed in 4.2s\n  merge: merged as c0ffees6');
  });

  it('an id nothing names is an error; hostile ids are only strings to filter on', async () => {
    const unknown = await orch(['log', '--repo', log.repo, '--task', 'T999']);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain(
      'Error: nothing found for task "T999": it is not in the plan and no event names it (known: T001, T002, T003, T004, T005)',
    );
    expect(unknown.stderr).toContain('Hint: check the id with orch status');
    const before = fs.readdirSync(log.repo);
    for (const args of [
      ['--task', '../../x'],
      ['--spawn', '--upload-pack=touch /tmp/pwned'],
      ['--task', 'T001', '--spawn', 's2'],
    ]) {
      const r = await orch(['log', '--repo', log.repo, ...args, '--json']);
      expect(r.exitCode).toBe(1);
      expect(JSON.parse(r.stdout).error.code).toMatch(/^(TASK|SPAWN)_NOT_FOUND$/);
    }
    expect(fs.readdirSync(log.repo)).toEqual(before);
    expect(fs.existsSync('/tmp/pwned')).toBe(false);
    const type = await orch(['log', '--repo', log.repo, '--type', 'AgentExploded']);
    expect(type.exitCode).toBe(1);
    expect(type.stderr).toContain('Error: unknown event type AgentExploded');
  });
});
