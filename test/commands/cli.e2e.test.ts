import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * The CLI's basics through the built package (`npm run build` first): version, help for
 * every command and topic, the shipped oclif manifest, and command modules that keep heavy
 * dependencies out of their start-up imports.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = path.join(root, 'bin', 'run.js');
const run = promisify(execFile);
const COMMANDS = [
  'ci',
  'demo',
  'init',
  'log',
  'mcp',
  'plan',
  'replay',
  'report',
  'serve',
  'signal',
  'spawn',
  'status',
  'watch',
];

async function orch(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { cwd: root });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('the orch CLI', () => {
  it('prints its version', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
    const { code, stdout } = await orch('--version');
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^orch/${pkg.version.replace(/\./g, '\\.')} `));
  });

  it('lists every command in --help and in `orch help`', async () => {
    for (const args of [['--help'], ['help']]) {
      const { code, stdout } = await orch(...args);
      expect(code, args.join(' ')).toBe(0);
      const listed = [...stdout.slice(stdout.indexOf('COMMANDS')).matchAll(/^ {2}([a-z]+) /gm)].map(
        (m) => m[1],
      );
      expect(listed).toEqual(expect.arrayContaining(COMMANDS));
    }
  });

  it('shows each command’s usage, flags included, with `orch help COMMAND` and `COMMAND --help`', async () => {
    const topic = await orch('help', 'plan');
    expect(topic.code).toBe(0);
    expect(topic.stdout).toMatch(/USAGE\n {2}\$ orch plan /);
    expect(topic.stdout).toContain('--goal');
    const spawn = await orch('spawn', '--help');
    expect(spawn.code).toBe(0);
    expect(spawn.stdout).toMatch(/USAGE\n {2}\$ orch spawn /);
    for (const flag of ['--target', '--max-concurrent', '--leave-agents'])
      expect(spawn.stdout).toContain(flag);
    const unknown = await orch('help', 'nope');
    expect(unknown.code).not.toBe(0);
  });

  it('ships an oclif manifest with every command and its flags', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { files: string[] };
    expect(pkg.files).toContain('oclif.manifest.json');
    const manifest = JSON.parse(fs.readFileSync(path.join(root, 'oclif.manifest.json'), 'utf8')) as {
      commands: Record<string, { flags: Record<string, unknown> }>;
    };
    expect(Object.keys(manifest.commands).sort()).toEqual(COMMANDS);
    // Every command answers --json, except those that run until stopped: the dashboard
    // (`watch`, the same as `status --watch`), the web server (`serve`) and the MCP server
    // (`mcp`, whose stdout is the protocol itself).
    for (const id of COMMANDS.filter((c) => c !== 'watch' && c !== 'serve' && c !== 'mcp'))
      expect(Object.keys(manifest.commands[id]?.flags ?? {}), id).toContain('json');
  });

  it('keeps heavy modules out of the commands’ start-up imports (loaded inside run())', () => {
    const heavy =
      /^import\s[^;]*?from\s+['"](better-sqlite3|execa|simple-git|xstate|zod|node:child_process)['"]/m;
    const dir = path.join(root, 'dist', 'commands');
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.js'));
    expect(files.length).toBeGreaterThanOrEqual(COMMANDS.length);
    const errors = fs.readFileSync(path.join(root, 'dist', 'util', 'errors.js'), 'utf8');
    expect(errors).not.toMatch(/^import\s/m);
    // The configured store (read by every command's resolveDirs) imports node built-ins only.
    const store = fs.readFileSync(path.join(root, 'dist', 'runtime', 'log', 'configured-store.js'), 'utf8');
    for (const m of store.matchAll(/^import\s[^;]*?from\s+['"]([^'"]+)['"]/gm))
      expect(m[1]).toMatch(/^node:/);
    for (const file of files) {
      const text = fs.readFileSync(path.join(dir, file), 'utf8');
      const staticImports = [...text.matchAll(/^import\s[^;]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]);
      expect(text, file).not.toMatch(heavy);
      // Only oclif, node built-ins (not child_process), the base command, the error types (which
      // import nothing) and the configured store (node built-ins only) are imported up front.
      for (const spec of staticImports)
        expect(spec, `${file} imports ${spec}`).toMatch(
          /^(@oclif\/core|node:[a-z_/]+|\.\/_base\.js|\.\.\/util\/errors\.js|\.\.\/runtime\/log\/configured-store\.js)$/,
        );
    }
  });

  it('ships bundled commands (dist/cli) whose start-up imports, chunks included, load no heavy module', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(root, 'oclif.manifest.json'), 'utf8')) as {
      commands: Record<string, { relativePath: string[] }>;
    };
    const staticImport = /^import\s(?:[^;]*?from\s+)?["']([^"']+)["']/gm;
    for (const id of COMMANDS) {
      const entry = path.join(root, ...(manifest.commands[id]?.relativePath ?? []));
      expect(path.relative(root, entry), id).toBe(path.join('dist', 'cli', 'commands', `${id}.js`));
      // Every file loaded before run(): the command and the chunks it imports statically.
      const seen = new Set<string>();
      const bare = new Set<string>();
      const visit = (file: string) => {
        if (seen.has(file)) return;
        seen.add(file);
        for (const m of fs.readFileSync(file, 'utf8').matchAll(staticImport)) {
          const spec = m[1] ?? '';
          if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec));
          else bare.add(spec);
        }
      };
      visit(entry);
      for (const spec of bare)
        expect(spec, `${id} loads ${spec} at start-up`).toMatch(
          /^(@oclif\/core|node:(?!child_process)[a-z_/]+)$/,
        );
      // A handful of files, not the dozens of modules behind them.
      expect(seen.size, id).toBeLessThanOrEqual(6);
    }
  });
});
