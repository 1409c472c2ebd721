import { initialTransition, transition } from 'xstate';
import type { AnyMachineSnapshot, AnyStateMachine, MachineContext } from 'xstate';
import type { BuiltMachine } from './build.js';
import { compileMachine } from './compile.js';
import type { MachineEventBase, MachineSpec, MachineState } from './spec.js';

/**
 * How the fold advances one entity's machine: from plain-JSON state to plain-JSON state.
 * Two implementations give the same answers: XState's pure `transition()` (the reference,
 * used by `evolve`) and the compiled table (used by the fast `Replayer`).
 */
export interface Stepper<C, E extends MachineEventBase, I> {
  initial(input: I): MachineState<C>;
  /** Returns `state` itself when the event changes nothing. */
  step(state: MachineState<C>, event: E): MachineState<C>;
}

/**
 * A stepper that runs the real XState machine with its pure `transition()` function:
 * the plain state is rehydrated with `resolveState`, stepped, and read back.
 *
 * @example
 * const s = xstateStepper(taskMachine, taskMachineSpec);
 * const next = s.step(s.initial({ taskId: 'T1', declaredComplete: false }), unblockedEvent);
 */
export function xstateStepper<C extends MachineContext, E extends MachineEventBase, I>(
  built: BuiltMachine<C, E, I>,
): Stepper<C, E, I> {
  // The built machine's event union also holds XState's internal events; step with the general type.
  const machine = built as unknown as AnyStateMachine;
  // Plain states are immutable, so the snapshot a state came from can be reused instead of
  // rehydrated (resolveState is most of the cost); a state seen for the first time is rehydrated.
  const snapshots = new WeakMap<MachineState<C>, AnyMachineSnapshot>();
  const plain = (snapshot: AnyMachineSnapshot): MachineState<C> => {
    const state = { value: snapshot.value as string, context: snapshot.context as C };
    snapshots.set(state, snapshot);
    return state;
  };
  return {
    initial(input) {
      return plain(initialTransition(machine, input)[0]);
    },
    step(state, event) {
      const snapshot =
        snapshots.get(state) ?? machine.resolveState({ value: state.value, context: state.context });
      const [next] = transition(machine, snapshot, event as never);
      if (next.value === state.value && next.context === state.context) return state;
      return plain(next);
    },
  };
}

/**
 * A stepper over the compiled table of a spec (no XState snapshots: fast).
 *
 * @example
 * const s = compiledStepper(taskMachineSpec);
 */
export function compiledStepper<C, E extends MachineEventBase, I>(
  spec: MachineSpec<C, E, I>,
): Stepper<C, E, I> {
  return compileMachine(spec);
}
