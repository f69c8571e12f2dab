import { afterAll, describe, expect, it } from 'vitest'
import { readPool } from '../../src/keystone/pool.js'
import type { RevokeBulkResult, TokensIssueResult } from '../../src/results/types.js'
import { parseJson, runCli } from '../helpers/cli.js'
import { LAB_ENV } from '../integration/lab-env.js'
import { tempDir } from './helpers.js'

// Issue 12 item 17 on the real lab: after `revoke-bulk --from POOL`, `bench validate --tokens POOL` used to
// count every 404 as unexpected (the pool still said "valid"). 20 tokens: 20 revocation events.
const tmp = tempDir('idtool-revoke-pool-it-')
afterAll(() => tmp.rm())
const env = { ...LAB_ENV, XDG_STATE_HOME: tmp.path('state') }

describe('revoke-bulk --from POOL, then bench validate --tokens POOL', () => {
  it('the revoked pool validates 404 everywhere, and every 404 is expected', async () => {
    const pool = tmp.path('pool.jsonl')
    const issued = await runCli(['tokens', 'issue', '-n', '20', '--out', pool, '--json'], {
      env,
      timeoutMs: 120_000,
    })
    expect(issued.code, issued.stderr).toBe(0)
    expect(parseJson<TokensIssueResult>(issued).issued).toBe(20)

    const revoked = await runCli(['revoke-bulk', '--from', pool, '--ledger', tmp.path('l.jsonl'), '--json'], {
      env,
      timeoutMs: 120_000,
    })
    expect(revoked.code, revoked.stderr).toBe(0)
    expect(parseJson<RevokeBulkResult>(revoked)).toMatchObject({ revoked: 20, failed: 0 })
    expect(readPool(pool).map((e) => e.state)).toEqual(Array(20).fill('revoked'))

    const v = await runCli(['bench', 'validate', '--tokens', pool, '-d', '2s', '--json'], {
      env,
      timeoutMs: 120_000,
    })
    const res = parseJson<{ statusCodes: Record<string, number>; requests: { unexpectedStatus: number } }>(v)
    expect(Object.keys(res.statusCodes)).toEqual(['404'])
    expect(res.statusCodes['404']).toBeGreaterThan(0)
    expect(res.requests.unexpectedStatus).toBe(0)
    expect(v.code, v.stderr).toBe(0)
  })
})
