import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OrchestratorConfigSchema, type OrchestratorConfigInput } from '../../../src/core/config.js';
import type { RecordedEvent } from '../../../src/core/envelope.js';
import { orchStatus } from '../../../src/runtime/operations/status.js';
import { Orchestrator } from '../../../src/runtime/orchestrator/orchestrator.js';
import { fixtureAgent, makePlanRepo, removeDir, repoEvents, tempDir } from '../helpers.js';

/**
 * `notify` through the real Orchestrator: a real command (a node script that appends its
 * stdin to a file) run for the events of real runs.
 */

const SINK = fixtureAgent('notify-sink.mjs');
const ENV_COMMIT = fixtureAgent('env-commit.mjs');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

const plan = (tasks: string[]) => `name: Notify
milestones:
  - id: M1
    title: One
    phases:
      - id: P1
        title: First
        dependsOn: []
        tasks:
${tasks.map((t) => `          - { id: ${t}, title: Make ${t}, role: dev }`).join('\n')}
`;

function setUp(tasks: string[]) {
  const root = tempDir('notify');
  dirs.push(root);
  const repo = makePlanRepo(root, plan(tasks));
  const echoDir = path.join(root, 'echo');
  fs.mkdirSync(echoDir);
  const sink = (name: string) => path.join(root, name);
  const config = (extra: OrchestratorConfigInput) =>
    OrchestratorConfigSchema.parse({
      planDir: 'plan.yaml',
      retryInterval: 0,
      maxRetries: 0,
      maxConcurrent: 1,
      stallTimeout: 0,
      agents: { default: { command: ['node', '-e', 'process.exit(1)'] } },
      ...extra,
    });
  return { root, repo, echoDir, sink, config };
}

const lines = (file: string) =>
  fs.existsSync(file)
    ? fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map(
          (l) =>
            JSON.parse(l) as {
              position: number;
              type: string;
              data: Record<string, unknown>;
              notify: { on: string; attempt: number };
            },
        )
    : [];
const ofType = (log: RecordedEvent[], type: string) => log.filter((e) => e.type === type);

describe('notify', () => {
  it('runs the command with each matching event as JSON on stdin, after it is in the log, and records the delivery', async () => {
    const { repo, sink, config } = setUp(['T1']);
    const out = sink('out.jsonl');
    const outcome = await new Orchestrator({
      repoDir: repo,
      config: config({ notify: [{ on: ['task.failed', 'run.stopped'], command: [SINK, out] }] }),
      killGraceMs: 500,
    }).run();
    expect(outcome.exitCode).toBe(1);
    const got = lines(out);
    expect(got.map((g) => [g.type, g.notify.on]).sort()).toEqual([
      ['RunStopped', 'run.stopped'],
      ['TaskFailed', 'task.failed'],
    ]);
    const log = repoEvents(repo);
    const failed = ofType(log, 'TaskFailed')[0]!;
    expect(got.find((g) => g.type === 'TaskFailed')).toMatchObject({
      position: failed.position,
      data: { taskId: 'T1' },
      notify: { attempt: 1 },
    });
    const delivered = ofType(log, 'NotificationDelivered');
    expect(delivered).toHaveLength(2);
    for (const d of delivered) {
      const data = d.data as { position: number; attempts: number };
      expect(data.attempts).toBe(1);
      // Recorded after the event it delivered.
      expect(d.position).toBeGreaterThan(data.position);
    }
    // Nothing is delivered for events no rule is on.
    expect(got.some((g) => g.type === 'AgentExited')).toBe(false);
  }, 60_000);

  it('retries a failing command with backoff, records each failure, and gives up after its retries', async () => {
    const { repo, sink, config } = setUp(['T1']);
    const out = sink('out.jsonl');
    fs.writeFileSync(`${out}.fail`, '');
    await new Orchestrator({
      repoDir: repo,
      config: config({ notify: [{ on: ['task.failed'], command: [SINK, out], retries: 2, backoff: 0.05 }] }),
      killGraceMs: 500,
    }).run();
    const failures = ofType(repoEvents(repo), 'NotificationFailed').map(
      (e) => e.data as { attempt: number; final: boolean; error: string; eventType: string },
    );
    expect(failures.map((f) => [f.attempt, f.final])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
    expect(failures[0]).toMatchObject({
      eventType: 'TaskFailed',
      error: expect.stringContaining('sink down'),
    });
    expect(ofType(repoEvents(repo), 'NotificationDelivered')).toEqual([]);
    expect(lines(out)).toEqual([]);
    // orch status tells it.
    expect((await orchStatus(path.join(repo, '.state'))).extras.notifications).toEqual({
      delivered: 0,
      retrying: 0,
      givenUp: 1,
    });
  }, 60_000);

  it('delivers after a restart what an earlier run recorded but could not deliver, and nothing twice', async () => {
    const { repo, sink, config } = setUp(['T1']);
    const failed = sink('failed.jsonl');
    const started = sink('started.jsonl');
    const cfg = config({
      notify: [
        { on: ['task.failed'], command: [SINK, failed], retries: 5, backoff: 600 },
        { on: ['run.started'], command: [SINK, started] },
      ],
    });
    fs.writeFileSync(`${failed}.fail`, '');
    await new Orchestrator({ repoDir: repo, config: cfg, killGraceMs: 500 }).run();
    const first = repoEvents(repo);
    expect(ofType(first, 'NotificationFailed').map((e) => (e.data as { final: boolean }).final)).toEqual([
      false,
    ]);
    expect(lines(failed)).toEqual([]);
    expect(lines(started)).toHaveLength(1);
    // The sink is back; the next run (with nothing left to do) delivers the pending event.
    fs.rmSync(`${failed}.fail`);
    await new Orchestrator({ repoDir: repo, config: cfg, killGraceMs: 500 }).run();
    const taskFailed = ofType(first, 'TaskFailed')[0]!;
    expect(lines(failed).map((g) => g.position)).toEqual([taskFailed.position]);
    expect(lines(failed)[0]?.notify.attempt).toBe(2);
    const delivered = ofType(repoEvents(repo), 'NotificationDelivered').map(
      (e) => e.data as { position: number; attempts: number; eventType: string },
    );
    expect(delivered.filter((d) => d.eventType === 'TaskFailed')).toEqual([
      expect.objectContaining({ position: taskFailed.position, attempts: 2 }),
    ]);
    // Each run's RunStarted once: run 1's was not delivered again by run 2.
    const runStarts = ofType(repoEvents(repo), 'RunStarted').map((e) => e.position);
    expect(lines(started).map((g) => g.position)).toEqual(runStarts);
    expect((await orchStatus(path.join(repo, '.state'))).extras.notifications).toEqual({
      delivered: 3,
      retrying: 0,
      givenUp: 0,
    });
  }, 60_000);

  it('a notifier that is still busy does not hold the run back', async () => {
    const { repo, echoDir, sink, config } = setUp(['T1', 'T2']);
    const out = sink('out.jsonl');
    // The delivery of RunStarted waits until T2 is merged: if the loop waited for it, T2
    // could never be merged.
    fs.writeFileSync(`${out}.hold`, '');
    const outcome = await new Orchestrator({
      repoDir: repo,
      config: config({
        agents: { default: { command: [ENV_COMMIT], env: { ECHO_DIR: echoDir } } },
        notify: [{ on: ['run.started'], command: [SINK, out] }],
      }),
      killGraceMs: 500,
      onEvent: (event) => {
        if (event.type === 'BranchMerged' && (event.data as { taskId: string }).taskId === 'T2')
          fs.rmSync(`${out}.hold`, { force: true });
      },
    }).run();
    expect(outcome.exitCode).toBe(0);
    const log = repoEvents(repo);
    const mergedT2 = log.find(
      (e) => e.type === 'BranchMerged' && (e.data as { taskId: string }).taskId === 'T2',
    )!;
    const delivered = ofType(log, 'NotificationDelivered');
    expect(delivered).toHaveLength(1);
    expect(mergedT2.position).toBeLessThan(delivered[0]!.position);
    expect(lines(out).map((g) => g.type)).toEqual(['RunStarted']);
  }, 90_000);
});

describe('notify config', () => {
  it('refuses an unknown event type or alias, and notifications about notifications', () => {
    const bad = OrchestratorConfigSchema.safeParse({ notify: [{ on: ['task.faild'], command: ['x'] }] });
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error?.issues)).toContain('unknown event type or alias \\"task.faild\\"');
    const loop = OrchestratorConfigSchema.safeParse({
      notify: [{ on: ['NotificationFailed'], command: ['x'] }],
    });
    expect(loop.success).toBe(false);
    expect(
      OrchestratorConfigSchema.safeParse({
        notify: [{ on: ['TaskFailed', 'budget.exhausted'], command: ['x'] }],
      }).success,
    ).toBe(true);
  });
});
