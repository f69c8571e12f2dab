import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuthSettings } from '../../src/config/settings.js'
import { keystoneTarget, pageSizeFromDomainConfig } from '../../src/ldap/keystone-target.js'
import { runPageLeakCheck } from '../../src/ldap/page-leak-check.js'
import { startServer, type TestServer } from '../helpers/server.js'
import { passwordSettings } from '../keystone/helpers.js'

// A local HTTP server on port 0 answering the three Keystone v3 routes the Keystone target uses (unit
// test only; the integration test uses the lab's real Keystone). It can be told to fail listings.
let srv: TestServer
let tokens = 0
let listings = 0
const failAt = new Map<number, number>() // listing number -> status to answer instead
const USERS = Array.from({ length: 12 }, (_, i) => ({ id: `id${i}`, name: `user${i}` }))

beforeAll(async () => {
  srv = await startServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    res.setHeader('content-type', 'application/json')
    if (url.pathname === '/v3/auth/tokens' && req.method === 'POST') {
      const pw = JSON.parse(req.body).auth.identity.password.user.password
      if (pw !== 'right') {
        res.writeHead(401)
        res.end(JSON.stringify({ error: { message: 'The request you have made requires authentication.' } }))
        return
      }
      tokens++
      res.writeHead(201, { 'x-subject-token': `tok-${tokens}` })
      res.end(JSON.stringify({ token: { audit_ids: ['a'], user: { id: 'u', name: 'admin' } } }))
      return
    }
    if (url.pathname === '/v3/domains') {
      const name = url.searchParams.get('name')
      res.end(JSON.stringify({ domains: name === 'ldapdom' ? [{ id: 'd1', name }] : [] }))
      return
    }
    if (url.pathname === '/v3/users' && url.searchParams.get('domain_id') === 'd1') {
      listings++
      const status = failAt.get(listings)
      if (status) {
        res.writeHead(status)
        res.end(JSON.stringify({ error: { message: `forced ${status}` } }))
        return
      }
      res.end(JSON.stringify({ users: USERS }))
      return
    }
    res.writeHead(404)
    res.end('{}')
  })
})
afterAll(() => srv.close())

const settings = (password = 'right'): AuthSettings => passwordSettings(`${srv.url}/v3`, password)

describe('the Keystone target', () => {
  it('lists the domain users as iterations, refreshes a rejected token, counts 5xx, and judges', async () => {
    listings = 0
    tokens = 0
    failAt.clear()
    // listing 1 is the probe; 5: token rejected (re-authenticate); 9: a 503
    failAt.set(5, 401)
    failAt.set(9, 503)
    const target = await keystoneTarget({
      settings: settings(),
      domain: 'ldapdom',
      pageSize: 5,
      timeoutMs: 5000,
      concurrency: 1,
    })
    expect(target.description).toBe(`${srv.url}/v3 domain ldapdom (d1)`)
    const { result } = await runPageLeakCheck({
      target,
      iterations: 20,
      warmup: 0,
      concurrency: 1,
      sampleEvery: 2,
      leakThresholdBytesPerIteration: 1024,
      pids: [],
      retryDelayMs: 1,
    })
    expect(result.mode).toBe('keystone')
    expect(result.entriesPerSearch).toBe(12)
    expect(result.pages).toBe(0)
    expect(result.pageSize).toBe(5)
    expect(result.errors).toEqual({ auth: 1, 'http-503': 1 })
    expect(result.searches).toBe(18)
    expect(tokens).toBe(2) // the first, then one after the 401
  })

  it('fails before measuring on a wrong password or an unknown domain', async () => {
    await expect(
      keystoneTarget({
        settings: settings('wrong'),
        domain: 'ldapdom',
        pageSize: 0,
        timeoutMs: 5000,
        concurrency: 1,
      }),
    ).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/rejected the credentials/) })
    await expect(
      keystoneTarget({ settings: settings(), domain: 'nope', pageSize: 0, timeoutMs: 5000, concurrency: 1 }),
    ).rejects.toMatchObject({ exitCode: 2, message: 'Keystone has no domain named "nope"' })
  })

  it('reads page_size from the [ldap] section of a domain config, else 0', () => {
    const dir = mkdtempSync(join(tmpdir(), 'idtool-dom-'))
    const f = join(dir, 'keystone.ldapdom.conf')
    writeFileSync(f, '[identity]\ndriver = ldap\npage_size = 99\n\n[ldap]\nurl = ldap://x\npage_size = 5\n')
    expect(pageSizeFromDomainConfig(f)).toBe(5)
    writeFileSync(f, '[ldap]\nurl = ldap://x\n')
    expect(pageSizeFromDomainConfig(f)).toBe(0)
    expect(pageSizeFromDomainConfig(join(dir, 'missing.conf'))).toBe(0)
  })
})
