import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { streamIds } from '../../../src/core/events.js';
import { gardenPlan, statusUpdates } from '../../../src/runtime/project/gardener.js';
import { LiveLog } from '../../../src/runtime/log/live-log.js';
import { loadPlan } from '../../../src/runtime/project/plan-loader.js';
import { recordPlan } from '../../../src/runtime/project/plan-recording.js';
import { createMemoryEventStore } from '../../../src/store/index.js';
import { removeDir, tempDir } from '../helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

const ROADMAP = `# Roadmap

Intro text, kept as is.

## Batch 1 (Foundation)

### Phase 1.1: Core Data Models
- **Status:** ⚪ Not Started
- **Depends On:** none
- **Tasks:**
  - [ ] Define the data models
  - [ ] Set up the package
- **Done When:** models import without error

### Phase 1.2: Task Parser ⭐ BOOTSTRAP
- **Status:** ⚪ Not Started
- **Depends On:** Phase 1.1
- **Tasks:**
  - [ ] Parse goals
`;

function roadmapDir(text = ROADMAP): { dir: string; file: string } {
  const dir = tempDir('gardener');
  dirs.push(dir);
  const file = path.join(dir, 'roadmap.md');
  fs.writeFileSync(file, text);
  return { dir, file };
}

function logFor(location: string): LiveLog {
  const log = new LiveLog(createMemoryEventStore(), { runId: 'run-1' });
  recordPlan(log, loadPlan(location).plan);
  return log;
}

function completeTask(log: LiveLog, taskId: string): void {
  log.append(streamIds.task(taskId), 'TaskCompleted', { taskId, reason: 'test' });
}

function completePhase(log: LiveLog, phaseId: string): void {
  log.append(streamIds.phase(phaseId), 'PhaseUnblocked', { phaseId });
  log.append(streamIds.phase(phaseId), 'PhaseStarted', { phaseId });
  log.append(streamIds.phase(phaseId), 'PhaseCompleted', { phaseId });
}

describe('gardenPlan on a roadmap (format B)', () => {
  it('writes checkboxes and Status lines, changing no other byte, and only once', () => {
    const { file } = roadmapDir();
    const log = logFor(file);
    completeTask(log, '1.1.1');
    completeTask(log, '1.1.2');
    completePhase(log, '1.1');
    log.append(streamIds.phase('1.2'), 'PhaseUnblocked', { phaseId: '1.2' });
    log.append(streamIds.phase('1.2'), 'PhaseStarted', { phaseId: '1.2' });

    const result = gardenPlan(log.state, file);
    expect(result).toEqual({ written: ['roadmap.md'], updates: 4, skipped: null });
    expect(fs.readFileSync(file, 'utf8')).toBe(
      ROADMAP.replace('- **Status:** ⚪ Not Started', '- **Status:** ✅ Complete')
        .replace('  - [ ] Define', '  - [x] Define')
        .replace('  - [ ] Set up', '  - [x] Set up')
        .replace('- **Status:** ⚪ Not Started', '- **Status:** 🔄 In Progress'),
    );
    const again = gardenPlan(log.state, file);
    expect(again).toEqual({ written: [], updates: 0, skipped: null });
  });

  it('the written file is not a plan revision: recordPlan writes nothing', () => {
    const { file } = roadmapDir();
    const log = logFor(file);
    completeTask(log, '1.1.1');
    gardenPlan(log.state, file);
    const before = log.lastPosition;
    expect(recordPlan(log, loadPlan(file).plan)).toBe(false);
    expect(log.lastPosition).toBe(before);
  });

  it('skips when the file changed meaning since the plan was recorded, then writes after the revision', () => {
    const { file } = roadmapDir();
    const log = logFor(file);
    completeTask(log, '1.1.1');
    const edited = ROADMAP.replace(
      '  - [ ] Parse goals\n',
      '  - [ ] Parse goals\n  - [ ] Detect ambiguity\n',
    );
    fs.writeFileSync(file, edited);
    const skipped = gardenPlan(log.state, file);
    expect(skipped.written).toEqual([]);
    expect(skipped.skipped).toMatch(/changed since the plan was recorded/);
    expect(fs.readFileSync(file, 'utf8')).toBe(edited);

    expect(recordPlan(log, loadPlan(file).plan)).toBe(true);
    const revised = [...log.store.readStream(streamIds.plan())].at(-1);
    expect(revised?.type).toBe('PlanRevised');
    expect((revised?.data as { diff: unknown }).diff).toEqual({
      added: ['1.2.2'],
      removed: [],
      changed: ['1.2'],
    });
    // The revision kept the live state of the known task.
    expect(log.state.tasks['1.1.1']?.value).toBe('complete');
    expect(gardenPlan(log.state, file).written).toEqual(['roadmap.md']);
    expect(fs.readFileSync(file, 'utf8')).toBe(edited.replace('  - [ ] Define', '  - [x] Define'));
  });

  it('skips a plan that no longer loads, leaving it untouched', () => {
    const { file } = roadmapDir();
    const log = logFor(file);
    completeTask(log, '1.1.1');
    const broken = ROADMAP.replace('- **Depends On:** Phase 1.1', '- **Depends On:** Phase 9.9');
    fs.writeFileSync(file, broken);
    expect(gardenPlan(log.state, file).skipped).toMatch(/do not load/);
    expect(fs.readFileSync(file, 'utf8')).toBe(broken);
  });
});

describe('statusUpdates', () => {
  it('accepts a not-started phase that waits on its dependencies, and reports a false ✅', () => {
    const { file } = roadmapDir(ROADMAP.replace('  - [ ] Parse goals', '  - [✅] Parse goals'));
    const log = logFor(file);
    // 1.2.1 was declared complete when the plan was loaded, so the log agrees with the file.
    expect(statusUpdates(log.state, loadPlan(file).plan)).toEqual([]);
    const plan = loadPlan(file).plan;
    const t = plan.tasks.find((x) => x.id === '1.1.1');
    if (t) t.status = 'complete';
    expect(statusUpdates(log.state, plan)).toEqual([
      { statusSource: { file: 'roadmap.md', line: 11 }, kind: 'task', status: 'not_started' },
    ]);
  });
});

describe('statusUpdates and what people wrote', () => {
  it('keeps a person\'s "in progress" on a phase orch has not started, corrects a false "complete"', () => {
    const { file } = roadmapDir(ROADMAP.replace('⚪ Not Started', '🔄 In Progress'));
    const log = logFor(file);
    expect(log.state.phases['1.1']?.value).toBe('blocked');
    expect(statusUpdates(log.state, loadPlan(file).plan)).toEqual([]);
    const plan = loadPlan(file).plan;
    const phase = plan.phases.find((p) => p.id === '1.2');
    if (phase) phase.status = 'complete';
    expect(statusUpdates(log.state, plan)).toEqual([
      { statusSource: { file: 'roadmap.md', line: 16 }, kind: 'phase', status: 'blocked' },
    ]);
  });
});

describe('gardenPlan on other formats', () => {
  it('format A: story Status lines, task checkboxes and the epic Status', () => {
    const fixture = fileURLToPath(new URL('../../fixtures/plans/directory', import.meta.url));
    const dir = path.join(tempDir('gardener-a'), 'plans');
    dirs.push(path.dirname(dir));
    fs.cpSync(fixture, dir, { recursive: true });
    const storyFile = path.join(dir, 'stories/E001/S002-calculator-implementation.md');
    const story = fs.readFileSync(storyFile, 'utf8');
    const epicFile = path.join(dir, 'epics/E001-calculator-core.md');
    const epic = fs.readFileSync(epicFile, 'utf8');
    const log = logFor(dir);
    for (const t of ['T002', 'T003', 'T004']) completeTask(log, t);
    completePhase(log, 'S002');

    const result = gardenPlan(log.state, dir);
    expect(result.written).toContain('stories/E001/S002-calculator-implementation.md');
    expect(fs.readFileSync(storyFile, 'utf8')).toBe(
      story
        .replace('- **Status**: not_started', '- **Status**: complete')
        .replace('- [ ] T002', '- [x] T002')
        .replace('- [ ] T003', '- [x] T003')
        .replace('- [ ] T004', '- [x] T004'),
    );
    // S001 is declared complete in the fixture, so both stories of E001 are now complete.
    expect(fs.readFileSync(epicFile, 'utf8')).toBe(
      epic.replace('- **Status**: in_progress', '- **Status**: complete'),
    );
  });

  it('YAML: inserts or changes the status field only', () => {
    const { dir } = roadmapDir();
    const file = path.join(dir, 'plan.yaml');
    const yaml = `name: Tiny
milestones:
  - id: M1
    title: One
    phases:
      - id: P1
        title: First   # keep this comment
        dependsOn: []
        tasks:
          - { id: T1, title: Make a, role: dev }
          - id: T2
            title: Make b
            role: dev
            status: not_started
`;
    fs.writeFileSync(file, yaml);
    const log = logFor(file);
    completeTask(log, 'T1');
    completeTask(log, 'T2');
    gardenPlan(log.state, file);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toContain('# keep this comment');
    expect(text).toContain('            status: complete\n');
    const reloaded = loadPlan(file).plan;
    expect(reloaded.tasks.map((t) => t.status)).toEqual(['complete', 'complete']);
    expect(recordPlan(log, reloaded)).toBe(false);
  });
});
