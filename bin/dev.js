#!/usr/bin/env node
// Development entry point: rebuilds nothing, runs the compiled commands with development mode on
// (stack traces on errors). Run `npm run build` (or `npx tsc -p tsconfig.build.json --watch`) first.
import { execute } from '@oclif/core'

// Ctrl-C while starting: the same message as bin/run.js (the base command removes this handler by its name)
function idtoolEarlyInterrupt() {
  process.stderr.write('\nInterrupted before the run started: nothing was done.\n')
  process.exit(130)
}
process.on('SIGINT', idtoolEarlyInterrupt)
process.on('SIGTERM', idtoolEarlyInterrupt)

process.env.DEBUG ??= 'idtool*'
await execute({ development: true, dir: import.meta.url })
