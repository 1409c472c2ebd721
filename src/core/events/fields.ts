import { z } from 'zod';

/** Field schemas shared by the event groups. */

/** An ISO-8601 timestamp (`2025-01-31T12:00:00.000Z`, offsets allowed). */
export const IsoTime = z.iso.datetime({ offset: true });
/** A non-empty identifier (task, phase, milestone, spawn, run). */
export const Id = z.string().min(1);
/** A spawn id: made by the runtime, carried by every report about that agent process. */
export const SpawnId = Id;
/** The tail of some output kept in the log (the full output lives in `<state-dir>/logs/`). */
export const OutputTail = z.string();
