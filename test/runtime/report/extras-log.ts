import type { RecordedEvent } from '../../../src/core/envelope.js';

/**
 * A log with the events of the features that write their own (workspace set-up, notify,
 * forks), added to a log of the driver: a `RunForked` near the start, `PortsAssigned` and `WorkspacePrepared` after the
 * first two spawn requests (the second set-up timed out), and `notify` outcomes at the end
 * (one delivery after a failed attempt, one given up). Positions are renumbered; `hostile`
 * goes into the first set-up's output, the fork's state directory and the given-up error.
 */
export function withExtras(base: RecordedEvent[], hostile: string): RecordedEvent[] {
  const out: RecordedEvent[] = [];
  const template = base[0] as RecordedEvent;
  const extra = (type: string, data: unknown): RecordedEvent => ({
    ...template,
    id: `extra-${out.length}`,
    type,
    data,
  });
  let spawns = 0;
  base.forEach((e, i) => {
    out.push(e);
    if (i === 1)
      out.push(
        extra('RunForked', {
          runId: 'fork-run',
          from: { stateDir: `/src/.state ${hostile}`, runId: 'run-original', position: 2 },
          repo: '/forks/one/repo',
          branches: { main: 'a'.repeat(40) },
          forkedAt: '2026-01-02T03:04:05.000Z',
        }),
      );
    if (e.type === 'AgentSpawnRequested' && spawns < 2) {
      const { spawnId, taskId } = e.data as { spawnId: string; taskId: string };
      spawns += 1;
      out.push(extra('PortsAssigned', { spawnId, taskId, base: 41000 + 10 * spawns, count: 4 }));
      out.push(
        extra(
          'WorkspacePrepared',
          spawns === 1
            ? {
                spawnId,
                taskId,
                copied: ['.env', 'config/local.json'],
                command: ['sh', '-c', 'npm ci'],
                exitCode: 0,
                durationMs: 1200,
                outputTail: `added 10 packages\n${hostile}`,
              }
            : {
                spawnId,
                taskId,
                copied: [],
                command: ['make', 'deps'],
                exitCode: null,
                timedOut: true,
                durationMs: 60000,
                outputTail: 'fetching…',
              },
        ),
      );
    }
  });
  const rule = 'TaskFailed → notify-send';
  out.push(
    extra('NotificationFailed', {
      position: 3,
      eventType: 'TaskUnblocked',
      rule,
      attempt: 1,
      error: 'exit 1',
      final: false,
    }),
    extra('NotificationDelivered', {
      position: 3,
      eventType: 'TaskUnblocked',
      rule,
      attempts: 2,
      durationMs: 15,
    }),
    extra('NotificationDelivered', {
      position: 4,
      eventType: 'TaskUnblocked',
      rule,
      attempts: 1,
      durationMs: 9,
    }),
    extra('NotificationFailed', {
      position: 5,
      eventType: 'TaskUnblocked',
      rule: 'TaskUnblocked → curl',
      attempt: 3,
      error: `exit 7\n${hostile}`,
      final: true,
    }),
  );
  return out.map((e, i) => ({ ...e, position: i + 1, id: `${e.id}-${i + 1}` }));
}
