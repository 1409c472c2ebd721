import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  OrchestratorConfigSchema,
  type OrchestratorConfig,
  type OrchestratorConfigInput,
} from '../core/config.js';
import { OrchError } from '../util/errors.js';

/** The config file names looked for at the repo root, in order. */
export const CONFIG_FILES = ['orch.config.json', 'orch.config.yaml', 'orch.config.yml'] as const;

/**
 * Reads `orch.config.json|yaml` from the repo root (if any), applies `overrides` (from
 * flags) on top, and validates the result. Unknown keys and wrong types throw an
 * `OrchError` (`CONFIG_INVALID`) naming the file and the key.
 *
 * @example
 * const config = loadConfig('/repo', { maxConcurrent: 8 });
 */
export function loadConfig(repoDir: string, overrides: OrchestratorConfigInput = {}): OrchestratorConfig {
  let fromFile: Record<string, unknown> = {};
  let file: string | undefined;
  for (const name of CONFIG_FILES) {
    const candidate = path.join(repoDir, name);
    if (!fs.existsSync(candidate)) continue;
    file = candidate;
    const text = fs.readFileSync(candidate, 'utf8');
    try {
      const parsed: unknown = name.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
      if (parsed !== null && parsed !== undefined && (typeof parsed !== 'object' || Array.isArray(parsed))) {
        throw new Error('the top level must be an object');
      }
      fromFile = (parsed ?? {}) as Record<string, unknown>;
    } catch (cause) {
      throw new OrchError('CONFIG_INVALID', `cannot read ${candidate}: ${(cause as Error).message}`, {
        hint: 'fix the syntax of the config file (see README, "Configuration")',
        cause,
      });
    }
    break;
  }
  const merged = { ...fromFile, ...stripUndefined(overrides) };
  const result = OrchestratorConfigSchema.safeParse(merged);
  if (!result.success) {
    const problems = result.error.issues.map((i) => {
      const key = [...i.path, ...('keys' in i && Array.isArray(i.keys) ? [i.keys.join(', ')] : [])].join('.');
      return `${key || '(root)'}: ${i.message}`;
    });
    throw new OrchError(
      'CONFIG_INVALID',
      `invalid configuration in ${file ?? 'flags'}: ${problems.join('; ')}`,
      {
        hint: 'remove unknown keys and fix the types (see README, "Configuration")',
        details: { file: file ?? null, problems },
      },
    );
  }
  return result.data;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
