import { afterAll, describe, expect, it } from 'vitest'
import type { TokensIssueResult } from '../../src/results/types.js'
import { parseJson, runCli } from '../helpers/cli.js'
import { LAB_ENV } from '../integration/lab-env.js'
import { tempDir } from './helpers.js'

// Issue 12 item 14 on the real lab: an LDAP user of the domain ldapdom (user00001, no role anywhere, so an
// unscoped token) may validate and revoke only its own tokens (Keystone's identity:validate_token and
// identity:revoke_token). Given the admin's tokens, every answer is a 403: the run stops with exit 2 and a line
// naming the rule, instead of a table of 403s (exit 4) or a --resume hint.
const tmp = tempDir('idtool-forbidden-it-')
afterAll(() => tmp.rm())

/** A caller without roles: the lab's LDAP fixture user (password pwNNNNN, in the environment only). */
const ldapUser = {
  OS_CLOUD: '',
  OS_CLIENT_CONFIG_FILE: '',
  OS_CLIENT_SECURE_FILE: '',
  OS_AUTH_URL: 'http://127.0.0.1:5000/v3',
  OS_USERNAME: 'user00001',
  OS_USER_DOMAIN_NAME: 'ldapdom',
  OS_PASSWORD: 'pw00001',
  OS_IDENTITY_API_VERSION: '3',
  XDG_STATE_HOME: tmp.path('state'),
}

describe('a caller Keystone does not allow (403 on every answer)', { timeout: 120_000 }, () => {
  it('bench validate and revoke-bulk of the admin tokens exit 2 naming the policy rule', async () => {
    const pool = tmp.path('admin.jsonl')
    const issued = await runCli(['tokens', 'issue', '--count', '5', '--out', pool, '--json'], {
      env: LAB_ENV,
    })
    expect(issued.code, issued.stderr).toBe(0)
    expect(parseJson<TokensIssueResult>(issued).issued).toBe(5)

    const v = await runCli(['bench', 'validate', '--tokens', pool, '-c', '2', '-n', '2000'], {
      env: ldapUser,
    })
    expect(v.code, v.stderr).toBe(2)
    expect(v.stderr).toMatch(
      /^Error: Keystone answered 403 to all \d+ validation requests: the caller may not validate other users' tokens \(policy identity:validate_token\)\nHint: identity:validate_token allows the admin role/m,
    )
    expect(v.stdout).toBe('')
    const n = Number(/all (\d+) validation/.exec(v.stderr)?.[1])
    expect(n).toBeLessThan(100) // stopped early, not after 2000

    const ledger = tmp.path('l.jsonl')
    const r = await runCli(['revoke-bulk', '--from', pool, '--ledger', ledger, '--json'], { env: ldapUser })
    expect(r.code, r.stderr).toBe(2)
    const e = parseJson<{ error: { code: string; message: string; hint: string } }>(r).error
    expect(e.code).toBe('FORBIDDEN')
    expect(e.message).toBe(
      "Keystone answered 403 to all 5 revocation requests: the caller may not revoke other users' tokens (policy identity:revoke_token)",
    )
    expect(e.hint).toMatch(/^identity:revoke_token allows the admin role or the token's own user/)

    // the admin tokens are still valid: the admin revokes them
    const done = await runCli(['revoke-bulk', '--from', pool, '--ledger', tmp.path('l2.jsonl'), '--json'], {
      env: LAB_ENV,
    })
    expect(done.code, done.stderr).toBe(0)
    expect(parseJson<{ revoked: number }>(done).revoked).toBe(5)
  })
})
