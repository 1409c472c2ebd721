import path from 'node:path';
import { BaseCommand } from './_base.js';

/**
 * `orch mcp`: orch as a Model Context Protocol server on stdin/stdout, for an MCP client
 * (an agent, an editor). Tools: plan, status, log, spawn, signal, unblock, cancel, ci; the
 * HTML report as the resource `orch://report`. Runs until the client closes the stream.
 *
 * @example
 * // claude mcp add orch -- orch mcp --repo /work/calc
 */
export default class Mcp extends BaseCommand {
  static override summary =
    'Serve orch to an MCP client over stdio: plan, status, log, spawn, signal, unblock, cancel, ci, the report.';

  static override description = `A Model Context Protocol server on stdin/stdout (JSON-RPC, one message a line); it runs until the client closes the stream. Nothing is written to stdout but protocol messages.
Tools: plan (goal, check), status, log (task, spawn, types, since, limit), spawn (tasks, goal, role, target, maxConcurrent: starts orch spawn in the background, detached, and returns its pid once it holds the lease; refused while a run holds it), signal (complete, blocked, pr for the caller's ORCH_SPAWN_ID), unblock and cancel (task, summary), ci (pass or fail). Resource: orch://report, the HTML report of the whole log.
Each tool calls what the CLI verb calls, so the log records the same events with the same actors, plus metadata.via "mcp". A refusal or bad input is a tool error with the CLI's text (Error: … Hint: …), never a crash.
The state directory is --state-dir, else ORCH_STATE_DIR (set for every agent orch starts), else <repo>/.state.`;

  static override examples = [
    '<%= config.bin %> mcp',
    '<%= config.bin %> mcp --repo /work/calc',
    'claude mcp add orch -- <%= config.bin %> mcp --repo /work/calc',
  ];

  static override enableJsonFlag = false;

  async run(): Promise<void> {
    const { flags } = await this.parse(Mcp);
    const envStateDir = process.env['ORCH_STATE_DIR'];
    const dirs = this.resolveDirs(flags);
    const stateDir =
      flags['state-dir'] === undefined && envStateDir !== undefined && envStateDir !== ''
        ? path.resolve(envStateDir)
        : dirs.stateDir;
    const [{ createMcpServer }, { StdioServerTransport }] = await Promise.all([
      import('../runtime/operations/mcp.js'),
      import('@modelcontextprotocol/sdk/server/stdio.js'),
    ]);
    const server = createMcpServer({
      repoDir: dirs.repoDir,
      stateDir,
      env: process.env,
      version: this.config.version,
    });
    const transport = new StdioServerTransport();
    const closed = new Promise<void>((resolve) => {
      transport.onclose = () => resolve();
      process.stdin.once('end', () => resolve());
    });
    await server.connect(transport);
    await closed;
    await server.close();
  }
}
