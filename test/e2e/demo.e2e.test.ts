import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, orchEnv, runOrch, type OrchResult } from '../fixtures/agents/e2e-repo.js';

/**
 * `orch demo --dir DIR`, the README's first command, through the built CLI (`npm run build`
 * first): it creates the calculator repository at DIR itself (a new or empty directory) and
 * runs the whole plan with the built-in simulated agent. The run must finish on its own, with
 * no AI, no network and no API key, and leave a repository the other commands can read.
 */

const TASKS = ['T001', 'T002', 'T003', 'T004', 'T005', 'T006', 'T007', 'T008'];
/** The tasks whose first attempt orch-sim fails on purpose (a hash of the id under 0.25). */
const RETRIED = ['T002', 'T003', 'T007'];

let dir: string;
let repo: string;

/**
 * orchEnv() without anything that could reach an AI or steer the simulated agent: no API keys,
 * no ORCH_* variables from the developer's shell (ORCH_SIM_FAIL_FIRST etc.).
 */
function offlineEnv(): NodeJS.ProcessEnv {
  const env = orchEnv();
  for (const key of Object.keys(env)) {
    if (/^(ORCH_|ANTHROPIC_|CLAUDE_|OPENAI_)/.test(key) || /API_KEY/.test(key)) delete env[key];
  }
  return env;
}

function orch(...args: string[]): Promise<OrchResult> {
  return runOrch(args, { env: offlineEnv(), timeout: 90_000 });
}

interface StatusJson {
  milestones: { id: string; status: string; pr?: { branch: string; url?: string } | null }[];
  phases: { id: string; status: string }[];
  tasks: { id: string; status: string; attempts: number }[];
  totals: { tasks: Record<string, number> };
}

let demo: { code: number; stdout: string; stderr: string };

beforeAll(async () => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-demo-e2e-')));
  repo = path.join(dir, 'calc');
  demo = await orch('demo', '--dir', repo);
}, 120_000);

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('orch demo --dir DIR', () => {
  it('runs the sample plan to completion and says so', { timeout: 120_000 }, () => {
    const out = demo.stdout;
    expect(demo.code, `${demo.stdout}\n${demo.stderr}`).toBe(0);
    expect(out).toContain(`orch demo: a sample repository in ${repo}`);

    // The progress lines: every task is spawned, merged; the retried ones scheduled a retry.
    for (const t of TASKS) {
      expect(out).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d ${t}\\s+▶ attempt 1 \\(`, 'm'));
      expect(out).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d ${t}\\s+⇢ merged [0-9a-f]{10}$`, 'm'));
    }
    for (const t of RETRIED) {
      expect(out).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d ${t}\\s+■ exit 1 after `, 'm'));
      expect(out).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d ${t}\\s+↻ attempt 2 after `, 'm'));
    }
    expect(out).not.toMatch(/✗ failed for good/);
    expect(out).toMatch(/^\d\d:\d\d:\d\d run\s+stopped: all 8 task\(s\) complete$/m);

    // The summary table: one row per task, every one complete, with its attempts and agent time.
    const lines = out.split('\n');
    const head = lines.findIndex((l) => /^task\s+status\s+attempts\s+time$/.test(l));
    expect(head, out).toBeGreaterThanOrEqual(0);
    expect(lines[head + 1]).toMatch(/^-+( {2}-+){3}$/);
    const rows = lines.slice(head + 2, head + 2 + TASKS.length).map((l) => l.trim().split(/\s+/));
    expect(rows.map((r) => r[0])).toEqual(TASKS);
    for (const [id, status, attempts, time] of rows) {
      expect(status, id).toBe('complete');
      expect(attempts, id).toBe(RETRIED.includes(id!) ? '2' : '1');
      expect(time, id).toMatch(/^\d+\.\ds$/);
      expect(Number.parseFloat(time!), id).toBeGreaterThan(0);
    }
    expect(lines[head + 2 + TASKS.length]).toBe('');

    for (const m of ['M1', 'M2']) {
      expect(out).toContain(`milestone ${m} complete, pull request file://${repo}/.state/prs/${m}.md`);
    }
    expect(out).toContain('done: all 8 task(s) complete');

    // What to try next, each pointing at this repository.
    expect(out).toContain('Try next:');
    expect(out).toContain(`  orch status --repo ${repo}`);
    expect(out).toContain(`  orch log --repo ${repo} --task T002`);
    expect(out).toMatch(new RegExp(`^  orch replay --repo ${repo} --to [1-9]\\d*$`, 'm'));
    expect(out).toContain(`  orch replay --repo ${repo} --verify`);
    expect(out).toContain(`  git -C ${repo} log --oneline --graph integration`);
  });

  it('leaves a repository whose status shows every task complete and a PR per milestone', async () => {
    expect(fs.existsSync(path.join(repo, '.git')), 'the repository is DIR itself').toBe(true);
    const r = await orch('status', '--repo', repo, '--json');
    expect(r.code, r.stderr).toBe(0);
    const status = JSON.parse(r.stdout) as StatusJson;
    expect(status.tasks.map((t) => t.id)).toEqual(TASKS);
    expect(status.tasks.every((t) => t.status === 'complete')).toBe(true);
    expect(status.totals.tasks['complete']).toBe(8);
    expect(Object.fromEntries(status.tasks.map((t) => [t.id, t.attempts]))).toEqual(
      Object.fromEntries(TASKS.map((t) => [t, RETRIED.includes(t) ? 2 : 1])),
    );
    expect(status.phases.map((p) => [p.id, p.status])).toEqual([
      ['S001', 'complete'],
      ['S002', 'complete'],
      ['S003', 'complete'],
      ['S004', 'complete'],
    ]);
    expect(status.milestones.map((m) => [m.id, m.status, m.pr?.branch])).toEqual([
      ['M1', 'complete', 'milestone/M1'],
      ['M2', 'complete', 'milestone/M2'],
    ]);
    for (const m of status.milestones) {
      expect(m.pr?.url).toBe(`file://${repo}/.state/prs/${m.id}.md`);
      const body = fs.readFileSync(path.join(repo, '.state', 'prs', `${m.id}.md`), 'utf8');
      expect(body.startsWith(`# ${m.id}: `)).toBe(true);
      expect(git(repo, 'rev-parse', '--verify', `refs/heads/milestone/${m.id}`)).toMatch(/^[0-9a-f]{40}$/);
    }
  });

  it('passes `orch replay --verify`, and the suggested log and replay commands work', async () => {
    const verify = await orch('replay', '--repo', repo, '--verify');
    expect(verify.code, `${verify.stdout}\n${verify.stderr}`).toBe(0);
    expect(verify.stdout).toMatch(/^verified \d+ events, \d+ invariants/);

    const to = /orch replay --repo \S+ --to (\d+)/.exec(demo.stdout)?.[1];
    expect(to).toBeDefined();
    const half = await orch('replay', '--repo', repo, '--to', to!, '--json');
    expect(half.code, half.stderr).toBe(0);
    expect((JSON.parse(half.stdout) as { replay: { position: number } }).replay.position).toBe(Number(to));

    const log = await orch('log', '--repo', repo, '--task', 'T002');
    expect(log.code, log.stderr).toBe(0);
    expect(log.stdout).toMatch(/ AgentExited .* exit=1 /);
    expect(log.stdout).toMatch(/ BranchMerged .* commit=[0-9a-f]{40}/);
    expect(log.stdout).toContain('Task T002: 2 attempts');
  });

  it('holds one merge per task on the integration branch, and the milestone branches on it', () => {
    const merges = git(repo, 'log', '--merges', '--format=%s', 'integration').split('\n').reverse();
    expect(merges).toHaveLength(TASKS.length);
    expect(merges.map((s) => /^orch: merge task (T\d{3}) /.exec(s)?.[1]).sort()).toEqual(TASKS);
    // Each task's work (its orch-sim note) reached the integration branch.
    const files = git(repo, 'ls-tree', '-r', '--name-only', 'integration', '--', 'orch-sim/')
      .split('\n')
      .sort();
    expect(files).toEqual(TASKS.map((t) => `orch-sim/${t}.md`));
    // M2's pull request branch carries the whole integration branch; main is untouched.
    expect(git(repo, 'rev-parse', 'milestone/M2')).toBe(git(repo, 'rev-parse', 'integration'));
    expect(git(repo, 'rev-list', '--count', 'main')).toBe('1');
  });

  it('refuses a --dir that is no longer empty, and changes nothing there', async () => {
    const before = git(repo, 'rev-parse', 'integration');
    const again = await orch('demo', '--dir', repo);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`the demo directory ${repo} is not empty`);
    expect(git(repo, 'rev-parse', 'integration')).toBe(before);
  });
});
