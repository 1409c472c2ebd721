import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { OrchestratorConfigSchema } from '../../../src/core/config.js';
import { checkInvariants } from '../../../src/core/invariants.js';
import { Orchestrator, type OrchestratorWarning } from '../../../src/runtime/orchestrator/orchestrator.js';
import { loadPlan } from '../../../src/runtime/project/plan-loader.js';
import { git, removeDir, tempDir, makePlanRepo, repoEvents } from '../helpers.js';

const AGENT = fileURLToPath(new URL('../../fixtures/roadmap-e2e/agent.mjs', import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const d of dirs.splice(0)) removeDir(d);
});

const PLAN = `name: Revisable
milestones:
  - id: M1
    title: One
    phases:
      - id: P1
        title: First
        dependsOn: []
        tasks:
          - { id: T1, title: Make a, role: dev }
          - { id: T2, title: Make b, role: dev, dependsOn: [T1] }
      - id: P2
        title: Second
        dependsOn: [P1]
        tasks:
          - { id: T3, title: Make c, role: dev }
`;

function setup(script: (planFile: string) => Record<string, unknown>) {
  const root = tempDir('orch-plan');
  dirs.push(root);
  const repo = makePlanRepo(root, PLAN);
  const scriptFile = path.join(root, 'script.json');
  fs.writeFileSync(scriptFile, JSON.stringify(script(path.join(repo, 'plan.yaml'))));
  const config = OrchestratorConfigSchema.parse({
    planDir: 'plan.yaml',
    retryInterval: 0,
    maxRetries: 2,
    agents: {
      dev: { command: [process.execPath, AGENT], env: { ROADMAP_SCRIPT: scriptFile } },
    },
  });
  return { repo, config, planFile: path.join(repo, 'plan.yaml') };
}

const events = repoEvents;

const mergeOrder = (repo: string) =>
  git(repo, 'log', '--merges', '--reverse', '--format=%s', 'integration')
    .split('\n')
    .map((s) => /task (\S+)/.exec(s)?.[1]);

describe('Orchestrator with a plan edited while it runs', () => {
  it('records a task added and a dependency changed as PlanRevised and follows the new plan', async () => {
    const { repo, config, planFile } = setup((file) => ({
      T1: {
        editPlan: {
          file,
          from: 'dependsOn: [T1] }\n',
          to: 'dependsOn: [T1, T9] }\n          - { id: T9, title: Make z, role: dev }\n',
        },
      },
    }));
    const outcome = await new Orchestrator({ repoDir: repo, config }).run();
    expect(outcome.exitCode).toBe(0);
    expect(outcome.status.tasks.map((t) => [t.id, t.status])).toEqual([
      ['T1', 'complete'],
      ['T2', 'complete'],
      ['T9', 'complete'],
      ['T3', 'complete'],
    ]);
    const log = events(repo);
    const revisions = log.filter((e) => e.type === 'PlanRevised');
    expect(revisions.map((e) => (e.data as { diff: unknown }).diff)).toEqual([
      { added: ['T9'], removed: [], changed: ['P1', 'T2'] },
    ]);
    // T2 now waits for T9; T3 waits for the whole of P1, T9 included.
    expect(mergeOrder(repo)).toEqual(['T1', 'T9', 'T2', 'T3']);
    expect(checkInvariants(log, config)).toEqual([]);
    // The gardener wrote the final statuses into plan.yaml; that was no revision.
    expect(loadPlan(planFile).plan.tasks.map((t) => t.status)).toEqual([
      'complete',
      'complete',
      'complete',
      'complete',
    ]);
    expect(fs.readFileSync(planFile, 'utf8')).toContain(
      '          - { status: complete, id: T9, title: Make z, role: dev }\n',
    );
  });

  it('refuses a revision that makes the plan invalid and finishes on the last valid plan', async () => {
    const stderr: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr.push(String(chunk));
      return write(chunk);
    });
    const warnings: OrchestratorWarning[] = [];
    const { repo, config, planFile } = setup((file) => ({
      T1: {
        editPlan: {
          file,
          from: 'dependsOn: [T1] }',
          to: 'dependsOn: [T1, T404] }',
        },
      },
    }));
    const orch = new Orchestrator({ repoDir: repo, config, onWarning: (w) => warnings.push(w) });
    const outcome = await orch.run();
    expect(outcome.exitCode).toBe(0);
    expect(outcome.status.tasks.map((t) => t.status)).toEqual(['complete', 'complete', 'complete']);
    expect(events(repo).filter((e) => e.type === 'PlanRevised')).toEqual([]);
    // The warning goes to the sink (and is kept on the orchestrator); the library prints nothing.
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      code: 'PLAN_REVISION_REFUSED',
      problems: [{ file: 'plan.yaml', message: expect.stringMatching(/T404/) as unknown }],
    });
    expect(warnings[0]?.message).toMatch(
      /^the edited plan is not valid; continuing on the last valid plan: .*\n {2}plan\.yaml:\d+: .*T404/,
    );
    expect(orch.warnings()).toEqual(warnings);
    expect(stderr.join('')).not.toContain('not valid');
    // The refusal is in the log too, once, with the problem at its place.
    const refused = events(repo).filter((e) => e.type === 'PlanRevisionRefused');
    expect(refused).toHaveLength(1);
    expect(refused[0]?.data).toMatchObject({
      count: 1,
      problems: [{ file: 'plan.yaml', message: expect.stringMatching(/T404/) as unknown }],
    });
    // The invalid file is left as the person wrote it (the gardener does not touch it).
    expect(fs.readFileSync(planFile, 'utf8')).toContain('dependsOn: [T1, T404] }');
  });
  it('warns through the sink when statuses cannot be written back, and finishes the work', async () => {
    const stderr: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr.push(String(chunk));
      return write(chunk);
    });
    const { repo, config, planFile } = setup(() => ({}));
    // The gardener writes through `.plan.yaml.orch-<pid>.tmp`: a directory there makes every write fail.
    fs.mkdirSync(path.join(repo, `.plan.yaml.orch-${process.pid}.tmp`));
    const warnings: OrchestratorWarning[] = [];
    const orch = new Orchestrator({ repoDir: repo, config, onWarning: (w) => warnings.push(w) });
    const outcome = await orch.run();
    expect(outcome.exitCode, outcome.reason).toBe(0);
    expect(warnings.length).toBeGreaterThan(0);
    for (const w of warnings) {
      expect(w.code).toBe('PLAN_WRITE_BACK_FAILED');
      expect(w.message).toMatch(/^could not write statuses back into the plan: /);
    }
    expect(stderr.join('')).not.toContain('could not write statuses');
    expect(fs.readFileSync(planFile, 'utf8')).toBe(PLAN);
  });
});
