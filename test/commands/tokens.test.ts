import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { readLedger } from '../../src/keystone/ledger.js'
import type { RevokeBulkResult, TokensIssueResult } from '../../src/results/types.js'
import { REVOKE_BULK_KEYS, TOKENS_ISSUE_KEYS } from '../fixtures/results.js'
import { parseJson, runCli } from '../helpers/cli.js'
import { FAKE_PASSWORD, type FakeKeystone, startFakeKeystone } from '../keystone/fake-keystone.js'
import { fakeCliEnv, tempDir } from '../keystone/helpers.js'

// The built CLI (`npm run build` first) as a child process, against a local stand-in on port 0.
let fk: FakeKeystone
const tmp = tempDir()
const env = (password = FAKE_PASSWORD) => fakeCliEnv(fk, tmp.path('state'), password)
beforeAll(async () => {
  fk = await startFakeKeystone()
})
afterAll(async () => {
  await fk.close()
  tmp.rm()
})
beforeEach(() => fk.reset())

const issuedTokens = () => [...fk.issued]
const leaks = (text: string) => issuedTokens().filter((t) => text.includes(t))

describe('tokens issue (CLI)', () => {
  it('--json prints exactly the TokensIssueResult; the pool is 0600; no token or password is printed', async () => {
    const out = tmp.path('p1.jsonl')
    const r = await runCli(['tokens', 'issue', '--count', '12', '--out', out, '--json'], { env: env() })
    expect(r.code, r.stderr).toBe(0)
    const res = parseJson<TokensIssueResult>(r)
    expect(Object.keys(res).sort()).toEqual(TOKENS_ISSUE_KEYS)
    expect(res).toMatchObject({
      version: 2,
      kind: 'tokens.issue',
      issued: 12,
      failed: 0,
      file: out,
      method: 'token',
      caller: 'password',
      interrupted: false,
    })
    expect(statSync(out).mode & 0o777).toBe(0o600)
    expect(leaks(r.stdout + r.stderr)).toEqual([])
    expect(r.stdout + r.stderr).not.toContain(FAKE_PASSWORD)
  })

  it('a wrong password exits 2 with a clear message and writes no pool', async () => {
    const out = tmp.path('never.jsonl')
    const r = await runCli(['tokens', 'issue', '--count', '3', '--out', out], { env: env('not-it') })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/Error: Keystone rejected the credentials of user "admin"[^\n]* \(401/)
    expect(r.stderr).toMatch(/Hint: check OS_USERNAME/)
    expect(r.stderr).not.toContain('not-it')
    expect(existsSync(out)).toBe(false)
  })

  it('--help says the token method is the default and why', async () => {
    const r = await runCli(['tokens', 'issue', '--help'], { env: env() })
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/--method token \(the default\)/)
    expect(r.stdout).toMatch(/20-30x faster/)
    expect(r.stdout).toMatch(/EXIT CODES/)
  })
})

describe('revoke-bulk (CLI)', () => {
  it('--json prints exactly the RevokeBulkResult; the ledger is 0600', async () => {
    const ledger = tmp.path('l1.jsonl')
    const r = await runCli(['revoke-bulk', '--count', '15', '--ledger', ledger, '--json'], { env: env() })
    expect(r.code, r.stderr).toBe(0)
    const res = parseJson<RevokeBulkResult>(r)
    expect(Object.keys(res).sort()).toEqual(REVOKE_BULK_KEYS)
    expect(res).toMatchObject({
      version: 2,
      kind: 'revoke-bulk',
      issued: 15,
      revoked: 15,
      failed: 0,
      skipped: 0,
      ledger,
      method: 'token',
      caller: 'password',
    })
    expect(res.revocationEventsAfter! - res.revocationEventsBefore!).toBe(15)
    expect(statSync(ledger).mode & 0o777).toBe(0o600)
    expect(leaks(r.stdout + r.stderr)).toEqual([])
  })

  it('exits 4 when some tokens failed, lists them, and the summary table names the reason', async () => {
    fk.faults.forbidEvery = 5
    const ledger = tmp.path('l2.jsonl')
    const r = await runCli(['revoke-bulk', '--count', '10', '--ledger', ledger, '--concurrency', '1'], {
      env: env(),
    })
    expect(r.code).toBe(4)
    expect(r.stdout).toMatch(/failed\s+│ 2/)
    expect(r.stdout).toMatch(/403 forbidden/)
    expect(r.stdout).toContain(`--resume --ledger ${ledger}`)
    const j = await runCli(['revoke-bulk', '--resume', '--ledger', ledger, '--json'], { env: env() })
    fk.faults.forbidEvery = 0
    const res = parseJson<RevokeBulkResult>(j)
    expect(res.issued).toBe(0)
    expect(res.revoked + res.failed).toBe(2)
  })

  it('--resume without --ledger continues the newest unfinished ledger in the state directory', async () => {
    fk.faults.forbidEvery = 3
    const first = await runCli(['revoke-bulk', '--count', '6', '--concurrency', '1', '--json'], {
      env: env(),
    })
    expect(first.code).toBe(4)
    const failedRun = parseJson<RevokeBulkResult>(first)
    const ledger = failedRun.ledger
    // the result carries every figure of the live summary: `idtool report` prints the same table
    expect(failedRun).toMatchObject({ failed: 2, retries: 0, reauthentications: 0 })
    expect(Object.values(failedRun.failureReasons!)).toEqual([2])
    const saved = tmp.path('failed-run.json')
    writeFileSync(saved, first.stdout)
    const shown = await runCli(['report', saved], { env: env() })
    expect(shown.code, shown.stderr).toBe(0)
    expect(shown.stdout).toMatch(/retries \/ re-authentications\s+│ 0 \/ 0/)
    expect(shown.stdout).toMatch(/│ 2\s+│ [^│]*403/)
    expect(ledger.startsWith(tmp.path('state'))).toBe(true)
    fk.faults.forbidEvery = 0
    const again = await runCli(['revoke-bulk', '--resume', '--json'], { env: env() })
    expect(again.code, again.stderr).toBe(0)
    expect(parseJson<RevokeBulkResult>(again)).toMatchObject({ ledger, revoked: 2, skipped: 4, failed: 0 })
    expect(readLedger(ledger).complete).toBe(true)
  })

  it('refuses a non-loopback Keystone without --yes when stdin is not a terminal, before any request', async () => {
    const ledger = tmp.path('remote.jsonl')
    const r = await runCli(
      ['revoke-bulk', '--count', '5', '--ledger', ledger, '--os-auth-url', 'http://192.0.2.10:5000/v3'],
      { env: env() },
    )
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(
      'refusing to revoke 5 new tokens at http://192.0.2.10:5000/v3 (not a loopback address) without --yes',
    )
    expect(r.stderr).toMatch(/Hint: stdin is not a terminal/)
    expect(existsSync(ledger)).toBe(false)
  })

  it('a wrong password exits 2 and writes no ledger', async () => {
    const ledger = tmp.path('wrongpw.jsonl')
    const r = await runCli(['revoke-bulk', '--count', '5', '--ledger', ledger], { env: env('nope') })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/rejected the credentials/)
    expect(existsSync(ledger)).toBe(false)
    expect(fk.deletes.size).toBe(0)
  })

  it('bad input is a one-line usage error: no count nor pool, both, an existing ledger without --resume', async () => {
    const none = await runCli(['revoke-bulk'], { env: env() })
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(/nothing to revoke: give --count N or --from POOL.jsonl/)
    const both = await runCli(['revoke-bulk', '--count', '2', '--from', 'x.jsonl'], { env: env() })
    expect(both.code).toBe(2)
    expect(both.stderr).not.toMatch(/\n\s+at /)
    const ledger = tmp.path('exists.jsonl')
    const ok = await runCli(['revoke-bulk', '--count', '1', '--ledger', ledger, '-q'], { env: env() })
    expect(ok.code).toBe(0)
    const again = await runCli(['revoke-bulk', '--count', '1', '--ledger', ledger], { env: env() })
    expect(again.code).toBe(2)
    expect(again.stderr).toMatch(/already exists/)
    expect(again.stderr).toMatch(/Hint: continue it with --resume/)
  })

  it('Ctrl-C stops, writes the ledger and the partial result, exits 130; --resume finishes the job', async () => {
    fk.faults.delayMs = 10
    const ledger = tmp.path('sigint.jsonl')
    let pid = 0
    let sent = false
    const run = runCli(['revoke-bulk', '--count', '200', '--ledger', ledger, '--json'], {
      env: env(),
      onSpawn: (p) => {
        pid = p
      },
    })
    const poll = setInterval(() => {
      if (sent || !existsSync(ledger)) return
      if (readFileSync(ledger, 'utf8').split('"s":"revoked"').length - 1 >= 20) {
        sent = true
        process.kill(pid, 'SIGINT')
      }
    }, 10)
    const r = await run
    clearInterval(poll)
    expect(sent).toBe(true)
    expect(r.code, r.stderr).toBe(130)
    expect(r.stderr).toMatch(/Interrupted: finishing in-flight work/)
    const res = parseJson<RevokeBulkResult>(r)
    expect(res.interrupted).toBe(true)
    expect(res.revoked).toBeGreaterThanOrEqual(20)
    expect(res.revoked).toBeLessThan(200)
    const mid = readLedger(ledger)
    expect(mid.complete).toBe(false)
    expect([...mid.entries.values()].filter((e) => e.state === 'revoked')).toHaveLength(res.revoked)
    fk.faults.delayMs = 0
    const again = await runCli(['revoke-bulk', '--resume', '--ledger', ledger, '--json'], { env: env() })
    expect(again.code, again.stderr).toBe(0)
    expect(parseJson<RevokeBulkResult>(again)).toMatchObject({
      revoked: 200 - res.revoked,
      skipped: res.revoked,
    })
    expect(fk.events).toHaveLength(200)
    expect(new Set(fk.events).size).toBe(200)
  })

  it('revokes exactly the tokens of a pool written by tokens issue', async () => {
    const pool = tmp.path('pool.jsonl')
    await runCli(['tokens', 'issue', '--count', '7', '--out', pool, '-q'], { env: env() })
    const listed = readFileSync(pool, 'utf8').trim().split('\n').length
    expect(listed).toBe(7)
    const r = await runCli(['revoke-bulk', '--from', pool, '--ledger', tmp.path('lp.jsonl'), '--json'], {
      env: env(),
    })
    expect(parseJson<RevokeBulkResult>(r)).toMatchObject({ issued: 0, revoked: 7, failed: 0 })
    // the caller token (issued by password) is never revoked: only the 7 listed ones
    expect(fk.revoked.size).toBe(7)
  })
})
