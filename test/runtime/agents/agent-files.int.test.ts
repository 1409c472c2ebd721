import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OrchestratorConfigSchema, type OrchestratorConfigInput } from '../../../src/core/config.js';
import { Orchestrator } from '../../../src/runtime/orchestrator/orchestrator.js';
import { orchPlan } from '../../../src/runtime/operations/plan.js';
import { readAgentFile, withAgentFileFlags } from '../../../src/runtime/project/agent-files.js';
import { promptFilePath } from '../../../src/runtime/system/state-paths.js';
import { fixtureAgent, git, makePlanRepo, removeDir, repoEvents, tempDir } from '../helpers.js';

/**
 * Claude Code agent files (`.claude/agents/NAME.md`) as personas: named by
 * `agents.<role>.persona` or found as `.claude/agents/<role>.md`; the body is the persona
 * in the prompt, `model` and `tools` reach a Claude Code command (the stand-in
 * `test/fixtures/agents/claude-code/claude`) as `--model` and `--allowedTools`.
 */

const CLAUDE = fixtureAgent('claude-code/claude');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

const PLAN = `name: One task
milestones:
  - id: M1
    title: Code
    phases:
      - id: P1
        title: Code it
        tasks:
          - { id: T1, title: Write the code, role: coder }
`;

const AGENT_FILE = `---
name: careful-coder
description: Writes careful code
tools:
  - Read
  - Edit
  - Bash(git:*)
model: claude-sonnet-4-5
---
CAREFUL-CODER-BODY: test first, then code.
`;

function setup(files: Record<string, string>, agents: OrchestratorConfigInput['agents']) {
  const root = tempDir('agent-files');
  dirs.push(root);
  const repo = makePlanRepo(root, PLAN);
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(repo, rel)), { recursive: true });
    fs.writeFileSync(path.join(repo, rel), text);
  }
  if (Object.keys(files).length > 0) {
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'agent files');
  }
  const config = OrchestratorConfigSchema.parse({
    planDir: 'plan.yaml',
    retryInterval: 0,
    maxRetries: 0,
    agents,
  });
  return { root, repo, config };
}

describe('Claude Code agent files as personas', () => {
  it('agents.<role>.persona: the body in the prompt, model and tools as --model and --allowedTools', async () => {
    const argvFile = path.join(tempDir('argv'), 'argv.json');
    dirs.push(path.dirname(argvFile));
    const { repo, config } = setup(
      { '.claude/agents/careful.md': AGENT_FILE },
      {
        coder: {
          command: [CLAUDE, '-p', '{prompt}'],
          env: { FAKE_CLAUDE_ARGV: argvFile },
          persona: '.claude/agents/careful.md',
        },
      },
    );
    const outcome = await new Orchestrator({ repoDir: repo, config, pollIntervalMs: 20 }).run();
    expect(outcome.exitCode, outcome.reason).toBe(0);
    const argv = JSON.parse(fs.readFileSync(argvFile, 'utf8')) as string[];
    expect(argv[argv.indexOf('--model') + 1]).toBe('claude-sonnet-4-5');
    expect(argv[argv.indexOf('--allowedTools') + 1]).toBe('Read,Edit,Bash(git:*)');
    const prompt = fs.readFileSync(promptFilePath(path.join(repo, '.state'), 'T1', 1), 'utf8');
    expect(prompt).toContain('# Your role: careful-coder');
    expect(prompt).toContain('CAREFUL-CODER-BODY: test first, then code.');
    expect(prompt).not.toContain('claude-sonnet-4-5');
    // The recorded command is the one that ran.
    const requested = repoEvents(repo).find((e) => e.type === 'AgentSpawnRequested');
    expect((requested?.data as { command: string[] }).command).toContain('--allowedTools');
  });

  it('.claude/agents/<role>.md is found by itself; flags the command already gives are not added twice', async () => {
    const argvFile = path.join(tempDir('argv'), 'argv.json');
    dirs.push(path.dirname(argvFile));
    const { repo, config } = setup(
      { '.claude/agents/coder.md': AGENT_FILE },
      {
        coder: {
          command: [CLAUDE, '--model', 'opus', '-p', '{prompt}'],
          env: { FAKE_CLAUDE_ARGV: argvFile },
        },
      },
    );
    const outcome = await new Orchestrator({ repoDir: repo, config, pollIntervalMs: 20 }).run();
    expect(outcome.exitCode, outcome.reason).toBe(0);
    const argv = JSON.parse(fs.readFileSync(argvFile, 'utf8')) as string[];
    expect(argv.filter((a) => a === '--model')).toHaveLength(1);
    expect(argv[argv.indexOf('--model') + 1]).toBe('opus');
    expect(argv[argv.indexOf('--allowedTools') + 1]).toBe('Read,Edit,Bash(git:*)');
    const prompt = fs.readFileSync(promptFilePath(path.join(repo, '.state'), 'T1', 1), 'utf8');
    expect(prompt).toContain('CAREFUL-CODER-BODY');
  });

  it('a missing agent file is refused before anything runs, naming the file and the key', async () => {
    const { repo, config } = setup(
      {},
      {
        coder: {
          command: [process.execPath, fixtureAgent('succeed.mjs')],
          persona: '.claude/agents/nope.md',
        },
      },
    );
    const message = /agent file .*\.claude\/agents\/nope\.md \(agents\.coder\.persona\): cannot be read/;
    await expect(new Orchestrator({ repoDir: repo, config, pollIntervalMs: 20 }).run()).rejects.toMatchObject(
      {
        code: 'CONFIG_INVALID',
        message: expect.stringMatching(message),
      },
    );
    fs.writeFileSync(
      path.join(repo, 'orch.config.json'),
      JSON.stringify({ planDir: 'plan.yaml', agents: config.agents }),
    );
    await expect(orchPlan({ repoDir: repo, stateDir: path.join(repo, '.state') })).rejects.toThrow(message);
  });

  it('a malformed agent file found by itself fails the attempt with an error naming it', async () => {
    const { repo, config } = setup(
      { '.claude/agents/coder.md': '---\nname: [broken\n---\nbody\n' },
      { coder: { command: [process.execPath, fixtureAgent('succeed.mjs')] } },
    );
    const outcome = await new Orchestrator({ repoDir: repo, config, pollIntervalMs: 20 }).run();
    expect(outcome.exitCode).not.toBe(0);
    const failed = repoEvents(repo).find((e) => e.type === 'AgentSpawnFailed');
    expect((failed?.data as { error: string }).error).toMatch(
      /agent file .*\.claude\/agents\/coder\.md \(the file found for role coder in \.claude\/agents\): its front matter is not valid YAML/,
    );
  });
});

describe('readAgentFile and withAgentFileFlags', () => {
  const file = (text: string) => {
    const dir = tempDir('agent-file');
    dirs.push(dir);
    const f = path.join(dir, 'x.md');
    fs.writeFileSync(f, text);
    return f;
  };

  it('reads front matter and body; tools as a list or comma-separated text; model inherit is no model', () => {
    const read = readAgentFile(file(AGENT_FILE), 'coder', 'agents.coder.persona');
    expect(read.model).toBe('claude-sonnet-4-5');
    expect(read.tools).toEqual(['Read', 'Edit', 'Bash(git:*)']);
    expect(read.persona).toMatchObject({
      role: 'coder',
      title: 'careful-coder',
      template: 'CAREFUL-CODER-BODY: test first, then code.',
    });
    const plain = readAgentFile(
      file('---\nname: x\ntools: Read, Grep\nmodel: inherit\n---\nBODY\n'),
      'r',
      'k',
    );
    expect(plain.tools).toEqual(['Read', 'Grep']);
    expect(plain.model).toBeUndefined();
    expect(readAgentFile(file('No front matter at all.\n'), 'r', 'k').persona.template).toBe(
      'No front matter at all.',
    );
  });

  it('refuses a malformed file naming the file and the key', () => {
    expect(() => readAgentFile(file('---\nname: [x\n---\nbody\n'), 'r', 'agents.r.persona')).toThrow(
      /agent file .*x\.md \(agents\.r\.persona\): its front matter is not valid YAML/,
    );
    expect(() => readAgentFile(file('---\nname: x\nbody\n'), 'r', 'k')).toThrow(/no closing `---`/);
    expect(() => readAgentFile(file('---\nname: x\n---\n\n'), 'r', 'k')).toThrow(/no instructions/);
    expect(() => readAgentFile(file('---\ntools: 3\n---\nb\n'), 'r', 'k')).toThrow(/tools/);
  });

  it('adds --model and --allowedTools to Claude Code only, and only when not given', () => {
    const from = { model: 'm', tools: ['Read', 'Edit'] };
    expect(withAgentFileFlags(['claude', '-p', 'x'], from, true)).toEqual([
      'claude',
      '--model',
      'm',
      '--allowedTools',
      'Read,Edit',
      '-p',
      'x',
    ]);
    expect(withAgentFileFlags(['aider', 'x'], from, false)).toEqual(['aider', 'x']);
    expect(withAgentFileFlags(['claude', '--model=o', '--allowed-tools', 'Bash'], from, true)).toEqual([
      'claude',
      '--model=o',
      '--allowed-tools',
      'Bash',
    ]);
  });
});
