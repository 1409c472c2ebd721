import { describe, expect, it } from 'vitest';
import { recommendForGoal, matchGoal, stem, tokenize } from '../../src/plan/goal.js';
import { buildPlanGraph, declaredCompletion } from '../../src/plan/index.js';
import { parseDirectoryPlan } from '../../src/plan/parse-directory.js';
import { parseRoadmap } from '../../src/plan/parse-roadmap.js';
import { readFixture, readFixtureDir } from './helpers.js';

describe('tokenising and stemming', () => {
  it('folds inflections onto one stem and drops stop words', () => {
    expect(new Set(['parse', 'parsing', 'parser', 'parses', 'parsed'].map(stem))).toEqual(new Set(['pars']));
    expect(stem('dependencies')).toBe(stem('dependency'));
    expect(stem('running')).toBe('run');
    expect(tokenize('Parsing THE Goals, naïvely!')).toEqual(['pars', 'goal', 'naiveli']);
  });
});

describe('matchGoal', () => {
  const { plan } = parseRoadmap(readFixture('roadmap-large', 'roadmap.md'), 'roadmap.md', 'r');

  it('ranks the phases and tasks whose words match, best first', () => {
    const matches = matchGoal(plan, 'extract text from PDF documents with page numbers');
    expect(matches[0]).toMatchObject({
      kind: 'task',
      id: '2.4.2',
      title: 'PDF text extraction with page numbers',
    });
    expect(matches.map((m) => m.id)).toContain('2.4');
    expect(matches.every((m, i) => i === 0 || m.score <= matches[i - 1]!.score)).toBe(true);
  });

  it('matches acceptance criteria and Done When too', () => {
    expect(matchGoal(plan, 'restore from last night backup').map((m) => m.id)).toContain('6.2');
    // Words that appear only in one phase's Done When, or only in another's acceptance criteria.
    const small = parseRoadmap(
      `# R

## Batch 1

### Phase 1.1: Alpha
- **Status:** ⚪ Not Started
- **Depends On:** none
- **Tasks:**
  - [ ] First thing
- **Done When:** the nightly snapshot restores cleanly

### Phase 1.2: Beta
- **Status:** ⚪ Not Started
- **Depends On:** none
- **Acceptance Criteria:**
  - every invoice total is rounded to cents
- **Tasks:**
  - [ ] Second thing
`,
      'roadmap.md',
      'r',
    ).plan;
    expect(matchGoal(small, 'snapshot restore').map((m) => m.id)).toEqual(['1.1']);
    expect(matchGoal(small, 'round invoice totals').map((m) => m.id)).toEqual(['1.2']);
  });

  it('finds nothing for words the plan does not use', () => {
    expect(matchGoal(plan, 'quantum blockchain')).toEqual([]);
    expect(matchGoal(plan, 'the and of')).toEqual([]);
  });
});

describe('recommendForGoal', () => {
  it('recommends the matches plus their unmet dependencies, in dependency order', () => {
    const { plan } = parseDirectoryPlan(readFixtureDir('directory'), 'plans');
    const graph = buildPlanGraph(plan);
    const rec = recommendForGoal(plan, graph, 'a command-line calc command', declaredCompletion(plan));
    expect(
      rec.matches
        .slice(0, 2)
        .map((m) => m.id)
        .sort(),
    ).toEqual(['S004', 'T007']);
    const ids = rec.tasks.map((t) => t.id);
    // S004 waits for S003 (its own dependency) and for E001's stories (its epic's dependency); T001 is complete.
    expect([...ids].sort()).toEqual(['T002', 'T003', 'T004', 'T005', 'T006', 'T007', 'T008']);
    expect(ids.slice(-2)).toEqual(['T007', 'T008']);
    expect(rec.tasks.find((t) => t.id === 'T002')?.reason).toBe('dependency');
    expect(rec.tasks.find((t) => t.id === 'T007')?.reason).toBe('match');
    const pos = new Map(ids.map((id, i) => [id, i]));
    expect(pos.get('T005')!).toBeLessThan(pos.get('T007')!);
    expect(pos.get('T002')!).toBeLessThan(pos.get('T003')!);
  });
});
