#!/usr/bin/env node
// Write oclif.manifest.json from the built commands (dist/), as `oclif manifest` does: with it, oclif reads
// every command's id, flags and description from one JSON file at start-up and imports only the command that
// runs, instead of importing all of them (~300 ms here). `npm run build` runs this after tsc; a stale
// manifest would show stale flags, so it is never committed (.gitignore) and always rebuilt with dist/.
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Plugin } from '@oclif/core'

const root = fileURLToPath(new URL('..', import.meta.url))
const plugin = new Plugin({ root, type: 'core', ignoreManifest: true, errorOnManifestCreate: true })
await plugin.load()
const n = Object.keys(plugin.manifest.commands).length
if (n === 0) throw new Error('no commands found in dist/commands: run tsc first')
writeFileSync(
  new URL('../oclif.manifest.json', import.meta.url),
  `${JSON.stringify(plugin.manifest, null, 2)}\n`,
)
console.error(`oclif.manifest.json: ${n} commands`)
