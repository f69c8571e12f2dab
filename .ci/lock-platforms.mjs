#!/usr/bin/env node
// After `npm install` on this workplace: the npm registry reachable here does not serve every platform's
// optional binary (biome, rollup), so npm leaves them out of package-lock.json and `npm ci` then refuses
// the lock ("Missing: @rollup/rollup-darwin-x64@ from lock file"). This adds a lock entry for each missing
// platform package (version from its parent's optionalDependencies, os/cpu/libc from its name); npm skips
// them on other platforms. Usage: node .ci/lock-platforms.mjs  (reads `npm ci --dry-run` for the list)
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'

let out = ''
try {
  execFileSync('npm', ['ci', '--dry-run'], { stdio: ['ignore', 'pipe', 'pipe'] })
} catch (err) {
  out = String(err.stderr ?? '') + String(err.stdout ?? '')
}
const missing = [...out.matchAll(/Missing: (\S+?)@\S* from lock file/g)].map((m) => m[1])
if (missing.length === 0) {
  console.log('package-lock.json is complete')
  process.exit(0)
}
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'))
const pk = lock.packages
const OS = [
  'android',
  'darwin',
  'freebsd',
  'linux',
  'win32',
  'openbsd',
  'openharmony',
  'netbsd',
  'aix',
  'sunos',
]
for (const name of missing) {
  const parent = Object.values(pk).find((v) => v.optionalDependencies?.[name])
  if (!parent) throw new Error(`no parent declares ${name}`)
  const parts = name.split('/').pop().split('-')
  const i = parts.findIndex((p) => OS.includes(p))
  if (i < 0) throw new Error(`cannot tell the platform of ${name}`)
  const entry = {
    version: parent.optionalDependencies[name],
    optional: true,
    os: [parts[i]],
    cpu: [parts[i + 1]],
  }
  if (parent.dev) entry.dev = true
  if (parts[i] === 'linux') entry.libc = [/musl/.test(parts.slice(i + 2).join('-')) ? 'musl' : 'glibc']
  pk[`node_modules/${name}`] = entry
}
lock.packages = Object.fromEntries(
  Object.entries(pk).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)),
)
writeFileSync('package-lock.json', `${JSON.stringify(lock, null, 2)}\n`)
console.log(`added ${missing.length} platform entries to package-lock.json`)
