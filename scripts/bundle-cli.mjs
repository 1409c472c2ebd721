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
await build({
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
