import { describe, expect, it } from 'vitest';
import {
  agentEnv,
  isClaudeCommand,
  ORCH_SIM_BIN,
  resolveBuiltinAgent,
  substituteArgs,
  withClaudeJsonOutput,
} from '../../../src/runtime/agents/command.js';

const vars = { prompt: 'P {taskId} $(x)', promptFile: '/s/p.md', taskId: 'T1', role: 'dev' };

describe('substituteArgs', () => {
  it('replaces each placeholder once, inside larger arguments too, never re-expanding', () => {
    expect(
      substituteArgs(['a', '{prompt}', '--file={promptFile}', '{taskId}-{role}', '{unknown}'], vars),
    ).toEqual(['a', 'P {taskId} $(x)', '--file=/s/p.md', 'T1-dev', '{unknown}']);
  });

  it('never splits or joins arguments', () => {
    expect(substituteArgs(['{prompt}'], { ...vars, prompt: 'a b\nc; d' })).toEqual(['a b\nc; d']);
  });
});

describe('Claude Code detection', () => {
  it('recognises claude by base name only', () => {
    expect(isClaudeCommand(['claude', '-p'])).toBe(true);
    expect(isClaudeCommand(['/opt/bin/claude'])).toBe(true);
    expect(isClaudeCommand(['claude-code'])).toBe(true);
    expect(isClaudeCommand(['node', 'claude'])).toBe(false);
    expect(isClaudeCommand(['claudette'])).toBe(false);
    expect(isClaudeCommand([])).toBe(false);
  });

  it('adds --output-format json unless one is chosen', () => {
    expect(withClaudeJsonOutput(['claude', '-p', 'x'])).toEqual([
      'claude',
      '--output-format',
      'json',
      '-p',
      'x',
    ]);
    expect(withClaudeJsonOutput(['claude', '--output-format=stream-json'])).toEqual([
      'claude',
      '--output-format=stream-json',
    ]);
    expect(withClaudeJsonOutput(['aider', '-m', 'x'])).toEqual(['aider', '-m', 'x']);
  });
});

describe('built-in agent and environment', () => {
  it('runs orch-sim (or sim) with the current node', () => {
    expect(resolveBuiltinAgent(['orch-sim', '{prompt}'])).toEqual([
      process.execPath,
      ORCH_SIM_BIN,
      '{prompt}',
    ]);
    expect(resolveBuiltinAgent(['sim'])).toEqual([process.execPath, ORCH_SIM_BIN]);
    expect(ORCH_SIM_BIN.endsWith('/bin/orch-sim.js')).toBe(true);
    expect(resolveBuiltinAgent(['claude'])).toEqual(['claude']);
  });

  it('sets ORCH_* and TARGET_* variables', () => {
    const env = agentEnv({
      runId: 'r',
      taskId: 'T',
      spawnId: 's',
      role: 'dev',
      attempt: 4,
      stateDir: '/st',
      workspace: '/ws',
      targetEnv: { TARGET_ID: 'api-server', TARGET_PATH_WEB: '/w', ORCH_TASK_ID: 'shadow' },
    });
    expect(env).toMatchObject({
      ORCH_RUN_ID: 'r',
      ORCH_TASK_ID: 'T',
      ORCH_SPAWN_ID: 's',
      ORCH_ROLE: 'dev',
      ORCH_ATTEMPT: '4',
      ORCH_STATE_DIR: '/st',
      ORCH_WORKSPACE: '/ws',
      TARGET_ID: 'api-server',
      TARGET_PATH_WEB: '/w',
    });
    // A TARGET_* map cannot overwrite the identity.
    expect(env.ORCH_TASK_ID).toBe('T');
    expect(env.ORCH_CLI?.endsWith('/bin/run.js')).toBe(true);
  });
});
