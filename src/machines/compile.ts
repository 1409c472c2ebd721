import type {
  GuardFn,
  MachineEventBase,
  MachineSpec,
  MachineState,
  TransitionSpec,
  UpdateFn,
} from './spec.js';

/** A spec that uses something outside the supported subset, or names an unknown guard/action/state. */
export class MachineSpecError extends Error {
  constructor(machineId: string, problem: string) {
    super(`machine "${machineId}": ${problem}`);
    this.name = 'MachineSpecError';
  }
}

interface Candidate<C, E> {
  guard: GuardFn<C, E> | null;
  target: string | null;
  /** Context updates in XState's order: source exit, transition, target entry (effects dropped). */
  updates: UpdateFn<C, E>[];
}

/**
 * A table-driven stepper for a machine spec: the same transitions as the XState machine,
 * without building snapshots, so a replay can fold millions of events per second.
 */
export interface CompiledMachine<C, E extends MachineEventBase, I> {
  readonly id: string;
  /** The state a new entity starts in (initial state, then any `always` transitions). */
  initial(input: I): MachineState<C>;
  /**
   * The state after `event`; returns `state` itself (same object) when no transition is
   * enabled, so callers can tell "ignored" by identity.
   */
  step(state: MachineState<C>, event: E): MachineState<C>;
  /** The event types some state of the machine handles. */
  readonly eventTypes: ReadonlySet<string>;
}

const STATE_KEYS = new Set(['type', 'entry', 'on', 'always']);
const TRANSITION_KEYS = new Set(['target', 'guard', 'actions']);
const MAX_ALWAYS = 32;

/**
 * Compiles a {@link MachineSpec}; throws {@link MachineSpecError} when the config leaves the
 * supported subset (so the fast stepper can never silently disagree with XState).
 *
 * @example
 * const task = compileMachine(taskMachineSpec);
 * let s = task.initial({ taskId: 'T1', declaredComplete: false }); // { value: 'pending', ... }
 */
export function compileMachine<C, E extends MachineEventBase, I>(
  spec: MachineSpec<C, E, I>,
): CompiledMachine<C, E, I> {
  const { id, states, initial } = spec.config;
  const fail = (problem: string): never => {
    throw new MachineSpecError(id, problem);
  };
  const effects = new Set(spec.effects);
  if (!Object.hasOwn(states, initial)) fail(`initial state "${initial}" is not a state`);

  const entryUpdates = new Map<string, UpdateFn<C, E>[]>();
  const resolveActions = (names: readonly string[] | undefined, where: string): UpdateFn<C, E>[] => {
    const out: UpdateFn<C, E>[] = [];
    for (const name of names ?? []) {
      const update = Object.hasOwn(spec.updates, name) ? spec.updates[name] : undefined;
      if (update) out.push(update);
      else if (!effects.has(name)) fail(`${where} names unknown action "${name}"`);
    }
    return out;
  };
  for (const [name, state] of Object.entries(states)) {
    for (const key of Object.keys(state)) {
      if (!STATE_KEYS.has(key)) fail(`state "${name}" uses unsupported key "${key}"`);
    }
    entryUpdates.set(name, resolveActions(state.entry, `entry of "${name}"`));
  }

  const compileCandidates = (source: string, list: readonly TransitionSpec[], label: string) =>
    list.map((t): Candidate<C, E> => {
      for (const key of Object.keys(t)) {
        if (!TRANSITION_KEYS.has(key)) fail(`${label} in "${source}" uses unsupported key "${key}"`);
      }
      if (t.target !== undefined && !Object.hasOwn(states, t.target)) {
        fail(`${label} in "${source}" targets unknown state "${t.target}"`);
      }
      // XState re-entry rules for self-targets differ by version: keep them out of the subset.
      if (t.target === source)
        fail(`${label} in "${source}" targets its own state; use a targetless transition`);
      const guard = t.guard === undefined ? null : (spec.guards[t.guard] ?? null);
      if (t.guard !== undefined && (guard === null || !Object.hasOwn(spec.guards, t.guard))) {
        fail(`${label} in "${source}" names unknown guard "${t.guard}"`);
      }
      const updates = resolveActions(t.actions, `${label} in "${source}"`);
      if (t.target !== undefined) updates.push(...(entryUpdates.get(t.target) ?? []));
      return { guard, target: t.target ?? null, updates };
    });

  const table = new Map<string, Map<string, Candidate<C, E>[]>>();
  const always = new Map<string, Candidate<C, E>[]>();
  const eventTypes = new Set<string>();
  for (const [name, state] of Object.entries(states)) {
    const byType = new Map<string, Candidate<C, E>[]>();
    for (const [type, list] of Object.entries(state.on ?? {})) {
      if (state.type === 'final') fail(`final state "${name}" has transitions`);
      byType.set(type, compileCandidates(name, list, `transition on ${type}`));
      eventTypes.add(type);
    }
    table.set(name, byType);
    if (state.always) always.set(name, compileCandidates(name, state.always, 'always transition'));
  }

  const apply = (context: C, updates: UpdateFn<C, E>[], event: E): C => {
    if (updates.length === 0) return context;
    // Same merge as XState's assign (existing keys keep their order), but one fresh object
    // per step instead of one per update: each update still sees the ones before it, and
    // none keeps the context object itself, so the values are XState's.
    const ctx = { ...context, ...updates[0]!(context, event) };
    for (let i = 1; i < updates.length; i++) Object.assign(ctx, updates[i]!(ctx, event));
    return ctx;
  };
  const pick = (list: Candidate<C, E>[] | undefined, context: C, event: E) => {
    if (!list) return undefined;
    for (const c of list) if (c.guard === null || c.guard(context, event)) return c;
    return undefined;
  };
  const settle = (state: MachineState<C>, event: E): MachineState<C> => {
    let current = state;
    for (let i = 0; i < MAX_ALWAYS; i++) {
      const c = pick(always.get(current.value), current.context, event);
      if (!c) return current;
      current = { value: c.target ?? current.value, context: apply(current.context, c.updates, event) };
    }
    return fail(`always transitions from "${current.value}" do not settle`);
  };
  const initEvent = { type: 'xstate.init', position: 0, recordedAt: '' } as unknown as E;

  return {
    id,
    eventTypes,
    initial(input) {
      const context = apply(spec.initialContext(input), entryUpdates.get(initial) ?? [], initEvent);
      return settle({ value: initial, context }, initEvent);
    },
    step(state, event) {
      const c = pick(table.get(state.value)?.get(event.type), state.context, event);
      if (!c) return state;
      return settle(
        { value: c.target ?? state.value, context: apply(state.context, c.updates, event) },
        event,
      );
    },
  };
}
