import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // The fault suite has its own command (npm run test:faults) and config.
    exclude: ['tests/faults/**', '**/node_modules/**'],
    // One embedded PostgreSQL per run; each test file clones the migrated template database.
    globalSetup: ['tests/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: two files at a time keeps database-heavy files from starving each other.
    maxWorkers: 2,
  },
});
