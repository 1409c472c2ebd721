import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OrchError } from '../../util/errors.js';
import { DEMO_FILES } from './files.js';
import { git } from '../git/git.js';

/**
 * Creates the demo repository: the files of {@link DEMO_FILES}, a git repository on `main`
 * with one commit (and a local identity, so agents can commit on any machine). `dir` must
 * not exist or be empty; without it a fresh temporary directory is used.
 *
 * @example
 * const repo = await createDemoRepo(); // '/tmp/orch-demo-Ab12Cd'
 */
export async function createDemoRepo(dir?: string): Promise<string> {
  const target = dir === undefined ? fs.mkdtempSync(path.join(os.tmpdir(), 'orch-demo-')) : path.resolve(dir);
  if (fs.existsSync(target) && fs.readdirSync(target).length > 0) {
    throw new OrchError('DEMO_DIR_NOT_EMPTY', `the demo directory ${target} is not empty`, {
      hint: 'pass --dir with a new or empty directory, or leave --dir out to use a temporary one',
    });
  }
  for (const [rel, text] of Object.entries(DEMO_FILES)) {
    const file = path.join(target, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
  await git(target, ['init', '-q', '-b', 'main']);
  await git(target, ['config', 'user.name', 'orch demo']);
  await git(target, ['config', 'user.email', 'demo@orch.invalid']);
  await git(target, ['add', '-A']);
  await git(target, ['commit', '-q', '-m', 'Calculator: plan and configuration for orch']);
  return target;
}
