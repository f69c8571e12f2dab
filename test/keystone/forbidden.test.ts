import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { IdtoolError } from '../../src/errors.js'
import { issueTokens } from '../../src/keystone/issue.js'
import { readLedger } from '../../src/keystone/ledger.js'
import { FORBIDDEN_PROBE, revokeBulk } from '../../src/keystone/revoke.js'
import type { KeystoneSession } from '../../src/keystone/session.js'
import { parseJson, runCli } from '../helpers/cli.js'
import type { FakeKeystone } from './fake-keystone.js'
import { fakeCliEnv, jsonLines, tempDir, withFakeKeystone } from './helpers.js'

// Issue 12 item 14: a caller that Keystone's policy does not allow to validate or revoke other users' tokens
// gets a 403 for every one. The run stops after the first answers with exit 2 and a line naming the rule and
// the roles, instead of a table of failures (exit 4) or a "--resume" hint that cannot help.
let fk: FakeKeystone
let session: KeystoneSession
const tmp = tempDir('idtool-forbidden-')
let n = 0
const file = (name: string) => tmp.path(`${n++}-${name}`)
const env = () => fakeCliEnv(fk, tmp.path('state'))
withFakeKeystone((k, s) => {
  fk = k
  session = s
}, tmp.rm)

async function pool(count: number): Promise<string> {
  const out = file('pool.jsonl')
  const r = await issueTokens({ session, count, out, concurrency: 4 })
  expect(r.issued).toBe(count)
  return out
}

describe('revoke-bulk when every revocation is refused (403)', () => {
  it('stops after the first answers with exit 2 naming identity:revoke_token; the ledger says why per token', async () => {
    const from = await pool(80)
    fk.faults.forbidEvery = 1 // every DELETE: 403
    const ledger = file('l.jsonl')
    const err = (await revokeBulk({ session, pool: from, ledger, concurrency: 2 }).catch(
      (e) => e,
    )) as IdtoolError
    expect(err.exitCode).toBe(2)
    expect(err.code).toBe('FORBIDDEN')
    expect(err.message).toMatch(
      /^Keystone answered 403 to all \d+ revocation requests: the caller may not revoke other users' tokens \(policy identity:revoke_token\)$/,
    )
    expect(err.hint).toMatch(
      /^identity:revoke_token allows the admin role or the token's own user; give the caller/,
    )
    expect(err.hint).toContain('the same caller gets the same 403s')
    // stopped early: the probe and what was in flight, not 80 requests
    const deletes = [...fk.deletes.values()].reduce((a, b) => a + b, 0)
    expect(deletes).toBeGreaterThanOrEqual(FORBIDDEN_PROBE)
    expect(deletes).toBeLessThanOrEqual(FORBIDDEN_PROBE + 2)
    const failed = jsonLines<{ s?: string; reason?: string }>(readFileSync(ledger, 'utf8')).filter(
      (l) => l.s === 'failed',
    )
    expect(failed.length).toBe(deletes)
    expect(failed[0]?.reason).toBe(
      '403 forbidden: the caller may not revoke this token (Keystone policy identity:revoke_token)',
    )
    expect(readLedger(ledger).complete).toBe(false)
  })

  it('some 403s among revocations that work: exit-4 material, each failure naming the rule', async () => {
    const from = await pool(10)
    fk.faults.forbidEvery = 5
    const r = await revokeBulk({ session, pool: from, ledger: file('l.jsonl'), concurrency: 1 })
    expect(r.failed).toBe(2)
    expect(r.revoked).toBe(8)
    expect(r.failures?.map((f) => f.reason)).toEqual([
      '403 forbidden: the caller may not revoke this token (Keystone policy identity:revoke_token)',
      '403 forbidden: the caller may not revoke this token (Keystone policy identity:revoke_token)',
    ])
  })

  it('CLI: exit 2, one line and a hint; with --json the error envelope', async () => {
    const from = await pool(30)
    fk.faults.forbidEvery = 1
    const ledger = file('l.jsonl')
    const r = await runCli(['revoke-bulk', '--from', from, '--ledger', ledger], { env: env() })
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toMatch(
      /^Error: Keystone answered 403 to all \d+ revocation requests: the caller may not revoke other users' tokens \(policy identity:revoke_token\)\nHint: identity:revoke_token allows the admin role/m,
    )
    expect(r.stdout).not.toMatch(/failed/)
    const j = await runCli(['revoke-bulk', '--from', from, '--ledger', file('l.jsonl'), '--json'], {
      env: env(),
    })
    expect(j.code).toBe(2)
    const e = parseJson<{ error: { code: string; exitCode: number; hint: string } }>(j).error
    expect(e).toMatchObject({ code: 'FORBIDDEN', exitCode: 2 })
  })
})

describe('bench validate when every validation is refused (403)', () => {
  it('CLI: stops after the first answers, exit 2 naming identity:validate_token and the roles', async () => {
    fk.faults.forbidValidate = true
    const t0 = Date.now()
    const r = await runCli(
      ['bench', 'validate', '--token-count', '5', '--concurrency', '2', '--duration', '20s'],
      { env: env() },
    )
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toMatch(
      /^Error: Keystone answered 403 to all \d+ validation requests: the caller may not validate other users' tokens \(policy identity:validate_token\)\nHint: identity:validate_token allows the admin role, the reader role with system scope \(system_scope: all\), the service role, or the token's own user/m,
    )
    expect(r.stdout).toBe('')
    expect(fk.validations).toBeLessThanOrEqual(FORBIDDEN_PROBE + 2)
    expect(Date.now() - t0).toBeLessThan(15_000)
  })

  it('CLI: a pool whose tokens validate still runs to the end (control)', async () => {
    const r = await runCli(
      ['bench', 'validate', '--token-count', '3', '--concurrency', '2', '--requests', '50', '--json'],
      {
        env: env(),
      },
    )
    expect(r.code, r.stderr).toBe(0)
    expect(parseJson<{ requests: { total: number; ok: number } }>(r).requests).toMatchObject({
      total: 50,
      ok: 50,
    })
  })
})
