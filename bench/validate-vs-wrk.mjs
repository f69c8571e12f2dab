#!/usr/bin/env node
// Benchmark: idtool's validation load engine side by side with wrk, `ab -k` and autocannon, against one
// fast local target (the lab's haproxy calibration frontend, which answers 200 by itself), in one run.
//
//   npm run build && node bench/validate-vs-wrk.mjs [--url http://127.0.0.1:8080/] [--connections 20]
//       [--seconds 2] [--rounds 3] [--rate 2000,10000] [--million 1000000] [--skip throughput,even,memory]
//       [--before DIR]   (or IDTOOL_BENCH_BEFORE=DIR: another build's dist/ measured side by side as idtool-before)
//
// It measures and prints, with ratios against the goals of issue 4 (a verdict list ends the output):
//   1. max throughput on one core (each generator pinned with `taskset -c 0` when available), same
//      connections, keep-alive: goal idtool >= autocannon and >= 60% of wrk (best of --rounds);
//   2. CPU time per request at fixed rates (--rate) over the same connections: goal <= 2x wrk's (median);
//   3. the p50 latency each tool reports at those rates (context: wrk's whole-ms delay() bunches its sends);
//   4. like for like at a moderate rate: one connection, evenly spaced sends in wrk and idtool, at the rate
//      wrk reaches with a 1 ms delay(): CPU per request (goal <= 2x wrk's) and p50 (goal within 10% of wrk's);
//   5. memory growth of the engine over --million requests: goal < 20 MB.
// idtool-undici rows run the same engine with `--http-client undici` (the stack's default client), the
// measured reason for the lean HTTP/1.1 client. wrk has no rate option: a Lua delay() paces each
// connection. ab has no rate option at all, so it only takes part in (1). Every tool sends the same two
// token headers.

import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { arg, CALLER, has, runChecked, runTimed, SUBJECT, subjectTokens, TASKSET } from './lib.mjs'

const SELF = fileURLToPath(import.meta.url)
// a previous build's dist/ directory to measure side by side (--before DIR or IDTOOL_BENCH_BEFORE)
const BEFORE_DIST = (() => {
  const i = process.argv.indexOf('--before')
  return i >= 0 ? process.argv[i + 1] : (process.env.IDTOOL_BENCH_BEFORE ?? '')
})()
if (BEFORE_DIST) process.env.IDTOOL_BENCH_BEFORE = BEFORE_DIST
const ROOT = fileURLToPath(new URL('..', import.meta.url))

// seconds of unmeasured warm-up of the Node tools before each measured run: at full speed over 20
// connections, so the JIT has optimised the hot paths (at a moderate rate one second is only ~1,000 calls,
// and code still in V8's interpreter would be measured); wrk and ab are compiled ahead of time
const WARM_S = 1
const WARM_CONNECTIONS = 20

// ---------------------------------------------------------------------------------------------------
// child mode: one generator run in this process, result as JSON on stdout
// ---------------------------------------------------------------------------------------------------

async function child(childKind, url, connections, seconds, rate, million) {
  // `idtool-before-*`: the same engine from another build (--before DIR), measured side by side
  const before = childKind.startsWith('idtool-before-')
  // `idtool-undici-*`: this build's engine with undici as its client (the stack's default before the lean client)
  const undici = childKind.startsWith('idtool-undici-')
  const kind = childKind.replace(/^idtool-(before|undici)-/, 'idtool-')
  const engine = () =>
    before
      ? // bench/validate.js since "one house" (load/validate.js before)
        import(
          pathToFileURL(
            join(
              BEFORE_DIST,
              existsSync(join(BEFORE_DIST, 'bench/validate.js')) ? 'bench' : 'load',
              'validate.js',
            ),
          ).href
        )
      : import('../dist/bench/validate.js')
  const tokens = subjectTokens()
  const base = {
    url,
    callerToken: CALLER,
    tokens,
    method: 'GET',
    nocatalog: false,
    keepalive: true,
    timeoutMs: 10_000,
    warmupMs: 0,
    backendHeader: 'x-backend',
    connections,
    ...(undici ? { client: 'undici' } : {}),
  }
  if (kind === 'idtool-closed' || kind === 'idtool-open') {
    const { runValidateBench } = await engine()
    const open = kind === 'idtool-open'
    const settings = {
      ...base,
      model: open ? 'open' : 'closed',
      concurrency: open ? null : connections,
      rate: open ? rate : null,
    }
    // a short unmeasured run first, so that both Node tools are measured with their code optimised
    await runValidateBench({
      ...settings,
      model: 'closed',
      concurrency: WARM_CONNECTIONS,
      connections: WARM_CONNECTIONS,
      rate: null,
      durationMs: WARM_S * 1000,
    })
    // steady state: CPU and wake-ups between the first progress event after 0.5 s and the last one, so
    // the run's fixed costs (connecting, encoding the result's histograms) are left out
    const snap = (p) => ({
      done: p.completed,
      cpu: process.cpuUsage(),
      waits: process.resourceUsage().voluntaryContextSwitches,
    })
    let first
    let last
    const c0 = process.cpuUsage()
    const w0 = process.resourceUsage().voluntaryContextSwitches
    const r = await runValidateBench(
      { ...settings, durationMs: seconds * 1000 },
      {
        progressIntervalMs: 250,
        onProgress: (p) => {
          if (first) last = snap(p)
          else if (p.elapsedMs >= 500) first = snap(p)
        },
      },
    )
    const cpu = process.cpuUsage(c0)
    const steady =
      first && last && last.done > first.done
        ? (last.cpu.user + last.cpu.system - first.cpu.user - first.cpu.system) / (last.done - first.done)
        : Number.NaN
    return {
      requests: r.requests.total,
      errors: r.requests.errors,
      rps: r.throughput.rps,
      cpuMs: (cpu.user + cpu.system) / 1000,
      steadyCpuUs: steady,
      waits: process.resourceUsage().voluntaryContextSwitches - w0,
      p50Ms: (open ? r.latencyUncorrectedMs : r.latencyMs).p50,
      p50CorrectedMs: r.latencyMs.p50,
      late: r.requests.late ?? 0,
    }
  }
  if (kind === 'autocannon-closed' || kind === 'autocannon-open') {
    const { default: autocannon } = await import('autocannon')
    const settings = {
      url,
      connections,
      headers: { 'x-auth-token': CALLER, 'x-subject-token': SUBJECT },
      ...(kind === 'autocannon-open' ? { overallRate: rate } : {}),
    }
    await autocannon({ url, connections: WARM_CONNECTIONS, headers: settings.headers, duration: WARM_S })
    const c0 = process.cpuUsage()
    const w0 = process.resourceUsage().voluntaryContextSwitches
    const r = await autocannon({ ...settings, duration: seconds })
    const cpu = process.cpuUsage(c0)
    return {
      requests: r.requests.total,
      errors: r.errors + r.timeouts + r.non2xx,
      rps: r.requests.total / r.duration,
      cpuMs: (cpu.user + cpu.system) / 1000,
      waits: process.resourceUsage().voluntaryContextSwitches - w0,
      p50Ms: r.latency.p50,
    }
  }
  if (kind === 'timer-floor') {
    const n = seconds * 1000
    const c0 = process.cpuUsage()
    await new Promise((resolve) => {
      let i = 0
      const tick = () => (++i < n ? setTimeout(tick, 1) : resolve())
      setTimeout(tick, 1)
    })
    const cpu = process.cpuUsage(c0)
    return { cpuUsPerWake: (cpu.user + cpu.system) / n }
  }
  if (kind === 'memory') {
    const { runValidateBench } = await engine()
    const gc = globalThis.gc ?? (() => {})
    let baseline = null
    let peakRss = 0
    const r = await runValidateBench(
      { ...base, model: 'closed', concurrency: connections, rate: null, requests: million },
      {
        progressIntervalMs: 250,
        onProgress: (p) => {
          peakRss = Math.max(peakRss, process.memoryUsage().rss)
          if (!baseline && p.completed >= Math.min(100_000, million / 10)) {
            gc()
            baseline = { at: p.completed, ...process.memoryUsage() }
          }
        },
      },
    )
    gc()
    const end = process.memoryUsage()
    return {
      requests: r.requests.total,
      errors: r.requests.errors,
      rps: r.throughput.rps,
      baselineAt: baseline?.at ?? 0,
      heapGrowthMB: (end.heapUsed - (baseline?.heapUsed ?? end.heapUsed)) / 2 ** 20,
      rssGrowthMB: (end.rss - (baseline?.rss ?? end.rss)) / 2 ** 20,
      baselineRssMB: (baseline?.rss ?? 0) / 2 ** 20,
      endRssMB: end.rss / 2 ** 20,
      peakRssMB: peakRss / 2 ** 20,
    }
  }
  throw new Error(`unknown child kind ${kind}`)
}

if (process.argv[2] === '--child') {
  const [, , , kind, url, c, s, rate, million] = process.argv
  const out = await child(kind, url, Number(c), Number(s), Number(rate), Number(million))
  process.stdout.write(`${JSON.stringify(out)}\n`)
  process.exit(0)
}

// ---------------------------------------------------------------------------------------------------
// parent mode
// ---------------------------------------------------------------------------------------------------

const URL_ = arg('url', 'http://127.0.0.1:8080/')
const C = Number(arg('connections', '20'))
const SECONDS = Number(arg('seconds', '2'))
const ROUNDS = Number(arg('rounds', '3'))
const RATES = arg('rate', '2000,10000').split(',').map(Number)
const MILLION = Number(arg('million', '1000000'))
const SKIP = new Set(arg('skip', '').split(',').filter(Boolean))

const HAS_WRK = has('wrk')
const HAS_AB = has('ab')
const tmp = mkdtempSync(join(tmpdir(), 'idtool-bench-vs-'))

const run = (cmd, args, opts = {}) => runChecked(cmd, args, { cwd: ROOT, timeoutMs: 600000, ...opts })

/** Run a command and measure its CPU; returns its output, its CPU ms and its wake-ups. */
const timed = (cmd, args, opts = {}) =>
  runTimed(cmd, args, { cwd: ROOT, timeoutMs: 600000, rusageFile: join(tmp, 'rusage.json'), ...opts })

function nodeChild(
  kind,
  { pin = false, rate = RATES[0], seconds = SECONDS, gc = false, connections = C } = {},
) {
  const args = [
    ...(gc ? ['--expose-gc'] : []),
    SELF,
    '--child',
    kind,
    URL_,
    String(connections),
    String(seconds),
    String(rate),
    String(MILLION),
  ]
  return run(process.execPath, args, { pin }).then((r) => JSON.parse(r.out.trim().split('\n').at(-1)))
}

function toMs(v, unit) {
  const n = Number(v)
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : n
}

function parseWrk(out) {
  const rps = Number(/Requests\/sec:\s*([\d.]+)/.exec(out)?.[1])
  const total = Number(/(\d+) requests in/.exec(out)?.[1])
  const m = /50%\s+([\d.]+)(us|ms|s)\b/.exec(out)
  const errs = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(out)
  return { rps, requests: total, p50Ms: m ? toMs(m[1], m[2]) : Number.NaN, note: errs ? errs[0] : '' }
}

const headerArgs = ['-H', `X-Auth-Token: ${CALLER}`, '-H', `X-Subject-Token: ${SUBJECT}`]

async function wrk({ pin, rate, seconds = SECONDS, burst = false, single = false }) {
  const args = ['-t1', `-c${single ? 1 : C}`, `-d${seconds}s`, '--latency', ...headerArgs]
  if (single) {
    // one connection, 1 ms between an answer and the next request: evenly spaced sends, no bunching
    const lua = join(tmp, 'single.lua')
    writeFileSync(lua, 'function delay()\n  return 1\nend\n')
    args.push('-s', lua)
  } else if (rate) {
    const lua = join(tmp, burst ? 'burst.lua' : 'pace.lua')
    // each connection waits connections/rate seconds (whole ms: wrk's timers) between its requests.
    // staggered: the first delay of connection k is k/connections of that period, so the sends spread
    // over the period like an open-model schedule; burst: every connection starts at once and the
    // connections stay in step, sending all together once per period.
    const period = Math.round((C * 1000) / rate)
    const body = burst
      ? `function delay()\n  return ${period}\nend\n`
      : `local n = 0\nfunction delay()\n  n = n + 1\n  if n <= ${C} then return math.floor((n - 1) * ${period} / ${C}) end\n  return ${period}\nend\n`
    writeFileSync(lua, body)
    args.push('-s', lua)
  }
  const r = await timed('wrk', [...args, URL_], { pin })
  return { ...parseWrk(r.out), cpuMs: r.cpuMs, waits: r.waits }
}

async function ab({ pin }) {
  // -t before -n: -t alone would cap the run at 50,000 requests
  const r = await timed(
    'ab',
    ['-k', '-q', '-c', String(C), '-t', String(SECONDS), '-n', '100000000', ...headerArgs, URL_],
    {
      pin,
    },
  )
  const rps = Number(/Requests per second:\s*([\d.]+)/.exec(r.out)?.[1])
  const requests = Number(/Complete requests:\s*(\d+)/.exec(r.out)?.[1])
  const failed = Number(/Failed requests:\s*(\d+)/.exec(r.out)?.[1])
  return { rps, requests, errors: failed, cpuMs: r.cpuMs }
}

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  return s.length ? s[Math.floor((s.length - 1) / 2)] : Number.NaN
}
const best = (xs) => {
  const ok = xs.filter((x) => Number.isFinite(x))
  return ok.length ? Math.max(...ok) : Number.NaN
}
const f0 = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a')
const f3 = (n) => (Number.isFinite(n) ? n.toFixed(3) : 'n/a')
const f1 = (n) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a')
const verdict = (ok) => (ok ? 'PASS' : 'MISS')

async function fixedRate(rate) {
  const fr = {
    idtool: [],
    'idtool-undici': [],
    wrk: [],
    'wrk-burst': [],
    autocannon: [],
    ...(BEFORE_DIST ? { 'idtool-before': [] } : {}),
  }
  const secs = SECONDS + 1
  for (let round = 1; round <= ROUNDS; round++) {
    if (HAS_WRK) fr.wrk.push(await wrk({ pin: false, rate, seconds: secs }))
    if (HAS_WRK) fr['wrk-burst'].push(await wrk({ pin: false, rate, seconds: secs, burst: true }))
    fr.autocannon.push(await nodeChild('autocannon-open', { rate, seconds: secs }))
    if (BEFORE_DIST) fr['idtool-before'].push(await nodeChild('idtool-before-open', { rate, seconds: secs }))
    fr['idtool-undici'].push(await nodeChild('idtool-undici-open', { rate, seconds: secs }))
    fr.idtool.push(await nodeChild('idtool-open', { rate, seconds: secs }))
    process.stderr.write(`fixed rate ${rate}/s: round ${round}/${ROUNDS} done\n`)
  }
  const F = summarise(fr, secs)
  console.log(`2. CPU time per request at a fixed ${rate} requests/s, ${C} connections (median of rounds)`)
  console.log(
    `   (wrk: whole process, wait4 rusage; Node tools: process.cpuUsage() around the measured run, after a ${WARM_S} s full-speed warm-up run)`,
  )
  console.log(
    '   wrk has no rate option: wrk = connections staggered over the period by its whole-ms delay(); the sends still bunch',
  )
  console.log(
    '   (several per wake-up), which costs fewer wake-ups per request; wrk-burst = all connections in step, once per period;',
  )
  console.log(
    '   autocannon spends a per-second budget per connection as fast as it can (bursts, not a schedule). idtool sends',
  )
  console.log(
    '   evenly spaced (waits precisely below 4,000/s, batches per 1 ms tick above), so it wakes more often per request.',
  )
  printCpuRows(F, fr)
  const rc = goalCpu(F.idtool) / F.wrk.cpuUs
  console.log(`   idtool / wrk = ${f3(rc)}   goal <= 2.0   ${verdict(rc <= 2)}`)
  console.log(
    `   idtool / wrk-burst = ${f3(goalCpu(F.idtool) / F['wrk-burst'].cpuUs)};  idtool / idtool-undici = ${f3(goalCpu(F.idtool) / goalCpu(F['idtool-undici']))}`,
  )
  if (BEFORE_DIST)
    console.log(`   idtool / idtool-before = ${f3(goalCpu(F.idtool) / goalCpu(F['idtool-before']))}`)
  verdicts.push([`CPU/request <= 2 x wrk at ${rate}/s, ${C} connections (wrk bunched)`, rc <= 2])
  console.log('')

  console.log(
    `3. p50 latency reported at a fixed ${rate} requests/s, ${C} connections (ms, median of rounds)`,
  )
  console.log(
    '   wrk 4.1 measures from when it writes each request (no intended-time correction): compare like with like,',
  )
  console.log(
    "   idtool's uncorrected p50 (from when the request reached its socket) with wrk's. The arrival patterns",
  )
  console.log(
    "   differ (wrk's sends bunch; a bunch queues at the target), so this is context; the goals are judged in 4.",
  )
  for (const k of ['wrk', 'wrk-burst']) {
    console.log(`   ${k.padEnd(13)} ${f3(F[k].p50)}   [${fr[k].map((r) => f3(r.p50Ms)).join(', ')}]`)
  }
  console.log(
    `   autocannon    ${f3(F.autocannon.p50)}   [${fr.autocannon.map((r) => f3(r.p50Ms)).join(', ')}] (autocannon reports whole ms)`,
  )
  for (const k of ['idtool-before', 'idtool-undici', 'idtool'].filter((x) => fr[x]))
    printIdtoolP50(k, F[k], fr[k])
  const dp = Math.abs(F.idtool.p50 - F.wrk.p50) / F.wrk.p50
  console.log(`   |idtool - wrk| / wrk = ${f3(dp)} (${f3(Math.abs(F.idtool.p50 - F.wrk.p50))} ms)\n`)
}

const cpuPer = (r) => (r.cpuMs * 1000) / r.requests
/** idtool's figure for the goals: its steady state (the run's one-off costs left out), else the whole run */
const goalCpu = (f) => (Number.isFinite(f.steadyUs) ? f.steadyUs : f.cpuUs)

function printCpuRows(F, fr) {
  console.log(
    '   CPU µs/request: whole run [each round]; steady = between progress events after 0.5 s (idtool, no one-off costs);',
  )
  console.log(
    '   wake-ups/request = voluntary context switches per request (each costs tens of µs on this VM)',
  )
  for (const k of Object.keys(fr)) {
    const steady = Number.isFinite(F[k].steadyUs) ? `steady ${f1(F[k].steadyUs).padStart(6)}` : ''.padEnd(13)
    console.log(
      `   ${k.padEnd(13)} ${f1(F[k].cpuUs).padStart(7)} µs/request  ${steady}  ${f3(F[k].waitsPer)} wake-ups/request  at ${f0(F[k].rps)} req/s  [${fr[k].map((r) => f1(cpuPer(r))).join(', ')}]`,
    )
  }
}

function summarise(fr, secs) {
  return Object.fromEntries(
    Object.entries(fr).map(([k, v]) => [
      k,
      {
        rps: median(v.map((r) => (secs ? r.requests / secs : r.rps))),
        cpuUs: median(v.map(cpuPer)),
        steadyUs: median(v.map((r) => r.steadyCpuUs)),
        waitsPer: median(v.map((r) => r.waits / r.requests)),
        p50: median(v.map((r) => r.p50Ms)),
        p50c: median(v.map((r) => r.p50CorrectedMs)),
      },
    ]),
  )
}

function printIdtoolP50(k, f, rounds) {
  console.log(
    `   ${k.padEnd(13)} ${f3(f.p50)} from actual send   [${rounds.map((r) => f3(r.p50Ms)).join(', ')}]`,
  )
  console.log(
    `   ${''.padEnd(13)} ${f3(f.p50c)} from intended send (corrected; the excess over the line above is the schedule's timing error)   [${rounds.map((r) => f3(r.p50CorrectedMs)).join(', ')}]`,
  )
  console.log(`   ${''.padEnd(13)} late sends per round: [${rounds.map((r) => r.late).join(', ')}]`)
}

/**
 * 4. Like for like at a moderate rate: one connection, evenly spaced sends in both tools. wrk waits 1 ms
 * (its delay()) after each answer, so it sends about 900 requests/s with nothing bunched; idtool then runs
 * its open model at the rate wrk reached, over one connection. Same arrival pattern, same target: the
 * p50s and the CPU per request are comparable.
 */
async function evenPacing() {
  if (!HAS_WRK) return
  const secs = SECONDS + 1
  const fr = { wrk: [], idtool: [], 'idtool-undici': [] }
  for (let round = 1; round <= ROUNDS; round++) {
    const w = await wrk({ pin: false, single: true, seconds: secs })
    fr.wrk.push({ ...w, rps: w.requests / secs })
    const rate = Math.max(1, Math.round(w.requests / secs))
    fr.idtool.push(await nodeChild('idtool-open', { rate, seconds: secs, connections: 1 }))
    fr['idtool-undici'].push(await nodeChild('idtool-undici-open', { rate, seconds: secs, connections: 1 }))
    process.stderr.write(`even pacing: round ${round}/${ROUNDS} done\n`)
  }
  const F = summarise(fr, secs)
  console.log(
    `4. Like for like at a moderate rate: one connection, evenly spaced (wrk: delay() 1 ms after each answer, ~${f0(F.wrk.rps)} req/s;`,
  )
  console.log('   idtool: open model at the rate wrk reached). Median of rounds; all rounds in brackets.')
  printCpuRows(F, fr)
  const rc = goalCpu(F.idtool) / F.wrk.cpuUs
  console.log(`   CPU: idtool / wrk = ${f3(rc)}   goal <= 2.0   ${verdict(rc <= 2)}`)
  console.log(`   p50 (ms): wrk ${f3(F.wrk.p50)}   [${fr.wrk.map((r) => f3(r.p50Ms)).join(', ')}]`)
  for (const k of ['idtool-undici', 'idtool']) printIdtoolP50(k, F[k], fr[k])
  const dp = Math.abs(F.idtool.p50 - F.wrk.p50) / F.wrk.p50
  console.log(
    `   p50: |idtool - wrk| / wrk = ${f3(dp)} (${f3(Math.abs(F.idtool.p50 - F.wrk.p50) * 1000)} µs)   goal <= 0.10   ${verdict(dp <= 0.1)}`,
  )
  verdicts.push(
    [`CPU/request <= 2 x wrk, one connection, evenly spaced, ~${f0(F.wrk.rps)}/s`, rc <= 2],
    [`p50 within 10% of wrk, one connection, evenly spaced, ~${f0(F.wrk.rps)}/s`, dp <= 0.1],
  )
  console.log('')
}

/** [goal, met] of every goal judged in this run, printed at the end */
const verdicts = []

async function main() {
  // the target must be up: this is the lab's haproxy calibration frontend
  const probe = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', URL_])
  if (String(probe.stdout) !== '200') {
    console.error(`${URL_} does not answer 200: start the lab (idtool lab up) or pass --url`)
    process.exit(2)
  }
  const cores = spawnSync('nproc').stdout.toString().trim()
  console.log(
    `target ${URL_}, ${C} connections, keep-alive, ${SECONDS} s runs, ${ROUNDS} rounds, ${cores} cores`,
  )
  console.log(
    `load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} (shared machine: figures are noisy)`,
  )
  console.log(
    `one core: ${TASKSET ? 'taskset -c 0' : 'taskset unavailable, not pinned'}; node ${process.version}\n`,
  )

  if (!SKIP.has('throughput')) {
    // 1. max throughput on one core, interleaved rounds, best of each tool
    const tp = { idtool: [], 'idtool-undici': [], wrk: [], ab: [], autocannon: [] }
    for (let round = 1; round <= ROUNDS; round++) {
      if (HAS_WRK) tp.wrk.push((await wrk({ pin: true })).rps)
      if (HAS_AB) tp.ab.push((await ab({ pin: true })).rps)
      tp.autocannon.push((await nodeChild('autocannon-closed', { pin: true })).rps)
      const id = await nodeChild('idtool-closed', { pin: true })
      tp.idtool.push(id.rps)
      if (id.errors) console.log(`  (idtool round ${round}: ${id.errors} errors)`)
      tp['idtool-undici'].push((await nodeChild('idtool-undici-closed', { pin: true })).rps)
      process.stderr.write(`throughput round ${round}/${ROUNDS} done\n`)
    }
    const T = Object.fromEntries(Object.entries(tp).map(([k, v]) => [k, best(v)]))
    console.log('1. Max throughput on one core (requests/s, best of rounds; all rounds in brackets)')
    for (const k of ['wrk', 'ab', 'autocannon', 'idtool', 'idtool-undici']) {
      console.log(`   ${k.padEnd(13)} ${f0(T[k]).padStart(9)}   [${tp[k].map(f0).join(', ')}]`)
    }
    console.log(
      '   (idtool-undici: the same engine with --http-client undici, the client it used before its lean HTTP/1.1 client)',
    )
    const rA = T.idtool / T.autocannon
    const rW = T.idtool / T.wrk
    console.log(`   idtool / autocannon = ${f3(rA)}   goal >= 1.0   ${verdict(rA >= 1)}`)
    console.log(`   idtool / wrk        = ${f3(rW)}   goal >= 0.6   ${verdict(rW >= 0.6)}`)
    console.log(`   idtool / ab -k      = ${f3(T.idtool / T.ab)}`)
    console.log(`   idtool / idtool-undici = ${f3(T.idtool / T['idtool-undici'])}\n`)
    verdicts.push(['max throughput >= autocannon', rA >= 1], ['max throughput >= 0.6 x wrk', rW >= 0.6])
  }

  // 2 + 3. fixed rates over C connections: CPU per request and p50
  for (const rate of RATES) await fixedRate(rate)
  const tick = await nodeChild('timer-floor', { seconds: 2 })
  console.log(
    `   context: a bare Node process waking on a 1 ms timer costs ${f1(tick.cpuUsPerWake)} µs of CPU per wake-up on this machine`,
  )
  console.log(
    '   (an open-model generator wakes about once per request for its schedule and once per answer)\n',
  )

  if (!SKIP.has('even')) await evenPacing()
  if (!SKIP.has('memory')) await memory()
  console.log('Goals judged in this run:')
  for (const [goal, met] of verdicts) console.log(`   ${verdict(met)}  ${goal}`)
}

async function memory() {
  // 5. memory over a million requests
  const m = await nodeChild('memory', { gc: true })
  console.log(
    `5. Memory over ${f0(m.requests)} requests (closed model, ${C} connections, ${f0(m.rps)} req/s, ${m.errors} errors)`,
  )
  console.log(
    `   after ${f0(m.baselineAt)} requests: RSS ${f1(m.baselineRssMB)} MB; at the end: RSS ${f1(m.endRssMB)} MB (peak ${f1(m.peakRssMB)} MB)`,
  )
  console.log(
    `   growth: heap ${f1(m.heapGrowthMB)} MB, RSS ${f1(m.rssGrowthMB)} MB   goal < 20 MB   ${verdict(Math.max(m.heapGrowthMB, m.rssGrowthMB) < 20)}`,
  )
  verdicts.push([
    'memory growth over 1,000,000 requests < 20 MB',
    Math.max(m.heapGrowthMB, m.rssGrowthMB) < 20,
  ])
  console.log('')
}

try {
  await main()
} finally {
  rmSync(tmp, { recursive: true, force: true })
}
