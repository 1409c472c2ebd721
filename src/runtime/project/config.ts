import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  OrchestratorConfigSchema,
  type OrchestratorConfig,
  type OrchestratorConfigInput,
} from '../../core/config.js';
import { OrchError } from '../../util/errors.js';

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
        hint: 'fix the syntax of the config file (see docs/cli.md, "Configuration")',
        cause,
      });
    }
    break;
  }
  const targetsFile = readTargetsFile(repoDir);
  if (targetsFile !== null) {
    const inConfig = fromFile['targets'];
    const both =
      inConfig !== null && typeof inConfig === 'object'
        ? Object.keys(targetsFile.targets).filter((id) => Object.hasOwn(inConfig, id))
        : [];
    if (both.length > 0) {
      throw new OrchError(
        'CONFIG_INVALID',
        `target ${both.join(', ')} is defined both in ${file} and in ${targetsFile.file}`,
        { hint: 'define each target in one place', details: { file: targetsFile.file, problems: both } },
      );
    }
    fromFile = {
      ...fromFile,
      targets: { ...(inConfig as Record<string, unknown> | undefined), ...targetsFile.targets },
    };
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
        hint: 'remove unknown keys and fix the types (see docs/cli.md, "Configuration")',
        details: { file: file ?? null, problems },
      },
    );
  }
  return result.data;
}

/** Where targets may also be defined, relative to the repo root. */
export const TARGETS_FILE = path.join('config', 'targets.yaml');

/**
 * Reads `config/targets.yaml`: a `targets:` map, or the map itself at the top level.
 * Null when the file does not exist; a syntax error is a `CONFIG_INVALID` naming the file.
 */
function readTargetsFile(repoDir: string): { file: string; targets: Record<string, unknown> } | null {
  const file = path.join(repoDir, TARGETS_FILE);
  if (!fs.existsSync(file)) return null;
  let parsed: unknown;
  try {
    parsed = parseYaml(fs.readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new OrchError('CONFIG_INVALID', `cannot read ${file}: ${(cause as Error).message}`, {
      hint: 'fix the YAML syntax of the targets file',
      cause,
    });
  }
  if (parsed === null || parsed === undefined) return { file, targets: {} };
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new OrchError('CONFIG_INVALID', `cannot read ${file}: the top level must be a map of targets`, {
      hint: 'write `targets:` followed by `<id>: { path: ../other-repo }` entries',
    });
  }
  const obj = parsed as Record<string, unknown>;
  const map = Object.keys(obj).length === 1 && 'targets' in obj ? obj['targets'] : obj;
  if (map === null || typeof map !== 'object' || Array.isArray(map)) {
    throw new OrchError('CONFIG_INVALID', `cannot read ${file}: \`targets\` must be a map of target ids`, {
      hint: 'write `targets:` followed by `<id>: { path: ../other-repo }` entries',
    });
  }
  return { file, targets: map as Record<string, unknown> };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
