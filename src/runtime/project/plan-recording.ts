import { streamIds } from '../../core/events.js';
import { planRecord } from '../../core/plan-revision.js';
import type { Plan } from '../../plan/model.js';
import type { LiveLog } from '../log/live-log.js';

/**
 * Records the plan in the log when it differs from the one recorded (what to record is
 * `planRecord`'s judgement: `PlanLoaded` the first time, `PlanRevised` with the difference
 * afterwards, nothing for a write-back of statuses). Returns whether anything was written.
 *
 * @example
 * recordPlan(log, loadPlan(location).plan);
 */
export function recordPlan(log: LiveLog, plan: Plan): boolean {
  const record = planRecord(log.state.plan, plan);
  if (record === null) return false;
  log.append(streamIds.plan(), record.type, record.data);
  return true;
}
