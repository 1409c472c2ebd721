import { defineConfig } from 'vitest/config';

// Tiers live in the file name: *.unit.test.ts, *.int.test.ts, *.e2e.test.ts.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/**/*.unit.test.ts'], testTimeout: 30_000 } },
      {
        test: { name: 'int', include: ['test/**/*.int.test.ts'], testTimeout: 120_000, hookTimeout: 60_000 },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/**/*.e2e.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
