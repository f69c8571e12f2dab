#!/usr/bin/env node
// Before `npm test`: does this machine have what every test needs? The lab's Debian packages (the
// integration tests start the lab) and the programs some tests call (test/helpers/prereqs.json). As root,
// missing packages are installed with apt (as `idtool lab up --install` does); otherwise the run stops
// here, naming the packages and the one command that installs them. Tests that need root are named too,
// unless IDTOOL_ALLOWED_SKIPS lets them skip (`IDTOOL_ALLOWED_SKIPS=root`). Runs after the build: it
// uses the lab's own package list and installer from dist/.
import { existsSync, readFileSync } from 'node:fs'
import {
  APACHE_REQUIREMENTS,
  aptInstall,
  BASE_REQUIREMENTS,
  MARIADB_REQUIREMENTS,
  missingPackages,
} from '../dist/lab/install.js'

const registry = JSON.parse(readFileSync(new URL('../test/helpers/prereqs.json', import.meta.url), 'utf8'))
const requirements = [
  ...BASE_REQUIREMENTS,
  ...MARIADB_REQUIREMENTS,
  ...APACHE_REQUIREMENTS,
  ...registry.programs,
]
const root = process.getuid?.() === 0
const allowed = (process.env.IDTOOL_ALLOWED_SKIPS ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean)

let missing = missingPackages(requirements)
if (missing.length > 0 && root) {
  process.stderr.write(`test prerequisites: installing ${missing.join(' ')}\n`)
  await aptInstall(missing, (m) => process.stderr.write(`test prerequisites: ${m}\n`))
  missing = missingPackages(requirements)
}
const problems = []
if (missing.length > 0) {
  const lab =
    missingPackages([...BASE_REQUIREMENTS, ...MARIADB_REQUIREMENTS, ...APACHE_REQUIREMENTS]).length > 0
      ? ['the lab']
      : []
  const files = [...new Set(registry.programs.filter((r) => !existsSync(r.program)).flatMap((r) => r.tests))]
  problems.push(
    `missing Debian packages: ${missing.join(' ')} (needed by ${[...lab, ...files].join(', ')})`,
    `install them with: sudo apt-get install -y --no-install-recommends ${missing.join(' ')}`,
  )
}
if (!root && !allowed.includes('root')) {
  problems.push(
    `not root: these tests need root (${registry.root.why}) and would be skipped: ${registry.root.tests.join(', ')}`,
    'run npm test as root, or let them skip: IDTOOL_ALLOWED_SKIPS=root npm test',
  )
}
if (problems.length > 0) {
  process.stderr.write(
    `npm test cannot run every test on this machine:\n${problems.map((p) => `  ${p}\n`).join('')}`,
  )
  process.exit(1)
}
