import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../../src/core/envelope.js';
import { Replayer } from '../../../src/core/replayer.js';
import { stateAt } from '../../../src/core/evolve.js';
import { statusView } from '../../../src/core/status-view.js';
import { isLiveAgent, type OrchState } from '../../../src/core/state.js';
import type { ReportData } from '../../../src/runtime/report/data.js';
import type { StateSpec } from '../../../src/machines/spec.js';
import { taskMachineConfig } from '../../../src/machines/task-machine.js';
import { renderReport } from '../../../src/runtime/report/html.js';
import { REPORT_STATES_JS } from '../../../src/runtime/report/page-states.js';
import { writeReport } from '../../../src/runtime/operations/report.js';
import { openSqliteEventStore } from '../../../src/store/index.js';
import type { Plan } from '../../../src/plan/model.js';
import { configArb, planArb, runDriver, stepArb } from '../../core/driver.js';
import { makePlan, testConfig } from '../../core/fixtures.js';
import { removeDir, tempDir } from '../helpers.js';
import { withExtras } from './extras-log.js';

const DATA_RE = /<script type="application\/json" id="orch-data">([^<]*)<\/script>/;

/** The data a rendered page embeds, parsed back as the page parses it. */
function pageData(html: string): ReportData {
  const match = DATA_RE.exec(html);
  if (!match?.[1]) throw new Error('no embedded data in the page');
  return JSON.parse(match[1]) as ReportData;
}

type PageView = {
  tasks: {
    id: string;
    title: string;
    phase: string;
    role: string;
    status: string;
    detail: string;
    attempts: number;
  }[];
  liveAgents: number;
  ci: { result: string; position: number } | null;
  prs: { milestone: string }[];
};
type StateLookup = { at(p: number): PageView };
const makeStateLookup = vm.runInNewContext(`${REPORT_STATES_JS}\nmakeStateLookup;`) as (
  states: ReportData['states'],
) => StateLookup;

/** What the scrubber must show for orch's state: the page's view of it, from statusView. */
function expectedView(state: OrchState): Omit<PageView, 'tasks'> & { tasks: PageView['tasks'] } {
  const view = statusView(state);
  return {
    tasks: view.tasks.map(({ id, title, phase, role, status, detail, attempts }) => ({
      id,
      title,
      phase,
      role,
      status,
      detail,
      attempts,
    })),
    liveAgents: Object.values(state.agents).filter(isLiveAgent).length,
    ci: state.ci === null ? null : { result: state.ci.result, position: state.ci.position },
    prs: view.milestones.filter((m) => m.pr?.url != null).map((m) => ({ milestone: m.id })),
  };
}
const shown = (view: PageView) => ({
  tasks: view.tasks,
  liveAgents: view.liveAgents,
  ci: view.ci,
  prs: view.prs,
});

const plan = () =>
  makePlan([
    { id: 'M1', phases: [{ id: 'P1', tasks: [{ id: 'T1' }, { id: 'T2', deps: ['T1'] }] }] },
    { id: 'M2', phases: [{ id: 'P2', deps: ['P1'], tasks: [{ id: 'T3', deps: ['T2'] }] }] },
  ]);

function cooperativeLog(p: Plan = plan()): RecordedEvent[] {
  const steps = Array.from({ length: 60 }, () => ({ kind: 0, pick: 0, code: 0, dt: 1, keep: 99 }));
  return runDriver(p, { ...testConfig, maxRetries: 2 }, steps, 'cooperative').log;
}

const tasks = (view: ReturnType<typeof statusView>) => view.tasks.map((t) => [t.id, t.status, t.attempts]);

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) removeDir(d);
  dirs = [];
});

describe('renderReport', () => {
  it('renders one page with the data, the lanes, the graph, the attempts table and the scrubber', () => {
    const log = cooperativeLog();
    const html = renderReport(log);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    for (const id of ['timeline', 'graph', 'attempts', 'scrubber', 'state-table'])
      expect(html).toContain(`id="${id}"`);
    expect(html.match(/<script\b/gi)).toHaveLength(2);
    expect(html.match(/<\/script>/gi)).toHaveLength(2);
    const data = pageData(html);
    expect(data.to).toBe(log.length);
    expect(data.final.tasks.map((t) => [t.id, t.status])).toEqual([
      ['T1', 'complete'],
      ['T2', 'complete'],
      ['T3', 'complete'],
    ]);
    expect(data.attempts.map((a) => a.spawnId)).toEqual(
      log.filter((e) => e.type === 'AgentSpawnRequested').map((e) => (e.data as { spawnId: string }).spawnId),
    );
    expect(data.attempts.map((a) => [a.task, a.attempt, a.gate, a.merge?.slice(0, 6)])).toEqual([
      ['T1', 1, 'passed', 'merged'],
      ['T2', 1, 'passed', 'merged'],
      ['T3', 1, 'passed', 'merged'],
    ]);
    expect(data.states.values).toContainEqual(['complete', 'complete']);
    expect(data.states.values).toContainEqual(['spawning', 'running']);
  });

  it('has no URL, link or import of anything outside the page, and a CSP that forbids fetching', () => {
    const html = renderReport(cooperativeLog());
    // The demo plan opens PRs at https://pr/M1: such text may only sit inside the embedded JSON.
    const outsideData = html.replace(DATA_RE, '');
    expect(outsideData).not.toMatch(
      /\b(?:https?|ftp|wss?|file|blob):|\bdata:[\w-]+\/|\/\/[\w-]+\.[\w.-]+\//i,
    );
    expect(outsideData).not.toMatch(/\b(?:src|href|xlink:href|srcset|action)\s*=/i);
    expect(outsideData).not.toMatch(/url\s*\(|@import|\bimport\s*\(|fetch\s*\(|XMLHttpRequest|WebSocket/i);
    expect(html).toContain(
      `content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"`,
    );
    expect(pageData(html).events.some((e) => e[1] === 'PullRequestOpened')).toBe(true);
  });

  it('keeps hostile text from the log as text: titles, summaries and ids cannot close the script', () => {
    const hostile = '</script><script>alert(1)</script><img src=x onerror=alert(2)>';
    const p = plan();
    p.name = `Calc ${hostile}`;
    (p.tasks[0] as { title: string }).title = hostile;
    const log = cooperativeLog(p);
    const spawn = log.find((e) => e.type === 'AgentSpawnRequested') as RecordedEvent;
    const spawnId = (spawn.data as { spawnId: string }).spawnId;
    const last = log[log.length - 1] as RecordedEvent;
    log.push({
      ...last,
      position: last.position + 1,
      id: 'x1',
      type: 'SignalRejected',
      data: { spawnId, reason: `stale ${hostile} \u2028 & <!--`, kind: 'complete' },
    });
    const html = renderReport(log);
    expect(html.match(/<script\b/gi)).toHaveLength(2);
    expect(html.match(/<\/script>/gi)).toHaveLength(2);
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<!--');
    expect(html).toContain('<title>orch report: Calc &#60;/script&#62;&#60;script&#62;alert(1)');
    const data = pageData(html);
    expect(data.final.tasks[0]?.title).toBe(hostile);
    expect(data.events.at(-1)?.[3].reason).toBe(`stale ${hostile} \u2028 & <!--`);
  });

  it('shows workspace set-up and ports per attempt, notify outcomes per rule and the fork origin', () => {
    const hostile = '</script><script>alert(1)</script>';
    const log = withExtras(cooperativeLog(), hostile);
    const html = renderReport(log);
    expect(html.match(/<\/script>/gi)).toHaveLength(2);
    const data = pageData(html);
    const [first, second, third] = data.attempts;
    expect(first?.setup).toEqual({
      commandLine: 'sh -c npm ci',
      exitCode: 0,
      timedOut: false,
      durationMs: 1200,
      copied: 2,
      tail: `added 10 packages\n${hostile}`,
    });
    expect(first?.ports).toBe('41010-41013');
    expect(second?.setup).toEqual({
      commandLine: 'make deps',
      exitCode: null,
      timedOut: true,
      durationMs: 60000,
      copied: 0,
      tail: 'fetching…',
    });
    expect(second?.ports).toBe('41020-41023');
    expect(third?.setup).toBeUndefined();
    expect(third?.ports).toBeUndefined();
    expect(data.fork).toEqual({
      stateDir: `/src/.state ${hostile}`,
      runId: 'run-original',
      position: 2,
      repo: '/forks/one/repo',
      forkedAt: '2026-01-02T03:04:05.000Z',
    });
    expect(data.notifications).toEqual([
      {
        rule: 'TaskFailed → notify-send',
        delivered: 2,
        retrying: 0,
        givenUp: 0,
        failedAttempts: 1,
        lastError: 'exit 1',
      },
      {
        rule: 'TaskUnblocked → curl',
        delivered: 0,
        retrying: 0,
        givenUp: 1,
        failedAttempts: 1,
        lastError: `exit 7\n${hostile}`,
      },
    ]);
    // On the run lane: the fork and the given-up delivery (a retried failure is only counted).
    expect(
      data.events
        .filter((e) => e[1] === 'RunForked' || e[1] === 'NotificationFailed')
        .map((e) => [e[1], e[3].final]),
    ).toEqual([
      ['RunForked', undefined],
      ['NotificationFailed', true],
    ]);
    expect(data.events.find((e) => e[1] === 'RunForked')?.[3].branches).toBeUndefined();
    // A log without them: nothing shown.
    const plain = pageData(renderReport(cooperativeLog()));
    expect(plain.fork).toBeNull();
    expect(plain.notifications).toEqual([]);
    expect(plain.attempts.every((a) => a.setup === undefined && a.ports === undefined)).toBe(true);
    // Set-up output shares the tail budget with the agents' output.
    const tight = pageData(renderReport(withExtras(cooperativeLog(), 'y'.repeat(2000)), { tailBudget: 10 }));
    expect(tight.attempts[0]?.setup?.tail).toHaveLength(101);
  });

  it('caps long texts: output tails keep their last 500 characters, other texts their first', () => {
    const log = cooperativeLog();
    const exit = log.find((e) => e.type === 'AgentExited') as RecordedEvent;
    const tail = `${'x'.repeat(5000)}THE END`;
    (exit.data as { outputTail: string }).outputTail = tail;
    const rejected: RecordedEvent = { ...exit, id: 'x2', position: log.length + 1, type: 'SignalRejected' };
    rejected.data = { spawnId: 's1', reason: `${'why '.repeat(400)}`, kind: 'complete' };
    log.push(rejected);
    const data = pageData(renderReport(log));
    const embedded = data.attempts.find((a) => a.ended?.[0] === exit.position)?.tail as string;
    expect(embedded).toHaveLength(501);
    expect(embedded.endsWith('THE END')).toBe(true);
    const reason = data.events.at(-1)?.[3].reason as string;
    expect(reason).toHaveLength(501);
    expect(reason.startsWith('why why')).toBe(true);
    expect(JSON.stringify(data)).not.toContain('"command"');
  });

  it('shares a budget for output tails on long logs, keeping at least 100 characters of each', () => {
    const log = cooperativeLog();
    const exits = log.filter((e) => e.type === 'AgentExited');
    exits.forEach((e, i) => ((e.data as { outputTail: string }).outputTail = `${'z'.repeat(900)}end ${i}`));
    const tailsOf = (data: ReportData) =>
      exits.map((e) => data.attempts.find((a) => a.ended?.[0] === e.position)?.tail as string);
    const roomy = tailsOf(pageData(renderReport(log)));
    expect(roomy.map((t) => t.length)).toEqual(exits.map(() => 501));
    const tight = tailsOf(pageData(renderReport(log, { tailBudget: exits.length * 150 })));
    expect(tight.map((t) => t.length)).toEqual(exits.map(() => 151));
    expect(tight.every((t, i) => t.endsWith(`end ${i}`))).toBe(true);
    const tiny = tailsOf(pageData(renderReport(log, { tailBudget: 10 })));
    expect(tiny.map((t) => t.length)).toEqual(exits.map(() => 101));
  });

  it('stops at `to`: later events are neither embedded nor folded', () => {
    const log = cooperativeLog();
    const data = pageData(renderReport(log, { to: 12 }));
    expect(data.to).toBe(12);
    expect(data.eventCount).toBe(12);
    expect(Math.max(...data.events.map((e) => e[0]))).toBeLessThanOrEqual(12);
    expect(tasks(data.final)).toEqual(tasks(statusView(stateAt(log, 12))));
  });

  it('holds no copy of the task machine: no transition table, no guard, no status mapping', () => {
    const states: Readonly<Record<string, StateSpec>> = taskMachineConfig.states;
    const guards = new Set(
      Object.values(states).flatMap((st) =>
        [...Object.values(st.on ?? {}), st.always ?? []].flat().flatMap((t) => t.guard ?? []),
      ),
    );
    expect(guards.size).toBeGreaterThan(3);
    const html = renderReport(cooperativeLog());
    for (const guard of guards) expect(html).not.toContain(guard);
    const data = pageData(html) as ReportData & Record<string, unknown>;
    expect(data.machine).toBeUndefined();
    expect(data.statusOf).toBeUndefined();
  });

  it("the page's states are orch's Replayer states at every position of random logs (with plan revisions)", () => {
    fc.assert(
      fc.property(
        planArb,
        planArb,
        configArb,
        fc.array(stepArb, { minLength: 10, maxLength: 80 }),
        fc.nat(),
        (plan1, plan2, config, steps, cut) => {
          const log = runDriver(plan1, config, steps).log;
          // Splice in a revision: tasks kept, removed and new (some declared complete) mid-run.
          const at = cut % (log.length + 1);
          const revised: RecordedEvent = {
            position: 0,
            id: 'rev',
            streamId: 'plan',
            streamVersion: 2,
            type: 'PlanRevised',
            data: { plan: plan2, diff: { added: [], removed: [], changed: [] } },
            metadata: {},
            recordedAt: log[Math.max(0, at - 1)]?.recordedAt ?? '2025-01-01T00:00:00.000Z',
          };
          const events = [...log.slice(0, at), revised, ...log.slice(at)].map((e, i) => ({
            ...e,
            position: i + 1,
          }));
          const states = makeStateLookup(pageData(renderReport(events)).states);
          const replayer = new Replayer();
          expect(shown(states.at(0))).toEqual(expectedView(replayer.state));
          for (const e of events) {
            replayer.apply(e);
            expect(shown(states.at(e.position)), `position ${e.position}`).toEqual(
              expectedView(replayer.state),
            );
          }
          // Scrubbing backwards starts again and must give the same answer.
          const back = Math.floor(events.length / 2);
          expect(shown(states.at(back))).toEqual(expectedView(stateAt(events, back)));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('looks positions up back and forth over a long log', () => {
    const log: RecordedEvent[] = [];
    for (let i = 0; i < 30; i++) {
      // Each round loads a plan of new tasks (the old ones drop out) with spawn ids of its own.
      const round = makePlan([
        { id: 'M1', phases: [{ id: 'P1', tasks: [{ id: `R${i}a` }, { id: `R${i}b`, deps: [`R${i}a`] }] }] },
      ]);
      const offset = log.length;
      for (const e of cooperativeLog(round)) {
        const d = e.data as { spawnId?: string };
        const data = d.spawnId === undefined ? d : { ...d, spawnId: `${d.spawnId}-${i}` };
        log.push({ ...e, data, position: e.position + offset, id: `${e.id}-${i}` });
      }
    }
    expect(log.length).toBeGreaterThan(600);
    const states = makeStateLookup(pageData(renderReport(log)).states);
    for (const p of [log.length, 3, 600, 257, 256, 1, log.length - 1, 513, 0, 100]) {
      const q = Math.min(p, log.length);
      expect(shown(states.at(q)), `position ${q}`).toEqual(expectedView(stateAt(log, q)));
    }
  });
});

describe('writeReport (orch report)', () => {
  it('reads a real SQLite log read-only and writes the page atomically; --to and --at choose the end', () => {
    const dir = tempDir('report');
    dirs.push(dir);
    const stateDir = path.join(dir, '.state');
    fs.mkdirSync(stateDir);
    const log = cooperativeLog();
    const store = openSqliteEventStore(path.join(stateDir, 'orch.db'));
    store.importEvents(log);
    store.close();
    const file = path.join(dir, 'report.html');
    const all = writeReport(stateDir, file, {});
    expect(all).toMatchObject({ file, position: log.length, by: 'end' });
    expect(all.bytes).toBe(fs.statSync(file).size);
    expect(pageData(fs.readFileSync(file, 'utf8')).to).toBe(log.length);
    expect(fs.readdirSync(dir).sort()).toEqual(['.state', 'report.html']);

    expect(writeReport(stateDir, file, { to: '7' }).position).toBe(7);
    expect(pageData(fs.readFileSync(file, 'utf8')).to).toBe(7);
    const tenth = log[9] as RecordedEvent;
    const at = writeReport(stateDir, file, { at: tenth.recordedAt });
    expect(at.by).toBe('at');
    expect(at.position).toBe(
      Math.max(...log.filter((e) => e.recordedAt <= tenth.recordedAt).map((e) => e.position)),
    );
  });

  it('refuses a position beyond the log, a missing log and an unwritable target, naming each', () => {
    const dir = tempDir('report-err');
    dirs.push(dir);
    const stateDir = path.join(dir, '.state');
    fs.mkdirSync(stateDir);
    expect(() => writeReport(stateDir, path.join(dir, 'r.html'), {})).toThrow(
      expect.objectContaining({ code: 'LOG_NOT_FOUND' }),
    );
    const store = openSqliteEventStore(path.join(stateDir, 'orch.db'));
    store.importEvents(cooperativeLog());
    store.close();
    expect(() => writeReport(stateDir, path.join(dir, 'r.html'), { to: '9999' })).toThrow(
      expect.objectContaining({ code: 'REPLAY_TARGET_INVALID' }),
    );
    const missing = path.join(dir, 'no', 'such', 'dir', 'r.html');
    expect(() => writeReport(stateDir, missing, {})).toThrow(
      expect.objectContaining({ code: 'REPORT_WRITE_FAILED', message: expect.stringContaining(missing) }),
    );
    expect(fs.existsSync(path.join(dir, 'r.html'))).toBe(false);
  });
});
