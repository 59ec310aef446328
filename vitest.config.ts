import { defineConfig } from 'vitest/config';

// Tests that bound a latency (a probe's p99 while the server is flooded) run after the rest, one
// file at a time: on two cores a neighbouring test file's load would be measured as theirs.
const TIMING = ['test/transport/h2-streams.test.ts', 'test/transport/slow-clients.test.ts'];

export default defineConfig({
  test: {
    // The console tests need console/dist: built here when missing or stale.
    globalSetup: ['test/console/build.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    projects: [
      { extends: true, test: { name: 'suite', include: ['test/**/*.test.ts'], exclude: TIMING, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'timing', include: TIMING, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
