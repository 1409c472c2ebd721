/**
 * The XState machines built from the specs: in a module of their own, so code that only
 * folds (the compiled engine) never loads XState.
 */
import { buildMachine } from './build.js';
import { milestoneMachineSpec } from './milestone-machine.js';
import { phaseMachineSpec } from './phase-machine.js';
import { taskMachineSpec } from './task-machine.js';

/**
 * The XState v5 task machine.
 *
 * @example
 * const actor = createActor(taskMachine, { id: 'task-T1', input: { taskId: 'T1', declaredComplete: false } });
 * actor.start(); actor.getSnapshot().value; // 'pending'
 */
export const taskMachine = buildMachine(taskMachineSpec);

/**
 * The XState v5 phase machine.
 *
 * @example
 * const actor = createActor(phaseMachine, { id: 'phase-S1', input: { phaseId: 'S1', declaredComplete: false } });
 */
export const phaseMachine = buildMachine(phaseMachineSpec);

/**
 * The XState v5 milestone machine.
 *
 * @example
 * const actor = createActor(milestoneMachine, { id: 'milestone-M1', input: { milestoneId: 'M1', declaredComplete: false } });
 */
export const milestoneMachine = buildMachine(milestoneMachineSpec);
