import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventValidationError } from '../../src/core/errors.js';
import {
  EVENT_INFO,
  EVENT_SCHEMAS,
  ORCH_EVENT_TYPES,
  eventDataProblem,
  isOrchEventType,
  parseEventData,
  streamIds,
} from '../../src/core/events.js';
import { commandEvent, CommandEventError } from '../../src/core/commands.js';
import type { Command } from '../../src/core/commands.js';
import { makePlan } from './fixtures.js';

const docs = fs.readFileSync(path.join(import.meta.dirname, '../../docs/events.md'), 'utf8');
const section = docs.slice(docs.indexOf('## Event types'));

describe('the event catalog', () => {
  it('has past-tense names, a schema, a stream and writers for every type', () => {
    expect(ORCH_EVENT_TYPES.length).toBe(54);
    for (const type of ORCH_EVENT_TYPES) {
      expect(type).toMatch(/^[A-Z][A-Za-z]+(ed|Lost)$/);
      expect(EVENT_SCHEMAS[type]).toBeDefined();
      expect(EVENT_INFO[type].writers.length).toBeGreaterThan(0);
    }
    expect(Object.keys(EVENT_INFO).sort()).toEqual([...ORCH_EVENT_TYPES].sort());
  });

  it('documents every type in the "Event types" section of docs/events.md', () => {
    expect(section.length).toBeGreaterThan(100);
    const missing = ORCH_EVENT_TYPES.filter((t) => !section.includes(`| \`${t}\``));
    expect(missing).toEqual([]);
  });

  it('validates data: accepts good data, names the first bad field', () => {
    expect(eventDataProblem('TaskFailed', { taskId: 'T1', reason: 'retries used up' })).toBeNull();
    expect(eventDataProblem('TaskFailed', { taskId: 'T1' })).toMatch(/^reason: /);
    expect(
      eventDataProblem('AgentStarted', { spawnId: 's', pid: 1, pidStartTime: 3, startedAt: 'yesterday' }),
    ).toMatch(/^startedAt: /);
    expect(eventDataProblem('Nope', {})).toBe('unknown event type "Nope"');
    expect(isOrchEventType('constructor')).toBe(false);
    expect(parseEventData('PhaseStarted', { phaseId: 'P1' })).toEqual({ phaseId: 'P1' });
    expect(() => parseEventData('PhaseStarted', {}, 9)).toThrow(EventValidationError);
    expect(() => parseEventData('PhaseStarted', {}, 9)).toThrow(
      'event PhaseStarted at log position 9 is invalid: phaseId:',
    );
    expect(eventDataProblem('PlanLoaded', { plan: makePlan([{ id: 'M1', phases: [] }]) })).toBeNull();
  });

  it('records every command as a valid event on the right stream', () => {
    const commands: Command[] = [
      { type: 'SpawnAgent', taskId: 'T1', phaseId: 'P1', attempt: 1, role: 'tester' },
      {
        type: 'ScheduleRetry',
        taskId: 'T1',
        attempt: 2,
        notBefore: '2025-01-01T00:00:30.000Z',
        reason: 'exit code 1',
      },
      { type: 'FailTask', taskId: 'T1', reason: 'retries used up' },
      { type: 'UnblockTask', taskId: 'T1', reason: 'ci' },
      { type: 'RunGate', taskId: 'T1', spawnId: 's1', command: null },
      { type: 'RequestMerge', taskId: 'T1', spawnId: 's1' },
      { type: 'UnblockPhase', phaseId: 'P1' },
      { type: 'BlockPhase', phaseId: 'P1', reason: 'waits' },
      { type: 'StartPhase', phaseId: 'P1' },
      { type: 'CompletePhase', phaseId: 'P1' },
      { type: 'CompleteMilestone', milestoneId: 'M1' },
      { type: 'RequestPullRequest', milestoneId: 'M1' },
      { type: 'HaltForBudget', spentUsd: 3, budget: 2 },
    ];
    const ctx = {
      runId: 'r1',
      spawnId: 's1',
      agentCommand: ['claude'],
      workspace: '/w',
      branch: 'milestone/M1',
    };
    for (const cmd of commands) {
      const ev = commandEvent(cmd, ctx);
      expect(eventDataProblem(ev.type, ev.data), `${cmd.type} → ${ev.type}`).toBeNull();
      const kind = EVENT_INFO[ev.type].stream;
      const expected =
        kind === 'task'
          ? streamIds.task('T1')
          : kind === 'phase'
            ? 'phase-P1'
            : kind === 'milestone'
              ? 'milestone-M1'
              : 'run-r1';
      expect(ev.streamId).toBe(expected);
    }
    expect(() => commandEvent(commands[0]!, { runId: 'r1' })).toThrow(CommandEventError);
    expect(() => commandEvent(commands[11]!, { runId: 'r1' })).toThrow(
      'cannot record command RequestPullRequest: branch is missing',
    );
  });
});
