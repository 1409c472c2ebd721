import { Flags } from '@oclif/core';
import path from 'node:path';
import { BaseCommand } from './_base.js';

/**
 * `orch serve`: the run in a browser. An HTTP server over `<state-dir>/orch.db` (followed
 * read-only) that shows the report's lanes, dependency graph and attempts live, the state
 * at any log position, the live agents and their output, and controls (cancel, unblock, a
 * CI result, start and stop `orch spawn`). Binds 127.0.0.1 unless `--host` says otherwise;
 * every API request needs the token printed in the URL.
 *
 * @example
 * // orch serve --repo ./calc --port 8080
 */
export default class Serve extends BaseCommand {
  static override summary = 'Serve the run in a browser: live lanes, state, agents and controls.';

  static override description = `Starts an HTTP server over the log (<state-dir>/orch.db, or where ORCH_DATABASE_URL / store.url put it), which it follows read-only, and prints the page's URL with a token (#token=… in the address: a fresh random one, or the one in --token-file). The page shows the report's task lanes, dependency graph and attempts table, updated through server-sent events as the log grows; the state (as orch status --json) at any log position with the scrubber; the live agents with their elapsed and idle time and the end of their output; and controls that record what the CLI records, with the person (actor user) as the author: cancel or unblock a task with a note (orch signal cancel|unblock), record a CI result (orch ci), start and stop orch spawn as a child process (refused, naming the process, while another one holds the lease).
Every /api request needs the token (Authorization: Bearer TOKEN); a state-changing request without it gets 401 and changes nothing. Binds 127.0.0.1 by default; another address only with --host, and a warning is printed, since anyone who can reach it and has the token can act on the run. Runs until Ctrl-C (which also stops an orch spawn started from the page).`;

  static override examples = [
    '<%= config.bin %> serve',
    '<%= config.bin %> serve --port 8080',
    '<%= config.bin %> serve --port 8080 --token-file ~/.orch-token',
    '<%= config.bin %> serve --host 0.0.0.0 --port 8080 --token-file token.txt',
  ];

  static override enableJsonFlag = false;

  static override flags = {
    port: Flags.integer({
      description: 'the port to listen on (default: any free port)',
      min: 0,
      max: 65535,
    }),
    host: Flags.string({
      description: 'the address to bind (default 127.0.0.1; anything not loopback prints a warning)',
    }),
    'token-file': Flags.string({
      description: 'read the token from this file (at least 16 characters) instead of making a fresh one',
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Serve);
    const { repoDir, stateDir } = this.resolveDirs(flags);
    const { startServer, serveToken, isLoopback } = await import('../runtime/operations/serve.js');
    const host = flags.host ?? '127.0.0.1';
    const token = serveToken(flags['token-file']);
    if (!isLoopback(host)) {
      this.warn(
        `orch serve binds ${host}, which other machines may reach: anyone with the token can cancel tasks and start orch spawn; prefer the default 127.0.0.1 (or an SSH tunnel)`,
      );
    }
    const server = await startServer({
      repoDir,
      stateDir,
      host,
      ...(flags.port === undefined ? {} : { port: flags.port }),
      token,
      orchCommand: [process.execPath, path.join(this.config.root, 'bin', 'run.js')],
    });
    const { describeLocation, logLocation } = await import('../runtime/log/location.js');
    this.log(`orch serve: following ${describeLocation(logLocation(stateDir))}`);
    this.log(`open ${server.url}`);
    this.log('Ctrl-C stops the server (and an orch spawn started from the page)');
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await server.close();
  }
}
