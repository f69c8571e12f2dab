#!/usr/bin/env node
// Benchmark: `idtool revoke-bulk --count N` on the lab, side by side in one run with
//   1. Keystone's own ceiling at the same concurrency, measured by independent C load tools sending the same
//      requests through the same haproxy:
//      - issue:  `ab -k -c C` POSTing the same token-method body (POST /v3/auth/tokens?nocatalog);
//                ceiling = 201 answers / ab's time;
//      - revoke: `wrk -t1 -c C` with a Lua script that sends DELETE /v3/auth/tokens with a distinct
//                X-Subject-Token per request, walking a list of fresh tokens (each revoked once). ab cannot
//                vary a header per request, hence wrk. wrk runs for a fixed time (its thread:stop() does not
//                end the run early) with a list longer than it can revoke in that time; ceiling = answered
//                DELETEs / wrk's measured duration.
//   2. one-process-per-token shell loops, sequential, on small samples, extrapolated as rates:
//      - classic: `openstack token issue` (a fresh process authenticating with the password, like the old
//        `keystone token-get`) then `curl -X DELETE`, per token;
//      - curl-password: `curl` POST with the password, then `curl -X DELETE`;
//      - curl-token: `curl` POST with the token method (the fastest a shell loop can be), then `curl -X DELETE`.
// Goals: idtool >= 90 % of the ceiling, >= 20x the classic loop (the other loops are shown for context).
//
// Two modes compare idtool with the ceiling (--mode):
//
// steady (default): R rounds (--rounds, default 3) of ONE `revoke-bulk --count N` run (the library in-process,
// the same code the command runs) bracketed by Keystone's ceiling measured just before and just after it:
//   even rounds: ab -> idtool -> ab -> wrk        odd rounds: wrk -> ab -> idtool -> ab
// - issue ceiling of a round = mean of the two ab runs (N token-method POSTs each) around idtool;
// - revoke ceiling of a round = one wrk run (distinct tokens), on the other side of idtool every other round;
// - the revocation events a step made (idtool's, wrk's) are deleted again right after it, by the audit ids of the
//   tokens this bench issued (nobody else's rows; SQLite lab only, through sqlite3; 1 s after wrk so its
//   uncounted in-flight DELETEs have landed), so every issue and revoke figure starts from the same event
//   count: token-method issues get slower with every event (Keystone checks the caller token against the
//   events), so without this the ab run after idtool would see N more events than idtool did and flatter it.
//   wrk runs as long as idtool's last revoke phase, so it walks the same range of event counts.
//   (The deleted rows' tokens would validate again until they expire; they exist only in the removed temp dir.)
// - idtool's figures are the result's own issueRatePerSec / revokeRatePerSec: tokens / phase time, the phase
//   including the lone first token and the drain at the end, like ab's time includes its connection set-up
//   and drain. Start-up and the password authentication are not in them (the session is opened once, before).
//   A "steady" issue rate (first to last issued token, from the ledger's timestamps) is printed for context only.
// - reported: per-round figures, the medians over rounds of each rate, and the median of the per-round ratios
//   (the goal is judged on that median ratio).
//
// slices: the older method. The N tokens are revoked in S consecutive revoke-bulk runs of N/S (--slices,
// default 8), each next to a ceiling slice (ab N/S issues + wrk 2D/S seconds of revokes), alternating which
// goes first: C I | I C | C I | I C. Rates are totals over the slices (tokens / summed phase time). Every
// slice starts fresh connections and a lone first token, and the events pile up across slices.
//
// Every run adds the shell loops' revocation events (slices mode also N + the wrk revokes; steady mode deletes
// its own idtool and wrk events again); Keystone prunes events after about 1.5 h; `idtool lab clear-revocations`.
//
// Client CPU: the bench also reports the CPU time idtool's process spent per request (issue + revoke, from
// process.cpuUsage() around the revoke-bulk slices) and, when /usr/bin/time exists, ab's per issue request:
// on a 2-core lab every client microsecond is taken from Keystone.
//
// Usage: npm run build && node bench/revoke-bulk.mjs [--mode steady|slices] [--count 2000] [--concurrency 4]
//        [--rounds 3] [--slices 8] [--wrk-seconds S] [--shell 50] [--classic 10] [--no-loops]
// --wrk-seconds: slices mode: total wrk time D (default 8); steady mode: each wrk run (default: as long as
// idtool's last revoke phase, N/150 s before the first).
// --no-loops skips the shell loops (and the 20x goal): a quicker run for the ceiling ratios only.
// Secrets (the admin token, issued tokens) only ever go to 0600 files in a private temporary directory that
// is removed at the end; nothing secret is printed.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { isLoopbackUrl } from '../dist/config/auth.js'
import { issueTokens } from '../dist/keystone/issue.js'
import { readPool } from '../dist/keystone/pool.js'
import { revokeBulk } from '../dist/keystone/revoke.js'
import { openSession } from '../dist/keystone/session.js'
import { defaultLabDir, LAB_CLOUD, labPaths } from '../dist/lab/layout.js'
import { labRevocationTarget } from '../dist/lab/revocations.js'
import { resolveAuthOrLab } from '../dist/lab/target.js'
import { runProcess } from './lib.mjs'

const { values: args } = parseArgs({
  options: {
    count: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '4' },
    mode: { type: 'string', default: 'steady' },
    rounds: { type: 'string', default: '3' },
    slices: { type: 'string', default: '8' },
    'wrk-seconds': { type: 'string' },
    'wrk-max-rate': { type: 'string', default: '200' },
    shell: { type: 'string', default: '50' },
    classic: { type: 'string', default: '10' },
    'no-loops': { type: 'boolean', default: false },
  },
})
const LOOPS = !args['no-loops']
const COUNT = Number(args.count)
const C = Number(args.concurrency)
const MODE = args.mode
if (MODE !== 'steady' && MODE !== 'slices') throw new Error(`bad --mode ${MODE}: steady or slices`)
const ROUNDS = Number(args.rounds)
const S = Number(args.slices)
const WRK_AUTO = args['wrk-seconds'] === undefined
const WRK_S = WRK_AUTO ? 8 : Number(args['wrk-seconds'])
const WRK_MAX = Number(args['wrk-max-rate'])
const SHELL = Number(args.shell)
const CLASSIC = Number(args.classic)
for (const [k, v] of Object.entries({ COUNT, C, S, ROUNDS, SHELL, CLASSIC, WRK_S, WRK_MAX })) {
  if (!Number.isInteger(v) || v < 1 || v > 20_000) throw new Error(`bad ${k}: ${v}`)
}

const log = (m) => process.stderr.write(`[bench] ${m}\n`)

/** Run a program, capture its output; bounded by a timeout. */
const run = (cmd, argv, { timeoutMs = 300_000, env } = {}) => runProcess(cmd, argv, { timeoutMs, env })

const settings = resolveAuthOrLab({ flags: {}, env: process.env })
if (!isLoopbackUrl(settings.authUrl))
  throw new Error(`the bench runs against the lab only, not ${settings.authUrl}`)
const TIME = (await run('sh', ['-c', 'test -x /usr/bin/time'])).code === 0 ? '/usr/bin/time' : undefined
for (const tool of ['ab', 'wrk', 'curl', 'bash']) {
  if ((await run('sh', ['-c', `command -v ${tool}`])).code !== 0) throw new Error(`${tool} is not installed`)
}

const dir = mkdtempSync(join(tmpdir(), 'idtool-bench-revoke-'))
const secret = (name, text) => {
  const p = join(dir, name)
  writeFileSync(p, text, { mode: 0o600 })
  return p
}
const session = await openSession(settings, { connections: C, timeoutMs: 30_000 })
const base = session.client.base
const eventsNow = async () => (await session.client.listRevocationEvents(session.caller.token)).length

/** Fresh tokens for the wrk runs (token method, like idtool's), as a 0600 list file, and their audit ids. */
async function freshTokens(name, n) {
  const pool = join(dir, `${name}.jsonl`)
  const r = await issueTokens({ session, count: n, out: pool, concurrency: C })
  if (r.issued !== n) throw new Error(`could only issue ${r.issued} of ${n} tokens for ${name}`)
  const entries = readPool(pool)
  const file = secret(`${name}.txt`, `${entries.map((e) => e.token).join('\n')}\n`)
  return { file, auditIds: entries.map((e) => e.auditId) }
}

/**
 * Delete the revocation events of the given audit ids (tokens this bench issued and revoked) from the lab's
 * SQLite database, so the next step starts at the same event count. Keystone's revocation listing is not
 * cached on the lab, so the rows are gone for it at once. Returns the number deleted.
 */
async function deleteEventsOf(auditIds) {
  const target = labRevocationTarget(defaultLabDir())
  if (target.kind !== 'sqlite') return 0
  const ids = auditIds.filter((a) => typeof a === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(a))
  if (!ids.length) return 0
  const parts = ['CREATE TEMP TABLE bench_ids(a TEXT PRIMARY KEY);']
  for (let i = 0; i < ids.length; i += 500) {
    parts.push(
      `INSERT OR IGNORE INTO bench_ids VALUES ${ids
        .slice(i, i + 500)
        .map((a) => `('${a}')`)
        .join(',')};`,
    )
  }
  parts.push('DELETE FROM revocation_event WHERE audit_id IN (SELECT a FROM bench_ids);', 'SELECT changes();')
  const sqlFile = secret('delete-events.sql', `${parts.join('\n')}\n`)
  const r = await run('sqlite3', [
    '-batch',
    '-bail',
    '-noheader',
    target.path,
    '.timeout 30000',
    `.read ${sqlFile}`,
  ])
  const n = Number(r.stdout.trim().split('\n').at(-1))
  if (r.code !== 0 || !Number.isInteger(n))
    throw new Error(`sqlite3 failed (${r.code}): ${r.stderr.slice(0, 300)}`)
  return n
}

/** The audit ids of the tokens a revoke-bulk ledger records as issued. */
function ledgerAuditIds(ledgerFile) {
  return readFileSync(ledgerFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((e) => e.s === 'issued')
    .map((e) => e.auditId)
}

const WRK_LUA = `
-- DELETE /v3/auth/tokens, a distinct X-Subject-Token per request; GET /v3 fillers if the list is used up
-- (never counted; reported as exhausted). Counters are globals so done() can read them with thread:get().
local tokens, n, idx = {}, 0, 0
local auth, path
answered, revoked, other, exhausted = 0, 0, 0, 0
function init(args)
  for line in io.lines(args[1]) do if #line > 0 then tokens[#tokens + 1] = line end end
  n = #tokens
  local f = io.open(args[2]); auth = f:read("*l"); f:close()
  path = args[3]
end
function request()
  idx = idx + 1
  if idx <= n then
    return wrk.format("DELETE", path, { ["X-Auth-Token"] = auth, ["X-Subject-Token"] = tokens[idx] })
  end
  exhausted = 1
  return wrk.format("GET", "/v3", {})
end
function response(status, headers, body)
  if status == 204 or status == 404 then
    answered = answered + 1
    if status == 204 then revoked = revoked + 1 end
  elseif status ~= 200 then
    other = other + 1
  end
end
local threads = {}
function setup(thread) table.insert(threads, thread) end
function done(summary, latency, requests)
  local t = threads[1]
  io.write(string.format('WRKRESULT {"durationUs":%d,"answered":%d,"revoked":%d,"other":%d,"exhausted":%d,"errors":%d}\\n',
    summary.duration, t:get("answered"), t:get("revoked"), t:get("other"), t:get("exhausted"),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
`

async function wrkRevoke(tokensFile, seconds) {
  const lua = secret('revoke.lua', WRK_LUA)
  const auth = secret('auth.txt', `${session.caller.token}\n`)
  const url = new URL(base)
  const r = await run(
    'wrk',
    [
      '-t1',
      `-c${C}`,
      `-d${seconds}s`,
      '--timeout',
      '30s',
      '-s',
      lua,
      `${url.origin}/`,
      '--',
      tokensFile,
      auth,
      `${url.pathname}/auth/tokens`,
    ],
    { timeoutMs: 180_000 },
  )
  const m = /WRKRESULT (\{.*\})/.exec(r.stdout)
  if (!m) throw new Error(`wrk failed (${r.code}): ${r.stderr.slice(0, 300)}`)
  const j = JSON.parse(m[1])
  if (j.exhausted) log('wrk used up its tokens: the revoke ceiling is underestimated, raise --wrk-max-rate')
  if (j.other || j.errors) log(`wrk: ${j.other} unexpected statuses, ${j.errors} socket errors`)
  return { ...j, rate: j.answered / (j.durationUs / 1e6) }
}

const scopeJson = (sc) => ({ project: { name: sc.projectName, domain: { name: sc.projectDomainName } } })

async function abIssue(n) {
  const body = secret(
    'issue.json',
    JSON.stringify({
      auth: {
        identity: { methods: ['token'], token: { id: session.caller.token } },
        ...(session.scope ? { scope: scopeJson(session.scope) } : {}),
      },
    }),
  )
  // with /usr/bin/time, ab's own CPU time (user + system seconds) is printed last on stderr
  const abArgs = [
    '-q',
    '-k',
    '-n',
    String(n),
    '-c',
    String(C),
    '-p',
    body,
    '-T',
    'application/json',
    `${base}/auth/tokens?nocatalog`,
  ]
  const r = TIME ? await run(TIME, ['-f', 'ABCPU %U %S', 'ab', ...abArgs]) : await run('ab', abArgs)
  const cpu = /ABCPU ([\d.]+) ([\d.]+)/.exec(r.stderr)
  const cpuSec = cpu ? Number(cpu[1]) + Number(cpu[2]) : Number.NaN
  const num = (re) => Number(re.exec(r.stdout)?.[1] ?? Number.NaN)
  const complete = num(/Complete requests:\s+(\d+)/)
  const non2xx = /Non-2xx responses:\s+(\d+)/.exec(r.stdout)?.[1] ?? '0'
  const failed = num(/Failed requests:\s+(\d+)/)
  const seconds = num(/Time taken for tests:\s+([\d.]+)/)
  if (r.code !== 0 || !Number.isFinite(seconds))
    throw new Error(`ab failed (${r.code}): ${r.stderr.slice(0, 300)}`)
  if (Number(non2xx) || failed) log(`ab: ${non2xx} non-2xx, ${failed} failed of ${complete}`)
  return {
    complete,
    ok: complete - Number(non2xx),
    rate: (complete - Number(non2xx)) / seconds,
    seconds,
    cpuSec,
  }
}

/**
 * One process per token, sequential, as operators do it: `issueCmd` prints one token per run (a fresh process
 * each time), then `curl -X DELETE` per token. Tokens and credentials go through 0600 files, never argv.
 */
async function shellLoop(name, n, issueCmd, env = {}) {
  const auth = secret('auth.h', `X-Auth-Token: ${session.caller.token}\n`)
  const list = join(dir, `${name}-tokens.txt`)
  const issueScript = secret(
    `${name}-issue.sh`,
    `set -u; umask 077; : > "${list}"
for i in $(seq 1 ${n}); do
  ${issueCmd} >> "${list}"
done
`,
  )
  const revokeScript = secret(
    `${name}-revoke.sh`,
    `set -u; umask 077; ok=0
while read -r t; do
  printf 'X-Subject-Token: %s\\n' "$t" > "${dir}/subject.h"
  code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H @"${auth}" -H @"${dir}/subject.h" '${base}/auth/tokens')
  [ "$code" = 204 ] && ok=$((ok+1))
done < "${list}"
echo "revoked=$ok"
`,
  )
  const iss = await run('bash', [issueScript], { timeoutMs: 600_000, env })
  const issued = readFileSync(list, 'utf8').split('\n').filter(Boolean).length
  const rev = await run('bash', [revokeScript], { timeoutMs: 300_000 })
  const revoked = Number(/revoked=(\d+)/.exec(rev.stdout)?.[1] ?? 0)
  if (issued !== n || revoked !== issued) log(`${name}: issued ${issued} of ${n}, revoked ${revoked}`)
  return {
    name,
    n,
    issued,
    revoked,
    issueRate: issued / (iss.ms / 1000),
    revokeRate: revoked / (rev.ms / 1000),
    pairRate: Math.min(issued, revoked) / ((iss.ms + rev.ms) / 1000),
  }
}

function curlIssue(bodyFile) {
  return `curl -s -o /dev/null -D - -X POST -H 'Content-Type: application/json' --data @"${bodyFile}" '${base}/auth/tokens?nocatalog' | grep -i '^x-subject-token:' | cut -d' ' -f2 | tr -d '\\r'`
}

const fmt = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a')
const pct = (a, b) => `${fmt((100 * a) / b, 0)}%`
const sum = (xs, f) => xs.reduce((a, x) => a + f(x), 0)
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** One idtool revoke-bulk --count n, in-process, with the client CPU it took. */
async function idtoolRun(name, n) {
  const ledger = join(dir, `ledger-${name}.jsonl`)
  const c0 = process.cpuUsage()
  const r = await revokeBulk({ session, count: n, ledger, concurrency: C, countEvents: false })
  const c = process.cpuUsage(c0)
  if (r.failed) log(`idtool: ${r.failed} failed`)
  return { ...r, ledgerFile: ledger, cpuSec: (c.user + c.system) / 1e6 }
}

/** Issue rate between the first and the last issued token, from the ledger's timestamps (context only). */
function steadyIssueRate(ledgerFile) {
  const ts = readFileSync(ledgerFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((e) => e.s === 'issued')
    .map((e) => Date.parse(e.at))
  if (ts.length < 2) return Number.NaN
  return (ts.length - 1) / ((Math.max(...ts) - Math.min(...ts)) / 1000)
}

/** The older method: S slices of N/S tokens, each next to a ceiling slice. */
async function runSlices() {
  const per = Math.ceil(COUNT / S)
  const wrkSeconds = Math.max(1, Math.round((2 * WRK_S) / S))
  const wrkTokens = wrkSeconds * WRK_MAX
  log(`mode slices: ${S} slices of ${per} tokens`)
  log(
    `issuing ${S} x ${wrkTokens} tokens for the wrk slices (wrk revokes what it can in ${wrkSeconds} s each)`,
  )
  const lists = []
  for (let i = 0; i < S; i++) lists.push(await freshTokens(`wrk-${i}`, wrkTokens))
  const abRuns = []
  const wrkRuns = []
  const idtRuns = []
  const ceilingSlice = async (i) => {
    log(`slice ${i + 1}/${S}: ab ${per} token-method POSTs, wrk ${wrkSeconds} s of DELETEs`)
    abRuns.push(await abIssue(per))
    wrkRuns.push(await wrkRevoke(lists[i].file, wrkSeconds))
  }
  const idtoolSlice = async (i) => {
    log(`slice ${i + 1}/${S}: idtool revoke-bulk --count ${per} --concurrency ${C}`)
    idtRuns.push(await idtoolRun(`slice-${i}`, per))
  }
  for (let i = 0; i < S; i++) {
    if (i % 2 === 0) {
      await ceilingSlice(i)
      await idtoolSlice(i)
    } else {
      await idtoolSlice(i)
      await ceilingSlice(i)
    }
  }
  const abRate = sum(abRuns, (r) => r.ok) / sum(abRuns, (r) => r.seconds)
  const revokeCeiling = sum(wrkRuns, (r) => r.answered) / (sum(wrkRuns, (r) => r.durationUs) / 1e6)
  // idtool's rates over all slices: tokens / summed phase time (each result's rate is per its own phases)
  const issued = sum(idtRuns, (r) => r.issued)
  const answered = sum(idtRuns, (r) => r.revoked + r.skipped)
  const issueSec = sum(idtRuns, (r) => (r.issueRatePerSec ? r.issued / r.issueRatePerSec : 0))
  const revokeSec = sum(idtRuns, (r) =>
    r.revokeRatePerSec ? (r.revoked + r.skipped) / r.revokeRatePerSec : 0,
  )
  const idtIssue = issued / issueSec
  const idtRevoke = answered / revokeSec
  const sliceRates = (xs, f) => xs.map((x) => fmt(f(x), 0)).join(' ')
  const lines = [
    `mode slices: ${COUNT} tokens in ${S} revoke-bulk runs of ${per}, each next to a ceiling slice (C I | I C ...);`,
    '  rates are totals over the slices (tokens / summed phase time). Events pile up across the slices.',
    `  ${'operation'.padEnd(8)}${'idtool/s'.padStart(10)}${'ceiling/s'.padStart(11)}${'idtool/ceiling'.padStart(16)}  ceiling measured with`,
    `  ${'issue'.padEnd(8)}${fmt(idtIssue).padStart(10)}${fmt(abRate).padStart(11)}${pct(idtIssue, abRate).padStart(16)}  ab -k -c${C}, token-method POST; per slice ${sliceRates(abRuns, (r) => r.rate)} vs idtool ${sliceRates(idtRuns, (r) => r.issueRatePerSec)}`,
    `  ${'revoke'.padEnd(8)}${fmt(idtRevoke).padStart(10)}${fmt(revokeCeiling).padStart(11)}${pct(idtRevoke, revokeCeiling).padStart(16)}  wrk -t1 -c${C} + Lua, distinct tokens; per slice ${sliceRates(wrkRuns, (r) => r.rate)} vs idtool ${sliceRates(idtRuns, (r) => r.revokeRatePerSec)}`,
  ]
  return {
    lines,
    idtRuns,
    abRuns,
    issueRatio: idtIssue / abRate,
    revokeRatio: idtRevoke / revokeCeiling,
    wrkRevoked: sum(wrkRuns, (r) => r.revoked),
    deletedEvents: 0,
  }
}

/**
 * Steady mode: R rounds of one revoke-bulk --count N bracketed by ab (issue ceiling before and after) and one
 * wrk run (revoke ceiling) on alternating sides; the events each step made are deleted again after it.
 */
async function runSteady() {
  const level = await eventsNow()
  const sqlite = labRevocationTarget(defaultLabDir()).kind === 'sqlite'
  if (!sqlite) log('the lab is not on SQLite: events are not deleted between steps and pile up (less fair)')
  let deletedEvents = 0
  const resetEvents = async (auditIds) => {
    deletedEvents += await deleteEventsOf(auditIds)
  }
  let wrkSeconds = WRK_AUTO ? Math.max(2, Math.ceil(COUNT / 150)) : WRK_S
  log(
    `mode steady: ${ROUNDS} rounds of one revoke-bulk --count ${COUNT}, bracketed by ab; events kept at ${level}`,
  )
  const rounds = []
  for (let r = 0; r < ROUNDS; r++) {
    const wrkTokens = Math.ceil(wrkSeconds * WRK_MAX)
    log(`round ${r + 1}/${ROUNDS}: issuing ${wrkTokens} tokens for wrk (not timed)`)
    const list = await freshTokens(`wrk-${r}`, wrkTokens)
    const round = {}
    const wrkStep = async () => {
      log(`round ${r + 1}/${ROUNDS}: wrk ${wrkSeconds} s of DELETEs`)
      round.wrk = await wrkRevoke(list.file, wrkSeconds)
      // wrk exits with up to C DELETEs still in Keystone: let them land before deleting their events
      await new Promise((r) => setTimeout(r, 1000))
      await resetEvents(list.auditIds)
    }
    if (r % 2 === 1) await wrkStep()
    log(`round ${r + 1}/${ROUNDS}: ab ${COUNT} token-method POSTs (before)`)
    round.abBefore = await abIssue(COUNT)
    log(`round ${r + 1}/${ROUNDS}: idtool revoke-bulk --count ${COUNT} --concurrency ${C}`)
    round.idt = await idtoolRun(`round-${r}`, COUNT)
    round.idtSteady = steadyIssueRate(round.idt.ledgerFile)
    await resetEvents(ledgerAuditIds(round.idt.ledgerFile))
    log(`round ${r + 1}/${ROUNDS}: ab ${COUNT} token-method POSTs (after)`)
    round.abAfter = await abIssue(COUNT)
    if (r % 2 === 0) await wrkStep()
    round.issueCeiling = (round.abBefore.rate + round.abAfter.rate) / 2
    round.issueRatio = round.idt.issueRatePerSec / round.issueCeiling
    round.revokeRatio = round.idt.revokeRatePerSec / round.wrk.rate
    rounds.push(round)
    const idtRevokeSec = (round.idt.revoked + round.idt.skipped) / round.idt.revokeRatePerSec
    if (WRK_AUTO && Number.isFinite(idtRevokeSec)) wrkSeconds = Math.max(2, Math.round(idtRevokeSec))
  }
  const w = (s, n) => String(s).padStart(n)
  const lines = [
    `mode steady: ${ROUNDS} rounds, each ONE idtool revoke-bulk --count ${COUNT} (library in-process, session opened once),`,
    `  Keystone's issue ceiling measured by ab -k -c${C} (${COUNT} token-method POSTs) just before AND just after idtool`,
    `  (ceiling = mean of the two), its revoke ceiling by one wrk -t1 -c${C} run (distinct tokens) before or after,`,
    `  alternating by round; ${sqlite ? `the events each step made (its own tokens' audit ids) are deleted after it, so all start at ${level} events` : 'events pile up (not SQLite)'}.`,
    `  idtool issue/s = the result's issueRatePerSec (issued / issue-phase time, lone first token and drain included);`,
    '  idtool steady/s = first to last issued token, from the ledger (context only, not used for the goal);',
    "  idtool revoke/s = the result's revokeRatePerSec (answered / revoke-phase time).",
    `  ${'round'.padEnd(6)}${w('ab before', 10)}${w('ab after', 10)}${w('ceiling', 9)}${w('idtool', 8)}${w('steady', 8)}${w('issue %', 9)}${w('wrk', 8)}${w('idtool', 8)}${w('revoke %', 10)}`,
  ]
  rounds.forEach((x, i) => {
    lines.push(
      `  ${String(i + 1).padEnd(6)}${w(fmt(x.abBefore.rate), 10)}${w(fmt(x.abAfter.rate), 10)}${w(fmt(x.issueCeiling), 9)}${w(fmt(x.idt.issueRatePerSec), 8)}${w(fmt(x.idtSteady), 8)}${w(pct(x.issueRatio, 1), 9)}${w(fmt(x.wrk.rate), 8)}${w(fmt(x.idt.revokeRatePerSec), 8)}${w(pct(x.revokeRatio, 1), 10)}${i % 2 ? '  (wrk first)' : '  (wrk last)'}`,
    )
  })
  const med = (f) => median(rounds.map(f))
  lines.push(
    `  ${'median'.padEnd(6)}${w('', 10)}${w('', 10)}${w(fmt(med((x) => x.issueCeiling)), 9)}${w(fmt(med((x) => x.idt.issueRatePerSec)), 8)}${w(fmt(med((x) => x.idtSteady)), 8)}${w(
      pct(
        med((x) => x.issueRatio),
        1,
      ),
      9,
    )}${w(fmt(med((x) => x.wrk.rate)), 8)}${w(fmt(med((x) => x.idt.revokeRatePerSec)), 8)}${w(
      pct(
        med((x) => x.revokeRatio),
        1,
      ),
      10,
    )}`,
  )
  lines.push('  (median row: medians of each column; the % columns are medians of the per-round ratios)')
  return {
    lines,
    idtRuns: rounds.map((x) => x.idt),
    abRuns: rounds.flatMap((x) => [x.abBefore, x.abAfter]),
    issueRatio: med((x) => x.issueRatio),
    revokeRatio: med((x) => x.revokeRatio),
    wrkRevoked: sum(rounds, (x) => x.wrk.revoked),
    deletedEvents,
  }
}

try {
  const e0 = await eventsNow()
  log(`lab ${base}, concurrency ${C}, ${e0} revocation events at the start`)
  const cmp = MODE === 'steady' ? await runSteady() : await runSlices()
  const { idtRuns, abRuns } = cmp
  const idt = {
    issued: sum(idtRuns, (r) => r.issued),
    revoked: sum(idtRuns, (r) => r.revoked),
    answered: sum(idtRuns, (r) => r.revoked + r.skipped),
    failed: sum(idtRuns, (r) => r.failed),
    durationMs: sum(idtRuns, (r) => r.durationMs),
  }
  const idtCpuUs = (1e6 * sum(idtRuns, (r) => r.cpuSec)) / (idt.issued + idt.answered)
  const abCpuUs = (1e6 * sum(abRuns, (r) => r.cpuSec)) / sum(abRuns, (r) => r.complete)

  const lab = labPaths(defaultLabDir())
  const skipped = {
    n: 0,
    issued: 0,
    revoked: 0,
    issueRate: Number.NaN,
    revokeRate: Number.NaN,
    pairRate: Number.NaN,
  }
  if (!LOOPS) log('--no-loops: skipping the shell loops')
  else log(`classic loop: ${CLASSIC} x (openstack token issue; curl -X DELETE)`)
  const classic = !LOOPS
    ? { ...skipped, name: 'classic' }
    : await shellLoop('classic', CLASSIC, 'openstack token issue -f value -c id', {
        OS_CLIENT_CONFIG_FILE: lab.cloudsYaml,
        OS_CLOUD: LAB_CLOUD,
      })
  const pwBody = secret(
    'password.json',
    JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: {
            user: {
              name: settings.username,
              domain: { name: settings.userDomainName },
              password: settings.password,
            },
          },
        },
        ...(session.scope ? { scope: scopeJson(session.scope) } : {}),
      },
    }),
  )
  if (LOOPS) log(`curl loop, password method: ${SHELL} x (curl POST; curl -X DELETE)`)
  const curlPw = !LOOPS
    ? { ...skipped, name: 'curl-password' }
    : await shellLoop('curl-password', SHELL, curlIssue(pwBody))
  if (LOOPS) log(`curl loop, token method: ${SHELL} x (curl POST; curl -X DELETE)`)
  const curlTok = !LOOPS
    ? { ...skipped, name: 'curl-token' }
    : await shellLoop('curl-token', SHELL, curlIssue(join(dir, 'issue.json')))
  const e1 = await eventsNow()

  // steady mode deletes its events by audit id, including those of wrk's uncounted in-flight DELETEs
  const uncounted = Math.max(0, cmp.deletedEvents - cmp.wrkRevoked - idt.revoked)
  const ours =
    cmp.wrkRevoked +
    uncounted +
    idt.revoked +
    classic.revoked +
    curlPw.revoked +
    curlTok.revoked -
    cmp.deletedEvents
  const foreign = e1 - e0 - ours
  const idtPair = idt.issued / (idt.durationMs / 1000)
  const loops = [classic, curlPw, curlTok]
  const out = []
  out.push(`revoke-bulk benchmark (--mode ${MODE}): concurrency ${C}, lab ${base}, ${e0} events at the start`)
  out.push('')
  out.push("vs Keystone's own ceiling at the same concurrency, same requests, same run:")
  out.push(...cmp.lines)
  out.push(
    `client CPU per request: idtool ${fmt(idtCpuUs, 0)} us (issue + revoke, whole process), ab ${fmt(abCpuUs, 0)} us (issue)`,
  )
  out.push('')
  if (LOOPS)
    out.push(
      `vs one process per token, sequential (issue+revoke per token; idtool ${fmt(idtPair)}/s end to end):`,
    )
  for (const l of LOOPS ? loops : []) {
    out.push(
      `  ${l.name.padEnd(14)} n=${String(l.n).padEnd(4)} issue ${fmt(l.issueRate).padStart(6)}/s  revoke ${fmt(l.revokeRate).padStart(6)}/s  per token ${fmt(l.pairRate, 2).padStart(6)}/s  idtool is ${fmt(idtPair / l.pairRate)}x`,
    )
  }
  if (LOOPS) {
    out.push(
      '  (classic = `openstack token issue` + `curl -X DELETE`; curl-password = curl POST with the password;',
    )
    out.push('   curl-token = curl POST with the token method, the fastest a shell loop can be)')
    out.push('')
  }
  out.push(
    `goal >= 90% of the ceiling: issue ${cmp.issueRatio >= 0.9 ? 'met' : 'MISSED'} (${pct(cmp.issueRatio, 1)}), ` +
      `revoke ${cmp.revokeRatio >= 0.9 ? 'met' : 'MISSED'} (${pct(cmp.revokeRatio, 1)})`,
  )
  if (LOOPS)
    out.push(
      `goal >= 20x the classic loop: ${idtPair >= 20 * classic.pairRate ? 'met' : 'MISSED'} (${fmt(idtPair / classic.pairRate)}x; ` +
        `${fmt(idtPair / curlPw.pairRate)}x curl-password, ${fmt(idtPair / curlTok.pairRate)}x curl-token)`,
    )
  out.push(
    `idtool: issued ${idt.issued}, revoked ${idt.revoked}, failed ${idt.failed} in ${fmt(idt.durationMs / 1000)} s over ${idtRuns.length} runs`,
  )
  out.push(
    `revocation events: ${e0} -> ${e1} (+${e1 - e0}; this bench revoked ${ours + cmp.deletedEvents}` +
      `${cmp.deletedEvents ? `, deleted ${cmp.deletedEvents} of its own again` : ''})`,
  )
  // wrk does not count the answers of the DELETEs in flight when its time is up (up to C per wrk run)
  const wrkRunsN = MODE === 'steady' ? ROUNDS : S
  if (foreign > 0 && foreign <= C * wrkRunsN && cmp.deletedEvents === 0) {
    out.push(`(+${foreign}: wrk's DELETEs in flight when its time ran out, which it does not count)`)
  } else if (foreign !== 0) {
    out.push(
      `WARNING: the event count also changed by ${foreign} from outside this bench (another run on the lab, or pruning):`,
    )
    out.push('         the ceilings and idtool may have run at different event counts; rerun on a quiet lab.')
  }
  process.stdout.write(`${out.join('\n')}\n`)
} finally {
  await session.close()
  rmSync(dir, { recursive: true, force: true })
}
