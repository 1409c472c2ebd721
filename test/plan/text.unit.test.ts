import { describe, expect, it } from 'vitest';
import { readFields } from '../../src/plan/fields.js';
import { heading, keyValue, listItem, scanMarkdown } from '../../src/plan/markdown.js';
import { checkboxStatus, parseStatus } from '../../src/plan/status.js';
import { parseTaskLine, roleName } from '../../src/plan/task-line.js';
import { headingSlug, parseRefList, splitIdTitle } from '../../src/plan/text.js';

describe('status words and marks', () => {
  it('reads statuses however they are written, and rejects what is not one', () => {
    const cases: [string, string | undefined][] = [
      ['✅ Complete', 'complete'],
      ['Complete ✅', 'complete'],
      ['DONE', 'complete'],
      ['not_started', 'not_started'],
      ['⚪ Not Started', 'not_started'],
      ['🔄 In Progress', 'in_progress'],
      ['in_progress', 'in_progress'],
      ['WIP', 'in_progress'],
      ['🔴 Blocked', 'blocked'],
      ['on hold', 'blocked'],
      ['🔄', 'in_progress'],
      ['incomplete', 'not_started'],
      ['Finito', undefined],
      ['', undefined],
    ];
    for (const [text, status] of cases) expect(parseStatus(text), text).toBe(status);
    expect(['x', 'X', '✅', ' ', '', '~', '!'].map(checkboxStatus)).toEqual([
      'complete',
      'complete',
      'complete',
      'not_started',
      'not_started',
      'in_progress',
      'blocked',
    ]);
  });
});

describe('dependency lists and ids', () => {
  it('reads ids through decoration and ignores "none"', () => {
    expect(parseRefList('Phase 1.1 ✅, Phase 2.1 (parser)')).toEqual(['1.1', '2.1']);
    expect(parseRefList('[S001, S002]')).toEqual(['S001', 'S002']);
    expect(parseRefList('Phases 1.1 and 1.10; Story S3')).toEqual(['1.1', '1.10', 'S3']);
    expect(parseRefList('S001 - API design')).toEqual(['S001']);
    expect(parseRefList('none')).toEqual([]);
    expect(parseRefList('[]')).toEqual([]);
    expect(parseRefList('—')).toEqual([]);
    expect(parseRefList('Batch 1')).toEqual(['batch-1']);
    expect(headingSlug('🚀 Batch 2 (Ingestion)')).toBe('batch-2');
    expect(headingSlug('Batch 3: Retrieval')).toBe('batch-3');
    expect(splitIdTitle('S002: Calculator Implementation')).toEqual({
      id: 'S002',
      title: 'Calculator Implementation',
    });
    expect(splitIdTitle('E001 - Core')).toEqual({ id: 'E001', title: 'Core' });
    expect(splitIdTitle('Calculator')).toEqual({ id: undefined, title: 'Calculator' });
  });

  it('reads task lines and role names', () => {
    expect(parseTaskLine('T3: Write tests | role: tester | depends: T2, T1 | note', true)).toEqual({
      id: 'T3',
      title: 'Write tests',
      role: 'tester',
      dependsOn: ['T2', 'T1'],
      notes: ['note'],
    });
    expect(parseTaskLine('Parse goals | depends:1.1.2', false)).toMatchObject({
      id: undefined,
      title: 'Parse goals',
      dependsOn: ['1.1.2'],
    });
    expect(roleName('Backend Developer (lead)')).toBe('backend-developer');
    expect(roleName('@coder')).toBe('coder');
    expect(roleName('TBD')).toBeUndefined();
    expect(roleName('default')).toBe('default');
  });
});

describe('Markdown lines', () => {
  it('hides fenced blocks and comments, and reads headings, items and key-value lines', () => {
    const lines = scanMarkdown(
      '# T\n```\n# no\n```\n<!--\n# no\n-->\n## Yes\n- [x] done\n  - **Key:** v\n**Other**: w',
    );
    expect(lines.map((l) => heading(l)?.text ?? null)).toEqual([
      'T',
      null,
      null,
      null,
      null,
      null,
      null,
      'Yes',
      null,
      null,
      null,
    ]);
    expect(listItem(lines[8]!)).toEqual({ indent: 0, checkbox: 'x', text: 'done' });
    expect(listItem({ n: 1, text: '- [link](url)', hidden: false })).toEqual({
      indent: 0,
      checkbox: undefined,
      text: '[link](url)',
    });
    expect(keyValue(lines[9]!.text)).toEqual({ key: 'Key', value: 'v' });
    expect(keyValue(lines[10]!.text)).toEqual({ key: 'Other', value: 'w' });
    expect(keyValue('Status: ok')).toBeUndefined();
    expect(keyValue('Status: ok', new Set(['status']))).toEqual({ key: 'Status', value: 'ok' });
  });

  it('groups list items under the field they follow', () => {
    const { fields, rest } = readFields(
      scanMarkdown(
        '- **Tasks:**\n  - [ ] a\n    - detail\n  - [x] b\n- **Effort:** S\nSome text\n- loose item',
      ),
    );
    expect(fields.map((f) => [f.norm, f.value, f.items.map((i) => i.item.text)])).toEqual([
      ['tasks', '', ['a', 'detail', 'b']],
      ['effort', 'S', []],
    ]);
    expect(rest.map((l) => l.text)).toEqual(['Some text', '- loose item']);
  });
});
