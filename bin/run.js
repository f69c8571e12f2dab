#!/usr/bin/env node
// Ctrl-C or SIGTERM while idtool is still starting (loading its commands takes about half a second): say so
// and exit 130, instead of dying silently. The base command takes over once a command is running
// (src/base-command.ts, which removes this handler by its name).
function idtoolEarlyInterrupt() {
  const message = 'interrupted before the run started: nothing was done'
  if (process.argv.includes('--json')) {
    process.stdout.write(
      `${JSON.stringify({ error: { code: 'INTERRUPTED', message, exitCode: 130 } }, null, 2)}\n`,
    )
  }
  process.stderr.write(`\nInterrupted before the run started: nothing was done.\n`)
  process.exit(130)
}
process.on('SIGINT', idtoolEarlyInterrupt)
process.on('SIGTERM', idtoolEarlyInterrupt)

// require, not import: oclif is CommonJS and Node 20's ESM-to-CommonJS path costs more at every start
// (src/cli/oclif.ts; node bench/startup.mjs measures it).
const { createRequire, enableCompileCache } = await import('node:module')
// Node >= 22.1 keeps V8's compiled code of idtool and oclif on disk between runs (192 -> 171 ms for
// `idtool lab env` on Node 24 here); on Node 20 there is no such call and nothing happens.
enableCompileCache?.()
const { execute } = createRequire(import.meta.url)('@oclif/core/execute')
await execute({ dir: import.meta.url })
