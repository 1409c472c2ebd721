/**
 * The bench harness (`npm run bench [-- NAME] [--quick] [--json] [--check]`): runs every
 * `bench/*.bench.ts` in name order (or those whose name contains NAME), each measuring orch
 * against a baseline in the same run, and prints a table, or with `--json` only the JSON
 * array of results. `--check` exits 1 when a goal is missed. Progress goes to stderr.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchModule, BenchResult } from './types.js';

class UsageError extends Error {}

interface Args {
  json: boolean;
  quick: boolean;
  check: boolean;
  filter: string | undefined;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { json: false, quick: false, check: false, filter: undefined };
  for (const arg of argv) {
    if (arg === '--json') args.json = true;
    else if (arg === '--quick') args.quick = true;
    else if (arg === '--check') args.check = true;
    else if (arg.startsWith('-'))
      throw new UsageError(`unknown option ${arg} (use --json, --quick, --check, or a bench name)`);
    else args.filter = arg;
  }
  return args;
}

/** The bench files next to this script, in name order, optionally filtered by name. */
function discover(dir: string, filter: string | undefined): string[] {
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.bench.ts'))
    .filter((name) => filter === undefined || name.replace(/\.bench\.ts$/, '').includes(filter))
    .sort()
    .map((name) => path.join(dir, name));
}

function formatNumber(value: number | null): string {
  if (value === null) return '-';
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(3);
}

function table(results: readonly BenchResult[]): string {
  const header = ['name', 'value', 'unit', 'baseline', 'ratio', 'goal', 'met'];
  const rows = results.map((r) => [
    r.name,
    formatNumber(r.value),
    r.unit,
    formatNumber(r.baseline),
    r.ratio === null ? '-' : `${r.ratio.toFixed(3)}x`,
    r.goal ?? '-',
    r.met === undefined ? '-' : r.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === 0 || i === 2 || i >= 5 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const dir = path.dirname(fileURLToPath(import.meta.url));
  const files = discover(dir, args.filter);
  if (files.length === 0) {
    process.stderr.write(`no bench matches ${args.filter ?? '*'} in ${dir}\n`);
    return 1;
  }
  const results: BenchResult[] = [];
  for (const file of files) {
    process.stderr.write(`bench ${path.basename(file)}${args.quick ? ' (quick)' : ''}...\n`);
    const imported = (await import(pathToFileURL(file).href)) as { default?: BenchModule };
    if (typeof imported.default !== 'function') {
      throw new Error(`${file} must default-export a BenchModule (see bench/types.ts)`);
    }
    results.push(...(await imported.default({ quick: args.quick })));
  }
  process.stdout.write(args.json ? `${JSON.stringify(results, null, 2)}\n` : `${table(results)}\n`);
  return args.check && results.some((r) => r.met === false) ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // A usage mistake needs its message, a failure inside a bench its stack.
    const text =
      err instanceof UsageError
        ? err.message
        : err instanceof Error
          ? (err.stack ?? err.message)
          : String(err);
    process.stderr.write(`bench failed: ${text}\n`);
    process.exitCode = 1;
  },
);
