#!/usr/bin/env node
// Benchmark: `bench validate --workers 2` (two worker threads, merged exactly) side by side with `wrk -t2`,
// `autocannon --workers 2` and idtool's own `--workers 1`, against the lab's haproxy calibration frontend
// (127.0.0.1:8080, a static 200), same connections, keep-alive, in one run (best of --rounds, interleaved).
//
//   npm run build && node bench/workers.mjs [--url http://127.0.0.1:8080/] [--connections 20] [--seconds 5]
//       [--rounds 3]
//
// wrk -t1 runs too: wrk -t2 / wrk -t1 shows how much a second client thread can add on this machine at all.
// Goals (issue 14): idtool --workers 2 max throughput >= 0.8x wrk -t2, >= 1.0x autocannon --workers 2 and
// >= 1.6x idtool --workers 1. Every tool sends the same two token headers. The Node tools warm up unmeasured
// for 1 s first (idtool: its engine's warm-up phase in each thread).

import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { arg, CALLER, has, runChecked, SUBJECT, subjectTokens } from './lib.mjs'

const SELF = fileURLToPath(import.meta.url)
const ROOT = fileURLToPath(new URL('..', import.meta.url))

// child mode: one idtool run in this process, its result as JSON on stdout
async function child(workers, url, connections, seconds) {
  const tokens = subjectTokens()
  const o = {
    url,
    callerToken: CALLER,
    tokens,
    method: 'GET',
    nocatalog: false,
    keepalive: true,
    timeoutMs: 10_000,
    warmupMs: 1000,
    backendHeader: 'x-backend',
    connections,
    model: 'closed',
    concurrency: connections,
    rate: null,
    durationMs: seconds * 1000,
  }
  const r =
    workers === 1
      ? await (await import('../dist/bench/validate.js')).runValidateBench(o)
      : (await (await import('../dist/bench/workers.js')).runValidateWorkers({ ...o, workers })).merged
  return { requests: r.requests.total, errors: r.requests.total - r.requests.ok, rps: r.throughput.rps }
}

if (process.argv[2] === '--child') {
  const [, , , w, url, c, s] = process.argv
  process.stdout.write(`${JSON.stringify(await child(Number(w), url, Number(c), Number(s)))}\n`)
  process.exit(0)
}

const URL_ = arg('url', 'http://127.0.0.1:8080/')
const C = Number(arg('connections', '20'))
const S = Number(arg('seconds', '5'))
const ROUNDS = Number(arg('rounds', '3'))
const H = [`x-auth-token: ${CALLER}`, `x-subject-token: ${SUBJECT}`]

const idtool = async (w) =>
  JSON.parse(
    (await runChecked(process.execPath, [SELF, '--child', String(w), URL_, String(C), String(S)])).out,
  )
async function wrk(threads = 2) {
  const { out } = await runChecked('wrk', [
    `-t${threads}`,
    `-c${C}`,
    `-d${S}s`,
    ...H.flatMap((h) => ['-H', h]),
    URL_,
  ])
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1])
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0
  return { rps, errors: Number(errors) }
}
async function autocannon() {
  const { out } = await runChecked(
    `${ROOT}node_modules/.bin/autocannon`,
    ['--workers', '2', '-c', String(C), '-d', String(S), '-j', ...H.flatMap((h) => ['-H', h]), URL_],
    { cwd: ROOT },
  )
  const r = JSON.parse(out)
  return { rps: r.requests.total / r.duration, errors: r.errors + r.timeouts + r.non2xx }
}

const tools = {
  'idtool --workers 2': () => idtool(2),
  'idtool --workers 1': () => idtool(1),
  ...(has('wrk') ? { 'wrk -t2': () => wrk(2), 'wrk -t1': () => wrk(1) } : {}),
  'autocannon --workers 2': autocannon,
}
const runs = Object.fromEntries(Object.keys(tools).map((k) => [k, []]))
for (let round = 1; round <= ROUNDS; round++)
  for (const [name, f] of Object.entries(tools)) {
    const r = await f()
    runs[name].push(r)
    process.stderr.write(`round ${round} ${name}: ${Math.round(r.rps)} req/s (${r.errors} errors)\n`)
  }
const best = Object.fromEntries(Object.entries(runs).map(([k, rs]) => [k, Math.max(...rs.map((r) => r.rps))]))
console.log(`max throughput, ${C} connections, keep-alive, ${S} s, best of ${ROUNDS}, ${URL_}:`)
for (const [k, v] of Object.entries(best)) console.log(`  ${k.padEnd(24)} ${Math.round(v)} req/s`)
const me = best['idtool --workers 2']
const goals = [
  ['wrk -t2', 0.8],
  ['autocannon --workers 2', 1.0],
  ['idtool --workers 1', 1.6],
]
// the room a second client thread has on this machine: where the server shares the cores (the lab's haproxy
// on a 2-core machine), wrk's own -t2/-t1 shows how much a second thread can add at all
if (best['wrk -t1'] && best['wrk -t2'])
  console.log(
    `${availableParallelism()} cores; wrk -t2 / wrk -t1 = ${(best['wrk -t2'] / best['wrk -t1']).toFixed(2)}x (the most a second client thread adds here)`,
  )
console.log('ratios (goal):')
for (const [k, goal] of goals) {
  if (!best[k]) continue
  const ratio = me / best[k]
  console.log(
    `  idtool --workers 2 / ${k.padEnd(22)} ${ratio.toFixed(2)}x (goal >= ${goal}x) ${ratio >= goal ? 'met' : 'NOT met'}`,
  )
}
