import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // Browser end-to-end tests have their own config (vitest.e2e.config.ts): one browser, one file at a time.
    exclude: ['test/e2e/**', 'node_modules/**'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // tfjs models are memory-hungry; two workers match the two cores CI has.
    maxWorkers: 2,
  },
});
