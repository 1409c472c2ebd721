import type { FlatMachineConfig, MachineEventBase, MachineSpec } from './spec.js';

/**
 * The phase machine: `blocked ⇄ ready → in_progress → complete`.
 *
 * A phase starts `blocked` (or `complete` when the plan says so); `decide` unblocks it
 * once every phase it depends on is complete, starts it when the first agent of one of
 * its tasks is spawned, and completes it when all its tasks are complete. A revised plan
 * can block a phase that was ready again (`PhaseBlocked`).
 */

/** What a new phase machine needs to know. */
export interface PhaseInput {
  phaseId: string;
  declaredComplete: boolean;
}

/** The phase machine's context: plain JSON. */
export interface PhaseContext {
  phaseId: string;
  declaredComplete: boolean;
  /** When the phase was started / completed (the event's recordedAt). */
  startedAt: string | null;
  completedAt: string | null;
}

type E<T extends string, D> = MachineEventBase & { type: T; data: D };
/** Every event the phase machine handles. */
export type PhaseMachineEvent =
  | E<'PhaseUnblocked', { phaseId: string }>
  | E<'PhaseBlocked', { phaseId: string; reason: string }>
  | E<'PhaseStarted', { phaseId: string }>
  | E<'PhaseCompleted', { phaseId: string }>;

/** The phase machine's flat config. */
export const phaseMachineConfig = {
  id: 'phase',
  initial: 'init',
  states: {
    init: { always: [{ target: 'complete', guard: 'declaredComplete' }, { target: 'blocked' }] },
    blocked: { on: { PhaseUnblocked: [{ target: 'ready' }] } },
    ready: {
      entry: ['offerWork'],
      on: {
        PhaseBlocked: [{ target: 'blocked' }],
        PhaseStarted: [{ target: 'in_progress', actions: ['recordStart'] }],
        // A phase with no work left (no tasks, or all declared complete) completes from ready.
        PhaseCompleted: [{ target: 'complete', actions: ['recordCompletion'] }],
      },
    },
    in_progress: { on: { PhaseCompleted: [{ target: 'complete', actions: ['recordCompletion'] }] } },
    complete: { type: 'final' },
  },
} as const satisfies FlatMachineConfig;

/** Every state value of the phase machine. */
export type PhaseStateValue = keyof typeof phaseMachineConfig.states;

/**
 * The phase machine as a spec.
 *
 * @example
 * compileMachine(phaseMachineSpec).initial({ phaseId: 'S1', declaredComplete: false }).value; // 'blocked'
 */
export const phaseMachineSpec: MachineSpec<PhaseContext, PhaseMachineEvent, PhaseInput> = {
  config: phaseMachineConfig,
  initialContext: (input) => ({
    phaseId: input.phaseId,
    declaredComplete: input.declaredComplete,
    startedAt: null,
    completedAt: null,
  }),
  guards: { declaredComplete: (c) => c.declaredComplete },
  updates: {
    recordStart: (_c, e) => ({ startedAt: e.recordedAt }),
    recordCompletion: (_c, e) => ({ completedAt: e.recordedAt }),
  },
  // offerWork: ready → decide may spawn the phase's ready tasks (StartPhase first).
  effects: ['offerWork'],
};
