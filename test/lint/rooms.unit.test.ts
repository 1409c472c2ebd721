import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
// The rule as `npm run lint` uses it: the same config object the repository's eslint.config.js exports.
import config, { PURE_FOLDERS, roomsConfig } from '../../eslint.config.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Lints `code` as if it were the file `file` (repository-relative) with the rooms rule alone. */
async function lint(file: string, code: string): Promise<string[]> {
  const eslint = new ESLint({
    cwd: root,
    overrideConfigFile: true,
    overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } }, roomsConfig],
  });
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('the rule between rooms (eslint-rules/rooms.js)', () => {
  it('is part of the lint config npm test runs, on every file under src/', () => {
    expect(config).toContain(roomsConfig);
    expect(roomsConfig.files).toEqual(['src/**/*.ts']);
    expect(PURE_FOLDERS).toEqual(
      expect.arrayContaining(['src/runtime/render/**/*.ts', 'src/runtime/report/**/*.ts']),
    );
  });

  it.each([
    [
      'src/runtime/system/x.ts',
      "import { Orchestrator } from '../orchestrator/orchestrator.js';",
      'runtime/system is below runtime/orchestrator',
    ],
    [
      'src/runtime/log/x.ts',
      "export { gardenPlanSet } from '../project/gardener.js';",
      'runtime/log is below runtime/project',
    ],
    [
      'src/runtime/git/x.ts',
      "const m = await import('../agents/supervisor.js');",
      'runtime/git is below runtime/agents',
    ],
    [
      'src/runtime/render/x.ts',
      "import type { Lease } from '../system/lease.js';",
      'runtime/render is pure text',
    ],
    ['src/runtime/report/x.ts', "import { openLog } from '../log/open.js';", 'runtime/report is pure text'],
    [
      'src/runtime/agents/x.ts',
      "import { renderStatusText } from '../render/status-text.js';",
      'only runtime/orchestrator and above',
    ],
    ['src/core/x.ts', "import { openLog } from '../runtime/log/open.js';", 'src/core is below src/runtime'],
    [
      'src/store/x.ts',
      "import { LiveLog } from '../runtime/log/live-log.js';",
      'src/store is below src/runtime',
    ],
    [
      'src/runtime/operations/x.ts',
      "import Status from '../../commands/status.js';",
      'only src/commands imports the commands',
    ],
    ['src/runtime/x.ts', "import { systemClock } from './system/clock.js';", 'src/runtime holds rooms only'],
    [
      'src/runtime/kitchen/x.ts',
      "import { systemClock } from '../system/clock.js';",
      'not a room of the layout',
    ],
  ])('reports the wrong-way import in %s', async (file, code, why) => {
    const messages = await lint(file, code);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain('orch/rooms: wrong-way import');
    expect(messages[0]).toContain(why);
  });

  it.each([
    ['src/runtime/orchestrator/x.ts', "import { AgentSupervisor } from '../agents/supervisor.js';"],
    ['src/runtime/operations/x.ts', "import { renderReport } from '../report/html.js';"],
    ['src/runtime/report/x.ts', "import { formatDuration } from '../render/format.js';"],
    ['src/runtime/render/x.ts', "import { statusView } from '../../core/status-view.js';"],
    ['src/runtime/system/x.ts', "import { OrchError } from '../../util/errors.js';"],
    ['src/runtime/demo/x.ts', "import { Orchestrator } from '../orchestrator/orchestrator.js';"],
    ['src/commands/x.ts', "import { openLog } from '../runtime/log/open.js';"],
    ['src/runtime/git/x.ts', "import { execa } from 'execa';"],
  ])('allows the downward import in %s', async (file, code) => {
    expect(await lint(file, code)).toEqual([]);
  });
});
