import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../../src/core/config.js';
import { planSetOptionsFor, targetAgentRoles } from '../../../src/runtime/project/plan-set.js';

describe('planSetOptionsFor', () => {
  const config = {
    agents: { implementer: { command: ['a'] }, tester: { command: ['b'] } },
    targets: {
      api: { path: '../api', agents: { implementer: { command: ['c'] } } },
      web: { path: '../web' },
    },
  };

  it('takes the configured roles, target ids and each target’s own roles', () => {
    expect(planSetOptionsFor(config)).toEqual({
      agentRoles: ['implementer', 'tester'],
      targets: ['api', 'web'],
      targetAgentRoles: { api: ['implementer'], web: [] },
    });
    expect(planSetOptionsFor(config).targetAgentRoles).toEqual(targetAgentRoles(config));
  });

  it('adds the default role when one agent command is given for every role', () => {
    expect(planSetOptionsFor(config, { agentCommand: ['node', 'agent.js'] }).agentRoles).toEqual([
      'default',
      'implementer',
      'tester',
    ]);
    expect(planSetOptionsFor(config, { agentCommand: undefined }).agentRoles).toEqual([
      'implementer',
      'tester',
    ]);
  });

  it('works for a config without targets', () => {
    expect(planSetOptionsFor({ agents: DEFAULT_CONFIG.agents })).toEqual({
      agentRoles: Object.keys(DEFAULT_CONFIG.agents),
      targets: [],
      targetAgentRoles: {},
    });
  });
});
