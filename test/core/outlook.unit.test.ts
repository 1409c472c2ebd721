import { describe, expect, it } from 'vitest';
import { outlook } from '../../src/core/outlook.js';
import { iso, makePlan, testConfig } from './fixtures.js';
import { Sim } from './sim.js';

const plan = makePlan([{ id: 'M1', phases: [{ id: 'P1', tasks: [{ id: 'T1' }, { id: 'T2' }] }] }]);
const look = (sim: Sim, tasks?: string[]) =>
  outlook(sim.state, sim.state.plan, sim.config, sim.now, tasks === undefined ? {} : { tasks });

describe('outlook', () => {
  it('is busy while there is work, done when every task and milestone is complete', () => {
    const sim = new Sim(plan, { ...testConfig, autoMerge: false });
    expect(look(sim).status).toBe('busy'); // commands to carry out
    sim.settle();
    expect(look(sim)).toMatchObject({ status: 'busy', liveAgents: 2 });
    sim.finish('T1');
    sim.finish('T2');
    expect(look(sim).status).toBe('busy'); // phase and milestone still to complete
    sim.settle();
    expect(look(sim)).toEqual({
      status: 'done',
      liveAgents: 0,
      failedTasks: [],
      blocked: [],
      nextWakeAt: null,
    });
  });

  it('sleeps until the next retry, then fails when retries are used up', () => {
    const sim = new Sim(plan, { ...testConfig, maxRetries: 0, retryInterval: 60 });
    sim.settle({ tasks: ['T1'] });
    sim.start('T1').exit('T1', 1);
    sim.settle({ tasks: ['T1'] });
    expect(look(sim, ['T1'])).toMatchObject({ status: 'failed', failedTasks: ['T1'] });
    const retry = new Sim(plan, { ...testConfig, maxRetries: 3, retryInterval: 60 });
    retry.settle({ tasks: ['T1'] });
    retry.start('T1').exit('T1', 1);
    retry.settle({ tasks: ['T1'] });
    expect(look(retry, ['T1'])).toMatchObject({ status: 'busy', nextWakeAt: retry.now + 60_000 });
  });

  it('waits on the outside when work is blocked on CI or a person', () => {
    const sim = new Sim(plan, testConfig);
    sim.settle({ tasks: ['T1'] });
    sim
      .start('T1')
      .record('BreakpointReported', { spawnId: 's1', kind: 'blocked', on: ['ci'] })
      .exit('T1', 0);
    expect(look(sim, ['T1'])).toMatchObject({ status: 'waiting', blocked: [{ taskId: 'T1', on: ['ci'] }] });
    sim.record('CiCompleted', { result: 'pass' });
    expect(look(sim, ['T1']).status).toBe('busy');
  });

  it('treats a pending rate-limit reset as a timer', () => {
    const sim = new Sim(plan, testConfig);
    sim.settle({ tasks: ['T1'] });
    const reset = sim.now + 5000;
    sim
      .start('T1')
      .record('RateLimited', { spawnId: 's1', resetAt: iso(reset) })
      .exit('T1', 1);
    sim.settle({ tasks: ['T1'] });
    expect(look(sim, ['T1']).nextWakeAt).toBe(reset);
  });
});
