import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const roots = new Map<string, string>();

/**
 * orch's package directory (the one holding `package.json` and `bin/run.js`), found by
 * walking up from the calling module's URL: the same answer from `src/` (tests), `dist/`
 * (the library) and `dist/cli/` (the bundled commands, whose chunks sit at another depth).
 * Throws when there is none above (a copy of a module outside the package).
 *
 * @example
 * path.join(packageRoot(import.meta.url), 'bin', 'orch-sim.js'); // '/…/orch/bin/orch-sim.js'
 */
export function packageRoot(moduleUrl: string): string {
  const start = path.dirname(fileURLToPath(moduleUrl));
  const known = roots.get(start);
  if (known !== undefined) return known;
  let dir = start;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'bin', 'run.js')) && fs.existsSync(path.join(dir, 'package.json'))) {
      roots.set(start, dir);
      return dir;
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`orch's package (package.json and bin/run.js) is not above ${start}`);
    dir = up;
  }
}
