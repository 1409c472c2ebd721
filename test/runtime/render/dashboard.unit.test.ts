import { describe, expect, it } from 'vitest';
import { renderDashboard, summaryLine } from '../../../src/runtime/render/dashboard.js';
import type { DashboardView } from '../../../src/runtime/render/dashboard.js';
import { iso, makePlan, testConfig } from '../../core/fixtures.js';
import { Sim } from '../../core/sim.js';

/** A two-milestone plan mid-run: T1 done, T2 running (s2), T3 waiting to retry, T4 blocked phase. */
function midRun(): Sim {
  const plan = makePlan([
    { id: 'M1', phases: [{ id: 'P1', tasks: [{ id: 'T1' }, { id: 'T2', role: 'tester' }, { id: 'T3' }] }] },
    { id: 'M2', phases: [{ id: 'P2', deps: ['P1'], tasks: [{ id: 'T4' }] }] },
  ]);
  const sim = new Sim(plan, { ...testConfig, maxConcurrent: 3, retryInterval: 60 });
  sim.settle();
  sim.finish('T1');
  sim.settle();
  sim.start('T2').start('T3');
  sim.record('AgentExited', {
    spawnId: sim.spawnOf('T3'),
    exitCode: 1,
    signal: null,
    durationMs: 5,
    outputTail: '',
    usage: { inputTokens: 12_345, outputTokens: 678, costUsd: 0.25 },
  });
  sim.settle();
  return sim;
}

const view = (sim: Sim, extra: Partial<DashboardView> = {}): DashboardView => ({
  state: sim.state,
  source: '/repo/.state/orch.db',
  outputs: {},
  recent: ['00:00:01 T1       ■ exit 0 after 0.1s', '00:00:02 T2       ▶ attempt 1 (tester) spawn s2'],
  ...extra,
});

describe('renderDashboard', () => {
  it('shows the last output line of an agent with its control characters escaped', () => {
    const sim = midRun();
    const now = sim.now + 5_000;
    const s2 = sim.spawnOf('T2');
    const hostile = 'x\x1b[2J\x1b]52;c;aGk=\x07\r\x9b';
    const lines = renderDashboard(
      view(sim, { outputs: { [s2]: { lastLine: hostile, lastOutputAt: now - 1_000 } } }),
      { width: 200, now },
    );
    const text = lines.join('\n');
    expect(text).toContain('x\\x1b[2J\\x1b]52;c;aGk=\\x07\\r\\x9b');
    // eslint-disable-next-line no-control-regex
    expect(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/.test(text)).toBe(false);
  });

  it('shows totals, running agents with elapsed time, output activity and last line, work, progress, events', () => {
    const sim = midRun();
    const now = sim.now + 75_000;
    const s2 = sim.spawnOf('T2');
    const lines = renderDashboard(
      view(sim, {
        outputs: { [s2]: { lastLine: 'running tests: 41/42', lastOutputAt: now - 2_000 } },
        budget: 5,
      }),
      { width: 120, now },
    );
    const text = lines.join('\n');
    expect(lines[0]).toBe(
      'orch watch · Test plan · run #1 running since 00:00:00 (pid 101) · event ' + sim.state.position,
    );
    expect(text).toContain('Tasks 1/4 done · 2 running · 0 ready · 1 pending · 0 blocked · 0 failed');
    expect(text).toContain('Usage 3 attempt(s) · tokens 12.3k in / 678 out · cost $0.2500 of $5.00 budget');
    const agent = lines.find((l) => l.trimStart().startsWith('T2'));
    expect(
      agent
        ?.trim()
        .split(/\s{2,}/)
        .map((c) => c.trim()),
    ).toEqual(['T2', 'tester', '1', '1m15s', '2s', 'active', 'running tests: 41/42']);
    expect(text).toContain('Claimed: T2 running');
    expect(text).toContain('Ready:   T3 (retry due)');
    expect(text).toContain('  M1   [#######.............]     1/3  open        Milestone M1');
    expect(text).toContain('    P2 [....................]     0/1  blocked     Phase P2');
    expect(lines.slice(-2)).toEqual([
      '  00:00:01 T1       ■ exit 0 after 0.1s',
      '  00:00:02 T2       ▶ attempt 1 (tester) spawn s2',
    ]);
  });

  it('with targets, counts the tasks per repository and names each running agent’s repository', () => {
    const plan = makePlan([
      { id: 'M1', phases: [{ id: 'P1', tasks: [{ id: 'T1' }, { id: 'T2' }] }] },
      { id: 'M2', phases: [{ id: 'P2', tasks: [{ id: 'T3' }] }] },
    ]);
    const withTargets = {
      ...plan,
      phases: plan.phases.map((p) => (p.id === 'P2' ? { ...p, target: 'api' } : p)),
      tasks: plan.tasks.map((t) => (t.id === 'T2' ? { ...t, target: 'web' } : t)),
    };
    const sim = new Sim(withTargets, { ...testConfig, maxConcurrent: 3 });
    sim.settle();
    sim.finish('T3');
    sim.settle();
    const lines = renderDashboard(view(sim), { width: 120, now: sim.now });
    expect(lines).toContain('Targets main 0/1 done, 1 running · web 0/1 done, 1 running · api 1/1 done');
    const header = lines.find((l) => l.startsWith('REPO') || l.trimStart().startsWith('REPO'));
    expect(header?.trim().split(/\s{2,}/)[0]).toBe('REPO');
    const row = lines.find((l) => /^\s*web\s+T2\b/.test(l));
    expect(row).toBeDefined();
    expect(lines.some((l) => /^\s*main\s+T1\b/.test(l))).toBe(true);

    const plain = renderDashboard(view(midRun()), { width: 120, now: sim.now });
    expect(plain.some((l) => l.startsWith('Targets'))).toBe(false);
    expect(plain.some((l) => l.trimStart().startsWith('REPO'))).toBe(false);
  });

  it('after a crash (the log says running, no live orchestrator holds the state directory) says so', () => {
    const sim = midRun();
    const run = sim.state.run;
    const alive = { pid: run?.pid ?? 0, runId: run?.runId ?? '', host: 'h', acquiredAt: 'x', alive: true };
    const held = renderDashboard(view(sim, { lease: alive }), { width: 200, now: sim.now });
    expect(held[0]).toContain('running since');
    expect(held).toContain('Agents running (1)');
    for (const lease of [null, { ...alive, alive: false }, { ...alive, runId: 'another-run' }]) {
      const lines = renderDashboard(view(sim, { lease }), { width: 200, now: sim.now });
      expect(lines[0]).toContain(
        `run #1 recorded as running, but its orchestrator (pid ${run?.pid}) is gone: crashed or killed; orch spawn reconciles it`,
      );
      expect(lines).toContain(
        'Agents recorded as running (1): their orchestrator is gone, they may have died',
      );
      expect(summaryLine(view(sim, { lease }), sim.now)).toContain(
        'run running per the log, orchestrator gone',
      );
    }
    // Without lease information (a log read elsewhere) the log's word stands.
    expect(renderDashboard(view(sim), { width: 200, now: sim.now })[0]).toContain('running since');
  });

  it('marks an agent whose output stopped growing as quiet, and one with no output file', () => {
    const sim = midRun();
    const now = sim.now + 120_000;
    const s2 = sim.spawnOf('T2');
    const quiet = renderDashboard(
      view(sim, { outputs: { [s2]: { lastLine: 'x', lastOutputAt: now - 65_000 } } }),
      {
        width: 120,
        now,
      },
    );
    expect(quiet.find((l) => l.trimStart().startsWith('T2'))).toMatch(/\b1m05s\s+quiet 1m05s\s+x$/);
    const none = renderDashboard(view(sim), { width: 120, now });
    expect(none.find((l) => l.trimStart().startsWith('T2'))).toMatch(/\bno output$/);
  });

  it("shows each running agent's idle time: since its last output, or since it started when it printed nothing", () => {
    const sim = midRun();
    const now = sim.now + 120_000;
    const s2 = sim.spawnOf('T2');
    const header = (lines: string[]) => lines.find((l) => l.trimStart().startsWith('TASK')) ?? '';
    const row = (lines: string[]) =>
      (lines.find((l) => l.trimStart().startsWith('T2')) ?? '').trim().split(/\s{2,}/);
    const printed = renderDashboard(
      view(sim, { outputs: { [s2]: { lastLine: 'x', lastOutputAt: now - 30_000 } } }),
      { width: 160, now },
    );
    expect(
      header(printed)
        .trim()
        .split(/\s{2,}/),
    ).toEqual(['TASK', 'ROLE', 'TRY', 'ELAPSED', 'IDLE', 'OUTPUT', 'LAST LINE']);
    expect(row(printed)[4]).toBe('30s');
    const silent = renderDashboard(view(sim), { width: 160, now });
    // No output at all: idle as long as it has run.
    expect(row(silent)[4]).toBe(row(silent)[3]);
  });

  it('cuts every line to the width and the frame to the height, keeping the newest events', () => {
    const sim = midRun();
    const recent = Array.from({ length: 10 }, (_, i) => `event line ${i}`);
    const lines = renderDashboard(view(sim, { recent }), { width: 40, height: 25, now: sim.now });
    expect(lines.length).toBe(25);
    expect(lines.every((l) => [...l].length <= 40)).toBe(true);
    expect(lines[0]?.endsWith('…')).toBe(true);
    expect(lines.at(-1)).toBe('  event line 9');
    expect(lines).not.toContain('  event line 0');
  });

  it('shows a rate limit in force and an exhausted budget', () => {
    const sim = midRun();
    sim.record('RateLimited', { spawnId: sim.spawnOf('T2'), resetAt: iso(sim.now + 600_000) });
    sim.record('BudgetExhausted', { spentUsd: 0.25, budget: 0.2 });
    const text = renderDashboard(view(sim), { width: 120, now: sim.now }).join('\n');
    expect(text).toContain('! Rate limited until 00:10:00 (10m00s left)');
    expect(text).toContain('Ready:   T3 (retry in 1m00s)');
    expect(text).toContain('! Budget exhausted: spent $0.2500 of $0.2; no new attempts');
  });

  it('shows the budget in force: the configured one plus what people raised it by', () => {
    const sim = midRun();
    sim.record('BudgetExhausted', { spentUsd: 0.25, budget: 0.2 });
    sim.record('BudgetRaised', { amountUsd: 1 }, 'user');
    const text = renderDashboard(view(sim, { budget: 0.2 }), { width: 120, now: sim.now }).join('\n');
    expect(text).toContain('cost $0.2500 of $1.20 budget');
    expect(text).not.toContain('Budget exhausted');
  });

  it('renders an empty log', () => {
    const sim = new Sim(makePlan([]));
    const text = renderDashboard(view(sim, { recent: [] }), { width: 80, now: sim.now }).join('\n');
    expect(text).toContain('Agents: none running');
    expect(text).toContain('Tasks 0/0 done');
  });
});

describe('summaryLine and helpers', () => {
  it('summarises the run in one line', () => {
    const sim = midRun();
    const line = summaryLine(view(sim), sim.now + 3_000);
    expect(line).toMatch(
      /^\d\d:\d\d:\d\d event \d+ · run running · tasks 1\/4 done, 2 running, 0 failed, 0 blocked · agents T2#1 3s no output · \$0\.2500$/,
    );
  });
});
