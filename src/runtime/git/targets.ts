import fs from 'node:fs';
import path from 'node:path';
import type { AgentCommand, OrchestratorConfig } from '../../core/config.js';
import { OrchError } from '../../util/errors.js';
import { samePath } from './git.js';
import { WorkspaceManager } from './workspace.js';

/**
 * Multi-repo targets: other repositories one orchestrator works in. Each target gets its own
 * {@link WorkspaceManager} (worktrees under `<sandboxDir>/.targets/<id>`, its own integration
 * branch in its own repository); the log, the lease and the plan stay one.
 */

/** A configured target with its paths made absolute. */
export interface ResolvedTarget {
  id: string;
  /** The target repository (absolute). */
  path: string;
  /**
   * True when `path` is the main repository (`path: "."`): the target is an alias of it. Its
   * tasks run in the main repository's worktrees; its settings (agents, personas, devlog,
   * identity context, conventions) apply to them.
   */
  main: boolean;
  /** Its development log (absolute), or null. */
  devlog: string | null;
  /** Text every prompt for its tasks includes, or null. */
  identityContext: string | null;
  /** Claude Code agent files (absolute) as personas, by role. */
  personas: Record<string, string>;
  /** Its own plan (`roadmap` or `planDir`, absolute), or null. */
  roadmap: string | null;
  /** Its conventions file (absolute), or null. */
  conventions: string | null;
  /** Agent commands by role for its tasks (over the run's agents). */
  agents: Record<string, AgentCommand>;
  baseBranch: string;
}

/** A target is refused when its configuration cannot work. */
export class TargetConfigError extends OrchError {
  constructor(id: string, message: string, hint: string) {
    super('TARGET_INVALID', `target ${id}: ${message}`, { hint, exitCode: 1, details: { target: id } });
  }
}

/** There is no target with that id in the configuration. */
export class UnknownTargetError extends OrchError {
  constructor(id: string, known: readonly string[]) {
    super('UNKNOWN_TARGET', `there is no target ${JSON.stringify(id)} in the configuration`, {
      hint:
        known.length === 0
          ? 'define targets in orch.config.json (`targets`) or config/targets.yaml'
          : `configured targets: ${known.join(', ')}`,
      exitCode: 2,
      details: { target: id, known },
    });
  }
}

/**
 * The configured targets, resolved against the main repository. Refuses a target whose path
 * does not exist or is shared with another target; a target whose path is the main
 * repository is an alias of it (`main: true`).
 *
 * @example
 * resolveTargets('/work/app', config); // [{ id: 'api', path: '/work/api', roadmap: '/work/api/roadmap.md', … }]
 */
export function resolveTargets(repoDir: string, config: OrchestratorConfig): ResolvedTarget[] {
  const out: ResolvedTarget[] = [];
  for (const [id, t] of Object.entries(config.targets ?? {})) {
    const dir = path.resolve(repoDir, t.path);
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
      throw new TargetConfigError(
        id,
        `its path ${dir} is not a directory`,
        'fix targets.<id>.path (relative to the main repository)',
      );
    }
    const isMain = samePath(dir, repoDir);
    const twin = out.find((o) => samePath(o.path, dir));
    if (twin) {
      throw new TargetConfigError(
        id,
        `its path ${dir} is also target ${twin.id}'s`,
        'give each repository one target',
      );
    }
    const plan = t.roadmap ?? t.planDir;
    out.push({
      id,
      path: dir,
      main: isMain,
      devlog: t.devlog === undefined ? null : path.resolve(dir, t.devlog),
      identityContext: t.identityContext ?? null,
      personas: Object.fromEntries(
        Object.entries(t.personas ?? {}).map(([role, file]) => [role, path.resolve(repoDir, file)]),
      ),
      roadmap: plan === undefined ? null : path.resolve(dir, plan),
      conventions: t.conventions === undefined ? null : path.resolve(dir, t.conventions),
      agents: t.agents ?? {},
      baseBranch: t.baseBranch ?? config.baseBranch,
    });
  }
  return out;
}

/**
 * The agent command for a role in a target: the target's role, the target's `default`, then
 * the run's role and `default` (a target's agents describe how work is done in that repo).
 *
 * @example
 * targetAgentFor(target, config, 'implementer')?.command; // ['aider', '--message', '{prompt}']
 */
export function targetAgentFor(
  target: ResolvedTarget | null,
  config: OrchestratorConfig,
  role: string,
): AgentCommand | undefined {
  return (
    (target ? (target.agents[role] ?? target.agents['default']) : undefined) ??
    config.agents[role] ??
    config.agents['default']
  );
}

/**
 * The `TARGET_*` variables of an agent. For a task in a target: `TARGET_ID`, `TARGET_PATH`
 * (the target repository), `TARGET_ROADMAP` (its plan, or empty), `TARGET_CONVENTIONS` (or
 * empty), `TARGET_DEVLOG` (its development log, or empty), `TARGET_INTEGRATION_BRANCH`,
 * `TARGET_BASE_BRANCH`. For every task of a run with
 * targets: `TARGETS` (the ids, comma-separated) and `TARGET_PATH_<ID>` per target (the id
 * upper-cased, other characters as `_`), plus `TARGET_PATH_MAIN` for the main repository.
 *
 * @example
 * targetEnv(api, all, { mainRepo: '/work/app', integrationBranch: 'integration' }).TARGET_ID; // 'api'
 */
export function targetEnv(
  target: ResolvedTarget | null,
  all: readonly ResolvedTarget[],
  ctx: { mainRepo: string; integrationBranch: string },
): Record<string, string> {
  if (all.length === 0) return {};
  const env: Record<string, string> = {
    TARGETS: all.map((t) => t.id).join(','),
    TARGET_PATH_MAIN: ctx.mainRepo,
  };
  for (const t of all) env[`TARGET_PATH_${envName(t.id)}`] = t.path;
  if (target) {
    env['TARGET_ID'] = target.id;
    env['TARGET_PATH'] = target.path;
    env['TARGET_ROADMAP'] = target.roadmap ?? '';
    env['TARGET_CONVENTIONS'] = target.conventions ?? '';
    env['TARGET_DEVLOG'] = target.devlog ?? '';
    env['TARGET_INTEGRATION_BRANCH'] = ctx.integrationBranch;
    env['TARGET_BASE_BRANCH'] = target.baseBranch;
  }
  return env;
}

function envName(id: string): string {
  return id.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

/**
 * Reads a target's conventions file for the prompt (at most `maxChars`, the start kept);
 * a missing file is an error naming the target, so a typo is not silently ignored.
 *
 * @example
 * readConventions(api); // '# API conventions\n…'
 */
export function readConventions(target: ResolvedTarget, maxChars = 8000): string | undefined {
  if (target.conventions === null) return undefined;
  let text: string;
  try {
    text = fs.readFileSync(target.conventions, 'utf8');
  } catch (cause) {
    throw new TargetConfigError(
      target.id,
      `cannot read its conventions file ${target.conventions}: ${(cause as Error).message}`,
      'fix targets.<id>.conventions (relative to the target path) or remove it',
    );
  }
  return text.length > maxChars ? `${text.slice(0, maxChars)}\n…(cut at ${maxChars} characters)` : text;
}

/**
 * A target's identity context for the prompt: the text itself, or the content of the file it
 * names (relative to the main repository) when it names one.
 *
 * @example
 * readIdentityContext(self, '/work/app'); // 'You work on app, a …'
 */
export function readIdentityContext(target: ResolvedTarget, mainRepo: string): string | undefined {
  const value = target.identityContext;
  if (value === null) return undefined;
  if (!value.includes('\n') && value.length < 300) {
    const file = path.resolve(mainRepo, value);
    if (fs.statSync(file, { throwIfNoEntry: false })?.isFile() ?? false) return fs.readFileSync(file, 'utf8');
  }
  return value;
}

/** Where a target's worktrees live: encoded task ids never start with `.`, so no task owns it. */
export function targetSandbox(mainSandbox: string, id: string): string {
  return path.join(mainSandbox, '.targets', id);
}

/**
 * Opens one workspace manager per target (each checks its repository: a git repository with
 * the base branch, a clean integration branch), naming the target when one fails.
 *
 * @example
 * const byTarget = await openTargetWorkspaces(targets, { sandboxDir: '/work/app/.state/sandbox', integrationBranch: 'integration' });
 */
export async function openTargetWorkspaces(
  targets: readonly ResolvedTarget[],
  options: { sandboxDir: string; integrationBranch: string },
): Promise<Map<string, WorkspaceManager>> {
  const out = new Map<string, WorkspaceManager>();
  for (const t of targets) {
    if (t.main) continue; // an alias of the main repository uses the main workspaces
    try {
      out.set(
        t.id,
        await WorkspaceManager.open({
          repoDir: t.path,
          sandboxDir: targetSandbox(options.sandboxDir, t.id),
          integrationBranch: options.integrationBranch,
          baseBranch: t.baseBranch,
        }),
      );
    } catch (err) {
      if (err instanceof OrchError) {
        throw new OrchError(err.code, `target ${t.id}: ${err.message}`, {
          ...(err.hint === undefined ? {} : { hint: err.hint }),
          exitCode: err.exitCode,
          cause: err,
          details: { ...err.details, target: t.id },
        });
      }
      throw err;
    }
  }
  return out;
}
