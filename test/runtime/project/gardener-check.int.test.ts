import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { streamIds } from '../../../src/core/events.js';
import { LiveLog } from '../../../src/runtime/log/live-log.js';
import { checkPlanAgainstLog } from '../../../src/core/plan-check.js';
import { loadPlan } from '../../../src/runtime/project/plan-loader.js';
import { recordPlan } from '../../../src/runtime/project/plan-recording.js';
import { createMemoryEventStore } from '../../../src/store/index.js';
import { removeDir, tempDir } from '../helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

const ROADMAP = `# Roadmap

## Batch 1

### Phase 1.1: Models
- **Status:** ⚪ Not Started
- **Depends On:** none
- **Tasks:**
  - [ ] Define the models
  - [ ] Set up the package

### Phase 1.2: Parser
- **Status:** ⚪ Not Started
- **Depends On:** Phase 1.1 ✅
- **Tasks:**
  - [ ] Parse goals
  - [ ] Detect ambiguity
`;

function write(text: string): string {
  const dir = tempDir('plan-check');
  dirs.push(dir);
  const file = path.join(dir, 'roadmap.md');
  fs.writeFileSync(file, text);
  return file;
}

const linesOf = (file: string) => () => fs.readFileSync(file, 'utf8').split('\n');

describe('checkPlanAgainstLog', () => {
  it('without a log: a ✅ dependency whose phase is not declared complete', () => {
    const file = write(ROADMAP);
    const problems = checkPlanAgainstLog(loadPlan(file).plan, null, null, linesOf(file));
    expect(problems).toEqual([
      {
        kind: 'dependency-marker',
        file: 'roadmap.md',
        line: 14,
        message: expect.stringContaining('phase 1.2 lists its dependency 1.1 as ✅') as string,
      },
    ]);
    const fine = write(ROADMAP.replace('- **Status:** ⚪ Not Started', '- **Status:** ✅ Complete'));
    expect(checkPlanAgainstLog(loadPlan(fine).plan, null, null, linesOf(fine))).toEqual([]);
  });

  it('with a log: complete in one place only, ✅ on an incomplete phase, and a vanished task', () => {
    const file = write(ROADMAP.replace('Phase 1.1 ✅', 'Phase 1.1'));
    const log = new LiveLog(createMemoryEventStore(), { runId: 'r' });
    recordPlan(log, loadPlan(file).plan);
    log.append(streamIds.task('1.1.1'), 'TaskCompleted', { taskId: '1.1.1' });
    log.append(streamIds.task('1.2.2'), 'TaskUnblocked', { taskId: '1.2.2', reason: 'person' });
    expect(checkPlanAgainstLog(loadPlan(file).plan, log.state, log.store.readAll(), linesOf(file))).toEqual([
      {
        kind: 'complete-in-log-only',
        file: 'roadmap.md',
        line: 9,
        message: 'task 1.1.1 is complete in the log but roadmap.md:9 says not_started',
      },
    ]);

    // A person ticks 1.1.x, keeps the dependency ✅ and deletes the task 1.2.2 (which has history).
    const edited = ROADMAP.replace('  - [ ] Define the models', '  - [x] Define the models')
      .replace('  - [ ] Set up the package', '  - [x] Set up the package')
      .replace('  - [ ] Detect ambiguity\n', '');
    fs.writeFileSync(file, edited);
    const plan = loadPlan(file).plan;
    const kinds = checkPlanAgainstLog(plan, log.state, log.store.readAll(), linesOf(file));
    expect(kinds.map((p) => [p.kind, p.line])).toEqual([
      ['complete-in-file-only', 10],
      ['dependency-marker', 14],
      ['task-disappeared', 0],
    ]);
    expect(kinds[0]?.message).toBe(
      'task 1.1.2 is marked complete in roadmap.md:10 but the log has it pending',
    );
    expect(kinds[2]?.message).toMatch(
      /^task 1\.2\.2 has 1 event\(s\) in the log but is no longer in the plan files$/,
    );
  });
});
