import path from 'node:path';
import { packageRoot } from '../../util/package-root.js';

/**
 * Turning a configured agent command (an argv template) into the argv and environment of
 * one attempt. No shell is ever involved: each template element becomes exactly one
 * argument, so a prompt containing `$(rm -rf /)` or `;` reaches the agent literally.
 */

/** Values for the `{…}` placeholders of an agent command. */
export interface CommandVars {
  prompt: string;
  promptFile: string;
  taskId: string;
  role: string;
}

/** The `ORCH_*` (and `TARGET_*`) variables an agent runs with. */
export interface AgentIdentity {
  runId: string;
  taskId: string;
  spawnId: string;
  role: string;
  attempt: number;
  /** Best of N: the agent's lane (`ORCH_LANE`) and the attempt's lanes (`ORCH_LANES`). */
  lane?: number;
  lanes?: number;
  stateDir: string;
  workspace: string;
  /** The log's place when it is not `<state-dir>/orch.db` (`ORCH_DATABASE_URL`): `orch signal` reaches it. */
  logUrl?: string;
  /** Multi-repo targets: the `TARGET_*` variables of this task (see `targetEnv` in targets.ts). */
  targetEnv?: Record<string, string>;
}

const PLACEHOLDER = /\{(prompt|promptFile|taskId|role)\}/g;

/**
 * Replaces `{prompt}`, `{promptFile}`, `{taskId}`, `{role}` in every element, in one pass
 * (a prompt that itself contains `{taskId}` is not expanded again).
 *
 * @example
 * substituteArgs(['claude', '-p', '{prompt}'], { prompt: 'hi; rm -rf /', promptFile: '/s/p.md', taskId: 'T1', role: 'dev' });
 * // ['claude', '-p', 'hi; rm -rf /']
 */
export function substituteArgs(template: readonly string[], vars: CommandVars): string[] {
  return template.map((arg) => arg.replace(PLACEHOLDER, (_m, name: keyof CommandVars) => vars[name]));
}

/**
 * True when argv[0] is Claude Code (`claude`, `claude.exe`, `claude-code`, by base name).
 *
 * @example
 * isClaudeCommand(['/usr/local/bin/claude', '-p']); // true
 */
export function isClaudeCommand(argv: readonly string[]): boolean {
  const first = argv[0];
  if (first === undefined) return false;
  return /^claude(?:-code)?(?:\.exe|\.cmd)?$/i.test(path.basename(first));
}

/**
 * Asks Claude Code for its JSON result (`--output-format json`) unless the command already
 * chose an output format; other commands are returned unchanged.
 *
 * @example
 * withClaudeJsonOutput(['claude', '-p', 'x']); // ['claude', '--output-format', 'json', '-p', 'x']
 */
export function withClaudeJsonOutput(argv: readonly string[]): string[] {
  if (!isClaudeCommand(argv)) return [...argv];
  if (argv.some((a) => a === '--output-format' || a.startsWith('--output-format='))) return [...argv];
  return [argv[0]!, '--output-format', 'json', ...argv.slice(1)];
}

/**
 * The built-in simulated agent: `["orch-sim"]` or `["sim"]` as argv[0] runs
 * `bin/orch-sim.js` of this package with the current Node, whatever PATH holds.
 *
 * @example
 * resolveBuiltinAgent(['orch-sim']); // [process.execPath, '/…/orch/bin/orch-sim.js']
 */
export function resolveBuiltinAgent(argv: readonly string[]): string[] {
  if (argv[0] === 'orch-sim' || argv[0] === 'sim') return [process.execPath, ORCH_SIM_BIN, ...argv.slice(1)];
  return [...argv];
}

/** Absolute path of `bin/orch-sim.js` in orch's package (see `packageRoot`). */
export const ORCH_SIM_BIN = path.join(packageRoot(import.meta.url), 'bin', 'orch-sim.js');

/** Absolute path of the `orch` CLI (`bin/run.js`), given to agents as `ORCH_CLI` for `node "$ORCH_CLI" signal …`. */
export const ORCH_CLI = path.join(packageRoot(import.meta.url), 'bin', 'run.js');

/**
 * The environment variables orch adds for an agent (on top of its own environment and the
 * role's configured `env`): the `ORCH_*` identity, the task's `TARGET_*` variables, and
 * `ORCH_CLI` (the orch CLI script, for agents that do not have `orch` on PATH).
 *
 * @example
 * agentEnv({ runId: 'r1', taskId: 'T1', spawnId: 's1', role: 'dev', attempt: 2, stateDir: '/s', workspace: '/w' }).ORCH_ATTEMPT; // '2'
 */
export function agentEnv(id: AgentIdentity): Record<string, string> {
  const env: Record<string, string> = {
    ORCH_RUN_ID: id.runId,
    ORCH_TASK_ID: id.taskId,
    ORCH_SPAWN_ID: id.spawnId,
    ORCH_ROLE: id.role,
    ORCH_ATTEMPT: String(id.attempt),
    ORCH_STATE_DIR: id.stateDir,
    ORCH_WORKSPACE: id.workspace,
    ORCH_CLI,
    ...(id.logUrl === undefined ? {} : { ORCH_DATABASE_URL: id.logUrl }),
    ...(id.lane === undefined ? {} : { ORCH_LANE: String(id.lane), ORCH_LANES: String(id.lanes ?? id.lane) }),
  };
  // Only TARGET_* names: a target's variables can never shadow the ORCH_* identity.
  for (const [name, value] of Object.entries(id.targetEnv ?? {})) {
    if (name.startsWith('TARGET')) env[name] = value;
  }
  return env;
}
