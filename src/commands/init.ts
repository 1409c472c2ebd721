import { Flags } from '@oclif/core';
import { BaseCommand } from './_base.js';
import type { InitResult } from '../runtime/operations/init.js';

/**
 * `orch init`: sets an existing git repository up for orch — `orch.config.json` with the
 * coding agents found on PATH, a starter plan, and the state directory's `.gitignore`.
 * Never overwrites anything; run twice, it changes nothing and says so.
 *
 * @example
 * // orch init --format roadmap
 */
export default class Init extends BaseCommand {
  static override summary =
    'Set a git repository up for orch: a config, a starter plan, runtime files kept out of git.';

  static override description = `Writes orch.config.json with the first coding agent found on PATH as the default agent (Claude Code, then Codex, aider, Gemini CLI; the built-in simulated agent orch-sim when none is found), a starter plan (one milestone, one phase, two tasks) in the format chosen with --format — dir (format A in .state/plans), roadmap (plans/roadmap.md) or yaml (plan.yaml) — and <state-dir>/.gitignore so the log, agent logs, prompts and worktrees stay out of git status. A file that exists is kept, never overwritten; a plan already found where orch looks is used instead of a starter plan.`;

  static override examples = [
    '<%= config.bin %> init',
    '<%= config.bin %> init --format roadmap',
    '<%= config.bin %> init --format yaml --json',
  ];

  static override flags = {
    format: Flags.string({
      description: 'the starter plan format',
      options: ['dir', 'roadmap', 'yaml'],
      default: 'dir',
    }),
  };

  async run(): Promise<InitResult> {
    const { flags } = await this.parse(Init);
    const { repoDir, stateDir } = this.resolveDirs(flags);
    const [{ initRepository }, { terminalSafe }] = await Promise.all([
      import('../runtime/operations/init.js'),
      import('../runtime/render/format.js'),
    ]);
    const result = await initRepository({
      repoDir,
      stateDir,
      format: flags.format as 'dir' | 'roadmap' | 'yaml',
    });
    if (!this.jsonEnabled()) this.log(terminalSafe(renderInit(result)));
    return result;
  }
}

/** The text `orch init` prints. */
function renderInit(r: InitResult): string {
  const lines: string[] = [];
  if (r.written.length === 0) {
    lines.push(
      `orch init: nothing to do in ${r.repo}: ${r.kept.join(', ')} already exist (kept as they are).`,
    );
  } else {
    lines.push(`orch init: set up ${r.repo}`);
    for (const f of r.written) lines.push(`  wrote ${f}`);
    for (const f of r.kept) lines.push(`  kept  ${f} (already there)`);
  }
  if (r.defaultAgent !== null) {
    lines.push(
      r.agentsFound.length === 0
        ? `No coding agent found on PATH (claude, codex, aider, gemini): the default agent is orch-sim, the built-in simulated agent. Install one and edit "agents" in orch.config.json.`
        : `Default agent: ${r.defaultPreset === null ? '' : `preset "${r.defaultPreset}", `}${r.defaultAgent.join(' ')}${r.agentsFound.length > 1 ? ` (also found: ${r.agentsFound.slice(1).join(', ')})` : ''}.`,
    );
  }
  lines.push('', 'Next:');
  if (!r.hasCommits)
    lines.push('  git add -A && git commit -m "orch init"   # orch branches from a first commit');
  lines.push(
    `  orch plan     # the plan in ${r.plan}, checked, with what is ready`,
    '  orch spawn    # run the agents',
  );
  return lines.join('\n');
}
