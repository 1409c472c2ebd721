import fs from 'node:fs';
import path from 'node:path';
import type { AgentCommand, OrchestratorConfig } from '../../core/config.js';
import type { Plan } from '../../plan/model.js';
import { targetOfTask } from '../../plan/target-of.js';
import type { MergeResult } from './merge.js';
import {
  AGENT_FILES_DIR,
  readAgentFile,
  targetPersonaKey,
  type AgentFilePersona,
} from '../project/agent-files.js';
import {
  readConventions,
  readIdentityContext,
  targetAgentFor,
  targetEnv,
  UnknownTargetError,
  type ResolvedTarget,
} from './targets.js';
import type { TaskWorkspace, WorkspaceManager } from './workspace.js';

/**
 * Routes each task to its repository: a task with a `target` (its own, or its phase's) works
 * in that target's worktrees with that target's agents, `TARGET_*` variables and conventions;
 * every other task in the main repository. The plan is read at each call, so a revision that
 * moves a task takes effect at its next attempt.
 */

/**
 * Workspaces, agents and environment per task, over the main repository and the targets.
 *
 * @example
 * const router = new TaskRouter({ main, byTarget, targets, config, mainRepo, plan: () => log.state.plan });
 * await router.ensureWorkspace('api:1.1'); // a worktree of the api repository
 */
export class TaskRouter {
  constructor(
    private readonly o: {
      main: WorkspaceManager;
      byTarget: ReadonlyMap<string, WorkspaceManager>;
      targets: readonly ResolvedTarget[];
      config: OrchestratorConfig;
      mainRepo: string;
      plan: () => Plan | null;
    },
  ) {}

  /** The target a task works in: its own (or its phase's), else `defaultTarget`, else null (main). */
  private targetIdOf(taskId: string): string | null {
    return targetOfTask(this.o.plan(), taskId) ?? this.o.config.defaultTarget ?? null;
  }

  /** The configured target of a task, or null (main repository); an unconfigured target is an error. */
  target(taskId: string): ResolvedTarget | null {
    return this.resolve(this.targetIdOf(taskId));
  }

  /** The configured target by id (null → main); unknown ids throw {@link UnknownTargetError}. */
  resolve(id: string | null): ResolvedTarget | null {
    if (id === null) return null;
    const t = this.o.targets.find((x) => x.id === id);
    if (!t)
      throw new UnknownTargetError(
        id,
        this.o.targets.map((x) => x.id),
      );
    return t;
  }

  /** The workspace manager of a target (null → main). */
  workspacesOf(id: string | null): WorkspaceManager {
    const target = this.resolve(id);
    return target === null || target.main ? this.o.main : this.o.byTarget.get(target.id)!;
  }

  /** The workspace manager of a task's repository. */
  workspaces(taskId: string): WorkspaceManager {
    return this.workspacesOf(this.targetIdOf(taskId));
  }

  pathFor(taskId: string, lane?: number): string {
    return this.workspaces(taskId).pathFor(taskId, lane);
  }

  branchFor(taskId: string, lane?: number): string {
    return this.workspaces(taskId).branchFor(taskId, lane);
  }

  ensureWorkspace(taskId: string, lane?: number): Promise<TaskWorkspace> {
    return this.workspaces(taskId).ensureWorkspace(taskId, lane);
  }

  mergeTask(taskId: string, message: string, lane?: number): Promise<MergeResult> {
    return this.workspaces(taskId).mergeTask(taskId, message, lane);
  }

  /** The agent command for a task's role in its repository. */
  agentFor(taskId: string, role: string): AgentCommand | undefined {
    return targetAgentFor(this.target(taskId), this.o.config, role);
  }

  /** The `TARGET_*` variables of a task's agent (none when no target is configured). */
  envFor(taskId: string): Record<string, string> {
    return targetEnv(this.target(taskId), this.o.targets, {
      mainRepo: this.o.mainRepo,
      integrationBranch: this.o.config.integrationBranch,
    });
  }

  /** The conventions text of a task's target, for its prompt. */
  conventionsFor(taskId: string): string | undefined {
    const t = this.target(taskId);
    return t === null ? undefined : readConventions(t);
  }

  /** The identity context of a task's target (`identity_context`), for its prompt. */
  identityContextFor(taskId: string): string | undefined {
    const t = this.target(taskId);
    return t === null ? undefined : readIdentityContext(t, this.o.mainRepo);
  }

  /**
   * The persona from a Claude Code agent file for a task's role, or undefined: the task's
   * target's file for the role (`coder_agent`, `pm_agent`, `personas`), else the role's
   * `agents.<role>.persona`, else `.claude/agents/<role>.md` of the main repository when the
   * plan has no persona for the role. A missing or malformed file is an error naming it and
   * the key that points to it.
   */
  personaFor(taskId: string, role: string): AgentFilePersona | undefined {
    const t = this.target(taskId);
    const fromTarget = t?.personas[role];
    if (fromTarget !== undefined && t !== null) {
      return this.agentFile(fromTarget, role, targetPersonaKey(t.id, role));
    }
    const configured = this.o.config.agents[role]?.persona;
    if (configured !== undefined) {
      return this.agentFile(path.resolve(this.o.mainRepo, configured), role, `agents.${role}.persona`);
    }
    if (this.o.plan()?.personas.some((p) => p.role === role) ?? false) return undefined;
    const auto = path.join(this.o.mainRepo, AGENT_FILES_DIR, `${role}.md`);
    if (!fs.existsSync(auto)) return undefined;
    return this.agentFile(auto, role, `the file found for role ${role} in ${AGENT_FILES_DIR}`);
  }

  /** Read at each spawn, so an edited agent file takes effect at the next attempt. */
  private agentFile(file: string, role: string, pointer: string): AgentFilePersona {
    return readAgentFile(file, role, pointer);
  }
}
