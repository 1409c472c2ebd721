import type { RecordedEvent } from '../../src/core/envelope.js';
import { EVENT_INFO, isOrchEventType, streamIds } from '../../src/core/events.js';
import type { OrchEventData, OrchEventType } from '../../src/core/events.js';
import type { Plan, Priority, DeclaredStatus } from '../../src/plan/model.js';

/** Compact plan definitions for tests. */
export interface TaskDef {
  id: string;
  deps?: string[];
  role?: string;
  status?: DeclaredStatus;
}
export interface PhaseDef {
  id: string;
  deps?: string[];
  priority?: Priority;
  status?: DeclaredStatus;
  tasks: TaskDef[];
}
export interface MilestoneDef {
  id: string;
  status?: DeclaredStatus;
  phases: PhaseDef[];
}

const src = { file: 'plan.yaml', line: 1 };

/** A Plan from a compact definition. */
export function makePlan(milestones: MilestoneDef[], name = 'Test plan'): Plan {
  const plan: Plan = {
    name,
    format: 'yaml',
    source: 'plan.yaml',
    milestones: [],
    phases: [],
    tasks: [],
    personas: [],
  };
  for (const m of milestones) {
    plan.milestones.push({
      id: m.id,
      title: `Milestone ${m.id}`,
      phases: m.phases.map((p) => p.id),
      status: m.status ?? 'not_started',
      source: src,
    });
    for (const p of m.phases) {
      plan.phases.push({
        id: p.id,
        title: `Phase ${p.id}`,
        milestone: m.id,
        dependsOn: p.deps ?? [],
        tasks: p.tasks.map((t) => t.id),
        status: p.status ?? 'not_started',
        priority: p.priority ?? 'normal',
        acceptanceCriteria: [],
        definitionOfDone: [],
        metadata: {},
        source: src,
      });
      for (const t of p.tasks) {
        plan.tasks.push({
          id: t.id,
          title: `Task ${t.id}`,
          role: t.role ?? 'implementer',
          phase: p.id,
          dependsOn: t.deps ?? [],
          status: t.status ?? 'not_started',
          source: src,
        });
      }
    }
  }
  return plan;
}

export const T0 = Date.parse('2025-01-01T00:00:00.000Z');
export const iso = (ms: number) => new Date(ms).toISOString();

/** Builds a well-formed log: gapless positions, stream versions, streams from the catalog. */
export class LogBuilder {
  readonly events: RecordedEvent[] = [];
  private readonly versions = new Map<string, number>();
  private readonly spawnTask = new Map<string, string>();
  now = T0;
  runId = 'run-1';

  add<T extends OrchEventType>(type: T, data: OrchEventData<T>, actor: string = 'orch'): RecordedEvent {
    const event = makeEvent(
      this.events.length + 1,
      type,
      data,
      this.streamOf(type, data),
      this.versions,
      this.now,
      {
        runId: this.runId,
        actor,
      },
    );
    if (type === 'AgentSpawnRequested') {
      const d = data as OrchEventData<'AgentSpawnRequested'>;
      this.spawnTask.set(d.spawnId, d.taskId);
    }
    this.events.push(event);
    return event;
  }

  /** Adds an event of any type with any data (for malformed-log tests). */
  addRaw(type: string, data: unknown, streamId = 'misc'): RecordedEvent {
    const event = makeEvent(this.events.length + 1, type, data, streamId, this.versions, this.now, {
      runId: this.runId,
    });
    this.events.push(event);
    return event;
  }

  private streamOf(type: OrchEventType, data: unknown): string {
    const d = data as Record<string, string | undefined>;
    switch (EVENT_INFO[type].stream) {
      case 'run':
        return streamIds.run(this.runId);
      case 'worker':
        return streamIds.worker(d['runId'] ?? this.runId);
      case 'plan':
        return streamIds.plan();
      case 'phase':
        return streamIds.phase(d.phaseId ?? '');
      case 'milestone':
        return streamIds.milestone(d.milestoneId ?? '');
      case 'task':
        return streamIds.task(d.taskId ?? this.spawnTask.get(d.spawnId ?? '') ?? 'unknown');
    }
  }
}

function makeEvent(
  position: number,
  type: string,
  data: unknown,
  streamId: string,
  versions: Map<string, number>,
  now: number,
  metadata: Record<string, unknown>,
): RecordedEvent {
  const version = (versions.get(streamId) ?? 0) + 1;
  versions.set(streamId, version);
  if (!isOrchEventType(type) && !type.startsWith('Unknown'))
    throw new Error(`test used unknown type ${type}`);
  return {
    position,
    id: `e${position}`,
    streamId,
    streamVersion: version,
    type,
    data,
    metadata: metadata,
    recordedAt: iso(now),
  };
}

/** Default config for tests (the decide/invariant subset). */
export const testConfig = {
  maxConcurrent: 2,
  maxRetries: 2,
  retryInterval: 30,
  autoMerge: true,
  budget: undefined as number | undefined,
  gate: undefined as { command: string[] } | undefined,
};
