#!/usr/bin/env node
// Development entry point: rebuilds nothing, runs the compiled commands with development mode on
// (stack traces on errors). Run `npm run build` (or `npx tsc -p tsconfig.build.json --watch`) first.
import { execute } from '@oclif/core'

process.env.DEBUG ??= 'idtool*'
await execute({ development: true, dir: import.meta.url })
