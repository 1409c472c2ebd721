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
 * flags) on top, with the targets of `config/targets.yaml`, and validates the result. Unknown
 * keys and wrong types throw an `OrchError` (`CONFIG_INVALID`) naming the file and the key;
 * the keys of `config/targets.yaml` orch does not use are told once through `options.onNote`.
 *
 * @example
 * const config = loadConfig('/repo', { maxConcurrent: 8 });
 */
export function loadConfig(
  repoDir: string,
  overrides: OrchestratorConfigInput = {},
  options: LoadConfigOptions = {},
): OrchestratorConfig {
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
    if (targetsFile.defaultTarget !== undefined && fromFile['defaultTarget'] !== undefined) {
      throw new OrchError(
        'CONFIG_INVALID',
        `the default target is set both in ${file} (defaultTarget) and in ${targetsFile.file} (default_target)`,
        { hint: 'set it in one place', details: { file: targetsFile.file, problems: ['default_target'] } },
      );
    }
    fromFile = {
      ...fromFile,
      targets: { ...(inConfig as Record<string, unknown> | undefined), ...targetsFile.targets },
      ...(targetsFile.defaultTarget === undefined ? {} : { defaultTarget: targetsFile.defaultTarget }),
    };
    if (targetsFile.ignored.length > 0) {
      options.onNote?.(
        `${targetsFile.file}: orch ignores ${targetsFile.ignored.join(', ')} (not supported; see docs/cli.md, "Targets")`,
      );
    }
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
  const config = result.data;
  if (config.defaultTarget !== undefined && !Object.hasOwn(config.targets ?? {}, config.defaultTarget)) {
    throw new OrchError(
      'CONFIG_INVALID',
      `invalid configuration in ${file ?? 'flags'}: defaultTarget: there is no target ${JSON.stringify(config.defaultTarget)}`,
      {
        hint: `name one of the targets (${Object.keys(config.targets ?? {}).join(', ') || 'none defined'}) or remove defaultTarget`,
        details: { file: file ?? null, problems: ['defaultTarget'] },
      },
    );
  }
  return config;
}

/** Where targets may also be defined, relative to the repo root. */
export const TARGETS_FILE = path.join('config', 'targets.yaml');

/** What `loadConfig` may tell besides the configuration. */
export interface LoadConfigOptions {
  /** Called once per note, e.g. the keys of `config/targets.yaml` orch ignores. */
  onNote?: (note: string) => void;
}

/** What config/targets.yaml holds, in orch's own shape. */
interface TargetsFile {
  file: string;
  targets: Record<string, Record<string, unknown>>;
  defaultTarget?: string;
  /** Keys orch does not use (`task_intake`, `targets.self.name`, …). */
  ignored: string[];
}

/** Keys of a target in config/targets.yaml (both spellings) and the key of orch's shape they become. */
const TARGET_KEYS: Record<string, string> = {
  path: 'path',
  roadmap: 'roadmap',
  planDir: 'planDir',
  conventions: 'conventions',
  devlog: 'devlog',
  identity_context: 'identityContext',
  identityContext: 'identityContext',
  baseBranch: 'baseBranch',
  base_branch: 'baseBranch',
  agents: 'agents',
  personas: 'personas',
};
/** Agent-file keys of that project's shape and the role whose persona they are. */
const AGENT_FILE_KEYS: Record<string, string> = { coder_agent: 'coder', pm_agent: 'pm' };

/**
 * Reads `config/targets.yaml`: a `targets:` map (with optional `default_target:` and
 * `defaults:`, whose keys apply to every target), or the map itself at the top level. Both
 * orch's keys and the snake_case keys of the project that file comes from are read
 * (`identity_context`, `coder_agent` → persona of role `coder`, `pm_agent` → role `pm`);
 * other keys (`task_intake`, `name`, `description`, …) are listed in `ignored`. Null when the
 * file does not exist; a syntax error or a wrong type is a `CONFIG_INVALID` naming the file
 * and the key.
 */
function readTargetsFile(repoDir: string): TargetsFile | null {
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
  if (parsed === null || parsed === undefined) return { file, targets: {}, ignored: [] };
  const refuse = (key: string, what: string, hint: string): never => {
    throw new OrchError('CONFIG_INVALID', `invalid ${file}: ${key}: ${what}`, {
      hint,
      details: { file, problems: [`${key}: ${what}`] },
    });
  };
  const isMap = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isMap(parsed)) {
    return refuse(
      '(root)',
      'the top level must be a map of targets',
      'write `targets:` followed by `<id>: { path: ../other-repo }` entries',
    );
  }
  const wrapped = 'targets' in parsed;
  const map = wrapped ? parsed['targets'] : parsed;
  if (map !== null && map !== undefined && !isMap(map)) {
    return refuse(
      'targets',
      'must be a map of target ids',
      'write `targets:` followed by `<id>: { path: ../other-repo }` entries',
    );
  }
  const ignored: string[] = [];
  let defaultTarget: string | undefined;
  let defaults: Record<string, unknown> = {};
  if (wrapped) {
    for (const [key, value] of Object.entries(parsed)) {
      if (key === 'targets') continue;
      if (key === 'default_target' || key === 'defaultTarget') {
        if (value === null || value === undefined) continue;
        if (typeof value !== 'string') {
          return refuse(key, 'must be a target id', 'write `default_target: <id>` naming one of `targets`');
        }
        defaultTarget = value;
      } else if (key === 'defaults') {
        if (value === null || value === undefined) continue;
        if (!isMap(value))
          return refuse(key, 'must be a map', 'write `defaults:` followed by keys of a target');
        defaults = value;
      } else ignored.push(key);
    }
  }
  const targets: Record<string, Record<string, unknown>> = {};
  const defaultsOut = normalizeTarget(defaults, 'defaults', ignored, refuse);
  for (const [id, raw] of Object.entries(map ?? {})) {
    if (!isMap(raw)) {
      return refuse(`targets.${id}`, 'must be a map', `write \`${id}: { path: ../other-repo }\``);
    }
    const own = normalizeTarget(raw, `targets.${id}`, ignored, refuse);
    const personas = {
      ...(defaultsOut['personas'] as object | undefined),
      ...(own['personas'] as object | undefined),
    };
    targets[id] = {
      ...defaultsOut,
      ...own,
      ...(Object.keys(personas).length > 0 ? { personas } : {}),
    };
  }
  if (defaultTarget !== undefined && !(defaultTarget in targets)) {
    return refuse(
      'default_target',
      `there is no target ${JSON.stringify(defaultTarget)}`,
      `name one of the targets (${Object.keys(targets).join(', ') || 'none defined'}) or remove default_target`,
    );
  }
  return { file, targets, ...(defaultTarget === undefined ? {} : { defaultTarget }), ignored };
}

/** One target (or `defaults`) of config/targets.yaml in orch's shape; unknown keys go to `ignored`. */
function normalizeTarget(
  raw: Record<string, unknown>,
  at: string,
  ignored: string[],
  refuse: (key: string, what: string, hint: string) => never,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const personas: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value === null || value === undefined) continue;
    const role = AGENT_FILE_KEYS[key];
    if (role !== undefined) {
      if (typeof value !== 'string' || value === '') {
        return refuse(
          `${at}.${key}`,
          'must be the path of an agent file',
          `write \`${key}: .claude/agents/${role}.md\``,
        );
      }
      personas[role] = value;
      continue;
    }
    const to = TARGET_KEYS[key];
    if (to === undefined) {
      ignored.push(`${at}.${key}`);
      continue;
    }
    if (to !== 'agents' && to !== 'personas' && (typeof value !== 'string' || value === '')) {
      return refuse(`${at}.${key}`, 'must be text (a path)', `write \`${key}: <path>\`, or remove it`);
    }
    if (to === 'personas') Object.assign(personas, value);
    else out[to] = value;
  }
  if (Object.keys(personas).length > 0) out['personas'] = personas;
  return out;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
