/**
 * Agent presets: `agents.<role>` may name a known tool instead of spelling out its argv
 * (docs/cli.md, "Agent presets"). Each expands to that tool's documented non-interactive
 * command line, with the output format orch reads usage from:
 *
 * - `claude`: `claude -p --dangerously-skip-permissions --output-format json [--model M] … {prompt}`
 * - `codex`:  `codex exec --json --sandbox workspace-write [--model M] … {prompt}`
 * - `gemini`: `gemini --yolo --output-format json [--model M] … --prompt {prompt}`
 * - `aider`:  `aider --yes-always [--model M] … --message {prompt}`
 *
 * where `…` is the preset's `args`. Pure: the config schema (`src/core/config.ts`) expands a
 * preset while parsing, so everything downstream sees `{ command, timeout?, env? }`.
 */

/** The tools orch has a preset for. */
export const AGENT_PRESETS = ['claude', 'codex', 'aider', 'gemini'] as const;
/** @see AGENT_PRESETS */
export type AgentPreset = (typeof AGENT_PRESETS)[number];

/** What a preset is expanded with: extra arguments (before the prompt) and a model. */
export interface PresetOptions {
  args?: readonly string[];
  model?: string;
}

/**
 * The argv template of a preset.
 *
 * @example
 * presetCommand('codex', { model: 'gpt-5' });
 * // ['codex', 'exec', '--json', '--sandbox', 'workspace-write', '--model', 'gpt-5', '{prompt}']
 */
export function presetCommand(preset: AgentPreset, options: PresetOptions = {}): string[] {
  const model = options.model === undefined ? [] : ['--model', options.model];
  const args = [...(options.args ?? [])];
  switch (preset) {
    case 'claude':
      return [
        'claude',
        '-p',
        '--dangerously-skip-permissions',
        '--output-format',
        'json',
        ...model,
        ...args,
        '{prompt}',
      ];
    case 'codex':
      return ['codex', 'exec', '--json', '--sandbox', 'workspace-write', ...model, ...args, '{prompt}'];
    case 'gemini':
      return ['gemini', '--yolo', '--output-format', 'json', ...model, ...args, '--prompt', '{prompt}'];
    case 'aider':
      return ['aider', '--yes-always', ...model, ...args, '--message', '{prompt}'];
  }
}
