import { z } from 'zod';
import { AGENT_PRESETS, presetCommand, type AgentPreset } from './agent-presets.js';
import { notifyTargetProblem } from './notify.js';

/**
 * `OrchestratorConfig`: the settings from `orch.config.json` / `orch.config.yaml`
 * (docs/cli.md, "Configuration"), every key optional in the file and defaulted here.
 * Unknown keys are an error naming the key (the schemas are strict).
 */

/** How to start an agent for a role: an argument array, never a shell string. */
export const AgentCommandSchema = z.strictObject({
  /** argv; `{prompt}`, `{promptFile}`, `{taskId}`, `{role}` are replaced. */
  command: z.array(z.string()).min(1),
  /** Seconds before the agent's process group is killed. */
  timeout: z.number().positive().optional(),
  /** Seconds without output and without a change in the worktree before the agent is stopped as stalled (`0`: never); over the global `stallTimeout`. */
  stallTimeout: z.number().nonnegative().optional(),
  /** Extra environment variables for the agent. */
  env: z.record(z.string(), z.string()).optional(),
  /** Continue the previous attempt's Claude Code session (`--resume <session_id>`) instead of a fresh agent. */
  resume: z.boolean().optional(),
  /** A Claude Code agent file (`.claude/agents/NAME.md`, relative to the repository) whose body is the role's persona. */
  persona: z.string().min(1).optional(),
});
/** @see AgentCommandSchema */
export type AgentCommand = z.infer<typeof AgentCommandSchema>;

/** `agents.<role>` as a preset: `{ "preset": "codex", "model": "…", "args": […] }` (see `src/core/agent-presets.ts`). */
export const AgentPresetSchema = z.strictObject({
  preset: z.enum(AGENT_PRESETS),
  /** Extra arguments, placed before the prompt. */
  args: z.array(z.string()).optional(),
  /** The tool's `--model`. */
  model: z.string().min(1).optional(),
  timeout: AgentCommandSchema.shape.timeout,
  stallTimeout: AgentCommandSchema.shape.stallTimeout,
  env: AgentCommandSchema.shape.env,
  resume: AgentCommandSchema.shape.resume,
  persona: AgentCommandSchema.shape.persona,
});

/** `agents.<role>` as the user writes it. */
export type AgentEntryInput =
  AgentPreset | z.input<typeof AgentPresetSchema> | z.input<typeof AgentCommandSchema>;

const PresetNameSchema = z.enum(AGENT_PRESETS, {
  error: () =>
    `unknown preset: write one of ${AGENT_PRESETS.map((p) => `"${p}"`).join(', ')}, or { "command": [...] }`,
});

/**
 * What `agents.<role>` may be: a command, a preset object or a preset's name; a preset is
 * expanded here, so the parsed config always holds an {@link AgentCommand}. The shape is
 * chosen by the value (a string, an object with `preset`, any other object), so a mistake
 * is reported against the shape that was meant.
 *
 * @example
 * AgentEntrySchema.parse('aider'); // { command: ['aider', '--yes-always', '--message', '{prompt}'] }
 */
export const AgentEntrySchema: z.ZodType<AgentCommand, AgentEntryInput> = z
  .unknown()
  .transform((value, ctx): AgentCommand => {
    const schema =
      typeof value === 'string'
        ? PresetNameSchema
        : typeof value === 'object' && value !== null && 'preset' in value
          ? AgentPresetSchema
          : AgentCommandSchema;
    if (schema === AgentPresetSchema && 'command' in (value as object)) {
      ctx.addIssue({
        code: 'custom',
        message: 'give "preset" (with "model", "args") or "command", not both',
        path: [],
      });
      return z.NEVER;
    }
    const result = schema.safeParse(value);
    if (!result.success) {
      for (const issue of result.error.issues) ctx.addIssue({ ...issue, code: 'custom', path: issue.path });
      return z.NEVER;
    }
    const entry = result.data;
    if (typeof entry === 'string') return { command: presetCommand(entry) };
    if (!('preset' in entry)) return entry;
    const { preset, args, model, ...rest } = entry;
    return {
      command: presetCommand(preset, {
        ...(args ? { args } : {}),
        ...(model === undefined ? {} : { model }),
      }),
      ...rest,
    };
  }) as unknown as z.ZodType<AgentCommand, AgentEntryInput>;

/** A command run by orch (the quality gate, local CI). */
export const CommandSpecSchema = z.strictObject({
  command: z.array(z.string()).min(1),
  timeout: z.number().positive().optional(),
});
/** @see CommandSpecSchema */
export type CommandSpec = z.infer<typeof CommandSpecSchema>;

/**
 * Another repository one orchestrator also works in. `path` is relative to the main
 * repository; `planDir` / `roadmap` (relative to `path`) hold that repository's own plan,
 * whose ids orch namespaces as `<target>:<id>`; `agents` override the run's agents by role
 * for its tasks; `conventions` is a file (relative to `path`) every prompt for its tasks
 * includes.
 */
export const TargetSchema = z
  .strictObject({
    path: z.string().min(1),
    planDir: z.string().min(1).optional(),
    roadmap: z.string().min(1).optional(),
    agents: z.record(z.string(), AgentEntrySchema).optional(),
    conventions: z.string().min(1).optional(),
    /** The target repository's base branch (default: the run's `baseBranch`). */
    baseBranch: z.string().min(1).optional(),
    /** Its development log (relative to `path`), given to its agents as `TARGET_DEVLOG`. */
    devlog: z.string().min(1).optional(),
    /** Text (or a file of the main repository) every prompt for its tasks includes. */
    identityContext: z.string().min(1).optional(),
    /** Claude Code agent files (relative to the main repository) as personas, by role. */
    personas: z.record(z.string(), z.string().min(1)).optional(),
  })
  .refine((t) => t.planDir === undefined || t.roadmap === undefined, {
    message: 'give planDir or roadmap, not both',
  });
/** @see TargetSchema */
export type Target = z.infer<typeof TargetSchema>;

/**
 * A target id: it names branches, sandbox folders, `TARGET_*` values and the `<id>:` prefix
 * of its plan's ids, so it is plain: a letter or digit, then letters, digits, `_` or `-`.
 */
export const TargetIdSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/,
    'a target id is a letter or digit, then letters, digits, _ or - (at most 40)',
  );

/**
 * `workspace`: how each new task worktree is prepared (docs/cli.md, "Workspace set-up").
 * `copy` paths are relative to the main repository and may not leave it; `ports` gives each
 * live agent a block of that many ports from `portBase` up.
 */
export const WorkspaceConfigSchema = z.strictObject({
  /** An argv run once in each new worktree before its first attempt (`npm ci`, code generation). */
  setup: z.array(z.string()).min(1).optional(),
  /** Seconds before the set-up command's process group is killed (a failed set-up). */
  setupTimeout: z.number().positive().optional(),
  /** Files of the main repository copied into each new worktree (and never committed by orch). */
  copy: z
    .array(
      z
        .string()
        .min(1)
        .refine((p) => !p.startsWith('/') && !p.split(/[\\/]/).includes('..') && !/^[A-Za-z]:/.test(p), {
          message: 'a path relative to the repository that stays inside it (no leading /, no ..)',
        }),
    )
    .optional(),
  /** A block of this many ports per live agent (`ORCH_PORT_BASE`, `ORCH_PORTS`). */
  ports: z.number().int().positive().max(1000).optional(),
  /** The first port of the first block (default 20000). */
  portBase: z.number().int().min(1024).max(65535).optional(),
});
/** @see WorkspaceConfigSchema */
export type WorkspaceConfig = z.infer<typeof WorkspaceConfigSchema>;

/**
 * One `notify` rule: for each event it is `on` (event types or aliases, see
 * `src/core/notify.ts`), `command` runs with the event as JSON on stdin.
 */
export const NotifyRuleSchema = z.strictObject({
  on: z
    .array(
      z
        .string()
        .min(1)
        .superRefine((name, ctx) => {
          const problem = notifyTargetProblem(name);
          if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
        }),
    )
    .min(1),
  /** An argv (no shell); the event is its stdin. */
  command: z.array(z.string()).min(1),
  /** Seconds before one attempt's process group is killed (default 30). */
  timeout: z.number().positive().optional(),
  /** Attempts after the first before the delivery is given up (default 5). */
  retries: z.number().int().nonnegative().optional(),
  /** Seconds before the first retry, doubled for each later one (default 5, at most 1 hour). */
  backoff: z.number().nonnegative().optional(),
});
/** @see NotifyRuleSchema */
export type NotifyRule = z.infer<typeof NotifyRuleSchema>;

/** The default agent: Claude Code in print mode. */
export const CLAUDE_DEFAULT_COMMAND = ['claude', '-p', '--dangerously-skip-permissions', '{prompt}'];

/**
 * Why a `remote` value cannot be used, or null when it can: git must never read it as an
 * option (`--upload-pack=…`), and a control character has no place in a remote name or URL.
 *
 * @example
 * remoteProblem('origin'); // null
 * remoteProblem('--upload-pack=touch /tmp/x'); // 'it starts with "-" …'
 */
export function remoteProblem(value: string): string | null {
  if (value.trim() === '') return 'it is empty: write a remote name such as "origin", or a URL';
  if (value.startsWith('-'))
    return 'it starts with "-", which git would read as an option: write a remote name such as "origin", or a URL';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value))
    return 'it contains a control character: write a remote name or a URL';
  if (value !== value.trim()) return 'it starts or ends with white space';
  return null;
}

/** `remote`: a git remote name (`origin`) or URL; see {@link remoteProblem}. */
export const RemoteSchema = z.string().superRefine((value, ctx) => {
  const problem = remoteProblem(value);
  if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
});

/** The configuration schema with every default filled in. */
export const OrchestratorConfigSchema = z.strictObject({
  planDir: z.string().default('.state/plans'),
  sandboxDir: z.string().default('.state/sandbox'),
  integrationBranch: z.string().min(1).default('integration'),
  baseBranch: z.string().min(1).default('main'),
  maxRetries: z.number().int().nonnegative().default(100),
  /** Seconds between attempts of one task. */
  retryInterval: z.number().nonnegative().default(30),
  maxConcurrent: z.number().int().positive().default(4),
  autoSpawn: z.boolean().default(true),
  autoMerge: z.boolean().default(false),
  agents: z.record(z.string(), AgentEntrySchema).default({ default: { command: CLAUDE_DEFAULT_COMMAND } }),
  gate: CommandSpecSchema.optional(),
  ci: z
    .strictObject({
      provider: z.enum(['local', 'external', 'none']).default('none'),
      command: z.array(z.string()).min(1).optional(),
      timeout: z.number().positive().optional(),
    })
    .default({ provider: 'none' }),
  pr: z
    .strictObject({
      provider: z.enum(['local', 'github']).default('local'),
      /** Read the reviews of each open milestone pull request and send their feedback back to the work (github only). */
      reviews: z.boolean().default(false),
      /** Seconds between two reads of the reviews. */
      pollInterval: z.number().positive().default(60),
    })
    .refine((pr) => !pr.reviews || pr.provider === 'github', {
      message: 'pr.reviews needs pr.provider "github" (local pull requests have no reviews)',
      path: ['reviews'],
    })
    .default({ provider: 'local', reviews: false, pollInterval: 60 }),
  /** Stop spawning new attempts once the run's reported cost (USD) reaches this. */
  budget: z.number().nonnegative().optional(),
  /** Seconds to wait before retrying an attempt stopped by a rate limit that gave no reset time (doubles per limited attempt of the task, at most 16×). */
  rateLimitBackoff: z.number().nonnegative().default(300),
  /** Seconds an agent may print nothing and change nothing in its worktree before it is stopped as stalled (`0`: never); `agents.<role>.stallTimeout` overrides it. */
  stallTimeout: z.number().nonnegative().default(900),
  /** MiB an attempt's output file may reach before it is rotated to `<attempt>.log.1` (an attempt keeps at most twice this on disk); `0`: never rotated. */
  agentLogMaxMB: z.number().nonnegative().default(64),
  /**
   * Settings per role (the plan's task roles): `bestOf` (1..16) runs that many agents at once
   * for each attempt of the role's tasks, the first whose gate passes merged; a task's own
   * `bestOf` wins over it.
   */
  roles: z
    .record(z.string(), z.strictObject({ bestOf: z.number().int().min(1).max(16).optional() }))
    .optional(),
  /** Other repositories, by target id (also read from `config/targets.yaml`). */
  targets: z.record(TargetIdSchema, TargetSchema).optional(),
  /** Preparing new task worktrees: a set-up command, copied files, port blocks (off when absent). */
  workspace: WorkspaceConfigSchema.optional(),
  /** Commands run for events of the log (webhooks, chat messages); off when absent. */
  notify: z.array(NotifyRuleSchema).optional(),
  /** The target of every task that names none (a target at the main repository changes nothing but the target's settings). */
  defaultTarget: TargetIdSchema.optional(),
  /**
   * A git remote (a name such as `origin`, or a URL) where the integration branch and the
   * milestone branches live, for workers on several machines: each fetches before making a
   * task worktree and pushes each merge (compare-and-swap). Absent: one machine, nothing is
   * fetched or pushed.
   */
  remote: RemoteSchema.optional(),
  /**
   * Where the event log lives: `postgres://…` for workers on several machines over one
   * PostgreSQL log, `file:/path/orch.db` for a SQLite file shared by workers on one machine.
   * Absent: `<state-dir>/orch.db`. The environment variable `ORCH_DATABASE_URL` wins.
   */
  store: z.strictObject({ url: z.string().min(1) }).optional(),
  /** Seconds without a heartbeat after which another worker declares a worker lost (`orch spawn --worker`). */
  workerTimeout: z.number().positive().default(60),
  /** The most live agents across every worker of the run (each worker also keeps its own `maxConcurrent`). */
  maxConcurrentTotal: z.number().int().positive().optional(),
});
/** Fully defaulted configuration. */
export type OrchestratorConfig = z.infer<typeof OrchestratorConfigSchema>;
/** The configuration as a user writes it (every key optional). */
export type OrchestratorConfigInput = z.input<typeof OrchestratorConfigSchema>;

/** Built-in defaults, as if the config file were `{}`. */
export const DEFAULT_CONFIG: OrchestratorConfig = OrchestratorConfigSchema.parse({});

/** The agent command configured for a role, falling back to `default`. */
export function agentFor(config: OrchestratorConfig, role: string): AgentCommand | undefined {
  return config.agents[role] ?? config.agents['default'];
}

/**
 * The stall timeout of an agent in milliseconds: its own `stallTimeout`, else the run's;
 * undefined when it is `0` (off).
 *
 * @example
 * stallTimeoutMs(DEFAULT_CONFIG, { command: ['a'] }); // 900000
 * stallTimeoutMs(DEFAULT_CONFIG, { command: ['a'], stallTimeout: 0 }); // undefined
 */
export function stallTimeoutMs(
  config: OrchestratorConfig,
  agent: AgentCommand | undefined,
): number | undefined {
  const seconds = agent?.stallTimeout ?? config.stallTimeout;
  return seconds > 0 ? seconds * 1000 : undefined;
}

/**
 * How many lanes (agents at once) each attempt of a task runs: the task's own `bestOf`,
 * else its role's `roles.<role>.bestOf`, else 1.
 *
 * @example
 * bestOfFor({ roles: { dev: { bestOf: 3 } } }, { role: 'dev' }); // 3
 */
export function bestOfFor(
  config: { roles?: OrchestratorConfig['roles'] | undefined },
  task: { role: string; bestOf?: number | undefined },
): number {
  return task.bestOf ?? config.roles?.[task.role]?.bestOf ?? 1;
}
