import type { RecordedEvent } from '../../core/envelope.js';
import type { OrchEventData } from '../../core/events.js';
import type { AttemptHistory } from './prompt.js';

/**
 * What earlier attempts of a task left, read from the task's stream: for each spawn its
 * exit, the summary it reported, a failed gate's output, merge conflicts, a lost process,
 * and a failed CI run after its merge (`ciOutput` passed in by the caller, per spawn).
 *
 * @example
 * const history = attemptHistory([...store.readStream('task-T1')]);
 * buildPrompt({ task, attempt: history.length + 1, history });
 */
export function attemptHistory(
  taskEvents: Iterable<RecordedEvent>,
  ciOutputBySpawn: ReadonlyMap<string, string> = new Map(),
): AttemptHistory[] {
  const bySpawn = new Map<string, AttemptHistory>();
  const out: AttemptHistory[] = [];
  const of = (spawnId: string) => bySpawn.get(spawnId);
  for (const event of taskEvents) {
    const data = event.data as Record<string, unknown>;
    switch (event.type) {
      case 'AgentSpawnRequested': {
        const d = data as OrchEventData<'AgentSpawnRequested'>;
        const entry: AttemptHistory = { attempt: d.attempt };
        bySpawn.set(d.spawnId, entry);
        out.push(entry);
        break;
      }
      case 'AgentExited': {
        const d = data as OrchEventData<'AgentExited'>;
        const h = of(d.spawnId);
        if (h) Object.assign(h, { exitCode: d.exitCode, signal: d.signal, outputTail: d.outputTail });
        break;
      }
      case 'AgentSpawnFailed': {
        const d = data as OrchEventData<'AgentSpawnFailed'>;
        const h = of(d.spawnId);
        if (h) h.note = `the agent could not be started: ${d.error}`;
        break;
      }
      case 'AgentLost': {
        const d = data as OrchEventData<'AgentLost'>;
        const h = of(d.spawnId);
        if (h) h.note = `the agent process was lost: ${d.reason}`;
        break;
      }
      case 'BreakpointReported': {
        const d = data as OrchEventData<'BreakpointReported'>;
        const h = of(d.spawnId);
        if (h && d.summary) h.summary = d.summary;
        if (h && d.kind === 'blocked')
          h.note = `it reported being blocked on ${(d.on ?? ['person']).join(', ')}`;
        break;
      }
      case 'GateFailed': {
        const d = data as OrchEventData<'GateFailed'>;
        const h = of(d.spawnId);
        if (h) h.gateOutput = d.outputTail;
        break;
      }
      case 'TaskReopened': {
        const d = data as OrchEventData<'TaskReopened'>;
        const h = of(d.spawnId);
        if (h) h.ciOutput = d.ciLogTail ?? `${d.reason} (no CI log was recorded)`;
        break;
      }
      case 'MergeConflicted': {
        const d = data as OrchEventData<'MergeConflicted'>;
        const h = of(d.spawnId);
        if (h) h.conflictFiles = d.files;
        break;
      }
      default:
        break;
    }
  }
  for (const [spawnId, text] of ciOutputBySpawn) {
    const h = of(spawnId);
    if (h) h.ciOutput = text;
  }
  return out;
}
