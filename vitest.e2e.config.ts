import { defineConfig } from 'vitest/config';

/** End-to-end tests: real headless Chromium against a production build of the editor. */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.test.ts'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // expect.poll gives up after 1 s by default: too short for a worker's answer on a loaded 2-core
    // machine (the import-with-weights test's playground values came late, and it failed as NaN).
    expect: { poll: { timeout: 15_000 } },
    // The unit config (vitest.config.ts) also matches these files; they skip themselves there.
    env: { PATCHBAY_E2E: '1' },
  },
});
