import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { streamIds } from '../../../src/core/events.js';
import { PlanParseError, PlanValidationError } from '../../../src/plan/errors.js';
import { gardenPlanSet } from '../../../src/runtime/project/gardener.js';
import { LiveLog } from '../../../src/runtime/log/live-log.js';
import { recordPlan } from '../../../src/runtime/project/plan-recording.js';
import {
  findPlanSources,
  loadPlanSet,
  planSetStamp,
  readPlanSet,
  targetAgentRoles,
} from '../../../src/runtime/project/plan-set.js';
import { createMemoryEventStore } from '../../../src/store/index.js';
import { OrchError } from '../../../src/util/errors.js';
import { removeDir, tempDir } from '../helpers.js';

/**
 * Plan sets (multi-repo targets): the main repository's plan and each target's own plan,
 * read from real files, namespaced, validated together, and gardened file by file.
 */

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

const API_ROADMAP = `# API Roadmap

## Batch 1 (Endpoints)

### Phase 1.1: Health
- **Status:** ⚪ Not Started
- **Depends On:** none
- **Tasks:**
  - [ ] Add the health endpoint
  - [ ] Document it

### Phase 1.2: Metrics
- **Status:** ⚪ Not Started
- **Depends On:** Phase 1.1
- **Tasks:**
  - [ ] Export metrics
`;

const MAIN_PLAN = `name: App
milestones:
  - id: M1
    title: App
    phases:
      - id: P1
        title: Use the health endpoint
        dependsOn: ["api:1.1"]
        tasks:
          - { id: T1, title: Call /health, role: dev, status: todo }
`;

interface Layout {
  root: string;
  app: string;
  api: string;
  roadmap: string;
  config: { planDir: string; targets: Record<string, { path: string; roadmap?: string; planDir?: string }> };
}

function layout(main: string | null = MAIN_PLAN, roadmap = API_ROADMAP): Layout {
  const root = tempDir('plan-set');
  dirs.push(root);
  const app = path.join(root, 'app');
  const api = path.join(root, 'api');
  fs.mkdirSync(app);
  fs.mkdirSync(path.join(api, 'docs'), { recursive: true });
  if (main !== null) fs.writeFileSync(path.join(app, 'plan.yaml'), main);
  fs.writeFileSync(path.join(api, 'docs', 'roadmap.md'), roadmap);
  return {
    root,
    app,
    api,
    roadmap: path.join(api, 'docs', 'roadmap.md'),
    config: { planDir: 'plan.yaml', targets: { api: { path: '../api', roadmap: 'docs/roadmap.md' } } },
  };
}

const options = { agentRoles: ['dev', 'default'], targets: ['api'] };

describe('findPlanSources', () => {
  it('lists the main plan, then each target plan, named from the main repository', () => {
    const l = layout();
    expect(findPlanSources(l.app, l.config)).toEqual([
      { target: null, location: path.join(l.app, 'plan.yaml'), source: 'plan.yaml' },
      { target: 'api', location: l.roadmap, source: path.join('..', 'api', 'docs', 'roadmap.md') },
    ]);
  });

  it('allows no main plan when targets have plans, but not a missing target plan', () => {
    const l = layout(null);
    expect(findPlanSources(l.app, l.config).map((s) => s.target)).toEqual(['api']);
    const missing = { ...l.config, targets: { api: { path: '../api', roadmap: 'docs/nope.md' } } };
    const err = (() => {
      try {
        findPlanSources(l.app, missing);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(OrchError);
    expect((err as OrchError).code).toBe('PLAN_NOT_FOUND');
    expect((err as OrchError).message).toMatch(/target api's plan .*nope\.md does not exist/);
  });
});

describe('loadPlanSet', () => {
  it('combines the plans with the target ids namespaced, so the main plan depends on api:1.1', () => {
    const l = layout();
    const { plan, graph } = loadPlanSet(findPlanSources(l.app, l.config), options);
    expect(plan.phases.map((p) => [p.id, p.target ?? null, p.dependsOn])).toEqual([
      ['P1', null, ['api:1.1']],
      ['api:1.1', 'api', []],
      ['api:1.2', 'api', ['api:1.1']],
    ]);
    expect(plan.tasks.map((t) => t.id)).toEqual(['T1', 'api:1.1.1', 'api:1.1.2', 'api:1.2.1']);
    expect(graph.taskIndex.has('api:1.2.1')).toBe(true);
  });

  it("names a problem in a target's plan by its file from the main repository and its line", () => {
    const l = layout(MAIN_PLAN, API_ROADMAP.replace('Depends On:** Phase 1.1', 'Depends On:** Phase 9.9'));
    let err: unknown;
    try {
      loadPlanSet(findPlanSources(l.app, l.config), options);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PlanValidationError);
    const problems = (err as PlanValidationError).problems;
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: '../api/docs/roadmap.md', line: 14 });
    expect(problems[0]?.message).toMatch(/9\.9/);
  });

  it('refuses a dependency on a target plan id that does not exist, and a task in an unconfigured target', () => {
    const main = MAIN_PLAN.replace('"api:1.1"', '"api:7.7"').replace('role: dev,', 'role: dev, target: web,');
    const l = layout(main);
    const set = readPlanSet(findPlanSources(l.app, l.config), options);
    const messages = set.problems.map((p) => `${p.file}:${p.line}: ${p.message}`);
    expect(messages.some((m) => /^plan\.yaml:\d+: .*api:7\.7/.test(m))).toBe(true);
    expect(messages.some((m) => /^plan\.yaml:\d+: .*web/.test(m))).toBe(true);
  });

  it('refuses, with the plan, task ids that cannot name a branch and a directory', () => {
    const long = 'T'.repeat(130);
    const main = MAIN_PLAN.replace(
      '          - { id: T1, title: Call /health, role: dev, status: todo }',
      `          - { id: T1, title: Call /health, role: dev, status: todo }\n          - { id: ${long}, title: Long, role: dev }\n          - { id: "T\\x01", title: Control, role: dev }`,
    );
    const l = layout(main);
    const set = readPlanSet(findPlanSources(l.app, l.config), options);
    const messages = set.problems.map((p) => `${p.file}:${p.line}: ${p.message}`);
    expect(messages).toEqual([
      expect.stringMatching(/^plan\.yaml:11: task id "T{130}" cannot be used: it is longer than/),
      expect.stringMatching(
        /^plan\.yaml:12: task id "T\\u0001" cannot be used: it contains control characters; rename/,
      ),
    ]);
  });

  it("reports a target plan that does not parse as that target's file", () => {
    const l = layout(MAIN_PLAN, 'no phases here at all\n');
    expect(() => loadPlanSet(findPlanSources(l.app, l.config), options)).toThrow(PlanParseError);
    try {
      loadPlanSet(findPlanSources(l.app, l.config), options);
    } catch (e) {
      expect((e as PlanParseError).file).toBe('../api/docs/roadmap.md');
      expect((e as PlanParseError).message).toMatch(/^target api/);
    }
  });

  it('checks roles against the target’s own agents for its tasks', () => {
    const roadmap = API_ROADMAP.replace(
      '- **Depends On:** none',
      '- **Assigned To:** backend\n- **Depends On:** none',
    ).replace('- **Depends On:** Phase 1.1', '- **Assigned To:** dev\n- **Depends On:** Phase 1.1');
    const l = layout(MAIN_PLAN, roadmap);
    const sources = findPlanSources(l.app, l.config);
    const without = readPlanSet(sources, { agentRoles: ['dev'], targets: ['api'] });
    expect(without.problems.map((p) => p.message).join('\n')).toMatch(/backend/);
    const withRole = readPlanSet(sources, {
      agentRoles: ['dev'],
      targets: ['api'],
      targetAgentRoles: targetAgentRoles({
        targets: { api: { path: '../api', agents: { backend: { command: ['x'] } } } },
      }),
    });
    expect(withRole.problems).toEqual([]);
  });

  it('changes its stamp when a target plan file changes', () => {
    const l = layout();
    const sources = findPlanSources(l.app, l.config);
    const before = planSetStamp(sources);
    fs.appendFileSync(l.roadmap, '\n');
    expect(planSetStamp(sources)).not.toBe(before);
  });
});

describe('gardenPlanSet', () => {
  function logWith(l: Layout): LiveLog {
    const log = new LiveLog(createMemoryEventStore(), { runId: 'run-1' });
    recordPlan(log, loadPlanSet(findPlanSources(l.app, l.config), options).plan);
    return log;
  }

  it("writes the target's statuses into the target's roadmap and leaves other bytes alone", () => {
    const l = layout();
    const log = logWith(l);
    for (const id of ['api:1.1.1', 'api:1.1.2'])
      log.append(streamIds.task(id), 'TaskCompleted', { taskId: id, reason: 'test' });
    for (const type of ['PhaseUnblocked', 'PhaseStarted', 'PhaseCompleted'] as const)
      log.append(streamIds.phase('api:1.1'), type, { phaseId: 'api:1.1' });
    const mainBefore = fs.readFileSync(path.join(l.app, 'plan.yaml'), 'utf8');

    const results = gardenPlanSet(log.state, findPlanSources(l.app, l.config), options);
    expect(results.map((r) => [r.source, r.written, r.updates, r.skipped])).toEqual([
      ['plan.yaml', [], 0, null],
      [path.join('..', 'api', 'docs', 'roadmap.md'), ['roadmap.md'], 3, null],
    ]);
    expect(fs.readFileSync(l.roadmap, 'utf8')).toBe(
      API_ROADMAP.replace('- **Status:** ⚪ Not Started', '- **Status:** ✅ Complete')
        .replace('  - [ ] Add', '  - [x] Add')
        .replace('  - [ ] Document', '  - [x] Document'),
    );
    expect(fs.readFileSync(path.join(l.app, 'plan.yaml'), 'utf8')).toBe(mainBefore);
  });

  it('skips only the source whose entities changed since the plan was recorded', () => {
    const l = layout();
    const log = logWith(l);
    log.append(streamIds.task('T1'), 'TaskCompleted', { taskId: 'T1', reason: 'test' });
    log.append(streamIds.task('api:1.1.1'), 'TaskCompleted', { taskId: 'api:1.1.1', reason: 'test' });
    // Someone adds a task to the api roadmap while orch runs: that file waits for PlanRevised.
    fs.writeFileSync(
      l.roadmap,
      API_ROADMAP.replace('  - [ ] Export metrics', '  - [ ] Export metrics\n  - [ ] Alert'),
    );
    const results = gardenPlanSet(log.state, findPlanSources(l.app, l.config), options);
    expect(results[0]).toMatchObject({ written: ['plan.yaml'], updates: 1, skipped: null });
    expect(results[1]?.skipped).toMatch(/changed since the plan was recorded/);
    expect(fs.readFileSync(l.roadmap, 'utf8')).toContain('  - [ ] Add the health endpoint');
    expect(fs.readFileSync(path.join(l.app, 'plan.yaml'), 'utf8')).toMatch(/status: (done|complete)/);
  });

  it('writes nothing when the set no longer validates', () => {
    const l = layout();
    const log = logWith(l);
    log.append(streamIds.task('T1'), 'TaskCompleted', { taskId: 'T1', reason: 'test' });
    fs.writeFileSync(l.roadmap, API_ROADMAP.replace('Depends On:** Phase 1.1', 'Depends On:** Phase 1.2'));
    const results = gardenPlanSet(log.state, findPlanSources(l.app, l.config), options);
    expect(results.every((r) => r.written.length === 0 && /do not load/.test(r.skipped ?? ''))).toBe(true);
  });
});
