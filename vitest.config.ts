import { defineConfig } from 'vitest/config';

// Tiers live in the file name: *.unit.test.ts, *.int.test.ts, *.e2e.test.ts. The int and e2e
// tiers run the built CLI: their global setup rebuilds dist/ when src/ is newer.
export default defineConfig({
  test: {
    // Two files at a time (the unit and int tiers; e2e files stay one at a time): on a 2-core
    // machine vitest's default ran every file alone.
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
        test: {
          name: 'e2e',
          include: ['test/**/*.e2e.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          globalSetup: ['test/setup/fresh-dist.ts'],
        },
      },
    ],
  },
});
