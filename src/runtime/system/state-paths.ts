import path from 'node:path';
import { encodeTaskId } from './safe-id.js';

/**
 * Where runtime files live under the state directory (`<repo>/.state` by default).
 * Task ids are encoded with {@link encodeTaskId} so they cannot escape the directory.
 */

/**
 * `<state-dir>/logs/<task>/<attempt>.log`: everything an attempt printed.
 *
 * @example
 * agentLogPath('/repo/.state', 'T001', 2); // '/repo/.state/logs/T001/2.log'
 */
export function agentLogPath(stateDir: string, taskId: string, attempt: number): string {
  return path.join(stateDir, 'logs', encodeTaskId(taskId), `${attempt}.log`);
}

/**
 * `<state-dir>/prompts/<task>/<attempt>.md`: the prompt an attempt was given (`{promptFile}`).
 *
 * @example
 * promptFilePath('/repo/.state', 'T001', 1); // '/repo/.state/prompts/T001/1.md'
 */
export function promptFilePath(stateDir: string, taskId: string, attempt: number): string {
  return path.join(stateDir, 'prompts', encodeTaskId(taskId), `${attempt}.md`);
}

/**
 * `<state-dir>/orch.lock`: the lease naming the orch process that owns the state directory.
 *
 * @example
 * leaseFilePath('/repo/.state'); // '/repo/.state/orch.lock'
 */
export function leaseFilePath(stateDir: string): string {
  return path.join(stateDir, 'orch.lock');
}
