import { Args, Flags } from '@oclif/core';
import { BaseCommand } from './_base.js';
import type { CiOutcome } from '../runtime/operations/ci.js';

/**
 * `orch ci pass|fail`: records a CI result for the integration branch (with
 * `ci.provider: external`, this is how CI reports). Tasks blocked on CI react to it.
 *
 * @example
 * // orch ci pass --ref integration --url https://ci.example/build/42
 */
export default class Ci extends BaseCommand {
  static override summary = 'Record a CI result; work blocked on CI reacts to it.';

  static override description = `Appends CiCompleted to the current run's stream (the last run recorded; run-external when there is none). The actor is "ci" when the CI environment variable is set (as CI services do) or --actor ci is given, else "user".`;

  static override examples = [
    '<%= config.bin %> ci pass',
    '<%= config.bin %> ci fail --ref integration --url https://ci.example/build/42',
  ];

  static override args = {
    result: Args.string({ description: 'the CI result', options: ['pass', 'fail'], required: true }),
  };

  static override flags = {
    ref: Flags.string({ description: 'the branch or commit CI ran on' }),
    url: Flags.string({ description: 'a link to the CI run' }),
    actor: Flags.option({
      options: ['ci', 'user'] as const,
      description: 'who reports it (default: ci when $CI is set, else user)',
    })(),
  };

  async run(): Promise<CiOutcome> {
    const { args, flags } = await this.parse(Ci);
    const { stateDir } = this.resolveDirs(flags);
    const [{ orchCi }, { ciRecordedLine }] = await Promise.all([
      import('../runtime/operations/ci.js'),
      import('../runtime/render/outcomes.js'),
    ]);
    const ciEnv = process.env['CI'];
    const actor = flags.actor ?? (ciEnv !== undefined && ciEnv !== '' && ciEnv !== 'false' ? 'ci' : 'user');
    const outcome = orchCi(stateDir, {
      result: args.result as 'pass' | 'fail',
      actor,
      ...(flags.ref === undefined ? {} : { ref: flags.ref }),
      ...(flags.url === undefined ? {} : { url: flags.url }),
    });
    this.log(ciRecordedLine(outcome));
    return outcome;
  }
}
