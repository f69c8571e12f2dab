#!/usr/bin/env node
// Client cost per request, free of the machine's noise: instructions counted by valgrind's callgrind (a
// deterministic count, whatever the load), idtool's engine (lean HTTP/1.1 client, one thread, closed model)
// side by side with `wrk -t1` and autocannon (one thread), against the lab's haproxy calibration frontend
// (127.0.0.1:8080, a static 200; haproxy itself is not under valgrind). Each tool runs twice at two sizes and
// the difference is divided by the difference in requests, which removes start-up and tear-down.
//
//   npm run build && flock /tmp/idtool-lab.lock node bench/instructions.mjs [--url http://127.0.0.1:8080/]
//       [--connections 20] [--small 2000] [--large 6000] [--warm 3000] [--wrk-seconds 2,6] [--keep /tmp/dir]
//
// idtool and autocannon run a fixed request count (--small, --large); wrk runs a fixed duration only, so its
// requests are counted from its output. idtool first runs --warm requests unmeasured in the same process (without
// it the difference is mostly V8 tiering up: 15k to 55k instructions a request from run to run). --only idtool,wrk,autocannon picks tools; IDTOOL_DIST=/path/dist measures
// another build of idtool (a before/after). --keep leaves the callgrind files there (callgrind_annotate them).
// Every tool sends the same two token headers. Slow: callgrind runs ~50x slower than the real thing.

import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { arg, CALLER, has, runChecked, SUBJECT, subjectTokens } from './lib.mjs'

const SELF = fileURLToPath(import.meta.url)
const ROOT = fileURLToPath(new URL('..', import.meta.url))

// child mode: one idtool run of a fixed request count in this thread, its request counts as JSON on stdout
async function child(requests, url, connections, warm) {
  const tokens = subjectTokens()
  // IDTOOL_DIST: another build to measure (e.g. the main tree's dist/, for a before/after)
  const dist = process.env.IDTOOL_DIST ?? fileURLToPath(new URL('../dist', import.meta.url))
  const { runValidateBench } = await import(join(dist, 'bench/validate.js'))
  const run = (n) =>
    runValidateBench({
      url,
      callerToken: CALLER,
      tokens,
      method: 'GET',
      nocatalog: false,
      keepalive: true,
      timeoutMs: 60_000,
      warmupMs: 0,
      backendHeader: 'x-backend',
      connections,
      model: 'closed',
      concurrency: connections,
      rate: null,
      requests: n,
    })
  // a first run warms the JIT (V8 tiers code up by call counts): the two measured sizes then start from the
  // same optimised state, and their difference holds no tier-up or compilation
  if (warm > 0) await run(warm)
  const r = await run(requests)
  return { requests: r.requests.total, errors: r.requests.total - r.requests.ok }
}

if (process.argv[2] === '--child') {
  const [, , , n, url, c, w] = process.argv
  process.stdout.write(`${JSON.stringify(await child(Number(n), url, Number(c), Number(w ?? 0)))}\n`)
  process.exit(0)
}

const URL_ = arg('url', 'http://127.0.0.1:8080/')
const C = Number(arg('connections', '20'))
const SIZES = [Number(arg('small', '2000')), Number(arg('large', '6000'))]
const WRK_SECONDS = arg('wrk-seconds', '2,6').split(',').map(Number)
const WARM = Number(arg('warm', '3000'))
const DIR = arg('keep', undefined) ?? mkdtempSync(join(tmpdir(), 'idtool-instr-'))
const H = [`x-auth-token: ${CALLER}`, `x-subject-token: ${SUBJECT}`]

// one program under callgrind: its total instructions (every thread) and what it printed
let seq = 0
async function callgrind(name, cmd, args) {
  const file = join(DIR, `callgrind.${name}.${++seq}.out`)
  // V8 writes machine code at run time: --smc-check=all-non-file makes valgrind see it
  const { out } = await runChecked(
    'valgrind',
    ['--tool=callgrind', '--smc-check=all-non-file', `--callgrind-out-file=${file}`, cmd, ...args],
    { cwd: ROOT, timeoutMs: 900_000 },
  )
  const totals = /^(?:totals|summary):\s+(\d+)/m.exec(readFileSync(file, 'utf8'))
  if (!totals) throw new Error(`no totals in ${file}`)
  return { instructions: Number(totals[1]), out, file }
}

const tools = {
  idtool: async (n) => {
    const r = await callgrind('idtool', process.execPath, [
      SELF,
      '--child',
      String(n),
      URL_,
      String(C),
      String(WARM),
    ])
    const j = JSON.parse(r.out)
    return { ...r, requests: j.requests, errors: j.errors }
  },
  ...(has('wrk')
    ? {
        'wrk -t1': async (_n, i) => {
          const r = await callgrind('wrk', 'wrk', [
            '-t1',
            `-c${C}`,
            `-d${WRK_SECONDS[i]}s`,
            ...H.flatMap((h) => ['-H', h]),
            URL_,
          ])
          const requests = Number(/(\d+) requests in/.exec(r.out)?.[1])
          const errors = Number(/Non-2xx or 3xx responses: (\d+)/.exec(r.out)?.[1] ?? 0)
          return { ...r, requests, errors }
        },
      }
    : {}),
  autocannon: async (n) => {
    const r = await callgrind('autocannon', process.execPath, [
      join(ROOT, 'node_modules/autocannon/autocannon.js'),
      '-c',
      String(C),
      '-a',
      String(n),
      '-j',
      ...H.flatMap((h) => ['-H', h]),
      URL_,
    ])
    const j = JSON.parse(r.out)
    return { ...r, requests: j.requests.total, errors: j.errors + j.timeouts + j.non2xx }
  },
}

const ONLY = arg('only', undefined)?.split(',')
const perRequest = {}
for (const [name, run] of Object.entries(tools)) {
  if (ONLY && !ONLY.some((o) => name.startsWith(o))) continue
  const [a, b] = [await run(SIZES[0], 0), await run(SIZES[1], 1)]
  for (const r of [a, b])
    process.stderr.write(
      `${name}: ${r.requests} requests (${r.errors} errors), ${r.instructions} instructions\n`,
    )
  if (a.errors + b.errors > 0) process.stderr.write(`${name}: errors in the runs, its figure is suspect\n`)
  perRequest[name] = {
    perRequest: (b.instructions - a.instructions) / (b.requests - a.requests),
    startup: a.instructions - ((b.instructions - a.instructions) / (b.requests - a.requests)) * a.requests,
  }
}
console.log(
  `client instructions per request (callgrind, all threads), ${C} connections, keep-alive, ${URL_}:`,
)
for (const [k, v] of Object.entries(perRequest))
  console.log(
    `  ${k.padEnd(12)} ${Math.round(v.perRequest).toLocaleString('en').padStart(10)} per request   (fixed cost ${(v.startup / 1e6).toFixed(0)} M)`,
  )
const me = perRequest.idtool?.perRequest
if (me) console.log('ratios (idtool / other):')
for (const [k, v] of Object.entries(perRequest))
  if (me && k !== 'idtool') console.log(`  idtool / ${k.padEnd(12)} ${(me / v.perRequest).toFixed(2)}x`)
console.log(`callgrind files in ${DIR}`)
