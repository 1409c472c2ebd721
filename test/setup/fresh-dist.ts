import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Global setup of the int and e2e tiers: they run the built CLI (`bin/run.js` → `dist/`), so
 * a `dist/` older than `src/` would test yesterday's code. When the build is missing or any
 * file under `src/` (or `package.json`) is newer than the last build (its oclif manifest,
 * written last), `npm run build` runs first.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The newest modification time (ms) of the files under `dir`. */
function newest(dir: string): number {
  let max = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    max = Math.max(max, entry.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return max;
}

/** Why the build is stale, or null when `dist/` is up to date. */
export function staleBuild(): string | null {
  const manifest = path.join(root, 'oclif.manifest.json');
  if (!fs.existsSync(manifest) || !fs.existsSync(path.join(root, 'dist', 'index.js')))
    return 'there is no build';
  const built = fs.statSync(manifest).mtimeMs;
  const source = Math.max(
    newest(path.join(root, 'src')),
    fs.statSync(path.join(root, 'package.json')).mtimeMs,
  );
  return source > built ? 'src/ changed after the last build' : null;
}

export default function setup(): void {
  const why = staleBuild();
  if (why === null) return;
  process.stderr.write(`test setup: ${why}; running npm run build\n`);
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
}
