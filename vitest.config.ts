import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * The tests make and remove thousands of git repositories, SQLite logs and PostgreSQL
 * clusters in the temporary directory. On a file system in memory (`/dev/shm`) that is
 * cheaper than on disk: on this project's 2-core machine, whose ext4 has no journal and steps
 * over recently freed inodes at each file creation, the 8-worker test took 101 s there
 * against 121–129 s. Used when it exists and can run a script (it is often mounted
 * `noexec`, and the tests run scripts they write); `ORCH_TEST_TMPDIR` chooses another place,
 * `ORCH_TEST_TMPDIR=` (empty) keeps the system's.
 */
function testTmpDir(): string | undefined {
  const chosen = process.env['ORCH_TEST_TMPDIR'];
  if (chosen !== undefined) return chosen === '' ? undefined : chosen;
  const base = '/dev/shm';
  if (!fs.existsSync(base)) return undefined;
  try {
    const dir = path.join(base, `orch-test-${process.getuid?.() ?? 'user'}`);
    fs.mkdirSync(dir, { recursive: true });
    const probe = path.join(dir, `probe-${process.pid}.sh`);
    fs.writeFileSync(probe, '#!/bin/sh\necho ok\n', { mode: 0o755 });
    try {
      if (execFileSync(probe, { encoding: 'utf8' }).trim() !== 'ok') return undefined;
    } finally {
      fs.rmSync(probe, { force: true });
    }
    return dir;
  } catch {
    return undefined;
  }
}
const tmp = testTmpDir();
if (tmp !== undefined) {
  fs.mkdirSync(tmp, { recursive: true });
  process.env['TMPDIR'] = tmp;
}

/** The multi-worker e2e file (see its project below). */
const WORKERS_E2E = 'test/e2e/workers.e2e.test.ts';

// Tiers live in the file name: *.unit.test.ts, *.int.test.ts, *.e2e.test.ts. The int and e2e
// tiers run the built CLI: their global setup rebuilds dist/ when src/ is newer.
export default defineConfig({
  test: {
    // Two files at a time, in every tier: on a 2-core machine vitest's default ran every file
    // alone, and the e2e tier one file at a time was more than half of the suite's time.
    maxWorkers: 2,
    projects: [
      { test: { name: 'unit', include: ['test/**/*.unit.test.ts'], testTimeout: 30_000 } },
      {
        test: {
          name: 'int',
          include: ['test/**/*.int.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          globalSetup: ['test/setup/fresh-dist.ts'],
        },
      },
      {
        // The multi-worker file (eight orch processes and PostgreSQL on two cores) runs beside
        // the unit and int tiers; the other e2e files after them.
        // Started together, it and the PostgreSQL CLI file slowed each other from 140 and 83 s
        // to 224 and 191 s.
        test: {
          name: 'e2e-workers',
          include: [WORKERS_E2E],
          testTimeout: 180_000,
          hookTimeout: 120_000,
          globalSetup: ['test/setup/fresh-dist.ts'],
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/**/*.e2e.test.ts'],
          exclude: [WORKERS_E2E],
          testTimeout: 180_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 1 },
          globalSetup: ['test/setup/fresh-dist.ts'],
        },
      },
    ],
  },
});
