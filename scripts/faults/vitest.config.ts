import { defineConfig } from 'vitest/config';

// `npm run test:faults`: the fault suite on its own private stack (.stack-faults; ports 23xxx, below
// the ephemeral range so no client socket holds them), so it never stops the services that the other
// integration tests use. Workspace packages resolve to their TypeScript sources, as in the root config.
const conditions = ['source', 'node', 'import', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['source'] } },
  test: {
    name: 'faults',
    root: new URL('../..', import.meta.url).pathname,
    include: ['scripts/faults/**/*.faults.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    fileParallelism: false,
  },
});
