import type { OrchestratorConfig } from '../../core/config.js';
import type { RecordedEvent } from '../../core/envelope.js';
import type { OrchState } from '../../core/state.js';
import type { StatusView } from '../../core/status-view.js';
import type { Clock } from '../system/clock.js';
import type { WarningSink } from './warnings.js';

/** How an orchestrator is set up (`Orchestrator(config)` in the programmatic API). */
export interface OrchestratorOptions {
  /** The git repository (default: the current directory). */
  repoDir?: string;
  /** Default `<repoDir>/.state`. */
  stateDir?: string;
  /** Default: `orch.config.json|yaml` of the repo over the built-in defaults. */
  config?: OrchestratorConfig;
  /** The plan directory or file (default: config `planDir`, then the usual places). */
  planDir?: string;
  /** Only spawn agents for these tasks (bookkeeping still covers the whole plan). */
  tasks?: readonly string[];
  /**
   * Rank the work by this goal (as `orch plan --goal`) and spawn agents only for the
   * recommended tasks and every incomplete task they depend on, transitively. Combined
   * with `tasks`, both sets run; `role` and `target` still filter. Nothing matching is an
   * `OrchestratorError` `NO_GOAL_MATCH` (exit 1, as an unknown task).
   */
  goal?: string;
  /** Only spawn agents for tasks of this role. */
  role?: string;
  /** Only spawn agents for tasks of this target (`--target`; its id in `targets`). */
  target?: string;
  /** Use this argv for every role instead of the configured agents (`--agent-cmd`). */
  agentCommand?: readonly string[];
  /**
   * Where the run gets the time (default: the wall clock). Recorded times come from
   * `now()`; with `monotonicMs()` the run's decisions and timers go by the start time
   * advanced by it (`steadyClock`), so a wall clock that jumps neither holds a retry back
   * nor fires it early; without it (a pinned clock) `now()` is used for both.
   */
  clock?: Clock;
  /** On stop, leave running agents alive (a later run re-attaches to them). */
  leaveAgentsOnStop?: boolean;
  /** Called for every event folded, in log order (progress lines, dashboards). */
  onEvent?: (event: RecordedEvent, state: OrchState) => void;
  /**
   * Called for every warning of the run (a refused plan edit, a failed status write-back),
   * as it happens. Whether or not it is given, the orchestrator keeps the most recent
   * warnings for `warnings()`; it never writes to stderr itself (`orch spawn` prints them
   * there, as `orch: <message>`).
   */
  onWarning?: WarningSink;
  /** How often to look for events written by other processes (ms, default 100). */
  pollIntervalMs?: number;
  /** Between SIGTERM and SIGKILL when stopping an agent (ms, default 5000). */
  killGraceMs?: number;
  /** How often the stall watchdog looks at each agent (ms; default a quarter of its `stallTimeout`, at most 10 000). */
  stallPollMs?: number;
  /**
   * Run as a worker under this name (`orch spawn --worker NAME`): one of several processes,
   * on one machine or many, over one shared log (`store.url` / `ORCH_DATABASE_URL`). On a
   * shared log every run is a worker (named host:pid when not given).
   */
  worker?: string;
  /** SQLite durability of the log (default `full`). */
  durability?: 'full' | 'normal';
}

/** Why a run ended, with the exit code the CLI uses (docs/cli.md, exit codes). */
export interface RunOutcome {
  /** 0 complete · 1 a task failed for good · 2 waiting on the outside · 130 stopped. */
  exitCode: 0 | 1 | 2 | 130;
  reason: string;
  status: StatusView;
  /** A worker that found itself declared lost: it stopped its agents and should join again under a new membership. */
  rejoin?: boolean;
}
