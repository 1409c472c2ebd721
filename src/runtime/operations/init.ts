import fs from 'node:fs';
import path from 'node:path';
import { presetCommand, type AgentPreset } from '../../core/agent-presets.js';
import { OrchError } from '../../util/errors.js';
import { gitResult } from '../git/git.js';
import { CONFIG_FILES, loadConfig } from '../project/config.js';
import { PLAN_FALLBACKS } from '../project/plan-loader.js';
import { prepareStateDir } from '../system/state-paths.js';

/**
 * `orch init`: sets an existing git repository up for orch without touching anything that
 * is already there — an `orch.config.json` naming the coding agents found on `PATH`, a
 * starter plan in the chosen format, and the state directory's `.gitignore`.
 */

/** The plan formats `orch init --format` writes. */
export const INIT_FORMATS = ['dir', 'roadmap', 'yaml'] as const;
/** @see INIT_FORMATS */
export type InitFormat = (typeof INIT_FORMATS)[number];

/**
 * The coding agents `orch init` looks for, in order of preference, each with its preset (the
 * command line of its non-interactive mode, `src/core/agent-presets.ts`); the first found
 * becomes the `default` agent, written as `{ "preset": "…" }`.
 */
export const KNOWN_AGENTS: readonly { name: string; executable: string; preset: AgentPreset }[] = [
  { name: 'Claude Code', executable: 'claude', preset: 'claude' },
  { name: 'Codex', executable: 'codex', preset: 'codex' },
  { name: 'aider', executable: 'aider', preset: 'aider' },
  { name: 'Gemini CLI', executable: 'gemini', preset: 'gemini' },
];

/** What `orch init` is asked to do. */
export interface InitOptions {
  repoDir: string;
  stateDir: string;
  /** The starter plan's format (default `dir`, format A in `.state/plans`). */
  format?: InitFormat;
  /** Where to look for agents (default: `process.env.PATH`). */
  searchPath?: string;
}

/** What `orch init` did: every file it wrote, every one it found and kept, and the agents. */
export interface InitResult {
  repo: string;
  format: InitFormat;
  /** Repository-relative paths written. */
  written: string[];
  /** Repository-relative paths that already existed and were left as they are. */
  kept: string[];
  /** Executables of the known agents found on PATH, in preference order. */
  agentsFound: string[];
  /** The `default` agent's command written into the config (null: the config was kept). */
  defaultAgent: string[] | null;
  /** The preset written for the `default` agent (null: orch-sim, or the config was kept). */
  defaultPreset: AgentPreset | null;
  /** Where the plan is (repository-relative): the starter plan, or the plan already there. */
  plan: string;
  /** Whether the repository has a commit yet (`orch spawn` needs one to branch from). */
  hasCommits: boolean;
}

/**
 * Sets the repository up. Never overwrites: a config, a plan or a `.gitignore` that exists is
 * kept (listed in `kept`); run twice, the second run writes nothing. Throws `NOT_A_GIT_REPO`
 * outside a git repository.
 *
 * @example
 * const r = await initRepository({ repoDir: '/repo', stateDir: '/repo/.state', format: 'yaml' });
 * r.written; // ['orch.config.json', 'plan.yaml', '.state/.gitignore']
 */
export async function initRepository(options: InitOptions): Promise<InitResult> {
  const repo = path.resolve(options.repoDir);
  const format = options.format ?? 'dir';
  const inside = await gitResult(repo, ['rev-parse', '--is-inside-work-tree']).catch(() => null);
  if (inside === null || inside.exitCode !== 0 || inside.stdout.trim() !== 'true') {
    throw new OrchError('NOT_A_GIT_REPO', `${repo} is not inside a git repository`, {
      hint: 'run `git init` there first (orch works on git branches and worktrees), or pass --repo DIR',
      details: { dir: repo },
    });
  }
  const written: string[] = [];
  const kept: string[] = [];
  const rel = (p: string) => path.relative(repo, p).split(path.sep).join('/') || '.';

  const agentsFound = KNOWN_AGENTS.filter((a) => onPath(a.executable, options.searchPath)).map(
    (a) => a.executable,
  );
  const preset = KNOWN_AGENTS.find((a) => a.executable === agentsFound[0])?.preset;
  // A found tool is written as its preset; orch-sim (none found) as its command.
  const chosen = preset === undefined ? ['orch-sim'] : presetCommand(preset);

  // The plan: one already found where orch looks is kept; otherwise the starter plan.
  const starter = STARTER_PLANS[format];
  const existingConfig = CONFIG_FILES.map((f) => path.join(repo, f)).find((f) => fs.existsSync(f));
  // A config of its own says where its plan is (an invalid config is an error: fix it first).
  const configured = existingConfig === undefined ? [] : [loadConfig(repo).planDir];
  const existingPlan = [...configured, starter.location, '.state/plans', ...PLAN_FALLBACKS]
    .map((p) => path.join(repo, p))
    .find((p) => fs.existsSync(p));
  let plan: string;
  if (existingPlan !== undefined) {
    plan = rel(existingPlan);
    kept.push(plan);
  } else {
    plan = starter.location;
    for (const [file, content] of Object.entries(starter.files)) {
      const abs = path.join(repo, file);
      fs.mkdirSync(path.dirname(abs), { recursive: true });
      if (writeNew(abs, content)) written.push(file);
      else kept.push(file);
    }
  }

  let defaultAgent: string[] | null = null;
  let defaultPreset: AgentPreset | null = null;
  if (existingConfig !== undefined) {
    kept.push(rel(existingConfig));
  } else {
    const config = {
      planDir: plan,
      maxConcurrent: 2,
      agents: { default: preset === undefined ? { command: chosen } : { preset } },
    };
    if (writeNew(path.join(repo, 'orch.config.json'), `${JSON.stringify(config, null, 2)}\n`)) {
      written.push('orch.config.json');
      defaultAgent = chosen;
      defaultPreset = preset ?? null;
    }
  }

  const gitignore = path.join(options.stateDir, '.gitignore');
  const hadIgnore = fs.existsSync(gitignore);
  prepareStateDir(options.stateDir);
  (hadIgnore ? kept : written).push(rel(gitignore));
  const head = await gitResult(repo, ['rev-parse', '--verify', '--quiet', 'HEAD']);
  return {
    repo,
    format,
    written,
    kept,
    agentsFound,
    defaultAgent,
    defaultPreset,
    plan,
    hasCommits: head.exitCode === 0,
  };
}

/** Writes `content` to `file` unless it exists; true when written. */
function writeNew(file: string, content: string): boolean {
  try {
    fs.writeFileSync(file, content, { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/**
 * Whether an executable named `name` is in one of the directories of `searchPath`.
 *
 * @example
 * onPath('git', process.env.PATH); // true
 */
export function onPath(name: string, searchPath: string | undefined = process.env['PATH']): boolean {
  for (const dir of (searchPath ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    try {
      const file = path.join(dir, name);
      if (!fs.statSync(file).isFile()) continue;
      fs.accessSync(file, fs.constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

/** A starter plan: where orch finds it and its files (repository-relative). */
interface StarterPlan {
  location: string;
  files: Record<string, string>;
}

const STARTER_TASKS = {
  first: 'Describe the project in NOTES.md (what it does, how to build and test it)',
  second: 'Add a test that runs the project’s build, and make it pass',
};

/** The starter plan of each format: one milestone, one phase, two tasks in order. */
export const STARTER_PLANS: Record<InitFormat, StarterPlan> = {
  dir: {
    location: '.state/plans',
    files: {
      '.state/plans/project.md': `# My project

## Description
What the agents should build. Replace this starter plan with your own: milestones here,
epics in epics/, stories (phases) with their tasks in stories/, roles in personas/.

## Milestones

### M1: Getting started
A first, small piece of work to see orch run on this repository.

- [ ] E001
`,
      '.state/plans/epics/E001-getting-started.md': `# E001: Getting started

## Metadata
- **Status**: not_started
- **Priority**: high
- **Milestone**: M1
- **Dependencies**: []

## Stories
- [ ] S001: First steps
`,
      '.state/plans/stories/E001/S001-first-steps.md': `# S001: First steps

## Metadata
- **Epic**: E001
- **Status**: not_started
- **Dependencies**: []
- **Blocks**: []

## Description
Two small tasks, the second after the first.

## Tasks
- [ ] T001: ${STARTER_TASKS.first} | role:implementer
- [ ] T002: ${STARTER_TASKS.second} | role:implementer | depends:T001

## Acceptance Criteria
1. NOTES.md says how to build and test the project

## Definition of Done
- [ ] The work is committed on the task's branch
`,
      '.state/plans/personas/implementer.md': `# Implementer Persona

## Role
implementer

## Capabilities
- Reads the task, its acceptance criteria and its definition of done
- Works only in the task's own git worktree and commits there

## Constraints
- Touches only the files the task needs

## Claude.md Template
You implement one task of this repository's plan. Keep the change small and readable,
commit it on your branch, then report with \`orch signal complete --summary "…"\`.
`,
    },
  },
  roadmap: {
    location: 'plans/roadmap.md',
    files: {
      'plans/roadmap.md': `# Roadmap

Replace this starter plan with your own: \`## Batch\` sections are milestones, \`### Phase\`
sections are phases, their \`- **Tasks:**\` checklists are tasks.

## Batch 1 (Getting started)

### Phase 1.1: First steps
- **Status:** ⚪ Not Started
- **Depends On:** none
- **Tasks:**
  - [ ] ${STARTER_TASKS.first}
- **Done When:** NOTES.md says how to build and test the project

### Phase 1.2: A first test
- **Status:** ⚪ Not Started
- **Depends On:** Phase 1.1
- **Tasks:**
  - [ ] ${STARTER_TASKS.second}
`,
    },
  },
  yaml: {
    location: 'plan.yaml',
    files: {
      'plan.yaml': `# Replace this starter plan with your own (milestones → phases → tasks).
name: My project
milestones:
  - id: M1
    title: Getting started
    phases:
      - id: P1
        title: First steps
        acceptanceCriteria:
          - NOTES.md says how to build and test the project
        tasks:
          - id: T1
            title: ${STARTER_TASKS.first}
            role: implementer
          - id: T2
            title: ${STARTER_TASKS.second}
            role: implementer
            dependsOn: [T1]
`,
    },
  },
};
