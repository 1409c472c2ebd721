import { Flags } from '@oclif/core';
import { BaseCommand } from './_base.js';
import type { StatusView } from '../core/status-view.js';

/** `orch demo --json`: where the demo ran and how it ended. */
export interface DemoCommandResult {
  repo: string;
  exitCode: number;
  reason: string;
  status: StatusView;
}

/**
 * `orch demo`: makes a sample repository with a sample plan (two milestones, eight tasks,
 * three roles) and runs the whole lifecycle with the built-in simulated agent — real
 * processes, real worktrees, real merges, local CI and local pull requests. No network,
 * no API key.
 *
 * @example
 * // orch demo --dir /tmp/calc
 */
export default class Demo extends BaseCommand {
  static override summary = 'Run orch end to end on a sample repository with the simulated agent.';

  static override description = `Creates a git repository (in --dir, or a new temporary directory) holding a calculator project with a plan in .state/plans (two milestones, four stories, eight tasks, roles architect/implementer/tester) and an orch.config.json that runs the built-in simulated agent orch-sim for every role. Then it runs "orch spawn" there: agents work in their own worktrees, some fail their first attempt and are retried, finished work is merged into the integration branch, local CI runs after each merge, statuses are written back into the plan files, and each milestone gets a local pull request. Finally it prints the status and what to try next.`;

  static override examples = ['<%= config.bin %> demo', '<%= config.bin %> demo --dir ./calc-demo'];

  static override flags = {
    dir: Flags.string({
      description: 'where to create the demo repository (new or empty; default: a temp dir)',
    }),
  };

  async run(): Promise<DemoCommandResult> {
    const { flags } = await this.parse(Demo);
    const [{ createDemoRepo }, { Orchestrator }, { loadConfig }, progress] = await Promise.all([
      import('../runtime/demo/demo.js'),
      import('../runtime/orchestrator/orchestrator.js'),
      import('../runtime/project/config.js'),
      import('../runtime/render/progress.js'),
    ]);
    const json = this.jsonEnabled();
    // The demo's log is its own repository's .state/orch.db, never a configured shared log.
    const sharedLog = process.env['ORCH_DATABASE_URL'];
    delete process.env['ORCH_DATABASE_URL'];
    const repo = await createDemoRepo(flags.dir);
    if (!json) this.log(`orch demo: a sample repository in ${repo}\n`);
    const orch = new Orchestrator({
      repoDir: repo,
      config: loadConfig(repo),
      onWarning: (w) => process.stderr.write(progress.terminalSafe(`orch: ${w.message}\n`)),
      onEvent: (event, state) => {
        if (json) return;
        const line = progress.progressLine(event, state);
        if (line) this.log(line);
      },
    });
    const onSignal = () => void orch.stop('interrupted');
    process.once('SIGINT', onSignal);
    try {
      const outcome = await orch.run();
      process.exitCode = outcome.exitCode;
      if (!json) {
        this.log('');
        this.log(progress.summaryTable(outcome.status, orch.lastState()));
        this.log('');
        for (const m of outcome.status.milestones) {
          this.log(
            progress.terminalSafe(
              `milestone ${m.id} ${m.status}${m.pr ? `, pull request ${m.pr.url ?? m.pr.branch}` : ''}`,
            ),
          );
        }
        this.log(
          progress.terminalSafe(`\n${outcome.exitCode === 0 ? 'done' : 'stopped'}: ${outcome.reason}\n`),
        );
        if (sharedLog !== undefined && sharedLog.trim() !== '') {
          this.log(
            `The demo's log is ${repo}/.state/orch.db (ORCH_DATABASE_URL was ignored): unset ORCH_DATABASE_URL to read it.`,
          );
        }
        this.log('Try next:');
        this.log(`  orch status --repo ${repo}`);
        this.log(`  orch log --repo ${repo} --task T002`);
        this.log(`  orch replay --repo ${repo} --to ${Math.max(1, Math.floor(outcome.status.position / 2))}`);
        this.log(`  orch replay --repo ${repo} --verify`);
        this.log(`  git -C ${repo} log --oneline --graph integration`);
      }
      return { repo, exitCode: outcome.exitCode, reason: outcome.reason, status: outcome.status };
    } finally {
      process.off('SIGINT', onSignal);
    }
  }
}
