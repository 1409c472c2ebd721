/**
 * orch as several worker processes over one PostgreSQL log and one bare git remote, each
 * worker in its own clone (the built CLI; nothing mocked): a race of 8 workers over 200
 * tasks, workers killed with SIGKILL, a worker paused past `workerTimeout`, and the
 * PostgreSQL server restarted mid-run. Each ends with every task merged exactly once on the
 * remote, no task with two live agents in the log, gapless positions and `replay --verify`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/core/envelope.js';
import { runOrch, orchEnv } from '../fixtures/agents/e2e-repo.js';
import { isProcessAlive } from '../../src/runtime/system/process-identity.js';
import { usePostgres } from '../setup/postgres.js';
import {
  membershipsOf,
  overlappingAgents,
  readLog,
  remoteMerges,
  startWorker,
  waitForLog,
  workerPlan,
  workerSetup,
  type WorkerProcess,
  type WorkerSetup,
} from './workers-harness.js';

const pg = usePostgres('orch_workers');
const made: WorkerSetup[] = [];

afterAll(() => {
  for (const setup of made) fs.rmSync(setup.dir, { recursive: true, force: true });
});

function setUp(tasks: number, phases: number, config: Record<string, unknown>): WorkerSetup {
  const setup = workerSetup(pg.freshDatabase(), workerPlan(tasks, phases), {
    workerTimeout: 60,
    maxConcurrent: 4,
    ...config,
  });
  made.push(setup);
  return setup;
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `T${i + 1}`).sort();

/** What every run must end with: each task merged once, no doubled agent, a gapless log that replays. */
async function checkOutcome(setup: WorkerSetup, tasks: number, clone: string): Promise<RecordedEvent[]> {
  const merges = remoteMerges(setup.bare);
  expect([...merges].sort()).toEqual(ids(tasks));
  const events = readLog(setup.url);
  expect(events.map((e) => e.position)).toEqual(events.map((_, i) => i + 1));
  expect(overlappingAgents(events)).toEqual([]);
  const merged = events
    .filter((e) => e.type === 'BranchMerged')
    .map((e) => (e.data as { taskId: string }).taskId);
  expect(merged.sort()).toEqual(ids(tasks));
  // The milestone's pull request was opened once, by one worker.
  expect(events.filter((e) => e.type === 'PullRequestOpened')).toHaveLength(1);
  const verify = await runOrch(['replay', '--verify', '--repo', clone], {
    env: orchEnv({ ORCH_DATABASE_URL: setup.url }),
  });
  expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  return events;
}

async function finished(workers: readonly WorkerProcess[]): Promise<void> {
  for (const w of workers) {
    const result = await w.done;
    expect(result.code, `${w.name}: ${result.stdout.slice(-2000)}${result.stderr.slice(-2000)}`).toBe(0);
  }
}

describe.runIf(pg.enabled)('workers over one PostgreSQL log and one remote', () => {
  it('8 workers on 200 tasks with dependencies: each task claimed by one, merged once', async () => {
    const setup = setUp(200, 4, {});
    const clones = Array.from({ length: 8 }, (_, i) => setup.clone(`w${i + 1}`));
    const workers = clones.map((clone, i) => startWorker(clone, `w${i + 1}`));
    await finished(workers);
    const events = await checkOutcome(setup, 200, clones[0]!);
    const joined = events.filter((e) => e.type === 'WorkerJoined');
    expect(joined).toHaveLength(8);
    expect(events.filter((e) => e.type === 'WorkerDeparted')).toHaveLength(8);
    expect(events.filter((e) => e.type === 'WorkerLost')).toEqual([]);
    // The work was shared: more than one worker spawned agents.
    const spawners = new Set(
      events.filter((e) => e.type === 'AgentSpawnRequested').map((e) => e.metadata?.runId),
    );
    expect(spawners.size).toBeGreaterThan(1);
    // Status is read from any clone with the same log.
    const status = await runOrch(['status', '--json', '--repo', clones[5]!], {
      env: orchEnv({ ORCH_DATABASE_URL: setup.url }),
    });
    expect(status.code, status.stderr).toBe(0);
    const doc = JSON.parse(status.stdout) as { tasks: { status: string }[] };
    expect(doc.tasks.filter((t) => t.status === 'complete')).toHaveLength(200);
  }, 600_000);

  it('3 workers killed with SIGKILL at random moments: their tasks finish on the one left', async () => {
    const seed = Date.now() % 100_000;
    let state = seed;
    const random = () => (state = (state * 48271) % 2147483647) / 2147483647;
    const setup = setUp(40, 2, { workerTimeout: 2 });
    const env = { AGENT_SLEEP_MS: '400' };
    const workers = ['k1', 'k2', 'k3', 'k4'].map((name) => startWorker(setup.clone(name), name, env));
    await waitForLog(setup.url, (events) =>
      events.filter((e) => e.type === 'WorkerJoined').length === 4 ? true : undefined,
    );
    for (const victim of workers.slice(1)) {
      await new Promise((resolve) => setTimeout(resolve, 300 + random() * 1500));
      victim.child.kill('SIGKILL');
      const result = await victim.done;
      expect(result.signal, `seed ${seed}`).toBe('SIGKILL');
    }
    await finished(workers.slice(0, 1));
    const events = await checkOutcome(setup, 40, path.join(setup.dir, 'k1'));
    // Each killed membership was declared lost exactly once.
    const lost = events
      .filter((e) => e.type === 'WorkerLost')
      .map((e) => (e.data as { worker: string }).worker);
    expect(lost.sort(), `seed ${seed}`).toEqual(['k2', 'k3', 'k4']);
  }, 300_000);

  it('a worker paused past workerTimeout: declared lost, its late reports refused, it rejoins; nothing merges twice', async () => {
    const setup = setUp(24, 1, { workerTimeout: 2, maxConcurrent: 2 });
    const env = { AGENT_SLEEP_MS: '1500' };
    const paused = startWorker(setup.clone('p1'), 'p1', env);
    const others = ['p2', 'p3'].map((name) => startWorker(setup.clone(name), name, env));
    // Pause p1 while one of its agents runs.
    const first = await waitForLog(setup.url, (events) => {
      const runId = membershipsOf(events, 'p1')[0];
      return runId !== undefined &&
        events.some((e) => e.type === 'AgentStarted' && e.metadata?.runId === runId)
        ? runId
        : undefined;
    });
    paused.child.kill('SIGSTOP');
    const lostAt = await waitForLog(
      setup.url,
      (events) =>
        events.find((e) => e.type === 'WorkerLost' && (e.data as { runId: string }).runId === first)
          ?.position,
    );
    // Its agents' work goes on elsewhere meanwhile; then it wakes up with reports that are stale.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    paused.child.kill('SIGCONT');
    await finished([paused, ...others]);
    expect((await paused.done).stderr).toContain('declared lost');
    const events = await checkOutcome(setup, 24, path.join(setup.dir, 'p2'));
    // Refused: nothing about tasks or agents from the old membership after it was declared lost.
    const late = events.filter(
      (e) => e.position > lostAt && e.metadata?.runId === first && !e.streamId.startsWith('run-'),
    );
    expect(late.map((e) => `${e.type} ${e.streamId}`)).toEqual([]);
    // It joined again under a new membership.
    expect(membershipsOf(events, 'p1').length).toBeGreaterThanOrEqual(2);
    expect(
      events.filter((e) => e.type === 'WorkerLost').map((e) => (e.data as { runId: string }).runId),
    ).toEqual([first]);
  }, 300_000);

  it('the PostgreSQL server restarted mid-run: workers wait, reconnect and finish; nothing acknowledged is lost', async () => {
    const setup = setUp(30, 2, {});
    const env = { AGENT_SLEEP_MS: '300' };
    const workers = ['r1', 'r2'].map((name) => startWorker(setup.clone(name), name, env));
    const before = await waitForLog(setup.url, (events) =>
      events.filter((e) => e.type === 'BranchMerged').length >= 5 ? events.length : undefined,
    );
    await pg.server().restart('immediate', 1500);
    await finished(workers);
    const events = await checkOutcome(setup, 30, path.join(setup.dir, 'r1'));
    expect(events.length).toBeGreaterThan(before);
  }, 300_000);

  it('a worker killed and started again on the same host ends its old membership at once and stops what it left running', async () => {
    const setup = setUp(6, 1, { workerTimeout: 60, maxConcurrent: 2 });
    const clone = setup.clone('s1');
    const first = startWorker(clone, 's1', { AGENT_SLEEP_MS: '60000' });
    const started = await waitForLog(setup.url, (events) => {
      const pids = events
        .filter((e) => e.type === 'AgentStarted')
        .map((e) => (e.data as { pid: number }).pid);
      return pids.length === 2 ? pids : undefined;
    });
    first.child.kill('SIGKILL');
    await first.done;
    // The orphaned agents still run (they sleep a minute)...
    for (const pid of started) expect(isProcessAlive(pid)).toBe(true);
    const again = startWorker(clone, 's1', { AGENT_SLEEP_MS: '100' });
    // ...until the restarted worker ends its old membership, without waiting for workerTimeout (60 s).
    const lost = await waitForLog(setup.url, (events) => events.find((e) => e.type === 'WorkerLost'), 30_000);
    const memberships = membershipsOf(readLog(setup.url), 's1');
    expect(lost.data).toMatchObject({ worker: 's1', declaredBy: memberships[0], runId: memberships[1] });
    await finished([again]);
    // Gone (a zombie counts as gone: an init that does not reap orphans keeps them listed).
    for (const pid of started) expect(isProcessAlive(pid)).toBe(false);
    await checkOutcome(setup, 6, clone);
  }, 120_000);

  it('refuses to start a worker whose plan differs from the log, naming the difference', async () => {
    const setup = setUp(3, 1, {});
    const a = setup.clone('d1');
    const first = startWorker(a, 'd1');
    await finished([first]);
    const b = setup.clone('d2');
    fs.writeFileSync(path.join(b, 'plan.yaml'), workerPlan(4, 1));
    const result = await runOrch(['spawn', '-q', '--worker', 'd2', '--repo', b]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(
      /plan differs from the run's: task T4 is in this checkout's plan but not in the log's/,
    );
  }, 120_000);
});
