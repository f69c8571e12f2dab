#!/usr/bin/env node
// Benchmark: idtool's validation load engine over https, side by side with wrk, `ab -k`/`ab` and autocannon,
// against one TLS target that answers by itself, in one run (issue 11, section 4). Self-contained: it makes a
// throw-away CA and server certificate with openssl, starts its own haproxy with a TLS frontend on a free
// 127.0.0.1 port (`http-request return status 200`, like the lab's calibration frontend; keep-alive allowed)
// and stops it at the end.
//
//   npx tsc -p tsconfig.build.json && node bench/validate-https.mjs [--connections 20] [--seconds 2]
//       [--rounds 3] [--throughput-rounds 5] [--rate 2000] [--key rsa|ec] [--skip throughput,rate,handshake,resume]
//
// It measures and prints, with ratios against the goals of issue 11 (a PASS/MISS list ends the output):
//   1. keep-alive max throughput on one core (each generator pinned with `taskset -c 0`, haproxy on core 1),
//      same connections for every tool: goal idtool >= 1.0x autocannon and >= 0.6x wrk (best of --rounds);
//      the CPU per request each tool spent at its own max is printed beside it;
//   2. CPU per request at a fixed --rate over the same connections (open model for idtool; wrk has no rate:
//      a Lua delay() paces its connections, as in bench/validate-vs-wrk.mjs): goal <= 2x wrk's (median);
//   3. handshake-per-request throughput on one core (`--no-keepalive`: `Connection: close`, a new TLS
//      connection per request) against `ab` without -k: goal >= 0.8x ab's (best of --rounds);
//   4. which tools resume TLS sessions on a new connection (a second haproxy frontend logs
//      ssl_fc_is_resumed for each request of a short probe run of each tool).
// idtool rows run the real code path: runValidateBench from dist/bench/validate.js. `idtool` is the lean
// HTTP/1.1 client over tls.connect (the default), `idtool-undici` the same engine with --http-client undici,
// `idtool-noresume` the lean client with session resumption off (a full handshake per connection, as ab).
// Every tool sends the same two token-sized headers.

import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { arg, CALLER, has, runChecked, runTimed, SUBJECT, subjectTokens, TASKSET } from './lib.mjs'

const SELF = fileURLToPath(import.meta.url)
const ROOT = fileURLToPath(new URL('..', import.meta.url))

// seconds of unmeasured full-speed warm-up of the Node tools before each measured run (JIT), over the
// measured run's connections and keep-alive setting; wrk and ab are compiled ahead of time
const WARM_S = 1

// ---------------------------------------------------------------------------------------------------
// child mode: one generator run in this process, result as JSON on stdout
// ---------------------------------------------------------------------------------------------------

async function child(o) {
  const ca = readFileSync(o.caFile, 'utf8')
  if (o.tool === 'idtool') {
    const { runValidateBench } = await import('../dist/bench/validate.js')
    const tokens = subjectTokens()
    const deps = { tls: { ca }, tlsResume: o.resume !== false }
    const base = {
      url: o.url,
      callerToken: CALLER,
      tokens,
      method: 'GET',
      nocatalog: false,
      keepalive: o.keepalive,
      timeoutMs: 10_000,
      warmupMs: 0,
      backendHeader: 'x-backend',
      connections: o.connections,
      client: o.client,
    }
    const open = o.model === 'open'
    if (!o.probe) {
      await runValidateBench(
        {
          ...base,
          model: 'closed',
          concurrency: o.connections,
          rate: null,
          durationMs: WARM_S * 1000,
        },
        deps,
      )
    }
    // steady state: CPU and wake-ups between the first progress event after 0.5 s and the last one, so the
    // run's fixed costs (connecting, encoding the result's histograms) are left out
    const snap = (p) => ({ done: p.completed, cpu: process.cpuUsage() })
    let first
    let last
    const c0 = process.cpuUsage()
    const w0 = process.resourceUsage().voluntaryContextSwitches
    const r = await runValidateBench(
      {
        ...base,
        model: open ? 'open' : 'closed',
        concurrency: open ? null : o.connections,
        rate: open ? o.rate : null,
        ...(o.probe ? { requests: o.probe } : { durationMs: o.seconds * 1000 }),
      },
      {
        ...deps,
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
      errors: r.requests.errors + r.requests.unexpectedStatus,
      errorKinds: r.errors,
      httpClient: r.httpClient,
      rps: r.throughput.rps,
      cpuMs: (cpu.user + cpu.system) / 1000,
      steadyCpuUs: steady,
      waits: process.resourceUsage().voluntaryContextSwitches - w0,
    }
  }
  if (o.tool === 'autocannon') {
    const { default: autocannon } = await import('autocannon')
    // autocannon always connects with rejectUnauthorized: false (lib/httpClient.js); the CA goes in anyway
    const settings = {
      url: o.url,
      connections: o.connections,
      headers: { 'x-auth-token': CALLER, 'x-subject-token': SUBJECT },
      tlsOptions: { ca },
      ...(o.model === 'open' ? { overallRate: o.rate } : {}),
    }
    await autocannon({ ...settings, overallRate: undefined, duration: WARM_S })
    const c0 = process.cpuUsage()
    const w0 = process.resourceUsage().voluntaryContextSwitches
    const r = await autocannon({ ...settings, duration: o.seconds })
    const cpu = process.cpuUsage(c0)
    return {
      requests: r.requests.total,
      errors: r.errors + r.timeouts + r.non2xx,
      rps: r.requests.total / r.duration,
      cpuMs: (cpu.user + cpu.system) / 1000,
      waits: process.resourceUsage().voluntaryContextSwitches - w0,
    }
  }
  throw new Error(`unknown child tool ${o.tool}`)
}

if (process.argv[2] === '--child') {
  const out = await child(JSON.parse(process.argv[3]))
  process.stdout.write(`${JSON.stringify(out)}\n`)
  process.exit(0)
}

// ---------------------------------------------------------------------------------------------------
// parent mode
// ---------------------------------------------------------------------------------------------------

const C = Number(arg('connections', '20'))
const SECONDS = Number(arg('seconds', '2'))
const ROUNDS = Number(arg('rounds', '3'))
// section 1 takes the best round of each tool: more rounds give each a quiet moment on a shared machine
const TP_ROUNDS = Number(arg('throughput-rounds', String(ROUNDS + 2)))
const RATE = Number(arg('rate', '2000'))
const KEY = arg('key', 'rsa')
const SKIP = new Set(arg('skip', '').split(',').filter(Boolean))
const HAPROXY = '/usr/sbin/haproxy'

const CORES = Number(spawnSync('nproc').stdout.toString().trim())
const HAS_WRK = has('wrk')
const HAS_AB = has('ab')
const tmp = mkdtempSync(join(tmpdir(), 'idtool-bench-https-'))
const CA_FILE = join(tmp, 'ca.pem')

const run = (cmd, args, opts = {}) => runChecked(cmd, args, { cwd: ROOT, timeoutMs: 120000, ...opts })

/** Run a command and measure its CPU; returns its output, its CPU ms and its wake-ups. */
const timed = (cmd, args, opts = {}) =>
  runTimed(cmd, args, { cwd: ROOT, timeoutMs: 120000, rusageFile: join(tmp, 'rusage.json'), ...opts })

function nodeChild(o, { pin = false } = {}) {
  const args = [SELF, '--child', JSON.stringify({ caFile: CA_FILE, connections: C, seconds: SECONDS, ...o })]
  return run(process.execPath, args, { pin }).then((r) => JSON.parse(r.out.trim().split('\n').at(-1)))
}

const headerArgs = ['-H', `X-Auth-Token: ${CALLER}`, '-H', `X-Subject-Token: ${SUBJECT}`]

async function wrk(url, { pin, rate, seconds = SECONDS }) {
  const args = ['-t1', `-c${C}`, `-d${seconds}s`, ...headerArgs]
  if (rate) {
    // each connection waits connections/rate seconds (whole ms: wrk's timers) between its requests, the
    // first delay of connection k being k/connections of that period, so the sends spread over the period
    const lua = join(tmp, 'pace.lua')
    const period = Math.round((C * 1000) / rate)
    writeFileSync(
      lua,
      `local n = 0\nfunction delay()\n  n = n + 1\n  if n <= ${C} then return math.floor((n - 1) * ${period} / ${C}) end\n  return ${period}\nend\n`,
    )
    args.push('-s', lua)
  }
  const r = await timed('wrk', [...args, url], { pin })
  const requests = Number(/(\d+) requests in/.exec(r.out)?.[1])
  const errs = /Non-2xx or 3xx responses: (\d+)/.exec(r.out)
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(r.out)
  const errors = (errs ? Number(errs[1]) : 0) + (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0)
  return {
    rps: Number(/Requests\/sec:\s*([\d.]+)/.exec(r.out)?.[1]),
    requests,
    errors,
    cpuMs: r.cpuMs,
    waits: r.waits,
  }
}

async function ab(url, { pin, keepalive, seconds = SECONDS, requests }) {
  // -t before -n: -t alone would cap the run at 50,000 requests
  const limit = requests ? ['-n', String(requests)] : ['-t', String(seconds), '-n', '100000000']
  const r = await timed(
    'ab',
    [...(keepalive ? ['-k'] : []), '-q', '-c', String(requests ? 1 : C), ...limit, ...headerArgs, url],
    { pin },
  )
  return {
    rps: Number(/Requests per second:\s*([\d.]+)/.exec(r.out)?.[1]),
    requests: Number(/Complete requests:\s*(\d+)/.exec(r.out)?.[1]),
    errors:
      Number(/Failed requests:\s*(\d+)/.exec(r.out)?.[1]) +
      Number(/Non-2xx responses:\s*(\d+)/.exec(r.out)?.[1] ?? 0),
    cpuMs: r.cpuMs,
    waits: r.waits,
  }
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
const f1 = (n) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a')
const f3 = (n) => (Number.isFinite(n) ? n.toFixed(3) : 'n/a')
const verdict = (ok) => (ok ? 'PASS' : 'MISS')
const cpuPer = (r) => (r.cpuMs * 1000) / r.requests
/** idtool's CPU figure: its steady state (the run's one-off costs left out) when measured, else the whole run */
const goalCpu = (r) => (Number.isFinite(r.steadyCpuUs) ? r.steadyCpuUs : cpuPer(r))

/** [goal, met] of every goal judged in this run, printed at the end */
const verdicts = []
/** rounds with errors, printed after the table they belong to */
function errorNote(name, rounds) {
  const bad = rounds.map((r, i) => [i + 1, r]).filter(([, r]) => r.errors > 0)
  for (const [i, r] of bad) {
    console.log(
      `   (${name} round ${i}: ${r.errors} errors${r.errorKinds ? ` ${JSON.stringify(r.errorKinds)}` : ''})`,
    )
  }
}

// ---------------------------------------------------------------------------------------------------
// the target: a throw-away CA, a server certificate, haproxy with a TLS frontend answering by itself
// ---------------------------------------------------------------------------------------------------

function openssl(args) {
  const r = spawnSync('openssl', args, { cwd: tmp, stdio: ['ignore', 'ignore', 'pipe'] })
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${String(r.stderr).slice(0, 400)}`)
}

function makeCertificates() {
  const newKey =
    KEY === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'] : ['-newkey', 'rsa:2048']
  openssl(
    ['req', '-x509', ...newKey, '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2'].concat([
      '-subj',
      '/CN=idtool bench CA',
    ]),
  )
  openssl([
    'req',
    ...newKey,
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=127.0.0.1',
  ])
  writeFileSync(join(tmp, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  openssl(
    ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'].concat([
      '-out',
      'server.crt',
      '-days',
      '2',
      '-extfile',
      'san.ext',
    ]),
  )
  writeFileSync(
    join(tmp, 'server.pem'),
    readFileSync(join(tmp, 'server.crt'), 'utf8') + readFileSync(join(tmp, 'server.key'), 'utf8'),
    { mode: 0o600 },
  )
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

/**
 * haproxy in the foreground (-db), one thread, pinned to the last core when the generators take core 0:
 * `main` answers 200 to every request over TLS (keep-alive allowed); `probe` does the same and logs, for
 * every request, whether the TLS session was resumed (read from haproxy's stdout).
 */
async function startHaproxy() {
  const main = await freePort()
  const probe = await freePort()
  const cfg = join(tmp, 'haproxy.cfg')
  writeFileSync(
    cfg,
    `global
    maxconn 4096
    nbthread 1
    log stdout format raw local0 info

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 30s

frontend tls_main
    bind 127.0.0.1:${main} ssl crt ${join(tmp, 'server.pem')} alpn http/1.1
    http-request return status 200 content-type text/plain string "ok\\n"

frontend tls_probe
    bind 127.0.0.1:${probe} ssl crt ${join(tmp, 'server.pem')} alpn http/1.1
    log global
    log-format "resumed=%[ssl_fc_is_resumed] %[ssl_fc_protocol]"
    http-request return status 200 content-type text/plain string "ok\\n"
`,
  )
  const pinHaproxy = TASKSET && CORES > 1
  const argv = ['-db', '-f', cfg]
  const proc = pinHaproxy
    ? spawn('taskset', ['-c', String(CORES - 1), HAPROXY, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(HAPROXY, argv, { stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  proc.stdout.on('data', (d) => {
    log += d
  })
  proc.stderr.on('data', (d) => {
    log += d
  })
  const url = `https://127.0.0.1:${main}/`
  const probeUrl = `https://127.0.0.1:${probe}/`
  for (let i = 0; i < 50; i++) {
    const r = spawnSync('curl', ['-s', '--cacert', CA_FILE, '-o', '/dev/null', '-w', '%{http_code}', url])
    if (String(r.stdout) === '200') break
    if (proc.exitCode !== null || i === 49) {
      proc.kill('SIGKILL')
      throw new Error(`haproxy did not answer on ${url}: ${log.slice(0, 500)}`)
    }
    await new Promise((r2) => setTimeout(r2, 100))
  }
  return {
    url,
    probeUrl,
    pinned: pinHaproxy ? `core ${CORES - 1}` : 'not pinned',
    /** resumed / total TLS connections logged by the probe frontend since the last call */
    takeProbeLog() {
      const lines = log.split('\n').filter((l) => l.startsWith('resumed='))
      log = ''
      return {
        total: lines.length,
        resumed: lines.filter((l) => l.startsWith('resumed=1')).length,
        protocols: [...new Set(lines.map((l) => l.split(' ')[1]))].join(','),
      }
    },
    stop() {
      return new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve()
        proc.once('exit', () => resolve())
        proc.kill('SIGTERM')
      })
    },
  }
}

// ---------------------------------------------------------------------------------------------------
// the sections
// ---------------------------------------------------------------------------------------------------

async function throughput(url) {
  // 1. keep-alive max throughput on one core, interleaved rounds, best of each tool
  const tp = { wrk: [], 'ab -k': [], autocannon: [], idtool: [], 'idtool-undici': [] }
  for (let round = 1; round <= TP_ROUNDS; round++) {
    if (HAS_WRK) tp.wrk.push(await wrk(url, { pin: true }))
    if (HAS_AB) tp['ab -k'].push(await ab(url, { pin: true, keepalive: true }))
    tp.autocannon.push(await nodeChild({ tool: 'autocannon', url }, { pin: true }))
    tp.idtool.push(await nodeChild({ tool: 'idtool', url, client: 'h1', keepalive: true }, { pin: true }))
    tp['idtool-undici'].push(
      await nodeChild({ tool: 'idtool', url, client: 'undici', keepalive: true }, { pin: true }),
    )
    process.stderr.write(`throughput round ${round}/${TP_ROUNDS} done\n`)
  }
  const T = Object.fromEntries(Object.entries(tp).map(([k, v]) => [k, best(v.map((r) => r.rps))]))
  // the round each tool's best figure comes from: its CPU per request goes with it (a round that shared
  // core 0 with another process costs more per request, cache and all)
  const bestRound = (v) => v.reduce((a, r) => (a === undefined || r.rps > a.rps ? r : a), undefined)
  console.log(
    `1. Keep-alive max throughput on one core, ${C} connections (requests/s, best of ${TP_ROUNDS} rounds)`,
  )
  console.log(
    '   CPU µs/request at its own max, in that best round (wrk, ab: whole process from wait4 rusage; Node tools:',
  )
  console.log(
    '   process.cpuUsage() around the measured run, after a 1 s warm-up run); req per CPU-second = 1e6 / that',
  )
  // requests per CPU-second (1e6 / µs per request of the best round): what the tool would reach with the
  // core to itself and a target that keeps up; above its req/s when the tool waited (for the target, or for
  // core 0 while another process ran there)
  const cpuUs = Object.fromEntries(
    Object.entries(tp).map(([k, v]) => [k, v.length ? cpuPer(bestRound(v)) : Number.NaN]),
  )
  const perCpuS = (k) => 1e6 / cpuUs[k]
  console.log('                     req/s   CPU µs/request   req per CPU-second   [req/s of each round]')
  for (const [k, v] of Object.entries(tp)) {
    if (v.length === 0) continue
    console.log(
      `   ${k.padEnd(14)} ${f0(T[k]).padStart(7)}   ${f1(cpuUs[k]).padStart(14)}   ${f0(perCpuS(k)).padStart(18)}   [${v.map((r) => f0(r.rps)).join(', ')}]`,
    )
  }
  for (const [k, v] of Object.entries(tp)) errorNote(k, v)
  const rA = T.idtool / T.autocannon
  const rW = T.idtool / T.wrk
  const ratio = (a, b) => `${f3(T[a] / T[b])}   per CPU-second ${f3(perCpuS(a) / perCpuS(b))}`
  console.log(
    `   idtool / autocannon    = ${f3(rA)}   goal >= 1.0   ${verdict(rA >= 1)}   (per CPU-second ${f3(perCpuS('idtool') / perCpuS('autocannon'))})`,
  )
  console.log(
    `   idtool / wrk           = ${f3(rW)}   goal >= 0.6   ${verdict(rW >= 0.6)}   (per CPU-second ${f3(perCpuS('idtool') / perCpuS('wrk'))})`,
  )
  console.log(`   idtool / ab -k         = ${ratio('idtool', 'ab -k')}`)
  console.log(`   idtool / idtool-undici = ${ratio('idtool', 'idtool-undici')}`)
  console.log('')
  verdicts.push(
    ['keep-alive max throughput on one core >= 1.0 x autocannon', rA >= 1],
    ['keep-alive max throughput on one core >= 0.6 x wrk', rW >= 0.6],
  )
  return { atMaxCpu: cpuUs }
}

async function fixedRate(url, atMax) {
  // 2. CPU per request at a fixed rate, same connections, not pinned (a paced run needs no second core)
  const secs = SECONDS + 1
  const fr = { wrk: [], autocannon: [], idtool: [], 'idtool-undici': [] }
  for (let round = 1; round <= ROUNDS; round++) {
    if (HAS_WRK) fr.wrk.push(await wrk(url, { pin: false, rate: RATE, seconds: secs }))
    fr.autocannon.push(await nodeChild({ tool: 'autocannon', url, model: 'open', rate: RATE, seconds: secs }))
    const o = { tool: 'idtool', url, keepalive: true, model: 'open', rate: RATE, seconds: secs }
    fr.idtool.push(await nodeChild({ ...o, client: 'h1' }))
    fr['idtool-undici'].push(await nodeChild({ ...o, client: 'undici' }))
    process.stderr.write(`fixed rate ${RATE}/s: round ${round}/${ROUNDS} done\n`)
  }
  console.log(
    `2. CPU per request at a fixed ${f0(RATE)} requests/s, ${C} connections, keep-alive (median of rounds)`,
  )
  console.log(
    `   idtool: open model, --rate ${RATE}; wrk has no rate option: a Lua delay() staggers its connections over the`,
  )
  console.log(
    '   period (whole ms); autocannon: overallRate. CPU µs/request: whole run [each round]; steady = idtool between',
  )
  console.log(
    "   progress events after 0.5 s (no connect or result-encoding costs); the goal uses idtool's steady figure",
  )
  for (const [k, v] of Object.entries(fr)) {
    if (v.length === 0) continue
    const steady = median(v.map((r) => r.steadyCpuUs))
    const st = Number.isFinite(steady) ? `steady ${f1(steady).padStart(6)}` : ''.padEnd(13)
    const rps = median(v.map((r) => r.requests / secs))
    const waits = median(v.map((r) => r.waits / r.requests))
    console.log(
      `   ${k.padEnd(14)} ${f1(median(v.map(cpuPer))).padStart(6)} µs/request  ${st}  ${f3(waits)} wake-ups/request  at ${f0(rps)} req/s  [${v.map((r) => f1(cpuPer(r))).join(', ')}]`,
    )
  }
  for (const [k, v] of Object.entries(fr)) errorNote(k, v)
  const id = median(fr.idtool.map(goalCpu))
  const w = median(fr.wrk.map(cpuPer))
  const rc = id / w
  console.log(
    `   idtool at ${f0(RATE)}/s / wrk paced at ~${f0(RATE)}/s = ${f3(rc)}   goal <= 2.0   ${verdict(rc <= 2)}`,
  )
  console.log(
    `   idtool at ${f0(RATE)}/s / wrk at its own max (section 1) = ${f3(id / atMax.wrk)}   (context: wrk's cheapest per request)`,
  )
  console.log(
    `   idtool / idtool-undici at ${f0(RATE)}/s = ${f3(id / median(fr['idtool-undici'].map(goalCpu)))}`,
  )
  console.log('')
  verdicts.push([`CPU/request at ${RATE}/s <= 2 x wrk's (wrk paced by delay() at the same rate)`, rc <= 2])
}

async function handshake(url) {
  // 3. a new TLS connection per request, one core
  const hs = { ab: [], idtool: [], 'idtool-noresume': [], 'idtool-undici': [] }
  for (let round = 1; round <= ROUNDS; round++) {
    if (HAS_AB) hs.ab.push(await ab(url, { pin: true, keepalive: false }))
    const o = { tool: 'idtool', url, keepalive: false }
    hs.idtool.push(await nodeChild({ ...o, client: 'h1' }, { pin: true }))
    hs['idtool-noresume'].push(await nodeChild({ ...o, client: 'h1', resume: false }, { pin: true }))
    hs['idtool-undici'].push(await nodeChild({ ...o, client: 'undici' }, { pin: true }))
    process.stderr.write(`handshake round ${round}/${ROUNDS} done\n`)
  }
  const H = Object.fromEntries(Object.entries(hs).map(([k, v]) => [k, best(v.map((r) => r.rps))]))
  console.log(
    `3. Handshake per request on one core, ${C} connections: a new TLS connection per request (idtool --no-keepalive,`,
  )
  console.log('   i.e. Connection: close; ab without -k). Requests/s, best of rounds; all rounds in brackets')
  for (const [k, v] of Object.entries(hs)) {
    if (v.length === 0) continue
    console.log(
      `   ${k.padEnd(16)} ${f0(H[k]).padStart(7)} req/s   ${f1(median(v.map(cpuPer))).padStart(6)} µs/request   [${v.map((r) => f0(r.rps)).join(', ')}]`,
    )
  }
  for (const [k, v] of Object.entries(hs)) errorNote(k, v)
  const r = H.idtool / H.ab
  const rn = H['idtool-noresume'] / H.ab
  console.log(`   idtool / ab          = ${f3(r)}   goal >= 0.8   ${verdict(r >= 0.8)}`)
  console.log(`   idtool-noresume / ab = ${f3(rn)}   (like for like when ab does full handshakes: see 4)`)
  console.log(`   idtool / idtool-undici = ${f3(H.idtool / H['idtool-undici'])}`)
  console.log('')
  verdicts.push(
    ['handshake-per-request throughput >= 0.8 x ab (idtool default: sessions resumed)', r >= 0.8],
    ['handshake-per-request throughput >= 0.8 x ab (idtool, full handshakes like ab)', rn >= 0.8],
  )
}

async function resumption(hap) {
  // 4. who resumes TLS sessions: 200 requests, one connection at a time, a new connection per request
  const N = 200
  hap.takeProbeLog()
  const rows = []
  const probe = async (name, fn) => {
    await fn()
    await new Promise((r) => setTimeout(r, 300))
    rows.push([name, hap.takeProbeLog()])
  }
  if (HAS_AB) await probe('ab (no -k)', () => ab(hap.probeUrl, { keepalive: false, requests: N }))
  const o = { tool: 'idtool', url: hap.probeUrl, keepalive: false, connections: 1, probe: N }
  await probe('idtool --no-keepalive', () => nodeChild({ ...o, client: 'h1' }))
  await probe('idtool-noresume', () => nodeChild({ ...o, client: 'h1', resume: false }))
  await probe('idtool-undici', () => nodeChild({ ...o, client: 'undici' }))
  console.log(
    `4. TLS session resumption on new connections (${N} requests, one connection at a time, a new one per request;`,
  )
  console.log('   counted by haproxy: ssl_fc_is_resumed of each request)')
  for (const [name, p] of rows) {
    console.log(
      `   ${name.padEnd(22)} ${String(p.resumed).padStart(4)} of ${p.total} resumed   ${p.protocols}`,
    )
  }
  console.log('')
}

async function main() {
  for (const [ok, what] of [
    [has(HAPROXY), HAPROXY],
    [has('openssl'), 'openssl'],
    [has('curl'), 'curl'],
  ]) {
    if (!ok) {
      console.error(`${what} is missing (Debian: apt-get install haproxy openssl curl)`)
      process.exit(2)
    }
  }
  makeCertificates()
  const hap = await startHaproxy()
  try {
    console.log(
      `target ${hap.url}: haproxy ${spawnSync(HAPROXY, ['-v']).stdout.toString().split(' ')[2]} TLS frontend answering 200 by itself, one thread, ${hap.pinned}`,
    )
    console.log(
      `certificates: throw-away CA, server ${KEY === 'ec' ? 'EC P-256' : 'RSA 2048'}; ${C} connections for every tool, ${SECONDS} s runs, ${ROUNDS} rounds, ${CORES} cores`,
    )
    console.log(
      `load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} (shared machine: figures are noisy)`,
    )
    console.log(
      `generators on one core: ${TASKSET ? 'taskset -c 0' : 'taskset unavailable, not pinned'}; node ${process.version}; ${spawnSync('openssl', ['version']).stdout.toString().trim()}\n`,
    )
    let atMax = { wrk: Number.NaN }
    if (!SKIP.has('throughput')) atMax = (await throughput(hap.url)).atMaxCpu
    if (!SKIP.has('rate')) await fixedRate(hap.url, atMax)
    if (!SKIP.has('handshake')) await handshake(hap.url)
    if (!SKIP.has('resume')) await resumption(hap)
    console.log('Goals judged in this run:')
    for (const [goal, met] of verdicts) console.log(`   ${verdict(met)}  ${goal}`)
  } finally {
    await hap.stop()
  }
}

try {
  await main()
} finally {
  rmSync(tmp, { recursive: true, force: true })
}
