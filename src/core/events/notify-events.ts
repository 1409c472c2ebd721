import { z } from 'zod';
import { Id } from './fields.js';

/**
 * Events about `notify` deliveries (stream `run-<runId>` of the run that delivered): one per
 * attempt that failed and one when a delivery succeeded. Together with the events the rules
 * match they say which deliveries are still due (`pendingNotifications`).
 */

/** A rule's command took the event (exit 0). */
export const NotificationDelivered = z.object({
  /** Position of the event delivered. */
  position: z.number().int().positive(),
  eventType: Id,
  /** The rule (`notifyRuleKey`: what it is on and what it runs). */
  rule: z.string().min(1),
  /** Attempts it took, over every run, this one included. */
  attempts: z.number().int().positive(),
  durationMs: z.number().nonnegative(),
});

/** One attempt to deliver failed; `final` when no attempt is left (the delivery is given up). */
export const NotificationFailed = z.object({
  position: z.number().int().positive(),
  eventType: Id,
  rule: z.string().min(1),
  /** This attempt's number, over every run. */
  attempt: z.number().int().positive(),
  error: z.string(),
  final: z.boolean(),
});

/** Schemas of the notify group. */
export const notifyEventSchemas = { NotificationDelivered, NotificationFailed } as const;
