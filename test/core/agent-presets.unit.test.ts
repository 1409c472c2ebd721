import { describe, expect, it } from 'vitest';
import { AGENT_PRESETS, presetCommand } from '../../src/core/agent-presets.js';
import { OrchestratorConfigSchema } from '../../src/core/config.js';

/** `agents.<role>` as a preset: expanded by the config schema to `{ command, timeout?, env?, resume? }`. */

const agents = (value: unknown) => OrchestratorConfigSchema.parse({ agents: { dev: value } }).agents['dev'];
const problems = (value: unknown) =>
  OrchestratorConfigSchema.safeParse({ agents: { dev: value } }).error?.issues.map(
    (i) => `${i.path.join('.')}: ${i.message}`,
  );

describe('agent presets', () => {
  it('expand to each tool’s documented non-interactive command line', () => {
    expect(Object.fromEntries(AGENT_PRESETS.map((p) => [p, presetCommand(p)]))).toEqual({
      claude: ['claude', '-p', '--dangerously-skip-permissions', '--output-format', 'json', '{prompt}'],
      codex: ['codex', 'exec', '--json', '--sandbox', 'workspace-write', '{prompt}'],
      aider: ['aider', '--yes-always', '--message', '{prompt}'],
      gemini: ['gemini', '--yolo', '--output-format', 'json', '--prompt', '{prompt}'],
    });
  });

  it('a preset name alone is enough', () => {
    expect(agents('codex')).toEqual({ command: presetCommand('codex') });
  });

  it('model and args go before the prompt; timeout, env and resume are kept', () => {
    expect(
      agents({
        preset: 'gemini',
        model: 'gemini-2.5-pro',
        args: ['--debug'],
        timeout: 600,
        env: { A: '1' },
        resume: false,
      }),
    ).toEqual({
      command: [
        'gemini',
        '--yolo',
        '--output-format',
        'json',
        '--model',
        'gemini-2.5-pro',
        '--debug',
        '--prompt',
        '{prompt}',
      ],
      timeout: 600,
      env: { A: '1' },
      resume: false,
    });
    expect(agents({ preset: 'claude', model: 'opus', resume: true })).toEqual({
      command: [
        'claude',
        '-p',
        '--dangerously-skip-permissions',
        '--output-format',
        'json',
        '--model',
        'opus',
        '{prompt}',
      ],
      resume: true,
    });
  });

  it('a command is read as before, with resume', () => {
    expect(agents({ command: ['my-agent', '{prompt}'], resume: true })).toEqual({
      command: ['my-agent', '{prompt}'],
      resume: true,
    });
  });

  it('refusals name the key and what to write', () => {
    expect(problems('cursor')).toEqual([
      'agents.dev: unknown preset: write one of "claude", "codex", "aider", "gemini", or { "command": [...] }',
    ]);
    expect(problems({ preset: 'codex', command: ['x'] })).toEqual([
      'agents.dev: give "preset" (with "model", "args") or "command", not both',
    ]);
    expect(problems({ preset: 'codex', timeout: -1 })?.[0]).toMatch(/^agents\.dev\.timeout: /);
    expect(problems({ command: [] })?.[0]).toMatch(/^agents\.dev\.command: /);
  });

  it('targets’ agents take presets too', () => {
    const cfg = OrchestratorConfigSchema.parse({
      targets: { api: { path: '../api', agents: { dev: 'aider' } } },
    });
    expect(cfg.targets?.['api']?.agents?.['dev']).toEqual({ command: presetCommand('aider') });
  });
});
