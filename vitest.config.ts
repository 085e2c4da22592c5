import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'apps/server/src/**/*.test.ts',
      'apps/console/src/**/*.test.{ts,tsx}',
      'test/integration/**/*.test.ts',
    ],
    // Two cores: real-file and multi-process tests must not starve each other.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
