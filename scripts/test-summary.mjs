#!/usr/bin/env node
// One closing line over several test runs (CI: Node 20 full run + Node 24 unit run): each skip with its
// reason, then `N passed, N failed, N skipped`. Reads the files test/helpers/summary-reporter.ts writes
// to IDTOOL_TEST_SUMMARY; exits 1 on a failure or a skip that IDTOOL_ALLOWED_SKIPS did not allow.
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'

let passed = 0
let failed = 0
let skipped = 0
let unexpected = 0
for (const file of process.argv.slice(2)) {
  const s = JSON.parse(readFileSync(file, 'utf8'))
  passed += s.passed
  failed += s.failed
  skipped += s.skipped.length
  for (const k of s.skipped) {
    if (!k.allowed && !s.filtered) unexpected++
    console.log(
      `  skipped (${basename(file, '.json')}): ${k.test} - ${k.reason}${k.allowed ? ' (allowed)' : ''}`,
    )
  }
}
const fail = unexpected > 0 ? ` - FAIL: ${unexpected} skip(s) not allowed by IDTOOL_ALLOWED_SKIPS` : ''
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped${fail}`)
if (failed > 0 || unexpected > 0) process.exitCode = 1
