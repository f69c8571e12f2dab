#!/usr/bin/env node
// Benchmark: idtool's start-up against a bare `node -e 0`, side by side in one run (issue 13's goal: at most
// 2.5x bare node). R rounds (--rounds, default 15), the three commands interleaved in each round, wall time of
// each process; medians and the ratio of each to bare node are printed.
// Usage: npm run build && node bench/startup.mjs [--rounds 15]
// `npm run build` writes oclif.manifest.json (scripts/manifest.mjs); without it oclif imports every command
// at start-up: `rm oclif.manifest.json` and run this again to see the difference.
import { existsSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { runProcess } from './lib.mjs'

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '15' } } })
const R = Number(values.rounds)
const BIN = new URL('../bin/run.js', import.meta.url).pathname
const cases = {
  'node -e 0': [process.execPath, ['-e', '0']],
  'idtool --version': [process.execPath, [BIN, '--version']],
  'idtool lab env': [process.execPath, [BIN, 'lab', 'env']],
}
const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]))
for (let r = 0; r < R + 1; r++) {
  for (const [name, [cmd, args]] of Object.entries(cases)) {
    const p = await runProcess(cmd, args, { timeoutMs: 30_000 })
    if (p.code !== 0) throw new Error(`${name} exited ${p.code}: ${p.stderr}`)
    if (r > 0) times[name].push(p.ms) // round 0 warms the file cache
  }
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const bare = median(times['node -e 0'])
console.log(
  `start-up, ${R} rounds, median wall ms; manifest ${existsSync(new URL('../oclif.manifest.json', import.meta.url)) ? 'present' : 'ABSENT'}`,
)
for (const [name, xs] of Object.entries(times)) {
  const m = median(xs)
  console.log(`${name.padEnd(18)} ${m.toFixed(0).padStart(5)} ms  ${(m / bare).toFixed(2)}x bare node`)
}
const worst = Math.max(median(times['idtool --version']), median(times['idtool lab env'])) / bare
console.log(`${worst <= 2.5 ? 'PASS' : 'MISS'}  start-up <= 2.5x bare node (worst ${worst.toFixed(2)}x)`)
