/**
 * The machines of orch (pure: XState and plan types only). Each comes as a spec, the
 * XState machine built from it, and the steppers the fold uses.
 */
import { xstateStepper } from './stepper.js';
import type { MachineEngine } from './compiled-engine.js';
import { milestoneMachine, phaseMachine, taskMachine } from './xstate-machines.js';

export * from './spec.js';
export * from './build.js';
export * from './compile.js';
export * from './stepper.js';
export * from './task-events.js';
export * from './task-logic.js';
export * from './task-machine.js';
export * from './phase-machine.js';
export * from './milestone-machine.js';
export * from './xstate-machines.js';

export type { MachineEngine } from './compiled-engine.js';

/**
 * The reference engine: XState's pure `transition()` on the real machines.
 *
 * @example
 * evolveWith(xstateEngine, state, event);
 */
export const xstateEngine: MachineEngine = {
  task: xstateStepper(taskMachine),
  phase: xstateStepper(phaseMachine),
  milestone: xstateStepper(milestoneMachine),
};

export { compiledEngine } from './compiled-engine.js';
