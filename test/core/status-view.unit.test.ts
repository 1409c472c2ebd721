import { describe, expect, it } from 'vitest';
import { Replayer } from '../../src/core/replayer.js';
import { statusDocument } from '../../src/core/status-document.js';
import { statusView } from '../../src/core/status-view.js';
import { initialState } from '../../src/core/state.js';
import { makePlan, testConfig } from './fixtures.js';
import { Sim } from './sim.js';

describe('statusView', () => {
  it('is empty before a plan', () => {
    expect(statusView(initialState())).toMatchObject({ position: 0, plan: null, tasks: [], agents: [] });
  });

  it('shows the CLI shape: plan order, live statuses, attempts, agents and unresolved ones', () => {
    const plan = makePlan([
      {
        id: 'M1',
        phases: [
          {
            id: 'P1',
            tasks: [
              { id: 'T1', role: 'architect' },
              { id: 'T2', deps: ['T1'] },
            ],
          },
          { id: 'P2', deps: ['P1'], tasks: [{ id: 'T3' }] },
        ],
      },
      { id: 'M2', status: 'complete', phases: [] },
    ]);
    const sim = new Sim(plan, { ...testConfig, maxConcurrent: 2, retryInterval: 0 });
    sim.settle();
    sim.start('T1').exit('T1', 3);
    sim.perform(sim.decide());
    sim.restart();
    const view = statusView(sim.state);
    expect(view.position).toBe(sim.log.events.length);
    expect(view.plan).toEqual({ name: 'Test plan', source: 'plan.yaml' });
    expect(view.milestones).toEqual([
      { id: 'M1', title: 'Milestone M1', status: 'open', pr: null },
      { id: 'M2', title: 'Milestone M2', status: 'complete', pr: null },
    ]);
    expect(view.phases.map((p) => [p.id, p.status, p.dependsOn])).toEqual([
      ['P1', 'in_progress', []],
      ['P2', 'blocked', ['P1']],
    ]);
    expect(view.tasks.map((t) => [t.id, t.status, t.detail, t.attempts, t.role])).toEqual([
      ['T1', 'running', 'retryWait', 1, 'architect'],
      ['T2', 'pending', 'pending', 0, 'implementer'],
      ['T3', 'pending', 'pending', 0, 'implementer'],
    ]);
    expect(view.tasks[0]?.lastFailure).toBe('exit code 3');
    expect(view.agents).toEqual([
      {
        spawnId: 's1',
        task: 'T1',
        attempt: 1,
        status: 'exited',
        pid: 4000,
        exitCode: 3,
        signal: null,
        unresolved: false,
      },
    ]);
    sim.now += 1000;
    sim.perform(sim.decide());
    const next = statusView(sim.state);
    // The document is bounded by the plan: T1's earlier spawn s1 gives way to its last, s2.
    expect(next.agents).toHaveLength(1);
    expect(statusDocument(sim.state).totals.agents).toEqual({ live: 1, total: 2 });
    expect(next.agents[0]).toMatchObject({ spawnId: 's2', status: 'spawning', unresolved: false });
    sim.restart();
    expect(statusView(sim.state).agents[0]).toMatchObject({ spawnId: 's2', unresolved: true });
    // Plain JSON all the way.
    expect(JSON.parse(JSON.stringify(next))).toEqual(next);
  });
});

describe('Replayer', () => {
  it('continues from a snapshot to the same state as a full replay, and never touches the snapshot', () => {
    const plan = makePlan([{ id: 'M1', phases: [{ id: 'P1', tasks: [{ id: 'T1' }, { id: 'T2' }] }] }]);
    const sim = new Sim(plan);
    sim.settle();
    const cut = sim.log.events.length;
    sim.finish('T1');
    sim.settle();
    const all = sim.log.events;
    const snapshot = JSON.parse(JSON.stringify(new Replayer().applyAll(all.slice(0, cut)).state));
    const frozen = JSON.stringify(snapshot);
    const continued = new Replayer(snapshot).applyAll(all.slice(cut));
    expect(JSON.stringify(continued.state)).toBe(JSON.stringify(new Replayer().applyAll(all).state));
    expect(JSON.stringify(snapshot)).toBe(frozen);
    const copy = continued.snapshot();
    copy.tasks = {};
    expect(Object.keys(continued.state.tasks)).toEqual(['T1', 'T2']);
  });

  it('keeps ids like __proto__ and constructor as ordinary entries', () => {
    const plan = makePlan([
      { id: 'M1', phases: [{ id: 'P1', tasks: [{ id: '__proto__' }, { id: 'constructor' }] }] },
    ]);
    const sim = new Sim(plan, { ...testConfig, maxConcurrent: 5 });
    sim.settle();
    expect(Object.keys(sim.state.tasks)).toEqual(['__proto__', 'constructor']);
    expect(Object.getPrototypeOf(sim.state.tasks)).toBe(Object.prototype);
    expect(statusView(sim.state).tasks.map((t) => t.status)).toEqual(['running', 'running']);
    expect(JSON.parse(JSON.stringify(sim.state))).toEqual(new Replayer().applyAll(sim.log.events).snapshot());
  });
});
