import { assign, setup } from 'xstate';
import type { MachineContext } from 'xstate';
import type { MachineEventBase, MachineSpec } from './spec.js';

/**
 * Builds the XState v5 machine of a {@link MachineSpec} with `setup()`: every guard and
 * action is registered by name, updates become `assign` actions and effects become
 * actions that do nothing until the runtime provides them.
 *
 * @example
 * const machine = buildMachine(taskMachineSpec);
 * const actor = createActor(machine, { id: 'task-T1', input: { taskId: 'T1', declaredComplete: false } });
 */
export function buildMachine<C extends MachineContext, E extends MachineEventBase, I>(
  spec: MachineSpec<C, E, I>,
) {
  const guards: Record<string, (args: { context: C; event: E }) => boolean> = {};
  for (const [name, guard] of Object.entries(spec.guards)) {
    guards[name] = ({ context, event }) => guard(context, event);
  }
  const actions: Record<string, ReturnType<typeof assign<C, E, undefined, E, never>> | (() => void)> = {};
  for (const [name, update] of Object.entries(spec.updates)) {
    actions[name] = assign<C, E, undefined, E, never>(({ context, event }) => update(context, event));
  }
  // Effects are intent markers: the fold never runs them (the log records their outcomes).
  for (const name of spec.effects) actions[name] = () => undefined;

  return setup({
    types: { context: {} as C, events: {} as E, input: {} as I },
    guards,
    actions: actions as Record<string, () => void>,
  }).createMachine({
    id: spec.config.id,
    initial: spec.config.initial,
    context: ({ input }) => spec.initialContext(input),
    // The flat config is a strict subset of XState's config; its names are checked by compileMachine.
    states: spec.config.states as never,
  });
}

/** The XState machine type `buildMachine` returns for a spec. */
export type BuiltMachine<C extends MachineContext, E extends MachineEventBase, I> = ReturnType<
  typeof buildMachine<C, E, I>
>;
