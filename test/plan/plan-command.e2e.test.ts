import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(root, 'bin', 'run.js');
let tmp: string;

// Run as a user would: under vitest NODE_ENV is "test", which makes oclif look for TypeScript sources.
const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1' };
delete env['NODE_ENV'];
const orch = (args: string[]) => execa('node', [bin, ...args], { reject: false, env, extendEnv: false });

function repoWith(name: string, files: Record<string, string>, copies: Record<string, string> = {}): string {
  const repo = path.join(tmp, name);
  fs.mkdirSync(repo, { recursive: true });
  for (const [to, from] of Object.entries(copies)) fs.cpSync(from, path.join(repo, to), { recursive: true });
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(repo, rel)), { recursive: true });
    fs.writeFileSync(path.join(repo, rel), text);
  }
  return repo;
}

beforeAll(() => {
  if (!fs.existsSync(path.join(root, 'dist', 'cli', 'commands', 'plan.js'))) {
    throw new Error('dist/cli/commands/plan.js is missing: run `npm run build` before the e2e tests');
  }
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-plan-e2e-'));
});
afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('orch plan (built binary)', () => {
  it('prints the tree of the plan in .state/plans, with the ready tasks', async () => {
    const repo = repoWith('dir', {}, { '.state/plans': fixture('directory') });
    const r = await orch(['plan', '--repo', repo]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('Calculator  (directory plan, .state/plans)');
    expect(r.stdout).toContain('[>] T002  Implement add and subtract  (implementer)  ← T001  READY');
    expect(r.stdout).toContain('Ready now, in priority order: T002, T004');
  });

  it('prints one JSON document with --json', async () => {
    const repo = repoWith('json', {}, { '.state/plans': fixture('directory') });
    const r = await orch(['plan', '--repo', repo, '--json']);
    expect(r.exitCode).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc)).toEqual(['plan', 'milestones', 'phases', 'tasks', 'ready']);
    expect(doc.plan).toEqual({
      name: 'Calculator',
      source: '.state/plans',
      format: 'directory',
      description: 'Agents build a small calculator library.',
    });
    expect(doc.milestones[0]).toMatchObject({ id: 'M1', title: 'Calculator Core', status: 'open', pr: null });
    expect(doc.phases[1]).toMatchObject({
      id: 'S002',
      milestone: 'M1',
      status: 'ready',
      dependsOn: ['S001'],
    });
    expect(doc.tasks[0]).toMatchObject({
      id: 'T001',
      phase: 'S001',
      role: 'architect',
      status: 'complete',
      dependsOn: [],
    });
    expect(doc.ready).toEqual(['T002', 'T004']);
  });

  it('finds plans/roadmap.md when planDir does not exist, and answers --goal', async () => {
    const repo = repoWith('goal', {}, { 'plans/roadmap.md': fixture('roadmap-large', 'roadmap.md') });
    const r = await orch(['plan', '--repo', repo, '--goal', 'PDF text extraction']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('Relay — Implementation Roadmap (plans/roadmap.md): 8 ready');
    expect(r.stdout).toContain('task 2.4.2  PDF text extraction with page numbers');
    expect(r.stdout).toMatch(/1\. 2\.3\.2 {2}Index only the default branch {2}\(phase 2\.3, needed first\)/);
    const j = await orch(['plan', '--repo', repo, '--goal', 'PDF text extraction', '--json']);
    const doc = JSON.parse(j.stdout);
    expect(doc.goal.matches[0]).toMatchObject({ kind: 'task', id: '2.4.2' });
    expect(doc.goal.tasks.map((t: { id: string }) => t.id)).toEqual(['2.3.2', '2.3.3', '2.4.2']);
  });

  it('prints the phase graph with --graph mermaid and --graph dot', async () => {
    const repo = repoWith('graph', {}, { 'plan.yaml': fixture('yaml', 'plan.yaml') });
    const m = await orch(['plan', '--repo', repo, '--graph', 'mermaid']);
    expect(m.exitCode).toBe(0);
    expect(m.stdout.split('\n')[0]).toBe('flowchart TD');
    expect(m.stdout).toContain('p0 --> p1');
    const d = await orch(['plan', '--repo', repo, '--graph', 'dot']);
    expect(d.stdout).toMatch(/^digraph plan \{/);
    expect(d.stdout).toContain('"S002" -> "S003";');
    const bad = await orch(['plan', '--repo', repo, '--graph', 'svg']);
    expect(bad.exitCode).not.toBe(0);
  });

  it('exits 1 on an invalid plan and lists every problem with file:line', async () => {
    const repo = repoWith('invalid', {}, { '.state/plans': fixture('invalid-directory') });
    const r = await orch(['plan', '--repo', repo]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n');
    expect(lines[0]).toBe('Error: the plan in .state/plans has 10 problems:');
    expect(lines.filter((l) => /^ {2}\.state\/plans\/\S+:\d+: /.test(l))).toHaveLength(10);
    expect(r.stderr).toContain(
      '  .state/plans/stories/E001/S002-impl.md:6: dependency cycle between phases: S002 → S004 → S002',
    );
    expect(r.stderr).toContain('Hint: ');
    const j = await orch(['plan', '--repo', repo, '--json']);
    expect(j.exitCode).toBe(1);
    const doc = JSON.parse(j.stdout);
    expect(doc.error.code).toBe('PLAN_INVALID');
    expect(doc.error.problems).toHaveLength(10);
    expect(doc.error.problems[0]).toEqual({
      file: '.state/plans/epics/E001-core.md',
      line: 1,
      message: expect.stringContaining('epic E001 lists story S005'),
    });
  });

  it('checks roles against orch.config agents, and reports unreadable input as a parse error', async () => {
    const repo = repoWith(
      'roles',
      { 'orch.config.json': JSON.stringify({ agents: { coder: { command: ['true'] } } }) },
      { 'plans/roadmap.md': fixture('roadmap-large', 'roadmap.md') },
    );
    const r = await orch(['plan', '--repo', repo]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(
      /plans\/roadmap\.md:\d+: role tester \(tasks 1\.6\.1, 1\.6\.2, 3\.5\.1 and 7 more\) has no persona and no configured agent/,
    );
    expect(r.stderr).toContain(
      'role default (tasks 4.7.1, 4.7.2, which name no role) has no persona and no configured agent: add an "agents.default" entry',
    );
    const broken = repoWith('broken', {}, { 'plan.json': fixture('malformed', 'broken.json') });
    const b = await orch(['plan', '--repo', broken, '--json']);
    expect(b.exitCode).toBe(1);
    expect(JSON.parse(b.stdout).error).toMatchObject({ code: 'PLAN_PARSE', file: 'plan.json', line: 5 });
    const none = await orch(['plan', '--repo', repoWith('empty', {})]);
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toMatch(/^Error: no plan found in .*\nHint: /);
  });
});
