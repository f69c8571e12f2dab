import { createServer, type Server, type Socket } from 'node:net'
import { InvalidDNSyntaxError, UnavailableError } from 'ldapts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { classifyLdapError, openLdap, startTlsRefused } from '../../src/ldap/paged-search.js'

// Issue 12 item 17: LDAP errors that used to come without a hint (or with exit 1): an invalid DN, a StartTLS
// the server refuses, ldaps:// to a plain-LDAP port (raw OpenSSL text before).
describe('LDAP errors name the fix', () => {
  let plain: Server
  let port = 0
  const sockets = new Set<Socket>()
  beforeAll(async () => {
    // a plain (non-TLS) service: answers bytes that are no TLS record
    plain = createServer((s) => {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.end('not tls\n')
    })
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r))
    port = (plain.address() as { port: number }).port
  })
  afterAll(() => {
    for (const s of sockets) s.destroy()
    return new Promise<void>((r) => plain.close(() => r()))
  })

  it('an invalid DN is a usage error (exit 2) with a hint showing the DN syntax', () => {
    const e = classifyLdapError(new InvalidDNSyntaxError('invalid DN'), {
      url: 'ldap://x',
      bindDn: 'garbage',
    })
    expect(e.exitCode).toBe(2)
    expect(e.kind).toBe('invalid-dn')
    expect(e.message).toMatch(/^invalid DN syntax \(LDAP result 34\)/)
    expect(e.hint).toMatch(/--bind-dn and --base/)
  })

  it('a StartTLS the server refuses is one line with a hint, exit 2', () => {
    const e = startTlsRefused(new UnavailableError('Could not initialize TLS'), 'ldap://127.0.0.1:3890') as {
      message: string
      hint?: string
      exitCode: number
    }
    expect(e.message).toBe(
      'ldap://127.0.0.1:3890 refused StartTLS (LDAP result 52): Could not initialize TLS',
    )
    expect(e.hint).toMatch(/drop --starttls/)
    expect(e.exitCode).toBe(2)
  })

  it('ldaps:// to a plain port: one line naming the mistake, no OpenSSL text, a hint with ldap://', async () => {
    const err = await openLdap({
      url: `ldaps://127.0.0.1:${port}`,
      bindDn: 'cn=x',
      password: 'y',
      timeoutMs: 3000,
    }).catch((e) => e)
    expect(err.exitCode).toBe(2)
    expect(err.message).toMatch(/^TLS with ldaps:\/\/127\.0\.0\.1:\d+ failed: /)
    expect(err.message).not.toMatch(/routines|deps\/openssl|\n/)
    expect(err.hint).toMatch(/use ldap:\/\//)
  })
})
