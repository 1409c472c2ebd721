import { spawn, type ChildProcess } from 'node:child_process';
import type { LeaseView } from '../../core/status-document.js';
import { OrchError } from '../../util/errors.js';
import { readLeaseView } from '../system/lease.js';
import { TailBuffer } from '../system/output-tail.js';

/**
 * `orch spawn` started and stopped from `orch serve`'s page: a child process running the
 * same CLI (`node bin/run.js spawn --repo … --state-dir …`), which takes the state
 * directory's lease as it does from a terminal. One at a time; refused while another
 * process holds the lease, naming it.
 */

/** Where the child runs. */
export interface SpawnChildOptions {
  repoDir: string;
  stateDir: string;
  /** The command that runs orch: `[process.execPath, '<root>/bin/run.js']`. */
  orchCommand: readonly string[];
}

/** The child as the page shows it. */
export interface SpawnChildView {
  running: boolean;
  pid: number | null;
  /** How the last child ended (null: none ended yet). */
  lastExit: { code: number | null; signal: string | null; output: string } | null;
}

/** The lease is held by another process: it is named. */
export class LeaseHeldError extends OrchError {
  constructor(lease: LeaseView) {
    super(
      'LEASE_HELD',
      `another orch process holds the lease: pid ${lease.pid} on ${lease.host} (run ${lease.runId}, since ${lease.acquiredAt})`,
      {
        hint: 'stop that process first (or wait for it to finish); orch spawn runs one at a time per state directory',
        details: { ...lease },
      },
    );
  }
}

/**
 * Starts and stops one `orch spawn` child.
 *
 * @example
 * const child = new SpawnChild({ repoDir, stateDir, orchCommand: [process.execPath, bin] });
 * child.start(); // { running: true, pid: 4242, lastExit: null }
 * await child.stop();
 */
export class SpawnChild {
  private child: ChildProcess | null = null;
  private exited: Promise<void> | null = null;
  private output = new TailBuffer(4096);
  private last: SpawnChildView['lastExit'] = null;

  constructor(private readonly options: SpawnChildOptions) {}

  view(): SpawnChildView {
    return { running: this.child !== null, pid: this.child?.pid ?? null, lastExit: this.last };
  }

  /** Starts `orch spawn`; refused when one runs already or another process holds the lease. */
  start(): SpawnChildView {
    if (this.child !== null) {
      throw new OrchError(
        'SPAWN_RUNNING',
        `orch spawn started here is already running (pid ${this.child.pid})`,
        {
          hint: 'stop it first',
        },
      );
    }
    const lease = readLeaseView(this.options.stateDir);
    if (lease !== null && lease.alive !== false) throw new LeaseHeldError(lease);
    const [command, ...args] = this.options.orchCommand;
    if (command === undefined) throw new Error('orch serve: no orch command to run');
    const env = { ...process.env };
    delete env['NODE_ENV'];
    const child = spawn(
      command,
      [...args, 'spawn', '--quiet', '--repo', this.options.repoDir, '--state-dir', this.options.stateDir],
      { cwd: this.options.repoDir, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.output = new TailBuffer(4096);
    child.stdout?.on('data', (c: Buffer) => this.output.push(c));
    child.stderr?.on('data', (c: Buffer) => this.output.push(c));
    this.child = child;
    this.exited = new Promise<void>((resolve) => {
      child.on('error', (err) => {
        this.output.push(Buffer.from(`could not start orch spawn: ${err.message}\n`));
      });
      child.on('close', (code, signal) => {
        this.last = { code, signal, output: this.output.toString() };
        this.child = null;
        resolve();
      });
    });
    return this.view();
  }

  /** Stops the child as Ctrl-C would (SIGINT: it stops its agents and records the stop) and waits for it. */
  async stop(): Promise<SpawnChildView> {
    const child = this.child;
    if (child === null) {
      throw new OrchError('SPAWN_NOT_RUNNING', 'no orch spawn started here is running', {
        hint: 'an orch spawn started elsewhere is stopped where it runs (Ctrl-C)',
      });
    }
    child.kill('SIGINT');
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await this.exited;
    clearTimeout(killer);
    return this.view();
  }

  /** Stops the child if one runs (the server is closing). */
  async close(): Promise<void> {
    if (this.child !== null) await this.stop();
  }
}
