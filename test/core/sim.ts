import { commandEvent } from '../../src/core/commands.js';
import type { Command } from '../../src/core/commands.js';
import { decide } from '../../src/core/decide.js';
import type { DecideConfig, DecideOptions } from '../../src/core/decide.js';
import type { OrchEventData, OrchEventType } from '../../src/core/events.js';
import { evolve } from '../../src/core/evolve.js';
import { initialState } from '../../src/core/state.js';
import type { OrchState } from '../../src/core/state.js';
import type { Plan } from '../../src/plan/model.js';
import { LogBuilder, T0, iso, testConfig } from './fixtures.js';

/** A small hand-driven orch for unit tests: record events, run decide, record its commands. */
export class Sim {
  readonly log = new LogBuilder();
  state: OrchState = initialState();
  private spawns = 0;
  private runs = 0;

  constructor(
    plan: Plan,
    public config: DecideConfig = testConfig,
  ) {
    this.restart();
    this.record('PlanLoaded', { plan });
  }

  get now(): number {
    return this.log.now;
  }
  set now(ms: number) {
    this.log.now = ms;
  }

  record<T extends OrchEventType>(type: T, data: OrchEventData<T>, actor = 'orch'): this {
    this.state = evolve(this.state, this.log.add(type, data, actor));
    return this;
  }

  restart(): this {
    this.runs += 1;
    this.log.runId = `run-${this.runs}`;
    return this.record('RunStarted', {
      runId: this.log.runId,
      pid: 100 + this.runs,
      startedAt: iso(this.now),
      config: {},
    });
  }

  decide(options?: DecideOptions): Command[] {
    return decide(this.state, this.state.plan, this.config, this.now, options);
  }

  /** Records what the runtime would for each command; returns the commands. */
  perform(commands: Command[]): Command[] {
    for (const cmd of commands) {
      if (cmd.type === 'SpawnAgent') this.spawns += 1;
      const ev = commandEvent(cmd, {
        runId: this.log.runId,
        spawnId: `s${this.spawns}`,
        agentCommand: ['agent'],
        workspace: '/ws',
        branch: cmd.type === 'RequestPullRequest' ? `milestone/${cmd.milestoneId}` : undefined,
      });
      this.record(ev.type, ev.data);
    }
    return commands;
  }

  /** decide + perform until decide has nothing more (bounded); returns every command. */
  settle(options?: DecideOptions): Command[] {
    const all: Command[] = [];
    for (let i = 0; i < 50; i++) {
      const cmds = this.perform(this.decide(options));
      if (cmds.length === 0) return all;
      all.push(...cmds);
    }
    throw new Error('decide did not settle');
  }

  spawnOf(taskId: string): string {
    const spawnId = this.state.tasks[taskId]?.context.spawnId;
    if (!spawnId) throw new Error(`task ${taskId} has no spawn`);
    return spawnId;
  }

  start(taskId: string): this {
    return this.record('AgentStarted', {
      spawnId: this.spawnOf(taskId),
      pid: 4000,
      pidStartTime: 1,
      startedAt: iso(this.now),
    });
  }

  exit(taskId: string, exitCode: number, costUsd?: number): this {
    return this.record('AgentExited', {
      spawnId: this.spawnOf(taskId),
      exitCode,
      signal: null,
      durationMs: 10,
      outputTail: '',
      ...(costUsd === undefined ? {} : { usage: { costUsd } }),
    });
  }

  /** Runs a task's current spawn to completion: start, exit 0, gate passes, merge succeeds (as `commit`). */
  finish(taskId: string, commit = 'c0ffee'): this {
    this.start(taskId).exit(taskId, 0);
    this.settle();
    this.record('GatePassed', { taskId, spawnId: this.spawnOf(taskId) });
    this.settle();
    return this.record('BranchMerged', { taskId, spawnId: this.spawnOf(taskId), commit });
  }
}

export { T0 };
