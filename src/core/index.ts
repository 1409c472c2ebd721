/**
 * The event-sourced core (pure): the event catalog, the fold (`evolve`, `Replayer`),
 * `decide`, the invariants and the `status` read model.
 */
export * from './envelope.js';
export * from './errors.js';
export * from './events.js';
export * from './state.js';
export * from './record.js';
export * from './fold.js';
export * from './evolve.js';
export * from './replayer.js';
export * from './plan-index.js';
export * from './commands.js';
export * from './decide.js';
export * from './pending-intents.js';
export * from './outlook.js';
export * from './selection.js';
export * from './plan-revision.js';
export * from './status-view.js';
export * from './usage-totals.js';
export * from './invariants.js';
