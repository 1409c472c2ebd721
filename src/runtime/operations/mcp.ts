import { spawn as spawnProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { StatusDocument } from '../../core/status-document.js';
import { isOrchError, OrchError } from '../../util/errors.js';
import { ORCH_CLI } from '../agents/command.js';
import { openLog } from '../log/open.js';
import { formatEventLine } from '../render/log-lines.js';
import { ciRecordedLine, planText, signalRecordedLine } from '../render/outcomes.js';
import { renderStatusText } from '../render/status-text.js';
import { renderTaskStory } from '../render/task-story.js';
import { renderReport } from '../report/html.js';
import { LeaseHeldError } from '../system/errors.js';
import { isSameProcessAlive, processStartTime } from '../system/process-identity.js';
import { readLease, readLeaseView } from '../system/lease.js';
import { leaseFilePath, prepareStateDir } from '../system/state-paths.js';
import { orchCi } from './ci.js';
import { orchLog } from './log.js';
import { orchPlan } from './plan.js';
import { orchSignal } from './signal.js';
import { orchStatus } from './status.js';

/**
 * `orch mcp`: orch as a Model Context Protocol server. Every tool calls the operation the
 * CLI verb calls (`orchPlan`, `orchStatus`, `orchLog`, `orchSignal`, `orchCi`; `spawn`
 * starts the `orch spawn` CLI itself), so the log records the same events with the same
 * actors, plus `metadata.via: "mcp"`. An `OrchError` becomes a tool error whose text is the
 * CLI's: `Error: …` and `Hint: …`.
 */

/** The value of `metadata.via` on the events the MCP tools write. */
export const MCP_VIA = 'mcp';

/** The URI of the HTML report resource. */
export const REPORT_URI = 'orch://report';

/** Where the server works and who calls it. */
export interface McpServerOptions {
  repoDir: string;
  stateDir: string;
  /** The caller's environment: `ORCH_SPAWN_ID`, `ORCH_TASK_ID`, `ORCH_RUN_ID` (an agent's identity). */
  env: Readonly<Record<string, string | undefined>>;
  /** orch's version, told to the client. */
  version: string;
  /** How long `spawn` waits for the run to take the lease (default 20 s). */
  spawnWaitMs?: number;
}

/** What the `spawn` tool started. */
export interface SpawnedRun {
  pid: number;
  /** The run's id (from the lease it took); null when it had not taken the lease within the wait. */
  runId: string | null;
  /** Where the run's output goes. */
  outputFile: string;
}

const TEXT_OR_JSON = {
  json: z.boolean().optional().describe('answer with the JSON document instead of text'),
};

/**
 * Builds the server with every tool and the report resource; connect it to a transport.
 *
 * @example
 * const server = createMcpServer({ repoDir, stateDir, env: process.env, version: '0.1.0' });
 * await server.connect(new StdioServerTransport());
 */
export function createMcpServer(options: McpServerOptions): McpServer {
  const { repoDir, stateDir, env } = options;
  const server = new McpServer(
    { name: 'orch', version: options.version },
    {
      instructions:
        'orch runs AI coding agents through a project plan; every step is recorded in an event log. Use status and log to see where the work is; an agent started by orch reports its breakpoints with signal.',
    },
  );

  server.registerTool(
    'plan',
    {
      description:
        'Load, parse and validate the plan; show milestones, phases, tasks and what is ready (as `orch plan`).',
      inputSchema: {
        goal: z.string().optional().describe('rank the phases and tasks that match this goal'),
        check: z.boolean().optional().describe('compare the plan files with the log'),
        ...TEXT_OR_JSON,
      },
    },
    (args) =>
      answer(async () => {
        const result = await orchPlan({
          repoDir,
          stateDir,
          ...(args.goal === undefined ? {} : { goal: args.goal }),
          ...(args.check === true ? { check: true } : {}),
        });
        return args.json === true ? JSON.stringify(result) : planText(result);
      }),
  );

  server.registerTool(
    'status',
    {
      description:
        'The current state rebuilt from the log: the run and its lease, totals, every milestone, phase and task, live agents (as `orch status`).',
      inputSchema: TEXT_OR_JSON,
    },
    (args) =>
      answer(async () => {
        const status = await orchStatus(stateDir);
        if (args.json === true) return status.json;
        return renderStatusText(JSON.parse(status.documentJson) as StatusDocument, status.lease);
      }),
  );

  server.registerTool(
    'log',
    {
      description:
        'The audit trail: events in order, filtered (as `orch log`); with a task, its story attempt by attempt.',
      inputSchema: {
        task: z.string().optional().describe("only the task's events"),
        spawn: z.string().optional().describe('only the events naming this spawn id'),
        types: z.array(z.string()).optional().describe('only events of these types'),
        since: z.number().int().nonnegative().optional().describe('only events at or after this position'),
        limit: z
          .number()
          .int()
          .positive()
          .optional()
          .describe('at most this many events, the latest (default 200)'),
      },
    },
    (args) =>
      answer(() => {
        const listing = orchLog({
          stateDir,
          ...(args.task === undefined ? {} : { task: args.task }),
          ...(args.spawn === undefined ? {} : { spawn: args.spawn }),
          ...(args.types === undefined ? {} : { types: args.types }),
          ...(args.since === undefined ? {} : { since: String(args.since) }),
        });
        try {
          const limit = args.limit ?? 200;
          const lines: string[] = [];
          let total = 0;
          for (const event of listing.events) {
            lines.push(formatEventLine(event));
            if (lines.length > limit) lines.shift();
            total += 1;
          }
          const head =
            total > lines.length
              ? [`(the last ${lines.length} of ${total} events; pass limit for more)`]
              : [];
          const body = total === 0 ? ['No events match.'] : lines;
          const story = listing.story();
          const tail = story === null ? [] : ['', renderTaskStory(story)];
          return [...head, ...body, ...tail].join('\n');
        } finally {
          listing.close();
        }
      }),
  );

  server.registerTool(
    'spawn',
    {
      description:
        'Start `orch spawn` in the background (it holds the state directory lease as the CLI does) and return its pid; refused while a run holds the lease. Follow it with status.',
      inputSchema: {
        tasks: z.array(z.string()).optional().describe('only these tasks (default: every ready task)'),
        goal: z.string().optional().describe('run the work toward this goal'),
        role: z.string().optional().describe('only tasks of this role'),
        target: z.string().optional().describe('only tasks of this target'),
        maxConcurrent: z.number().int().positive().optional().describe('at most this many agents at once'),
      },
    },
    (args) =>
      answer(async () => {
        const argv = [
          ...(args.tasks ?? []),
          ...(args.goal === undefined ? [] : ['--goal', args.goal]),
          ...(args.role === undefined ? [] : ['--role', args.role]),
          ...(args.target === undefined ? [] : ['--target', args.target]),
          ...(args.maxConcurrent === undefined ? [] : ['--max-concurrent', String(args.maxConcurrent)]),
        ];
        const run = await startRun(repoDir, stateDir, argv, env, options.spawnWaitMs ?? 20_000);
        const held = run.runId === null ? 'it has not taken the lease yet' : `run ${run.runId}`;
        return `started orch spawn (pid ${run.pid}, ${held}); its output goes to ${run.outputFile}. Follow it with the status tool.`;
      }),
  );

  server.registerTool(
    'signal',
    {
      description:
        "For an agent started by orch: report a breakpoint (complete, blocked, pr) for this agent's spawn (ORCH_SPAWN_ID of the server's environment, or spawnId).",
      inputSchema: {
        kind: z.enum(['complete', 'blocked', 'pr']).describe('the breakpoint'),
        summary: z.string().optional().describe('one or two sentences: what was done, or what is needed'),
        on: z
          .array(z.string())
          .optional()
          .describe('blocked: what the work waits for: ci, person, or task ids (default person)'),
        url: z.string().optional().describe('pr: the pull request URL'),
        spawnId: z.string().optional().describe('the spawn id (default: ORCH_SPAWN_ID)'),
      },
    },
    (args) =>
      answer(() => {
        const taskHint = nonEmpty(env['ORCH_TASK_ID']);
        const runId = nonEmpty(env['ORCH_RUN_ID']);
        const outcome = orchSignal(stateDir, {
          kind: args.kind,
          spawnId: args.spawnId ?? env['ORCH_SPAWN_ID'] ?? '',
          via: MCP_VIA,
          ...(args.summary === undefined ? {} : { summary: args.summary }),
          ...(args.on === undefined ? {} : { on: args.on }),
          ...(args.url === undefined ? {} : { url: args.url }),
          ...(taskHint === undefined ? {} : { taskHint }),
          ...(runId === undefined ? {} : { runId }),
        });
        return signalRecordedLine(outcome);
      }),
  );

  for (const kind of ['unblock', 'cancel'] as const) {
    server.registerTool(
      kind,
      {
        description:
          kind === 'unblock'
            ? 'Release a task blocked on a person (as `orch signal unblock`); the next decision gives it a fresh agent.'
            : 'Cancel a task (as `orch signal cancel`); a running orch stops its live agent.',
        inputSchema: {
          task: z.string().describe('the task id'),
          summary: z
            .string()
            .optional()
            .describe(kind === 'unblock' ? 'what was done or decided' : 'why'),
        },
      },
      (args) =>
        answer(() =>
          signalRecordedLine(
            orchSignal(stateDir, {
              kind,
              taskId: args.task,
              via: MCP_VIA,
              ...(args.summary === undefined ? {} : { summary: args.summary }),
            }),
          ),
        ),
    );
  }

  server.registerTool(
    'ci',
    {
      description:
        'Record a CI result for the integration branch (as `orch ci`); work blocked on CI reacts to it.',
      inputSchema: {
        result: z.enum(['pass', 'fail']).describe('the CI result'),
        ref: z.string().optional().describe('the branch or commit CI ran on'),
        url: z.string().optional().describe('a link to the CI run'),
        actor: z.enum(['ci', 'user']).optional().describe('who reports it (default user)'),
      },
    },
    (args) =>
      answer(() =>
        ciRecordedLine(
          orchCi(stateDir, {
            result: args.result,
            actor: args.actor ?? 'user',
            via: MCP_VIA,
            ...(args.ref === undefined ? {} : { ref: args.ref }),
            ...(args.url === undefined ? {} : { url: args.url }),
          }),
        ),
      ),
  );

  server.registerResource(
    'report',
    REPORT_URI,
    {
      title: 'orch report',
      description: 'The post-mortem of the log as one self-contained HTML page (as `orch report`).',
      mimeType: 'text/html',
    },
    (uri) => {
      const store = openLog(stateDir);
      try {
        return { contents: [{ uri: uri.href, mimeType: 'text/html', text: renderReport(store.readAll()) }] };
      } finally {
        store.close();
      }
    },
  );

  return server;
}

/** Runs a tool's body: its text, or a tool error with the CLI's error text. */
async function answer(body: () => string | Promise<string>): Promise<CallToolResult> {
  try {
    return { content: [{ type: 'text', text: await body() }] };
  } catch (err) {
    return { isError: true, content: [{ type: 'text', text: errorText(err) }] };
  }
}

/**
 * The text of a failed tool call, as the CLI prints it on stderr.
 *
 * @example
 * errorText(new OrchError('UNKNOWN_TASK', 'there is no task "T9"', { hint: 'see orch status' }));
 * // 'Error: there is no task "T9" (UNKNOWN_TASK)\nHint: see orch status'
 */
export function errorText(err: unknown): string {
  if (isOrchError(err))
    return `Error: ${err.message} (${err.code})${err.hint === undefined ? '' : `\nHint: ${err.hint}`}`;
  return `Error: ${(err as Error).message ?? String(err)}`;
}

/**
 * Starts `orch spawn ARGV` detached (its own process group, output to
 * `<state-dir>/mcp/spawn-<time>.log`) and waits until it holds the lease. Refuses with
 * `LEASE_HELD` when a live run holds it already; a child that exits before taking it is an
 * error with the end of its output.
 */
async function startRun(
  repoDir: string,
  stateDir: string,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  waitMs: number,
): Promise<SpawnedRun> {
  const holder = readLeaseView(stateDir);
  const info = readLease(stateDir);
  if (holder !== null && holder.alive !== false && info !== undefined)
    throw new LeaseHeldError(leaseFilePath(stateDir), info);
  // The first runtime file: the state directory gets its .gitignore first.
  prepareStateDir(stateDir);
  const dir = path.join(stateDir, 'mcp');
  fs.mkdirSync(dir, { recursive: true });
  const outputFile = path.join(dir, `spawn-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
  const fd = fs.openSync(outputFile, 'a');
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && k !== 'NODE_ENV') childEnv[k] = v;
  let child;
  try {
    child = spawnProcess(
      process.execPath,
      [ORCH_CLI, 'spawn', '--repo', repoDir, '--state-dir', stateDir, '--quiet', ...argv],
      { cwd: repoDir, detached: true, stdio: ['ignore', fd, fd], env: childEnv },
    );
  } finally {
    fs.closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined)
    throw new OrchError('SPAWN_START_FAILED', `could not start orch spawn (${ORCH_CLI})`);
  let exit: number | null | undefined;
  child.on('exit', (code, signal) => {
    exit = code ?? (signal === null ? -1 : 128);
  });
  child.unref();
  const startTime = processStartTime(pid) ?? null;
  const deadline = Date.now() + waitMs;
  for (;;) {
    const lease = readLease(stateDir);
    if (lease !== undefined && lease.pid === pid) return { pid, runId: lease.runId, outputFile };
    if (exit !== undefined || (startTime !== null && !isSameProcessAlive(pid, startTime))) {
      const tail = fs.readFileSync(outputFile, 'utf8').trim().split('\n').slice(-5).join('\n');
      throw new OrchError(
        exit === 3 ? 'LEASE_HELD' : 'SPAWN_EXITED',
        `orch spawn (pid ${pid}) exited${exit === undefined || exit === null ? '' : ` with code ${exit}`} before it held the lease: ${tail || 'no output'}`,
        { hint: `see ${outputFile}`, exitCode: exit === 3 ? 3 : 1, details: { pid, outputFile } },
      );
    }
    if (Date.now() > deadline) return { pid, runId: null, outputFile };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
