/**
 * A machine of orch is written once, as a {@link MachineSpec}: a flat XState config whose
 * guards and actions are all *named*, plus the plain functions behind those names.
 * `buildMachine` turns a spec into a real XState v5 machine (via `setup()`); `compileMachine`
 * (compile.ts) turns the same spec into a table-driven stepper for fast replay. Both read
 * the same config object, and a property test holds them to the same answers.
 *
 * The subset is deliberately small: flat states (no nesting, no parallel states), `on`
 * transitions with an optional named guard, named actions, `entry` actions, `always`
 * transitions (used to pick an initial state from the input) and `type: 'final'`.
 */

/** The part of an event every machine reads: its type plus the envelope fields it may record. */
export interface MachineEventBase {
  type: string;
  /** Global log position of the event. */
  position: number;
  /** ISO-8601 time the event was recorded. */
  recordedAt: string;
}

/** A machine's state as plain JSON: what OrchState stores per entity. */
export interface MachineState<C> {
  /** The (flat) state value, e.g. `'running'`. */
  value: string;
  context: C;
}

/** One transition: an optional target state, an optional named guard, named actions. */
export interface TransitionSpec {
  readonly target?: string;
  readonly guard?: string;
  readonly actions?: readonly string[];
}

/** One state of a flat machine. */
export interface StateSpec {
  readonly type?: 'final';
  readonly entry?: readonly string[];
  readonly on?: Readonly<Record<string, readonly TransitionSpec[]>>;
  readonly always?: readonly TransitionSpec[];
}

/** The config half of a spec: exactly what is handed to XState's `createMachine`. */
export interface FlatMachineConfig {
  readonly id: string;
  readonly initial: string;
  readonly states: Readonly<Record<string, StateSpec>>;
}

/** A guard: a pure predicate over the context and the event. */
export type GuardFn<C, E> = (context: C, event: E) => boolean;

/** A context update: returns the keys to change (merged like XState's `assign`). */
export type UpdateFn<C, E> = (context: C, event: E) => Partial<C>;

/**
 * Everything that defines one machine.
 *
 * @example
 * const spec: MachineSpec<{ n: number }, { type: 'Inc'; position: number; recordedAt: string }, void> = {
 *   config: { id: 'counter', initial: 'on', states: { on: { on: { Inc: [{ actions: ['bump'] }] } } } },
 *   initialContext: () => ({ n: 0 }),
 *   guards: {},
 *   updates: { bump: (c) => ({ n: c.n + 1 }) },
 *   effects: [],
 * };
 */
export interface MachineSpec<C, E extends MachineEventBase, I> {
  config: FlatMachineConfig;
  /** The context for a new entity, from the machine's input. */
  initialContext: (input: I) => C;
  guards: Readonly<Record<string, GuardFn<C, E>>>;
  /** Named `assign` actions. */
  updates: Readonly<Record<string, UpdateFn<C, E>>>;
  /**
   * Named effect actions. They do nothing in the fold (the log already says what
   * happened); they mark where the runtime acts, and a live actor may `.provide()` them.
   */
  effects: readonly string[];
}
