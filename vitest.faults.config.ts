import { defineConfig } from 'vitest/config';

// `npm run test:faults`: crashes, outages, floods and forgeries against the real processes. One file
// at a time (they start processes and load the machine), one PostgreSQL server for the run.
export default defineConfig({
  test: {
    // The authorization matrix runs in `npm test` too; here it reports its figures with the rest.
    include: ['tests/faults/**/*.test.ts', 'tests/bot/authorization-matrix.test.ts'],
    env: { LEADLINE_FAULT_REPORT: '1' },
    globalSetup: ['tests/support/global-setup.ts'],
    testTimeout: 240_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    maxWorkers: 1,
  },
});
