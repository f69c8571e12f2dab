/**
 * The one door to oclif for idtool's commands. oclif is CommonJS; Node 20 imports a CommonJS module from
 * ESM through its ESM translator (a second read and a lexer pass per entry point), which costs about 11 ms
 * at every start for command, flags and errors together, against about 6 ms through require().
 * `node bench/startup.mjs` measures start-up against bare node (issue 13's goal: at most 2.5x).
 */
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

export const { Command } = require('@oclif/core/command') as typeof import('@oclif/core/command')
export type Command = import('@oclif/core/command').Command
export const Flags = require('@oclif/core/flags') as typeof import('@oclif/core/flags')
export const Args = require('@oclif/core/args') as typeof import('@oclif/core/args')
export const Errors = require('@oclif/core/errors') as typeof import('@oclif/core/errors')
export type { Interfaces } from '@oclif/core'
