import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { streamIds } from '../../../src/core/events.js';
import { LiveLog } from '../../../src/runtime/log/live-log.js';
import {
  GARDEN_INTERVAL_MS,
  PLAN_SETTLE_MS,
  PlanWatch,
  StatusChanges,
} from '../../../src/runtime/orchestrator/plan-watch.js';
import type { OrchestratorWarning } from '../../../src/runtime/orchestrator/warnings.js';
import { loadPlan } from '../../../src/runtime/project/plan-loader.js';
import { recordPlan } from '../../../src/runtime/project/plan-recording.js';
import { planSetStamp, type PlanSource } from '../../../src/runtime/project/plan-set.js';
import { createMemoryEventStore } from '../../../src/store/index.js';
import { removeDir, tempDir } from '../helpers.js';

const dirs: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const d of dirs.splice(0)) removeDir(d);
});

const ROADMAP = `# Roadmap

## Batch 1 (Foundation)

### Phase 1.1: Core Data Models
- **Status:** ⚪ Not Started
- **Depends On:** none
- **Tasks:**
  - [ ] Define the data models
  - [ ] Set up the package
  - [ ] Write the schema
- **Done When:** models import without error
`;

/** A roadmap file, the log with its plan recorded, and the watch over the file as a run sets it up. */
function setup(): { file: string; log: LiveLog; watch: PlanWatch; warnings: OrchestratorWarning[] } {
  const dir = tempDir('plan-watch');
  dirs.push(dir);
  const file = path.join(dir, 'roadmap.md');
  fs.writeFileSync(file, ROADMAP);
  const changes = new StatusChanges();
  const log = new LiveLog(createMemoryEventStore(), { runId: 'run-1' }, undefined, (event) =>
    changes.note(event),
  );
  recordPlan(log, loadPlan(file).plan);
  const sources: PlanSource[] = [{ target: null, location: file, source: 'roadmap.md' }];
  const warnings: OrchestratorWarning[] = [];
  const watch = new PlanWatch(sources, planSetStamp(sources), {}, changes, (w) => warnings.push(w));
  return { file, log, watch, warnings };
}

function complete(log: LiveLog, taskId: string): void {
  log.append(streamIds.task(taskId), 'TaskCompleted', { taskId, reason: 'test' });
}

/** Counts the plan file writes (the gardener writes each file by renaming a temporary file over it). */
function countWrites(file: string): () => number {
  const spy = vi.spyOn(fs, 'renameSync');
  return () => spy.mock.calls.filter(([, to]) => to === file).length;
}

describe('the plan write-back during a run (PlanWatch.garden)', () => {
  it('writes many status changes of one interval once, with the final statuses, and flushes at the end', () => {
    const { file, log, watch, warnings } = setup();
    const writes = countWrites(file);
    complete(log, '1.1.1');
    watch.garden(log.state, 1_000);
    expect(writes()).toBe(1);
    expect(fs.readFileSync(file, 'utf8')).toContain('  - [x] Define the data models');

    // Within the interval: nothing is written, the write is due at its end.
    complete(log, '1.1.2');
    watch.garden(log.state, 1_100);
    complete(log, '1.1.3');
    watch.garden(log.state, 1_200);
    expect(writes()).toBe(1);
    expect(watch.dueAt()).toBe(1_000 + GARDEN_INTERVAL_MS);

    watch.garden(log.state, 1_000 + GARDEN_INTERVAL_MS);
    expect(writes()).toBe(2);
    expect(fs.readFileSync(file, 'utf8')).toBe(
      ROADMAP.replace('  - [ ] Define', '  - [x] Define')
        .replace('  - [ ] Set up', '  - [x] Set up')
        .replace('  - [ ] Write', '  - [x] Write'),
    );
    expect(watch.dueAt()).toBeNull();

    // Its own writes are not a revision of the plan.
    const before = log.lastPosition;
    watch.reloadIfChanged(log);
    expect(log.lastPosition).toBe(before);

    // A change just after a write waits for the interval, unless flushed (the end of a run).
    log.append(streamIds.phase('1.1'), 'PhaseUnblocked', { phaseId: '1.1' });
    log.append(streamIds.phase('1.1'), 'PhaseStarted', { phaseId: '1.1' });
    watch.garden(log.state, 1_000 + GARDEN_INTERVAL_MS + 1);
    expect(writes()).toBe(2);
    watch.garden(log.state, 1_000 + GARDEN_INTERVAL_MS + 1, true);
    expect(writes()).toBe(3);
    expect(fs.readFileSync(file, 'utf8')).toContain('- **Status:** 🔄 In Progress');
    expect(warnings).toEqual([]);
  });

  it('sees a person’s edit between its writes as a revision, then writes into the edited file', () => {
    const { file, log, watch } = setup();
    complete(log, '1.1.1');
    watch.garden(log.state, 0);
    const written = fs.readFileSync(file, 'utf8');
    expect(written).toContain('  - [x] Define the data models');

    // A person adds a task to the file orch just wrote.
    fs.writeFileSync(
      file,
      written.replace('  - [ ] Write the schema\n', '  - [ ] Write the schema\n  - [ ] Document it\n'),
    );
    complete(log, '1.1.2');
    // The gardener leaves the edited file to the reload, which records the revision.
    watch.garden(log.state, 10_000);
    expect(fs.readFileSync(file, 'utf8')).toContain('  - [ ] Set up the package');
    watch.reloadIfChanged(log);
    expect(log.state.plan?.tasks.map((t) => t.id)).toContain('1.1.4');

    // Then the statuses are written into the edited file, the person's task kept.
    watch.garden(log.state, 10_000);
    const after = fs.readFileSync(file, 'utf8');
    expect(after).toContain('  - [x] Set up the package');
    expect(after).toContain('  - [ ] Document it\n');
  });

  it('sees a person’s edit that keeps the file’s size as a revision too (content, not size, tells)', () => {
    const { file, log, watch } = setup();
    complete(log, '1.1.1');
    watch.garden(log.state, 0);
    const written = fs.readFileSync(file, 'utf8');
    // Same length, other meaning: a task renamed.
    fs.writeFileSync(file, written.replace('Write the schema', 'Draft the schema'));
    watch.reloadIfChanged(log);
    expect(log.state.plan?.tasks.find((t) => t.id === '1.1.3')?.title).toBe('Draft the schema');
  });

  it('refuses an edit that does not load only once it has stayed PLAN_SETTLE_MS: a file caught mid-write is not refused', () => {
    const { file, log, watch, warnings } = setup();
    const refusals = () => [...log.store.readAll()].filter((e) => e.type === 'PlanRevisionRefused').length;
    // The editor has written part of the file: not loadable (not UTF-8) yet.
    fs.writeFileSync(file, Buffer.from([0xff, 0xfe, 0x00, 0x41]));
    watch.reloadIfChanged(log, 1_000);
    expect(watch.refusalPending).toBe(true);
    // The loop wakes for it (or earlier, for a write-back due).
    expect(watch.dueAt()).toBeLessThanOrEqual(1_000 + PLAN_SETTLE_MS);
    watch.reloadIfChanged(log, 1_000 + PLAN_SETTLE_MS - 1);
    expect(warnings).toEqual([]);
    // It finishes writing: a valid edit, recorded at once, and nothing refused.
    fs.writeFileSync(file, ROADMAP.replace('Write the schema', 'Draft the schema'));
    watch.reloadIfChanged(log, 1_100);
    expect(watch.refusalPending).toBe(false);
    expect(log.state.plan?.tasks.find((t) => t.id === '1.1.3')?.title).toBe('Draft the schema');
    expect(warnings).toEqual([]);
    expect(refusals()).toBe(0);
    // An edit that stays broken is refused once it has settled, and said once.
    fs.writeFileSync(file, Buffer.from([0xff, 0xfe, 0x00, 0x42, 0x43]));
    watch.reloadIfChanged(log, 2_000);
    expect(warnings).toEqual([]);
    watch.reloadIfChanged(log, 2_000 + PLAN_SETTLE_MS);
    expect(warnings.map((w) => w.code)).toEqual(['PLAN_REVISION_REFUSED']);
    expect(watch.refusalPending).toBe(false);
    watch.reloadIfChanged(log, 9_000);
    expect(warnings).toHaveLength(1);
    expect(refusals()).toBe(1);
  });
});
