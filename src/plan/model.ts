import { z } from 'zod';

/**
 * The unified plan model: milestones → phases → tasks (+ personas), whatever format the
 * plan was written in (docs/plan-formats.md). Entities are kept in flat arrays and
 * refer to each other by id; every entity remembers where it came from.
 */

/** Where an entity (or one of its lines) came from: a path relative to the plan root, 1-based line. */
export const SourceSchema = z.object({ file: z.string(), line: z.number().int().nonnegative() });
/** @see SourceSchema */
export type Source = z.infer<typeof SourceSchema>;

/** A status as written in the plan file (not orch's live status, which comes from the log). */
export const DeclaredStatusSchema = z.enum(['not_started', 'in_progress', 'blocked', 'complete']);
/** @see DeclaredStatusSchema */
export type DeclaredStatus = z.infer<typeof DeclaredStatusSchema>;

/** `⭐ BOOTSTRAP` / `⭐ PRIORITY` markers raise a phase above the rest. */
export const PrioritySchema = z.enum(['bootstrap', 'priority', 'normal']);
/** @see PrioritySchema */
export type Priority = z.infer<typeof PrioritySchema>;

/** One unit of work an agent does. */
export const TaskSchema = z.object({
  id: z.string().min(1),
  title: z.string(),
  role: z.string().min(1),
  phase: z.string().min(1),
  dependsOn: z.array(z.string()),
  status: DeclaredStatusSchema,
  description: z.string().optional(),
  /** Multi-repo target id (the `targets` of the config); absent means the main repository. */
  target: z.string().optional(),
  /**
   * Best of N: run this many agents at once for each attempt, each in its own worktree
   * (lane); the first whose gate passes is merged (1..16, checked by validation; over the
   * role's `roles.<role>.bestOf` of the config).
   */
  bestOf: z.number().optional(),
  source: SourceSchema,
  /** Where the status bytes live (the checkbox line, the YAML status field), for write-back. */
  statusSource: SourceSchema.optional(),
});
/** @see TaskSchema */
export type Task = z.infer<typeof TaskSchema>;

/** A phase (a story in format A, a `### Phase N.M` in format B). */
export const PhaseSchema = z.object({
  id: z.string().min(1),
  title: z.string(),
  milestone: z.string().min(1),
  dependsOn: z.array(z.string()),
  /** `Blocks:` as declared (format A); must agree with the other phases' dependsOn. */
  blocks: z.array(z.string()).optional(),
  /** The line that declares `dependsOn` (dependency problems point here). */
  dependsOnSource: SourceSchema.optional(),
  /** The line that declares `blocks`. */
  blocksSource: SourceSchema.optional(),
  tasks: z.array(z.string()),
  status: DeclaredStatusSchema,
  priority: PrioritySchema,
  description: z.string().optional(),
  acceptanceCriteria: z.array(z.string()),
  definitionOfDone: z.array(z.string()),
  /** Extra `- **Key:** value` lines and the like. */
  metadata: z.record(z.string(), z.string()),
  /** Format A: the epic the story belongs to. */
  epic: z.string().optional(),
  target: z.string().optional(),
  source: SourceSchema,
  statusSource: SourceSchema.optional(),
});
/** @see PhaseSchema */
export type Phase = z.infer<typeof PhaseSchema>;

/** A milestone: a set of phases that ships as one pull request. */
export const MilestoneSchema = z.object({
  id: z.string().min(1),
  title: z.string(),
  description: z.string().optional(),
  phases: z.array(z.string()),
  /** Format A: the epics the milestone lists in project.md. */
  epics: z.array(z.string()).optional(),
  status: DeclaredStatusSchema,
  source: SourceSchema,
  statusSource: SourceSchema.optional(),
});
/** @see MilestoneSchema */
export type Milestone = z.infer<typeof MilestoneSchema>;

/** Format A: an epic groups stories; its dependencies apply to every one of its stories. */
export const EpicSchema = z.object({
  id: z.string().min(1),
  title: z.string(),
  /** The milestone from the epic's metadata or from the project.md list that names it. */
  milestone: z.string().optional(),
  dependsOn: z.array(z.string()),
  /** The stories the epic lists under `## Stories`. */
  stories: z.array(z.string()),
  /** `- **Target**: api`: the target of every story of the epic that names none itself. */
  target: z.string().optional(),
  status: DeclaredStatusSchema,
  acceptanceCriteria: z.array(z.string()),
  metadata: z.record(z.string(), z.string()),
  source: SourceSchema,
  dependsOnSource: SourceSchema.optional(),
  statusSource: SourceSchema.optional(),
});
/** @see EpicSchema */
export type Epic = z.infer<typeof EpicSchema>;

/** A role's persona: the instruction template every agent of that role gets. */
export const PersonaSchema = z.object({
  role: z.string().min(1),
  title: z.string(),
  capabilities: z.array(z.string()),
  constraints: z.array(z.string()),
  template: z.string(),
  source: SourceSchema,
});
/** @see PersonaSchema */
export type Persona = z.infer<typeof PersonaSchema>;

/** Which of the formats in docs/plan-formats.md the plan was read from. */
export const PlanFormatSchema = z.enum(['directory', 'roadmap', 'yaml', 'json']);
/** @see PlanFormatSchema */
export type PlanFormat = z.infer<typeof PlanFormatSchema>;

/** A whole plan. Arrays are in file order. */
export const PlanSchema = z.object({
  name: z.string(),
  description: z.string().optional(),
  format: PlanFormatSchema,
  /** The plan directory or file it was loaded from, as given to the loader. */
  source: z.string(),
  milestones: z.array(MilestoneSchema),
  phases: z.array(PhaseSchema),
  tasks: z.array(TaskSchema),
  personas: z.array(PersonaSchema),
  /** Format A only: the epics, kept so their dependencies and milestones can be checked. */
  epics: z.array(EpicSchema).optional(),
});
/** @see PlanSchema */
export type Plan = z.infer<typeof PlanSchema>;

/** The role a task gets when the plan names none. */
export const DEFAULT_ROLE = 'default';
