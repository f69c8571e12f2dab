import { afterEach, describe, expect, it } from 'vitest'
import { networkErrorClass } from '../../src/errors.js'
import { H1Pool } from '../../src/load/h1-pool.js'
import { type RawServer, rawServer } from '../helpers/raw-server.js'

type Srv = RawServer
const ok = (body: string, extra = '') =>
  `HTTP/1.1 201 CREATED\r\ncontent-type: application/json\r\nx-subject-token: tok\r\n${extra}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`

let srv: Srv | undefined
let pool: H1Pool | undefined
afterEach(async () => {
  pool?.close()
  await srv?.close()
  srv = undefined
  pool = undefined
})

describe('H1Pool (the lean HTTP/1.1 transport of the hot calls)', () => {
  it('sends method, path, host, headers and body in one request and reuses kept-alive connections', async () => {
    const seen: string[] = []
    srv = await rawServer((s, req, _n, done) => {
      seen.push(req)
      s.write(ok('{"a":1}'))
      done()
    })
    pool = new H1Pool('127.0.0.1', srv.port, { connections: 2, timeoutMs: 2000 })
    for (let i = 0; i < 5; i++) {
      const a = await pool.request(
        'POST',
        '/v3/auth/tokens?nocatalog',
        { 'x-auth-token': 'abc' },
        '{"x":"é"}',
      )
      expect(a.status).toBe(201)
      expect(a.headers['x-subject-token']).toBe('tok')
      expect(JSON.parse(a.body.toString())).toEqual({ a: 1 })
    }
    expect(srv.connections).toBe(1)
    expect(seen[0]).toMatch(/^POST \/v3\/auth\/tokens\?nocatalog HTTP\/1\.1\r\n/)
    expect(seen[0]).toContain(`host: 127.0.0.1:${srv.port}\r\n`)
    expect(seen[0]).toContain('x-auth-token: abc\r\n')
    // the body is sent as UTF-8 and its length counted in bytes
    expect(Buffer.from(seen[0]!, 'latin1').toString('utf8')).toContain('content-length: 10\r\n\r\n{"x":"é"}')
  })

  it('never has more than `connections` requests in flight; the rest wait their turn', async () => {
    srv = await rawServer((s, _req, _n, done) => {
      setTimeout(() => {
        s.write(ok('{}'))
        done()
      }, 5)
    })
    pool = new H1Pool('127.0.0.1', srv.port, { connections: 3, timeoutMs: 2000 })
    const answers = await Promise.all(Array.from({ length: 20 }, () => pool!.request('DELETE', '/x', {})))
    expect(answers.every((a) => a.status === 201)).toBe(true)
    expect(srv.maxInFlight).toBeLessThanOrEqual(3)
    expect(srv.connections).toBeLessThanOrEqual(3)
  })

  it('reads chunked bodies split across writes, skips a 100 Continue, and a body delimited by close', async () => {
    srv = await rawServer((s, _req, n, done) => {
      if (n === 1) {
        s.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\n{"a"')
        setTimeout(() => {
          s.write('\r\n4\r\n:12}\r\n0\r\n\r\n')
          done()
        }, 10)
      } else {
        s.write('HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\n\r\nno ')
        s.end('backend')
        done()
      }
    })
    pool = new H1Pool('127.0.0.1', srv.port, { connections: 1, timeoutMs: 2000 })
    const a = await pool.request('GET', '/', {})
    expect(a.status).toBe(200)
    expect(JSON.parse(a.body.toString())).toEqual({ a: 12 })
    const b = await pool.request('GET', '/', {})
    expect(b.status).toBe(503)
    expect(b.body.toString()).toBe('no backend')
    // the connection after a close-delimited body is new
    await pool.request('GET', '/', {}).catch(() => undefined)
    expect(srv.connections).toBe(2)
  })

  it('opens a new connection after "connection: close" and after the server dropped an idle one', async () => {
    srv = await rawServer((s, _req, n, done) => {
      s.write(ok('{}', n === 1 ? 'connection: close\r\n' : ''))
      if (n === 1) s.end()
      if (n === 2) setTimeout(() => s.destroy(), 5)
      done()
    })
    pool = new H1Pool('127.0.0.1', srv.port, { connections: 1, timeoutMs: 2000 })
    expect((await pool.request('GET', '/', {})).status).toBe(201)
    expect((await pool.request('GET', '/', {})).status).toBe(201)
    await new Promise((r) => setTimeout(r, 50))
    expect((await pool.request('GET', '/', {})).status).toBe(201)
    expect(srv.connections).toBe(3)
  })

  it('fails a request without an answer within the timeout (retryable), and a reset as a reset', async () => {
    srv = await rawServer((s, _req, n, done) => {
      if (n === 1) return // never answers
      if (n === 2) {
        s.write('HTTP/1.1 201 CREATED\r\ncontent-length: 100\r\n\r\n{"partial"')
        s.destroy()
        return
      }
      s.write(ok('{}'))
      done()
    })
    pool = new H1Pool('127.0.0.1', srv.port, { connections: 1, timeoutMs: 200 })
    const t0 = Date.now()
    const e1 = await pool.request('GET', '/', {}).catch((e) => e)
    expect(e1.code).toBe('UND_ERR_HEADERS_TIMEOUT')
    expect(networkErrorClass(e1)).toBe('timeout')
    expect(Date.now() - t0).toBeLessThan(1500)
    const e2 = await pool.request('GET', '/', {}).catch((e) => e)
    expect(networkErrorClass(e2)).toBe('reset')
    expect((await pool.request('GET', '/', {})).status).toBe(201)
  })

  it('refuses header values with line breaks, reports a refused connection, and close() fails queued requests', async () => {
    srv = await rawServer(() => {})
    pool = new H1Pool('127.0.0.1', srv.port, { connections: 1, timeoutMs: 2000 })
    await expect(pool.request('GET', '/', { 'x-auth-token': 'a\r\nx-evil: 1' })).rejects.toThrow(/line break/)
    const pending = [pool.request('GET', '/', {}), pool.request('GET', '/', {})]
    pool.close()
    for (const p of pending) await expect(p).rejects.toMatchObject({ code: 'UND_ERR_CLOSED' })
    const port = srv.port
    await srv.close()
    srv = undefined
    const refused = new H1Pool('127.0.0.1', port, { connections: 1, timeoutMs: 2000 })
    await expect(refused.request('GET', '/', {})).rejects.toMatchObject({ code: 'ECONNREFUSED' })
    refused.close()
  })
})
