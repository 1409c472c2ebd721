/**
 * The files of the demo repository `orch demo` creates: a small calculator project with a
 * plan in format A (two milestones, four stories, eight tasks, three roles), an orch config
 * that runs the built-in simulated agent, and a CI check script.
 */

const persona = (role: string, title: string, work: string) => `# ${title} Persona

## Role
${role}

## Capabilities
- Reads the story, its acceptance criteria and its definition of done
- Works only in the task's own git worktree and commits there

## Constraints
- Touches only the files the task needs
- Reports a breakpoint with \`orch signal complete|blocked|pr\`

## Claude.md Template
You are the ${role} of a small calculator library.
${work}
Commit your work on your branch before you report.
`;

/** Relative path → content. */
export const DEMO_FILES: Record<string, string> = {
  'README.md': `# Calculator (orch demo)

A sample repository made by \`orch demo\`. Its plan is in \`.state/plans/\`; orch runs the
built-in simulated agent (\`orch-sim\`) for every task, each in its own git worktree.
`,
  '.gitignore':
    '.state/logs/\n.state/prompts/\n.state/sandbox/\n.state/prs/\n.state/orch.db*\n.state/orch.lock\n',
  'orch.config.json': `${JSON.stringify(
    {
      planDir: '.state/plans',
      integrationBranch: 'integration',
      baseBranch: 'main',
      maxConcurrent: 3,
      maxRetries: 3,
      retryInterval: 1,
      autoMerge: true,
      agents: { default: { command: ['orch-sim'], timeout: 120, env: { ORCH_SIM_DELAY_MS: '300' } } },
      gate: { command: ['git', 'diff', '--quiet', 'HEAD'], timeout: 60 },
      ci: { provider: 'local', command: ['node', 'scripts/ci-check.mjs'], timeout: 60 },
      pr: { provider: 'local' },
    },
    null,
    2,
  )}\n`,
  'scripts/ci-check.mjs': `// The demo's CI: every note an agent wrote must start with a heading.
import fs from 'node:fs';
const dir = 'orch-sim';
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.md')) : [];
for (const f of files) {
  const text = fs.readFileSync(\`\${dir}/\${f}\`, 'utf8');
  if (!text.startsWith('#')) {
    console.error(\`\${dir}/\${f} does not start with a heading\`);
    process.exit(1);
  }
}
console.log(\`ci: \${files.length} note(s) checked\`);
`,
  '.state/plans/project.md': `# Calculator

## Description
Agents build a small calculator library, then a command-line front end for it.

## Milestones

### M1: Calculator Core
The library: its API and the four operations, tested.

- [ ] E001

### M2: Extras
Scientific functions and the command line.

- [ ] E002
`,
  '.state/plans/epics/E001-calculator-core.md': `# E001: Calculator Core

## Metadata
- **Status**: not_started
- **Priority**: high
- **Milestone**: M1
- **Dependencies**: []

## Stories
- [ ] S001: Calculator API Design
- [ ] S002: Calculator Implementation

## Acceptance Criteria
- [ ] Division by zero returns an error
`,
  '.state/plans/epics/E002-extras.md': `# E002: Extras

## Metadata
- **Status**: not_started
- **Priority**: medium
- **Milestone**: M2
- **Dependencies**: [E001]

## Stories
- [ ] S003: Scientific Functions
- [ ] S004: Command-Line Interface

## Acceptance Criteria
- [ ] \`calc "2 + 2"\` prints 4
`,
  '.state/plans/stories/E001/S001-api-design.md': `# S001: Calculator API Design

## Metadata
- **Epic**: E001
- **Status**: not_started
- **Dependencies**: []
- **Blocks**: [S002]

## Description
Decide the public API of the calculator: function names, argument types and errors.

## Tasks
- [ ] T001: Write the API design document | role:architect

## Acceptance Criteria
1. The design names every operation and its error cases

## Definition of Done
- [ ] Design committed in docs/
`,
  '.state/plans/stories/E001/S002-calculator-implementation.md': `# S002: Calculator Implementation

## Metadata
- **Epic**: E001
- **Status**: not_started
- **Dependencies**: [S001]
- **Blocks**: []

## Tasks
- [ ] T002: Implement add and subtract | role:implementer
- [ ] T003: Implement multiply and divide | role:implementer
- [ ] T004: Write unit tests | role:tester | depends:T002,T003

## Acceptance Criteria
1. Given two numbers, add returns their sum
2. Division by zero returns an error, never Infinity

## Definition of Done
- [ ] All tests pass
`,
  '.state/plans/stories/E002/S003-scientific-functions.md': `# S003: Scientific Functions

## Metadata
- **Epic**: E002
- **Status**: not_started
- **Dependencies**: []
- **Blocks**: [S004]

## Description
Square root, powers and logarithms on top of the core operations.

## Tasks
- [ ] T005: Implement sqrt, pow and log | role:implementer
- [ ] T006: Test the scientific functions | role:tester | depends:T005

## Acceptance Criteria
- sqrt of a negative number returns an error
`,
  '.state/plans/stories/E002/S004-command-line.md': `# S004: Command-Line Interface

## Metadata
- **Epic**: E002
- **Status**: not_started
- **Dependencies**: [S003]
- **Blocks**: []

## Tasks
- [ ] T007: Add the calc command | role:implementer
- [ ] T008: Test the calc command end to end | role:tester | depends:T007

## Definition of Done
- [ ] \`calc --help\` lists every operation
`,
  '.state/plans/personas/architect.md': persona(
    'architect',
    'Architect',
    'You design interfaces and write them down before anyone implements them.',
  ),
  '.state/plans/personas/implementer.md': persona(
    'implementer',
    'Implementer',
    'You write the code the design asks for, small and readable.',
  ),
  '.state/plans/personas/tester.md': persona(
    'tester',
    'Tester',
    'You write tests that fail when the code is wrong, and run them.',
  ),
};
