import type { FlatMachineConfig, MachineEventBase, MachineSpec } from './spec.js';

/**
 * The milestone machine: `open → complete`, then its pull request, requested once and
 * recorded: `complete → prRequested → prOpened`. A milestone the plan already marks
 * complete starts in `complete` and never asks for a pull request.
 */

/** What a new milestone machine needs to know. */
export interface MilestoneInput {
  milestoneId: string;
  declaredComplete: boolean;
}

/** The milestone's pull request: null until requested; `url` null until opened. */
export interface MilestonePullRequest {
  branch: string;
  url: string | null;
}

/** The milestone machine's context: plain JSON. */
export interface MilestoneContext {
  milestoneId: string;
  declaredComplete: boolean;
  completedAt: string | null;
  pr: MilestonePullRequest | null;
}

type E<T extends string, D> = MachineEventBase & { type: T; data: D };
/** Every event the milestone machine handles. */
export type MilestoneMachineEvent =
  | E<'MilestoneCompleted', { milestoneId: string }>
  | E<'PullRequestRequested', { milestoneId: string; branch: string }>
  | E<'PullRequestOpened', { milestoneId: string; url: string; branch: string }>;

/** The milestone machine's flat config. */
export const milestoneMachineConfig = {
  id: 'milestone',
  initial: 'init',
  states: {
    init: { always: [{ target: 'complete', guard: 'declaredComplete' }, { target: 'open' }] },
    open: { on: { MilestoneCompleted: [{ target: 'complete', actions: ['recordCompletion'] }] } },
    complete: {
      entry: ['offerPullRequest'],
      on: { PullRequestRequested: [{ target: 'prRequested', actions: ['recordRequest'] }] },
    },
    prRequested: {
      entry: ['openPullRequest'],
      on: { PullRequestOpened: [{ target: 'prOpened', actions: ['recordOpened'] }] },
    },
    prOpened: { type: 'final' },
  },
} as const satisfies FlatMachineConfig;

/** Every state value of the milestone machine. */
export type MilestoneStateValue = keyof typeof milestoneMachineConfig.states;

/**
 * The milestone machine as a spec.
 *
 * @example
 * compileMachine(milestoneMachineSpec).initial({ milestoneId: 'M1', declaredComplete: false }).value; // 'open'
 */
export const milestoneMachineSpec: MachineSpec<MilestoneContext, MilestoneMachineEvent, MilestoneInput> = {
  config: milestoneMachineConfig,
  initialContext: (input) => ({
    milestoneId: input.milestoneId,
    declaredComplete: input.declaredComplete,
    completedAt: null,
    pr: null,
  }),
  guards: { declaredComplete: (c) => c.declaredComplete },
  updates: {
    recordCompletion: (_c, e) => ({ completedAt: e.recordedAt }),
    recordRequest: (_c, e) =>
      e.type === 'PullRequestRequested' ? { pr: { branch: e.data.branch, url: null } } : {},
    recordOpened: (_c, e) =>
      e.type === 'PullRequestOpened' ? { pr: { branch: e.data.branch, url: e.data.url } } : {},
  },
  // offerPullRequest: complete → decide requests the PR (autoMerge); openPullRequest: the runtime opens it.
  effects: ['offerPullRequest', 'openPullRequest'],
};
