/**
 * The fast engine the fold runs on: the machine specs compiled to transition tables. In a
 * module of its own that never loads XState, so `orch status` can fold a log's tail cheaply.
 */
import { compileMachine } from './compile.js';
import { milestoneMachineSpec } from './milestone-machine.js';
import type { MilestoneContext, MilestoneInput, MilestoneMachineEvent } from './milestone-machine.js';
import { phaseMachineSpec } from './phase-machine.js';
import type { PhaseContext, PhaseInput, PhaseMachineEvent } from './phase-machine.js';
import type { Stepper } from './stepper.js';
import type { TaskMachineEvent } from './task-events.js';
import type { TaskContext, TaskInput } from './task-logic.js';
import { taskMachineSpec } from './task-machine.js';

/** One stepper per kind of entity: what the fold needs to advance machines. */
export interface MachineEngine {
  task: Stepper<TaskContext, TaskMachineEvent, TaskInput>;
  phase: Stepper<PhaseContext, PhaseMachineEvent, PhaseInput>;
  milestone: Stepper<MilestoneContext, MilestoneMachineEvent, MilestoneInput>;
}

/**
 * The fast engine: the same specs compiled to transition tables.
 *
 * @example
 * new Replayer(initialState(), compiledEngine);
 */
export const compiledEngine: MachineEngine = {
  task: compileMachine(taskMachineSpec),
  phase: compileMachine(phaseMachineSpec),
  milestone: compileMachine(milestoneMachineSpec),
};
