// Bundles the CLI's commands (dist/commands/*.js, compiled by tsc) into dist/cli/: one file
// per command plus shared chunks, so starting a command loads a handful of files instead of
// dozens (the oclif manifest points at dist/cli/commands). Packages stay external
// (node_modules); what a command imports inside run() stays a separate chunk, loaded only
// when it runs. The library (dist/index.js and the rest of dist/) is left as tsc wrote it.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const commands = path.join(root, 'dist', 'commands');
const entryPoints = fs
  .readdirSync(commands, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.js') && !path.basename(f).startsWith('_'))
  .map((f) => path.join(commands, f));
if (entryPoints.length === 0) throw new Error(`no compiled commands in ${commands}: run tsc first`);
fs.rmSync(path.join(root, 'dist', 'cli'), { recursive: true, force: true });

/**
 * Keeps `file` (under dist/) out of a bundle: imported as `as` instead, a file of its own.
 * @type {(file: string, as: string) => import('esbuild').Plugin}
 */
const apart = (file, as) => ({
  name: `${file}-apart`,
  setup(b) {
    b.onResolve({ filter: new RegExp(`${path.basename(file).replace('.', '\\.')}$`) }, (args) =>
      path.resolve(args.resolveDir, args.path) === path.join(root, 'dist', file)
        ? { path: as, external: true }
        : undefined,
    );
  },
});
// `orch status`'s probe of the cached document is one file with its few modules inlined (a
// copy of them, not shared chunks): on Node 20 each extra ES module file costs most of a
// millisecond to load, and this path's whole cost is start-up. It catches every error it
// meets (its copies of orch's error classes never leave it) and answers undefined.
const STATUS_CACHE = 'runtime/operations/status-cache.js';
const inlineStatusCache = apart(STATUS_CACHE, '../status-cache.js');
// Its second step, the fold of a tail onto the status state's parts, is a file of its own
// too, loaded only when the cached document is behind the log.
const STATUS_TAIL = 'runtime/operations/status-tail.js';
const tailApart = apart(STATUS_TAIL, './status-tail.js');
// `orch status` starts reading before oclif loads (bin/run.js, status-prefetch.ts): the
// starter and its worker are files of their own too, both using status-cache.js.
const STATUS_PREFETCH = 'runtime/operations/status-prefetch.js';
const STATUS_PREFETCH_WORKER = 'runtime/operations/status-prefetch-worker.js';
const cacheApart = apart(STATUS_CACHE, './status-cache.js');
for (const [entry, out, plugins] of [
  [STATUS_CACHE, 'status-cache.js', [tailApart]],
  [STATUS_TAIL, 'status-tail.js', []],
  [STATUS_PREFETCH, 'status-prefetch.js', [cacheApart]],
  [STATUS_PREFETCH_WORKER, 'status-prefetch-worker.js', [cacheApart]],
]) {
  await build({
    plugins,
    entryPoints: [path.join(root, 'dist', entry)],
    outfile: path.join(root, 'dist', 'cli', out),
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
}
await build({
  plugins: [inlineStatusCache, apart(STATUS_PREFETCH, '../status-prefetch.js')],
  entryPoints,
  outdir: path.join(root, 'dist', 'cli'),
  outbase: path.join(root, 'dist'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
});
