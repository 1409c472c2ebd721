import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/core/envelope.js';
import { checkInvariants } from '../../src/core/invariants.js';
import { openSqliteEventStore } from '../../src/store/sqlite/open.js';
import { git, gitRepo, orchEnv } from '../fixtures/agents/e2e-repo.js';

// The built CLI (`npm run build` first) through a whole roadmap: two milestones with
// cross-phase dependencies, two agents whose changes conflict, one agent blocked on CI.
const bin = fileURLToPath(new URL('../../bin/run.js', import.meta.url));
const fixtures = fileURLToPath(new URL('../fixtures/roadmap-e2e/', import.meta.url));
const agent = path.join(fixtures, 'agent.mjs');
const ROADMAP = fs.readFileSync(path.join(fixtures, 'roadmap.md'), 'utf8');

let dir: string;
let repo: string;
let prompts: string;
const runs: { args: string[]; status: number | null; stdout: string; stderr: string }[] = [];

function orch(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args, '--repo', repo], {
    env: orchEnv(),
    encoding: 'utf8',
    timeout: 120_000,
  });
  const run = { args, status: r.status, stdout: r.stdout, stderr: r.stderr };
  runs.push(run);
  return run;
}

function readLog(): RecordedEvent[] {
  const store = openSqliteEventStore(path.join(repo, '.state', 'orch.db'), { readonly: true });
  try {
    return [...store.readAll()];
  } finally {
    store.close();
  }
}

const config = {
  planDir: 'plans/roadmap.md',
  maxConcurrent: 4,
  maxRetries: 3,
  retryInterval: 0,
  autoMerge: true,
  ci: { provider: 'external' },
  pr: { provider: 'local' },
  agents: {
    default: {
      command: [process.execPath, agent, '{promptFile}'],
      env: {} as Record<string, string>,
    },
  },
};

beforeAll(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-roadmap-e2e-')));
  repo = gitRepo(path.join(dir, 'repo'));
  prompts = path.join(dir, 'prompts.txt');
  config.agents.default.env = {
    ROADMAP_SCRIPT: path.join(fixtures, 'script.json'),
    ROADMAP_PROMPTS: prompts,
  };
  fs.mkdirSync(path.join(repo, 'plans'));
  fs.writeFileSync(path.join(repo, 'plans', 'roadmap.md'), ROADMAP);
  fs.writeFileSync(path.join(repo, 'orch.config.json'), JSON.stringify(config, null, 2));
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'the roadmap');
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('a roadmap with two milestones, a merge conflict and a CI block', () => {
  it('stops waiting on CI (exit 2), then completes everything after `orch ci pass`', () => {
    const first = orch('spawn', '--quiet');
    expect(first.status, `${first.stdout}\n${first.stderr}`).toBe(2);
    expect(`${first.stdout}${first.stderr}`).toMatch(/1\.2\.1/);

    const ci = orch('ci', 'pass', '--ref', 'integration');
    expect(ci.status, ci.stderr).toBe(0);

    // The rest of the work is merged; the milestones' pull requests wait for CI to judge
    // those merges (exit 2, waiting on an outside event).
    const second = orch('spawn', '--quiet');
    expect(second.status, `${second.stdout}\n${second.stderr}`).toBe(2);
    expect(`${second.stdout}${second.stderr}`).toMatch(/CI/);
    expect(readLog().filter((e) => e.type === 'PullRequestRequested')).toEqual([]);

    expect(orch('ci', 'pass', '--ref', 'integration').status).toBe(0);
    const third = orch('spawn', '--quiet');
    expect(third.status, `${third.stdout}\n${third.stderr}`).toBe(0);
  });

  it('completed every task, unblocked and completed every phase, both milestones', () => {
    const log = readLog();
    const types = log.map((e) => e.type);
    const byType = (t: string) => log.filter((e) => e.type === t);
    const ids = (t: string, key: string) =>
      byType(t)
        .map((e) => (e.data as Record<string, string>)[key])
        .sort();
    expect(ids('BranchMerged', 'taskId')).toEqual([
      '1.1.1',
      '1.1.2',
      '1.1.3',
      '1.2.1',
      '2.1.1',
      '2.2.1',
      '2.2.2',
    ]);
    expect(ids('PhaseUnblocked', 'phaseId')).toEqual(['1.1', '1.2', '2.1', '2.2']);
    expect(ids('PhaseCompleted', 'phaseId')).toEqual(['1.1', '1.2', '2.1', '2.2']);
    expect(ids('MilestoneCompleted', 'milestoneId')).toEqual(['batch-1', 'batch-2']);
    expect(types).toContain('CiCompleted');
    expect(byType('TaskUnblocked').some((e) => (e.data as { reason: string }).reason === 'ci')).toBe(true);
    expect(
      checkInvariants(log, { maxConcurrent: config.maxConcurrent, maxRetries: config.maxRetries }),
    ).toEqual([]);
  });

  it('aborted the conflicting merge and retried with a prompt naming the files', () => {
    const conflicts = readLog().filter((e) => e.type === 'MergeConflicted');
    expect(conflicts).toHaveLength(1);
    const { taskId, files } = conflicts[0]?.data as { taskId: string; files: string[] };
    expect(files).toEqual(['shared.txt']);
    const text = fs.readFileSync(prompts, 'utf8');
    const retry = text.slice(text.indexOf(`=== ${taskId} attempt 2`));
    expect(retry).toContain('- shared.txt');
    expect(retry).toContain('Bring your branch up to date with the integration branch');
    // Both sides of the conflict made it into the integration branch.
    expect(git(repo, 'show', 'integration:shared.txt').split('\n').sort()).toEqual(['left = 1', 'right = 2']);
    // The integration worktree is never left conflicted.
    expect(git(repo, 'status', '--porcelain')).not.toMatch(/^(UU|AA) /m);
  });

  it('merged into the integration branch in an order that respects the dependencies', () => {
    const subjects = git(
      repo,
      'log',
      '--merges',
      '--first-parent',
      '--reverse',
      '--format=%s',
      'integration',
    );
    const order = subjects.split('\n').map((s) => /task (\S+)/.exec(s)?.[1] ?? s);
    expect([...order].sort()).toEqual(['1.1.1', '1.1.2', '1.1.3', '1.2.1', '2.1.1', '2.2.1', '2.2.2']);
    const at = (id: string) => order.indexOf(id);
    for (const core of ['1.1.1', '1.1.2', '1.1.3']) {
      expect(at(core)).toBeLessThan(at('1.2.1'));
      expect(at(core)).toBeLessThan(at('2.2.1'));
      expect(at(core)).toBeLessThan(at('2.2.2'));
    }
    expect(at('1.2.1')).toBeLessThan(at('2.1.1'));
    // Every merge is a real merge commit naming the task and the spawn.
    expect(git(repo, 'log', '-1', '--format=%B', 'integration')).toMatch(
      /^orch: merge task .*\n\nSpawn: \S+/,
    );
  });

  it('wrote the final statuses into the roadmap, every other byte unchanged', () => {
    const now = fs.readFileSync(path.join(repo, 'plans', 'roadmap.md'), 'utf8');
    const expected = ROADMAP.replaceAll('  - [ ] ', '  - [x] ').replaceAll(
      '- **Status:** ⚪ Not Started',
      '- **Status:** ✅ Complete',
    );
    expect(now).toBe(expected);
    const check = orch('plan', '--check');
    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
    expect(check.stdout).toContain('agree with the log');
  });

  it('opened exactly one PR per milestone, shown by orch status', () => {
    const log = readLog();
    for (const m of ['batch-1', 'batch-2']) {
      const of = (t: string) =>
        log.filter((e) => e.type === t && (e.data as { milestoneId: string }).milestoneId === m);
      expect(of('PullRequestRequested')).toHaveLength(1);
      expect(of('PullRequestOpened')).toHaveLength(1);
      expect(git(repo, 'branch', '--list', `milestone/${m}`)).toBe(`milestone/${m}`);
      const description = fs.readFileSync(path.join(repo, '.state', 'prs', `${m}.md`), 'utf8');
      expect(description).toMatch(/## Phase \d\.\d: /);
    }
    const status = orch('status', '--json');
    expect(status.status, status.stderr).toBe(0);
    const view = JSON.parse(status.stdout) as { milestones: { id: string; status: string; pr: unknown }[] };
    expect(view.milestones.map((m) => [m.id, m.status, m.pr])).toEqual([
      [
        'batch-1',
        'complete',
        { url: expect.stringContaining('batch-1.md') as string, branch: 'milestone/batch-1' },
      ],
      [
        'batch-2',
        'complete',
        { url: expect.stringContaining('batch-2.md') as string, branch: 'milestone/batch-2' },
      ],
    ]);
  });

  it('replays to the same state (orch replay --verify)', () => {
    const verify = orch('replay', '--verify');
    expect(verify.status, `${verify.stdout}${verify.stderr}`).toBe(0);
  });

  it('orch plan --check lists a task removed from the file while it has history, and exits 1', () => {
    const file = path.join(repo, 'plans', 'roadmap.md');
    const gardened = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, gardened.replace('  - [x] Write the examples\n', ''));
    try {
      const check = orch('plan', '--check', '--json');
      expect(check.status).toBe(1);
      const report = JSON.parse(check.stdout) as {
        check: { log: boolean; problems: { kind: string; message: string }[] };
      };
      expect(report.check.log).toBe(true);
      expect(report.check.problems.map((p) => p.kind)).toEqual(['task-disappeared']);
      expect(report.check.problems[0]?.message).toMatch(/^task 2\.2\.2 has \d+ event\(s\) in the log/);
    } finally {
      fs.writeFileSync(file, gardened);
    }
  });
});
