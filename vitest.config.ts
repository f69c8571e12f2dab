import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'

// Two projects: `unit` (no external services; local servers on port 0 only) and `integration`
// (the real lab: Keystone + haproxy + slapd on loopback, started by the global setup).
// The summary reporter ends every run with `N passed, N failed, N skipped`, each skip with its reason;
// a skip that IDTOOL_ALLOWED_SKIPS does not allow fails the run.
export default defineConfig({
  test: {
    disableConsoleIntercept: true,
    // Test files run in parallel up to this many forks (the integration project still runs its files one
    // after the other in one fork). Vitest's default is one fork less than the cores: a single fork on a
    // 2-core CI machine, where a unit test file spends most of its time waiting for the idtool child
    // processes it spawns. `--maxWorkers=1` on the command line runs one file at a time.
    maxWorkers: Math.max(2, availableParallelism()),
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.integration.test.ts', 'node_modules/**'],
          // a guard against a hung test, not a speed limit: with two files at once on a busy 2-core
          // machine, a test that starts a dozen idtool processes one after another can pass 20 s
          testTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.integration.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
          testTimeout: 300_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
})
