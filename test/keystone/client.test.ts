import { Agent } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AuthError, ConnectionError, HttpError } from '../../src/errors.js'
import { isRetryable } from '../../src/keystone/bulk.js'
import { KeystoneClient } from '../../src/keystone/client.js'
import { startServer, type TestServer } from '../helpers/server.js'

// A tiny stand-in that speaks the few Keystone v3 routes the client uses (unit test only).
let srv: TestServer
const revoked = new Set<string>()
let n = 0

beforeAll(async () => {
  srv = await startServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    res.setHeader('x-backend', `ks${(n++ % 2) + 1}`)
    if (url.pathname === '/v3/auth/tokens' && req.method === 'POST') {
      const body = JSON.parse(req.body)
      const id = body.auth.identity
      if (id.methods[0] === 'password' && id.password.user.password !== 'right') {
        res.writeHead(401, { 'content-type': 'application/json' })
        res.end(
          JSON.stringify({
            error: { code: 401, message: 'The request you have made requires authentication.' },
          }),
        )
        return
      }
      const tok = `tok-${n}`
      res.writeHead(201, { 'x-subject-token': tok, 'content-type': 'application/json' })
      res.end(
        JSON.stringify({
          token: {
            audit_ids: [`audit-${n}`],
            issued_at: '2026-11-21T00:00:00Z',
            expires_at: '2026-11-21T01:00:00Z',
            user: { id: 'u1', name: 'admin' },
            project: { id: 'p1', name: 'admin' },
          },
        }),
      )
      return
    }
    if (url.pathname === '/v3/auth/tokens') {
      const subject = String(req.headers['x-subject-token'])
      if (req.headers['x-auth-token'] === 'expired') {
        res.writeHead(401)
        res.end()
        return
      }
      if (req.method === 'DELETE') {
        if (subject === 'boom') {
          res.writeHead(503, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ error: { message: 'service unavailable' } }))
          return
        }
        const was = revoked.has(subject)
        revoked.add(subject)
        res.writeHead(was ? 404 : 204)
        res.end()
        return
      }
      if (revoked.has(subject)) {
        res.writeHead(404, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ error: { code: 404, message: 'Failed to validate token' } }))
        return
      }
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(
        req.method === 'HEAD'
          ? undefined
          : JSON.stringify({ token: { audit_ids: ['a'], user: { id: 'u1', name: 'admin' } } }),
      )
      return
    }
    if (url.pathname === '/v3/OS-REVOKE/events') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ events: [...revoked].map((t) => ({ audit_id: t })) }))
      return
    }
    if (url.pathname === '/v3/users') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({
          users: [{ id: '1', name: 'user00001' }],
          domain: url.searchParams.get('domain_id'),
        }),
      )
      return
    }
    if (url.pathname === '/v3/domains') {
      res.writeHead(403, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: { message: 'You are not authorized' } }))
      return
    }
    res.writeHead(404)
    res.end()
  })
})
afterAll(() => srv.close())

describe('KeystoneClient', () => {
  const client = () => new KeystoneClient({ authUrl: `${srv.url}/v3`, dispatcher: new Agent() })
  const creds = { username: 'admin', password: 'right', userDomainName: 'Default' }
  const scope = { projectName: 'admin', projectDomainName: 'Default' }

  it('issues a password token with the project scope and reads the token details', async () => {
    const t = await client().issueTokenPassword(creds, scope)
    expect(t.token).toMatch(/^tok-/)
    expect(t.auditId).toMatch(/^audit-/)
    expect(t.expiresAt).toBe('2026-11-21T01:00:00Z')
    expect(t.user?.name).toBe('admin')
    expect(t.backend).toMatch(/^ks[12]$/)
    const sent = JSON.parse(srv.requests.at(-1)!.body)
    expect(sent.auth.scope).toEqual({ project: { name: 'admin', domain: { name: 'Default' } } })
    expect(sent.auth.identity.password.user).toEqual({
      name: 'admin',
      domain: { name: 'Default' },
      password: 'right',
    })
  })

  it('issues from a token with the token method', async () => {
    const t = await client().issueTokenFromToken('tok-0', scope)
    expect(t.token).toMatch(/^tok-/)
    expect(JSON.parse(srv.requests.at(-1)!.body).auth.identity).toEqual({
      methods: ['token'],
      token: { id: 'tok-0' },
    })
  })

  it('maps a wrong password to an AuthError (exit 2) without echoing the password', async () => {
    const err = await client()
      .issueTokenPassword({ ...creds, password: 'wrong-secret' }, scope)
      .catch((e) => e)
    expect(err).toBeInstanceOf(AuthError)
    expect(err.exitCode).toBe(2)
    expect(err.message).toMatch(/rejected the credentials of user "admin"/)
    expect(err.message).not.toContain('wrong-secret')
  })

  it('validates, revokes, and then sees 404; a second revoke is 404', async () => {
    const c = client()
    const v = await c.validate('admin-tok', 'subj-1', { nocatalog: true })
    expect(v.status).toBe(200)
    expect(v.token?.auditId).toBe('a')
    expect(srv.requests.at(-1)!.url).toBe('/v3/auth/tokens?nocatalog')
    expect(srv.requests.at(-1)!.headers['x-auth-token']).toBe('admin-tok')
    expect((await c.validate('admin-tok', 'subj-1', { method: 'HEAD' })).status).toBe(200)
    expect((await c.revoke('admin-tok', 'subj-1')).status).toBe(204)
    expect((await c.validate('admin-tok', 'subj-1')).status).toBe(404)
    expect((await c.revoke('admin-tok', 'subj-1')).status).toBe(404)
    const events = await c.listRevocationEvents('admin-tok')
    expect(events.map((e) => e.audit_id)).toContain('subj-1')
  })

  it('maps 5xx to a transient HttpError and 401 on a caller token to an AuthError', async () => {
    const c = client()
    const e5 = await c.revoke('admin-tok', 'boom').catch((e) => e)
    expect(e5).toBeInstanceOf(HttpError)
    expect(e5.status).toBe(503)
    expect(e5.message).toMatch(/503.*service unavailable/)
    expect(isRetryable(e5)).toBe(true)
    const e401 = await c.revoke('expired', 'x').catch((e) => e)
    expect(e401).toBeInstanceOf(AuthError)
    expect(isRetryable(e401)).toBe(false)
    const e403 = await c.createDomain('admin-tok', 'x').catch((e) => e)
    expect(e403.status).toBe(403)
    expect(e403.hint).toMatch(/role/)
  })

  it('lists users of a domain', async () => {
    const users = await client().listUsers('admin-tok', 'dom 1')
    expect(users).toEqual([{ id: '1', name: 'user00001' }])
    expect(srv.requests.at(-1)!.url).toBe('/v3/users?domain_id=dom%201')
  })

  it('maps a refused connection to a ConnectionError naming the URL', async () => {
    const c = new KeystoneClient({ authUrl: 'http://127.0.0.1:1/v3', dispatcher: new Agent() })
    const err = await c.validate('a', 'b').catch((e) => e)
    expect(err).toBeInstanceOf(ConnectionError)
    expect(err.message).toMatch(/cannot reach http:\/\/127\.0\.0\.1:1\/v3\/auth\/tokens: connection refused/)
    expect(isRetryable(err)).toBe(true)
  })

  it('times out a stalled server instead of hanging', async () => {
    const stall = await import('../helpers/server.js').then((m) => m.startServer(() => {}))
    try {
      const c = new KeystoneClient({ authUrl: `${stall.url}/v3`, dispatcher: new Agent(), timeoutMs: 200 })
      const t0 = Date.now()
      const err = await c.validate('a', 'b').catch((e) => e)
      expect(err).toBeInstanceOf(ConnectionError)
      expect(err.message).toMatch(/timed out/)
      expect(Date.now() - t0).toBeLessThan(5000)
    } finally {
      await stall.close()
    }
  })
})
