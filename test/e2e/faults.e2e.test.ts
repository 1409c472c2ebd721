import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { git, gitRepo, ORCH_BIN, orchEnv, runOrch } from '../fixtures/agents/e2e-repo.js';

// Faults that are not about agent processes, through the built CLI (`npm run build` first):
// a log that cannot grow, a corrupt snapshot row. Real SQLite files, real git repositories,
// real agent processes (test/fixtures/agents/work.mjs).

const WORK = fileURLToPath(new URL('../fixtures/agents/work.mjs', import.meta.url));
const PLAN = `name: Faults
milestones:
  - id: M1
    title: One
    phases:
      - id: P1
        title: First
        tasks:
          - { id: T1, title: Make a, role: dev }
          - { id: T2, title: Make b, role: dev, dependsOn: [T1] }
          - { id: T3, title: Make c, role: dev, dependsOn: [T2] }
          - { id: T4, title: Make d, role: dev, dependsOn: [T3] }
`;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tempRoot(prefix: string): string {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `orch-${prefix}-`)));
  dirs.push(root);
  return root;
}

/** A repo with PLAN and the work.mjs agent for role dev. */
function planRepo(root: string): string {
  const repo = gitRepo(path.join(root, 'repo'));
  fs.writeFileSync(path.join(repo, 'plan.yaml'), PLAN);
  fs.writeFileSync(
    path.join(repo, 'orch.config.json'),
    JSON.stringify({
      planDir: 'plan.yaml',
      retryInterval: 0,
      agents: { dev: { command: [process.execPath, WORK], env: { WORK_MS: '50' } } },
    }),
  );
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'plan');
  return repo;
}

/** Whether this machine lets us mount a small tmpfs in a private mount namespace. */
function canMountTmpfs(): boolean {
  const r = spawnSync(
    'unshare',
    ['-rm', 'sh', '-c', 'mount -t tmpfs -o size=64k tmpfs "$1"', 'sh', os.tmpdir()],
    {
      stdio: 'ignore',
    },
  );
  return r.status === 0;
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

describe('the log cannot grow (a full disk)', () => {
  // The log lives on a real tmpfs of a few hundred KB (a private mount namespace, so nothing
  // outside the test sees it): SQLite gets SQLITE_FULL from the file system mid-run. The
  // state directory itself is on the ordinary disk; only orch.db (a symlink) is on the tmpfs,
  // so the agents' output logs do not fill it.
  it.skipIf(!canMountTmpfs())(
    'says what, where and what to do, exits 1, loses nothing, and the next run resumes when there is room',
    () => {
      const root = tempRoot('full');
      const repo = planRepo(root);
      const stateDir = path.join(root, 'state');
      const small = path.join(root, 'small');
      fs.mkdirSync(stateDir);
      fs.mkdirSync(small);
      const out = (name: string) => path.join(root, name);
      const orch = (args: string, name: string) =>
        `${shellQuote(process.execPath)} ${shellQuote(ORCH_BIN)} ${args} --repo ${shellQuote(repo)} --state-dir ${shellQuote(stateDir)} >${shellQuote(out(`${name}.out`))} 2>${shellQuote(out(`${name}.err`))}; echo $? >${shellQuote(out(`${name}.rc`))}`;
      // The log and its WAL as they are now (the tmpfs goes away with the namespace).
      const copyLog = (name: string) =>
        ['', '-wal']
          .map(
            (ext) =>
              `[ -f ${shellQuote(path.join(small, `orch.db${ext}`))} ] && cp ${shellQuote(path.join(small, `orch.db${ext}`))} ${shellQuote(out(`${name}.db${ext}`))}`,
          )
          .join('; ') + '; true';
      const script = [
        `mount -t tmpfs -o size=170k tmpfs ${shellQuote(small)}`,
        `ln -s ${shellQuote(path.join(small, 'orch.db'))} ${shellQuote(path.join(stateDir, 'orch.db'))}`,
        orch('spawn', 'first'),
        copyLog('after-first'),
        `mount -o remount,size=64m ${shellQuote(small)}`,
        orch('spawn', 'second'),
        orch('replay --verify', 'verify'),
        orch('status --json', 'status'),
        copyLog('final'),
      ].join('\n');
      const r = spawnSync('unshare', ['-rm', 'sh', '-c', script], {
        env: orchEnv(),
        encoding: 'utf8',
        timeout: 150_000,
      });
      expect(r.status, r.stderr).toBe(0);
      const read = (name: string) => fs.readFileSync(out(name), 'utf8');

      // The first run: one clear error naming the log, exit 1.
      expect(read('first.rc').trim(), read('first.err')).toBe('1');
      const err = read('first.err');
      expect(err).toContain(`the orch log ${path.join(stateDir, 'orch.db')} failed: the log cannot grow`);
      expect(err).toContain('SQLITE_FULL');
      expect(err).toMatch(
        /Hint: free space on the disk that holds .*orch\.db.*then run the same command again/,
      );
      expect(err).not.toMatch(/at .*\.js:\d+/); // no stack trace

      // The second run, with room: it completes, and the log verifies.
      expect(read('second.rc').trim(), read('second.err')).toBe('0');
      expect(read('second.out')).toContain('done: all 4 task(s) complete');
      expect(read('verify.rc').trim(), read('verify.out') + read('verify.err')).toBe('0');
      expect(read('verify.out')).toMatch(/^verified \d+ events/);
      const status = JSON.parse(read('status.out')) as { tasks: { id: string; status: string }[] };
      expect(status.tasks.map((t) => t.status)).toEqual(['complete', 'complete', 'complete', 'complete']);

      // Nothing recorded by the first run was lost: its events are the start of the final log, unchanged.
      const rows = (file: string) => {
        const db = new Database(file, { readonly: true });
        try {
          return db.prepare('SELECT position, id, type, data FROM events ORDER BY position').all();
        } finally {
          db.close();
        }
      };
      const before = rows(out('after-first.db'));
      const after = rows(out('final.db'));
      // It stopped mid-run: some events were recorded by the first run, the rest by the second.
      expect(before.length).toBeGreaterThan(3);
      expect(after.length).toBeGreaterThan(before.length);
      expect(after.slice(0, before.length)).toEqual(before);
    },
    180_000,
  );
});

describe('a corrupt snapshot row', () => {
  it('is ignored with one warning: status and spawn work from the log, and the next run rewrites it', async () => {
    const root = tempRoot('snap');
    const repo = planRepo(root);
    const first = await runOrch(['spawn', '--repo', repo]);
    expect(first.code, first.stderr).toBe(0);
    const file = path.join(repo, '.state', 'orch.db');
    const db = new Database(file);
    try {
      const names = db.prepare('SELECT name FROM snapshots ORDER BY name').all() as { name: string }[];
      // The state, the status state in parts (a 4-task plan: one chunk of task lines), the document.
      expect(names.map((n) => n.name)).toEqual([
        expect.stringMatching(/^state-v\d+$/),
        expect.stringMatching(/^status-state-v\d+$/),
        expect.stringMatching(/^status-state-v\d+:0$/),
        expect.stringMatching(/^status-v\d+$/),
      ]);
      // Garbage over every cache (the column is STRICT TEXT: garbage text, no JSON).
      db.prepare("UPDATE snapshots SET data = ? WHERE name LIKE 'state-%'").run('\u0001garbage{"state":');
      db.prepare("UPDATE snapshots SET data = ? WHERE name LIKE 'status-%'").run('\u00ff\u0000\u0013garbage');
    } finally {
      db.close();
    }

    const status = await runOrch(['status', '--json', '--repo', repo]);
    expect(status.code, status.stderr).toBe(0);
    const warnings = status.stderr.split('\n').filter((l) => l.startsWith('orch: '));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^orch: the snapshot \S+ \(a cache beside the log, at position \d+\) is unusable: .*it is ignored and the state folded from the log \(nothing is lost\)/,
    );
    // The garbage it quotes is shown with its control characters escaped.
    expect([...status.stderr].some((c) => c < ' ' && c !== '\n')).toBe(false);
    const doc = JSON.parse(status.stdout) as { tasks: { status: string }[] };
    expect(doc.tasks.map((t) => t.status)).toEqual(['complete', 'complete', 'complete', 'complete']);
    // Also the text form, and `orch log`.
    const text = await runOrch(['status', '--repo', repo]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('4 complete');
    // `replay --verify` reports the damaged cache (it checks the caches).
    const verify = await runOrch(['replay', '--verify', '--repo', repo]);
    expect(verify.code).not.toBe(0);
    expect(verify.stdout + verify.stderr).toContain('is unusable');

    // `orch spawn` works from the log (nothing to do: all complete), says it once, rewrites the caches.
    const again = await runOrch(['spawn', '--repo', repo]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('all 4 task(s) complete');
    expect(again.stderr.split('\n').filter((l) => l.startsWith('orch: '))).toEqual([
      expect.stringMatching(/^orch: the snapshot state-v\d+ .* is unusable/),
    ]);
    // The garbage the warning quotes is shown with its control characters escaped.
    expect(again.stderr).toContain('\\x01garbage');
    expect([...again.stderr].some((c) => c < ' ' && c !== '\n')).toBe(false);
    const after = await runOrch(['status', '--json', '--repo', repo]);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stderr).toBe('');
    const verified = await runOrch(['replay', '--verify', '--repo', repo]);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  });
});
