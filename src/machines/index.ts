/**
 * The machines of orch (pure: XState and plan types only). Each comes as a spec, the
 * XState machine built from it, and the steppers the fold uses.
 */
import { milestoneMachine, milestoneMachineSpec } from './milestone-machine.js';
import type { MilestoneContext, MilestoneInput, MilestoneMachineEvent } from './milestone-machine.js';
import { phaseMachine, phaseMachineSpec } from './phase-machine.js';
import type { PhaseContext, PhaseInput, PhaseMachineEvent } from './phase-machine.js';
import type { Stepper } from './stepper.js';
import { compiledStepper, xstateStepper } from './stepper.js';
import type { TaskMachineEvent } from './task-events.js';
import type { TaskContext, TaskInput } from './task-logic.js';
import { taskMachine, taskMachineSpec } from './task-machine.js';

export * from './spec.js';
export * from './build.js';
export * from './compile.js';
export * from './stepper.js';
export * from './task-events.js';
export * from './task-logic.js';
export * from './task-machine.js';
export * from './phase-machine.js';
export * from './milestone-machine.js';

/** One stepper per kind of entity: what the fold needs to advance machines. */
export interface MachineEngine {
  task: Stepper<TaskContext, TaskMachineEvent, TaskInput>;
  phase: Stepper<PhaseContext, PhaseMachineEvent, PhaseInput>;
  milestone: Stepper<MilestoneContext, MilestoneMachineEvent, MilestoneInput>;
}

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

/**
 * The fast engine: the same specs compiled to transition tables.
 *
 * @example
 * new Replayer(initialState(), compiledEngine);
 */
export const compiledEngine: MachineEngine = {
  task: compiledStepper(taskMachineSpec),
  phase: compiledStepper(phaseMachineSpec),
  milestone: compiledStepper(milestoneMachineSpec),
};
