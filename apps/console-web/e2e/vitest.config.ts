import { defineConfig } from 'vitest/config';

// The console's browser tests: Playwright (playwright-core) driving Debian's Chromium against
// `metronis dev` from the build. One file, in order: the steps share a server and a browser.
export default defineConfig({
  test: {
    include: ['apps/console-web/e2e/**/*.e2e.test.ts'],
    testTimeout: 90_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
