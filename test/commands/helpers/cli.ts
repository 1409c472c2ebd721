/**
 * Runs the built `orch` binary as a user (or an agent) would: `node bin/run.js …`.
 * Build first (`npm run build`).
 */
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const bin = path.join(root, 'bin', 'run.js');

/** Throws unless the build has the log commands. */
export function assertBuilt(): void {
  for (const name of ['status', 'replay', 'log', 'signal', 'ci']) {
    if (!fs.existsSync(path.join(root, 'dist', 'cli', 'commands', `${name}.js`))) {
      throw new Error(`dist/cli/commands/${name}.js is missing: run \`npm run build\` before the e2e tests`);
    }
  }
}

/** The environment of a plain shell: no NODE_ENV=test (oclif would look for sources), no ORCH_* or CI. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k === 'NODE_ENV' || k === 'CI' || k.startsWith('ORCH_')) continue;
    env[k] = v;
  }
  env['NO_COLOR'] = '1';
  return env;
}

/** Runs `orch …args`; never throws on a non-zero exit. */
export async function orch(
  args: readonly string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const r = await execa('node', [bin, ...args], {
    reject: false,
    env: { ...baseEnv(), ...options.env },
    extendEnv: false,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}
