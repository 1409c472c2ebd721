import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Orchestrator } from '../../../src/runtime/orchestrator/orchestrator.js';
import { initRepository, KNOWN_AGENTS, STARTER_PLANS } from '../../../src/runtime/operations/init.js';
import { loadConfig } from '../../../src/runtime/project/config.js';
import { findPlan, loadPlan } from '../../../src/runtime/project/plan-loader.js';
import { fixtureAgent, git, makeRepo, removeDir, tempDir } from '../helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

function repo(): string {
  const root = tempDir('init');
  dirs.push(root);
  return makeRepo(path.join(root, 'repo'));
}

/** A directory holding executables named `names` (each prints its name), for PATH. */
function binDir(...names: string[]): string {
  const dir = tempDir('init-bin');
  dirs.push(dir);
  for (const n of names) fs.writeFileSync(path.join(dir, n), `#!/bin/sh\necho ${n}\n`, { mode: 0o755 });
  return dir;
}

/** Every file under `dir` (relative) with its bytes, git metadata aside. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (r === '.git') continue;
      if (e.isDirectory()) walk(r);
      else out[r] = fs.readFileSync(path.join(dir, r), 'utf8');
    }
  };
  walk('');
  return out;
}

describe('orch init', () => {
  it.each(['dir', 'roadmap', 'yaml'] as const)(
    'writes a config, a valid starter plan in format %s, and the state directory .gitignore',
    async (format) => {
      const r = repo();
      const result = await initRepository({
        repoDir: r,
        stateDir: path.join(r, '.state'),
        format,
        searchPath: '',
      });
      const plan = STARTER_PLANS[format];
      expect(result.written).toEqual([...Object.keys(plan.files), 'orch.config.json', '.state/.gitignore']);
      expect(result.kept).toEqual([]);
      expect(result.plan).toBe(plan.location);
      // No agent on PATH: the simulated agent, said so.
      expect(result.agentsFound).toEqual([]);
      expect(result.defaultAgent).toEqual(['orch-sim']);
      const config = loadConfig(r);
      expect(config.planDir).toBe(plan.location);
      expect(config.agents['default']?.command).toEqual(['orch-sim']);
      // The starter plan is found where orch looks and validates: two tasks, the second after the first.
      const loaded = loadPlan(findPlan(r, config), { agentRoles: Object.keys(config.agents) });
      expect(loaded.plan.tasks).toHaveLength(2);
      expect(loaded.plan.milestones).toHaveLength(1);
      expect(loaded.plan.tasks[1]!.dependsOn.length + loaded.plan.phases.at(-1)!.dependsOn.length).toBe(1);
    },
  );

  it('takes the first known agent found on PATH as the default agent and lists the others', async () => {
    const r = repo();
    const result = await initRepository({
      repoDir: r,
      stateDir: path.join(r, '.state'),
      searchPath: [binDir('aider'), binDir('codex', 'unrelated')].join(path.delimiter),
    });
    expect(result.agentsFound).toEqual(['codex', 'aider']);
    expect(KNOWN_AGENTS.find((a) => a.executable === 'codex')!.preset).toBe('codex');
    const codex = ['codex', 'exec', '--json', '--sandbox', 'workspace-write', '{prompt}'];
    expect(result.defaultAgent).toEqual(codex);
    expect(result.defaultPreset).toBe('codex');
    // Written as the preset, read back as its command line.
    const written = JSON.parse(fs.readFileSync(path.join(r, 'orch.config.json'), 'utf8')) as {
      agents: Record<string, unknown>;
    };
    expect(written.agents['default']).toEqual({ preset: 'codex' });
    expect(loadConfig(r).agents['default']?.command).toEqual(codex);
  });

  it('run twice changes nothing and says it kept every file', async () => {
    const r = repo();
    await initRepository({ repoDir: r, stateDir: path.join(r, '.state'), format: 'yaml', searchPath: '' });
    const before = snapshot(r);
    const again = await initRepository({
      repoDir: r,
      stateDir: path.join(r, '.state'),
      format: 'yaml',
      searchPath: '',
    });
    expect(again.written).toEqual([]);
    expect(again.kept).toEqual(['plan.yaml', 'orch.config.json', '.state/.gitignore']);
    expect(again.defaultAgent).toBeNull();
    expect(snapshot(r)).toEqual(before);
  });

  it('never overwrites: a config and a plan already there are kept byte for byte and used', async () => {
    const r = repo();
    const config = '{ "planDir": "docs/roadmap.md", "maxRetries": 7 }\n';
    fs.writeFileSync(path.join(r, 'orch.config.json'), config);
    fs.mkdirSync(path.join(r, 'docs'));
    fs.writeFileSync(path.join(r, 'docs', 'roadmap.md'), '# Mine\n');
    fs.mkdirSync(path.join(r, '.state'));
    fs.writeFileSync(path.join(r, '.state', '.gitignore'), 'orch.db\n');
    const result = await initRepository({ repoDir: r, stateDir: path.join(r, '.state'), searchPath: '' });
    expect(result.written).toEqual([]);
    expect(result.kept).toEqual(['docs/roadmap.md', 'orch.config.json', '.state/.gitignore']);
    expect(result.plan).toBe('docs/roadmap.md');
    expect(fs.readFileSync(path.join(r, 'orch.config.json'), 'utf8')).toBe(config);
    expect(fs.readFileSync(path.join(r, '.state', '.gitignore'), 'utf8')).toBe('orch.db\n');
    expect(fs.existsSync(path.join(r, '.state', 'plans'))).toBe(false);
  });

  it('refuses a directory that is not a git repository, writing nothing', async () => {
    const dir = tempDir('init-nogit');
    dirs.push(dir);
    await expect(initRepository({ repoDir: dir, stateDir: path.join(dir, '.state') })).rejects.toMatchObject({
      code: 'NOT_A_GIT_REPO',
      hint: expect.stringContaining('git init'),
    });
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('after init and a whole run, git status shows only what the user should commit, never the runtime files', async () => {
    const r = repo();
    await initRepository({ repoDir: r, stateDir: path.join(r, '.state'), format: 'dir', searchPath: '' });
    // Before committing: the config and the plan are new; nothing orch-internal is listed.
    expect(git(r, 'status', '--porcelain', '--untracked-files=all').split('\n').sort()).toEqual(
      ['?? orch.config.json', ...Object.keys(STARTER_PLANS.dir.files).map((f) => `?? ${f}`)].sort(),
    );
    git(r, 'add', '-A');
    git(r, 'commit', '-q', '-m', 'orch init');
    const config = loadConfig(r);
    const orch = new Orchestrator({
      repoDir: r,
      config: {
        ...config,
        retryInterval: 0,
        agents: {
          default: { command: [process.execPath, fixtureAgent('work.mjs')], env: { WORK_MS: '20' } },
        },
      },
    });
    const outcome = await orch.run();
    expect(outcome.exitCode, outcome.reason).toBe(0);
    // The log, the lease, agent logs, prompts and worktrees all exist, and git ignores them;
    // the statuses written back into the plan files are the only change.
    for (const f of ['orch.db', 'logs', 'prompts', 'sandbox'])
      expect(fs.existsSync(path.join(r, '.state', f))).toBe(true);
    const status = git(r, 'status', '--porcelain', '--untracked-files=all').split('\n').filter(Boolean);
    expect(status.length).toBeGreaterThan(0);
    // (the helper trims the output, so the first line lost its leading space)
    expect(status.filter((line) => !/^ ?M \.state\/plans\//.test(line))).toEqual([]);
  });
});
