#!/usr/bin/env node
// Benchmark: the issue and revoke rates of `idtool revoke-bulk --count N` on the lab with each kind of caller,
// side by side in one run:
//   password  - the cloud idtool-lab (password authentication once, then the token method for every token);
//   token     - auth_type token with OS_TOKEN (a token from the lab admin; the token method for every token);
//   appcred   - the cloud idtool-lab-appcred (an application credential: Keystone refuses the token method for
//               its tokens, so every token is issued by authenticating with the application credential).
// Rounds interleave the kinds (R rounds, the order rotated each round); every run is the real CLI (`--json`),
// and the figures are the result's own issueRatePerSec / revokeRatePerSec. Medians over rounds and the ratio
// of each kind to the password caller are printed. Each run adds N revocation events to the lab.
// Then validation: `bench validate --concurrency 2 --requests V` by each caller kind, of a pool of tokens issued
// by a password caller and of a pool issued by the application credential (Keystone validates both the caller
// token and the subject token, and either may come from an application credential), interleaved the same way.
//
// Usage: npm run build && node bench/caller-kinds.mjs [--count 200] [--concurrency 4] [--rounds 3]
// Secrets (the token) go to the child's environment only, never to argv or to the output.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { runProcess } from './lib.mjs'

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '3' },
    validations: { type: 'string', default: '60' },
  },
})
const N = Number(values.count)
const C = Number(values.concurrency)
const R = Number(values.rounds)
const V = Number(values.validations)
const BIN = new URL('../bin/run.js', import.meta.url).pathname
const { defaultLabDir, labPaths } = await import('../dist/lab/layout.js')
const { resolveAuth } = await import('../dist/config/auth.js')
const { openSession } = await import('../dist/keystone/session.js')
const lab = labPaths(defaultLabDir())
const dir = mkdtempSync(join(tmpdir(), 'idtool-callers-'))
const labEnv = {
  OS_CLIENT_CONFIG_FILE: lab.cloudsYaml,
  OS_CLIENT_SECURE_FILE: lab.secureYaml,
  IDTOOL_LAB_DIR: lab.dir,
}

async function tokenEnv() {
  const s = await openSession(resolveAuth({ flags: {}, env: { ...labEnv, OS_CLOUD: 'idtool-lab' } }))
  const token = s.caller.token
  await s.close()
  const file = join(dir, 'token-clouds.yaml')
  writeFileSync(
    file,
    'clouds:\n  lab-token:\n    auth_type: token\n    auth:\n      auth_url: http://127.0.0.1:5000/v3\n      project_name: admin\n      project_domain_name: Default\n',
    { mode: 0o600 },
  )
  return { OS_CLIENT_CONFIG_FILE: file, OS_CLOUD: 'lab-token', OS_TOKEN: token, IDTOOL_LAB_DIR: lab.dir }
}

const kinds = {
  password: { ...labEnv, OS_CLOUD: 'idtool-lab' },
  token: await tokenEnv(),
  appcred: { ...labEnv, OS_CLOUD: 'idtool-lab-appcred' },
}
const names = Object.keys(kinds)
const rates = Object.fromEntries(names.map((k) => [k, { issue: [], revoke: [], method: '' }]))
const validations = {}
let seq = 0
try {
  for (let round = 0; round < R; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length])
    for (const kind of order) {
      const ledger = join(dir, `${kind}-${++seq}.ledger`)
      const r = await runProcess(
        process.execPath,
        [BIN, 'revoke-bulk', '--count', String(N), '--concurrency', String(C), '--ledger', ledger, '--json'],
        { env: { NO_COLOR: '1', ...kinds[kind] } },
      )
      if (r.code !== 0) throw new Error(`${kind}: revoke-bulk exited ${r.code}: ${r.stderr.split('\n')[0]}`)
      const res = JSON.parse(r.stdout)
      if (res.failed) throw new Error(`${kind}: ${res.failed} tokens failed`)
      rates[kind].issue.push(res.issueRatePerSec)
      rates[kind].revoke.push(res.revokeRatePerSec)
      rates[kind].method = `${res.caller} / ${res.method}`
      process.stderr.write(
        `round ${round + 1} ${kind}: issue ${res.issueRatePerSec.toFixed(1)}/s, revoke ${res.revokeRatePerSec.toFixed(1)}/s\n`,
      )
    }
  }
  // validation by caller kind and subject kind
  const pools = {}
  for (const [subject, kind] of [
    ['password', 'password'],
    ['appcred', 'appcred'],
  ]) {
    pools[subject] = join(dir, `${subject}-pool.jsonl`)
    const r = await runProcess(
      process.execPath,
      [BIN, 'tokens', 'issue', '--count', '10', '--out', pools[subject], '--json'],
      { env: { NO_COLOR: '1', ...kinds[kind] } },
    )
    if (r.code !== 0) throw new Error(`tokens issue (${kind}): ${r.stderr.split('\n')[0]}`)
  }
  for (let round = 0; round < R; round++) {
    for (const kind of names.map((_, i) => names[(i + round) % names.length])) {
      for (const subject of Object.keys(pools)) {
        const r = await runProcess(
          process.execPath,
          [
            BIN,
            'bench',
            'validate',
            '--tokens',
            pools[subject],
            '--concurrency',
            '2',
            '--requests',
            String(V),
            '--json',
          ],
          { env: { NO_COLOR: '1', ...kinds[kind] } },
        )
        if (r.code !== 0)
          throw new Error(`${kind} validating ${subject}: exited ${r.code}: ${r.stderr.split('\n')[0]}`)
        const res = JSON.parse(r.stdout)
        if (res.requests.ok !== res.requests.total)
          throw new Error(`${kind} validating ${subject}: unexpected answers`)
        const key = `${kind}/${subject}`
        validations[key] ??= { rps: [], p50: [] }
        validations[key].rps.push(res.throughput.rps)
        validations[key].p50.push(res.latencyMs.p50)
        process.stderr.write(`round ${round + 1} validate ${key}: ${res.throughput.rps.toFixed(1)}/s\n`)
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
const base = { issue: median(rates.password.issue), revoke: median(rates.password.revoke) }
console.log(
  `revoke-bulk --count ${N} --concurrency ${C}, ${R} rounds, medians (tokens/s), ratio to the password caller`,
)
console.log('caller    caller kind / issue method             issue/s  (x)     revoke/s  (x)')
for (const k of names) {
  const i = median(rates[k].issue)
  const v = median(rates[k].revoke)
  console.log(
    `${k.padEnd(9)} ${rates[k].method.padEnd(38)} ${i.toFixed(1).padStart(7)}  ${(i / base.issue).toFixed(2)}  ${v.toFixed(1).padStart(9)}  ${(v / base.revoke).toFixed(2)}`,
  )
}

const vbase = median(validations['password/password'].rps)
console.log(
  `\nbench validate --concurrency 2 --requests ${V}, medians; ratio to a password caller validating password tokens`,
)
console.log('caller / subject tokens from    validations/s  (x)    p50 ms')
for (const [key, v] of Object.entries(validations)) {
  const rps = median(v.rps)
  console.log(
    `${key.padEnd(30)} ${rps.toFixed(1).padStart(13)}  ${(rps / vbase).toFixed(2)}  ${median(v.p50).toFixed(1).padStart(8)}`,
  )
}
