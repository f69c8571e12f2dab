import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import type { Dispatcher } from 'undici'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { runValidateBench, type ValidateBenchOptions } from '../../src/bench/validate.js'
import { networkErrorClass } from '../../src/errors.js'
import { h1Tls } from '../../src/load/h1.js'
import { H1Lane } from '../../src/load/h1-lane.js'
import { createLanes, type LaneHandler, type Lanes, laneClientFor } from '../../src/load/lanes.js'
import { validateOptions } from '../fixtures/validate-options.js'

// Certificates made with openssl at setup: a CA, a server certificate it signs for 127.0.0.1 and
// localhost, a client certificate it signs, and a self-signed certificate nobody trusts.
let dir: string
let ca: string
let server: { cert: string; key: string }
let clientCert: { cert: string; key: string }
let selfSigned: { cert: string; key: string }

function openssl(...args: string[]) {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
}

function signed(name: string, cn: string, ext?: string) {
  openssl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${cn}`,
  )
  const extArgs: string[] = []
  if (ext) {
    writeFileSync(join(dir, `${name}.ext`), `${ext}\n`)
    extArgs.push('-extfile', `${name}.ext`)
  }
  openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    `${name}.pem`,
    '-days',
    '2',
    ...extArgs,
  )
  return {
    cert: readFileSync(join(dir, `${name}.pem`), 'utf8'),
    key: readFileSync(join(dir, `${name}.key`), 'utf8'),
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'idtool-h1-tls-'))
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=test CA')
  ca = readFileSync(join(dir, 'ca.pem'), 'utf8')
  server = signed('server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost')
  clientCert = signed('client', 'idtool-client', 'extendedKeyUsage=clientAuth')
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'self.key',
    '-out',
    'self.pem',
    '-days',
    '2',
    '-subj',
    '/CN=127.0.0.1',
  )
  selfSigned = {
    cert: readFileSync(join(dir, 'self.pem'), 'utf8'),
    key: readFileSync(join(dir, 'self.key'), 'utf8'),
  }
})

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

/** An https server on 127.0.0.1:0 that counts TLS connections and resumed ones, and names the client's certificate. */
interface TlsServer {
  origin: string
  handshakes: number
  resumed: number
  requests: number
  close(): Promise<void>
}

async function tlsServer(
  cert: { cert: string; key: string },
  o: { requestCert?: boolean; requireCert?: boolean } = {},
): Promise<TlsServer> {
  const s: Server = createServer(
    {
      ...cert,
      ...(o.requestCert || o.requireCert
        ? { requestCert: true, rejectUnauthorized: !!o.requireCert, ca }
        : {}),
    },
    (req, res) => {
      st.requests++
      const peer = (req.socket as TLSSocket).getPeerCertificate()
      res.writeHead(200, {
        'x-backend': 'b1',
        'x-client-cn': peer?.subject?.CN ?? 'none',
        'x-client-authorized': String((req.socket as TLSSocket).authorized),
        'content-length': '2',
      })
      res.end('ok')
    },
  )
  s.on('secureConnection', (sock: TLSSocket) => {
    st.handshakes++
    if (sock.isSessionReused()) st.resumed++
  })
  s.keepAliveTimeout = 10_000
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const st: TlsServer = {
    origin: `https://127.0.0.1:${(s.address() as AddressInfo).port}`,
    handshakes: 0,
    resumed: 0,
    requests: 0,
    close: () =>
      new Promise<void>((r) => {
        s.closeAllConnections()
        s.close(() => r())
      }),
  }
  return st
}

interface Outcome {
  status?: number
  head?: string
  error?: Error & { code?: string }
}

/** Send one request on a lane; resolve with the status and raw head, or the error. */
function send(lane: { dispatch: H1Lane['dispatch'] }, opts: Dispatcher.DispatchOptions): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = {}
    const timer = setTimeout(
      () => resolve({ error: Object.assign(new Error('pending'), { code: 'PENDING' }) }),
      5000,
    )
    const handler: LaneHandler = {
      onConnect() {},
      onHead(status, raw, headEnd) {
        out.status = status
        out.head = raw.toString('latin1', 0, headEnd)
      },
      onHeaders(status: number, raw: Buffer[]) {
        out.status = status
        out.head = raw.map(String).join('\n')
        return true
      },
      onData() {
        return true
      },
      onComplete() {
        clearTimeout(timer)
        resolve(out)
      },
      onError(err) {
        clearTimeout(timer)
        out.error = err
        resolve(out)
      },
    } as LaneHandler
    lane.dispatch(opts, handler)
  })
}

const get = (extra: Partial<Dispatcher.DispatchOptions> = {}): Dispatcher.DispatchOptions => ({
  path: '/v3/auth/tokens',
  method: 'GET',
  headers: ['x-auth-token', 'caller'],
  ...extra,
})

let srv: TlsServer | undefined
const toClose: Array<{ close(): Promise<void> }> = []

afterEach(async () => {
  for (const l of toClose.splice(0)) await l.close()
  await srv?.close()
  srv = undefined
})

function lane(origin: string, tls = h1Tls('127.0.0.1', { ca })): H1Lane {
  const l = new H1Lane(origin, 3000, tls)
  toClose.push(l)
  return l
}

describe('h1Tls', () => {
  it('sends SNI for a host name only, verifies unless told not to, resumes unless told not to', () => {
    expect(h1Tls('127.0.0.1').servername).toBeUndefined()
    expect(h1Tls('::1').servername).toBeUndefined()
    expect(h1Tls('keystone.example').servername).toBe('keystone.example')
    expect(h1Tls('127.0.0.1', { servername: 'ks.example' }).servername).toBe('ks.example')
    expect(h1Tls('127.0.0.1').rejectUnauthorized).toBe(true)
    expect(h1Tls('127.0.0.1', { rejectUnauthorized: false }).rejectUnauthorized).toBe(false)
    expect(h1Tls('127.0.0.1').resume).toBe(true)
    expect(h1Tls('127.0.0.1', {}, false).resume).toBe(false)
  })
})

describe('H1Lane over TLS', () => {
  it('carries many requests over one TLS connection with keep-alive (one handshake)', async () => {
    srv = await tlsServer(server)
    const l = lane(srv.origin)
    for (let i = 0; i < 20; i++) {
      const o = await send(l, get())
      expect(o.error).toBeUndefined()
      expect(o.status).toBe(200)
      expect(o.head).toMatch(/x-backend: b1/i)
    }
    expect(srv.requests).toBe(20)
    expect(srv.handshakes).toBe(1)
  })

  it('opens a TLS connection per request with Connection: close, resuming the session after the first', async () => {
    srv = await tlsServer(server)
    const tls = h1Tls('127.0.0.1', { ca })
    const l = lane(srv.origin, tls)
    for (let i = 0; i < 10; i++) {
      const o = await send(l, get({ reset: true }))
      expect(o.status).toBe(200)
      expect(o.head).toMatch(/connection: close/i)
    }
    expect(srv.handshakes).toBe(10)
    expect(srv.resumed).toBe(9)
    expect(tls.handshakes + tls.resumed).toBe(10)
    expect(tls.resumed).toBe(9)
  })

  it('does a full handshake per connection when resumption is off', async () => {
    srv = await tlsServer(server)
    const l = lane(srv.origin, h1Tls('127.0.0.1', { ca }, false))
    for (let i = 0; i < 5; i++) expect((await send(l, get({ reset: true }))).status).toBe(200)
    expect(srv.handshakes).toBe(5)
    expect(srv.resumed).toBe(0)
  })

  it('fails with a TLS error (class tls) on a certificate it does not trust, and passes with the CA', async () => {
    srv = await tlsServer(server)
    const untrusting = lane(srv.origin, h1Tls('127.0.0.1', {}))
    const bad = await send(untrusting, get())
    expect(bad.status).toBeUndefined()
    expect(bad.error?.code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE')
    expect(networkErrorClass(bad.error)).toBe('tls')
    expect(srv.requests).toBe(0)
    // the lane replaces the failed connection on the next request
    const again = await send(untrusting, get())
    expect(networkErrorClass(again.error)).toBe('tls')
    const trusting = lane(srv.origin, h1Tls('127.0.0.1', { ca }))
    expect((await send(trusting, get())).status).toBe(200)
  })

  it('fails on a self-signed certificate unless rejectUnauthorized is false', async () => {
    srv = await tlsServer(selfSigned)
    const strict = await send(lane(srv.origin, h1Tls('127.0.0.1', { ca })), get())
    expect(strict.error?.code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY/)
    expect(networkErrorClass(strict.error)).toBe('tls')
    const lax = await send(lane(srv.origin, h1Tls('127.0.0.1', { rejectUnauthorized: false })), get())
    expect(lax.error).toBeUndefined()
    expect(lax.status).toBe(200)
  })

  it('checks the host name: a certificate for another name fails (class tls)', async () => {
    srv = await tlsServer(server)
    const port = new URL(srv.origin).port
    // localhost is in the certificate, another name is not (SNI and the check use `servername`)
    const wrong = await send(
      lane(srv.origin, h1Tls('127.0.0.1', { ca, servername: 'keystone.example' })),
      get(),
    )
    expect(wrong.error?.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID')
    expect(networkErrorClass(wrong.error)).toBe('tls')
    const named = lane(`https://localhost:${port}`, h1Tls('localhost', { ca }))
    expect((await send(named, get())).status).toBe(200)
  })

  it('presents a client certificate when given one', async () => {
    srv = await tlsServer(server, { requestCert: true })
    const without = await send(lane(srv.origin), get())
    expect(without.head).toMatch(/x-client-cn: none/i)
    const withCert = await send(lane(srv.origin, h1Tls('127.0.0.1', { ca, ...clientCert })), get())
    expect(withCert.status).toBe(200)
    expect(withCert.head).toMatch(/x-client-cn: idtool-client/i)
    expect(withCert.head).toMatch(/x-client-authorized: true/i)
  })

  it('fails with class tls when the server requires a client certificate and none is sent', async () => {
    srv = await tlsServer(server, { requireCert: true })
    const without = await send(lane(srv.origin), get())
    expect(without.status).toBeUndefined()
    // TLS 1.3: the server's alert arrives after the client's side of the handshake, as the answer
    expect(without.error?.code).toBe('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED')
    expect(networkErrorClass(without.error)).toBe('tls')
    const withCert = await send(lane(srv.origin, h1Tls('127.0.0.1', { ca, ...clientCert })), get())
    expect(withCert.status).toBe(200)
  })

  it('fails a request on a plain-HTTP port with a transport error, not a hang', async () => {
    const { createServer: plain } = await import('node:http')
    const s = plain((_q, r) => r.end('ok'))
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
    try {
      const o = await send(lane(`https://127.0.0.1:${(s.address() as AddressInfo).port}`), get())
      expect(o.error).toBeDefined()
      // the request waits for the handshake, so the error is the handshake's, not a write's EPROTO
      expect(o.error?.code, String(o.error)).toBe('ERR_SSL_WRONG_VERSION_NUMBER')
      expect(networkErrorClass(o.error)).toBe('tls')
    } finally {
      s.closeAllConnections()
      await new Promise((r) => s.close(r))
    }
  })
})

describe('H1Lane over TLS: deadlines', () => {
  it('times out a request the server never answers (class timeout), and one stuck in the handshake', async () => {
    const s = createServer({ ...server }, () => {})
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
    const { createServer: tcp } = await import('node:net')
    // accepts the TCP connection and says nothing: the handshake never completes
    const muted = new Set<import('node:net').Socket>()
    const mute = tcp((sock) => {
      muted.add(sock)
    })
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r))
    try {
      const silent = new H1Lane(
        `https://127.0.0.1:${(s.address() as AddressInfo).port}`,
        200,
        h1Tls('127.0.0.1', { ca }),
      )
      toClose.push(silent)
      const t0 = performance.now()
      const o = await send(silent, get())
      expect(o.error?.code).toBe('UND_ERR_HEADERS_TIMEOUT')
      expect(networkErrorClass(o.error)).toBe('timeout')
      expect(performance.now() - t0).toBeLessThan(1500)
      const stuck = new H1Lane(
        `https://127.0.0.1:${(mute.address() as AddressInfo).port}`,
        200,
        h1Tls('127.0.0.1', { ca }),
      )
      toClose.push(stuck)
      const o2 = await send(stuck, get())
      expect(networkErrorClass(o2.error)).toBe('timeout')
    } finally {
      s.closeAllConnections()
      await new Promise((r) => s.close(r))
      for (const sock of muted) sock.destroy()
      await new Promise((r) => mute.close(r))
    }
  })
})

describe('lanes for https targets', () => {
  it('picks the lean client for https by default and undici when asked', () => {
    expect(laneClientFor('https://127.0.0.1:5000')).toBe('h1')
    expect(laneClientFor('https://127.0.0.1:5000', 'undici')).toBe('undici')
    expect(laneClientFor('http://127.0.0.1:5000')).toBe('h1')
  })

  for (const client of ['h1', 'undici'] as const) {
    it(`${client}: passes the CA and the client certificate, and shares one session across the lanes`, async () => {
      srv = await tlsServer(server, { requestCert: true })
      const lanes: Lanes = createLanes(srv.origin, {
        connections: 3,
        timeoutMs: 3000,
        client,
        tls: { ca, ...clientCert },
      })
      toClose.push(lanes)
      const outs = await Promise.all(
        [0, 1, 2].map((i) => send(lanes.dispatchers[i]!, { ...get(), origin: srv!.origin })),
      )
      for (const o of outs) {
        expect(o.error).toBeUndefined()
        expect(o.status).toBe(200)
        expect(o.head).toMatch(/x-client-cn\W+idtool-client/i)
      }
      expect(srv.handshakes).toBe(3)
    })
  }
})

describe('runValidateBench over https', () => {
  const opts = (origin: string, over: Partial<ValidateBenchOptions> = {}): ValidateBenchOptions =>
    validateOptions(`${origin}/v3/auth/tokens`, { timeoutMs: 3000, ...over })

  it('sends over the lean client with the tls deps, keep-alive: one handshake per connection', async () => {
    srv = await tlsServer(server)
    const r = await runValidateBench(opts(srv.origin), { tls: { ca } })
    expect(r.httpClient).toBe('h1')
    expect(r.requests.ok).toBe(40)
    expect(r.backends.b1?.count ?? 0).toBe(40)
    expect(srv.handshakes).toBe(2)
  })

  it('--no-keepalive: a TLS connection per request, resumed after the first on each lane', async () => {
    srv = await tlsServer(server)
    const r = await runValidateBench(opts(srv.origin, { keepalive: false, requests: 20 }), { tls: { ca } })
    expect(r.requests.ok).toBe(20)
    expect(srv.handshakes).toBe(20)
    expect(srv.resumed).toBeGreaterThanOrEqual(18)
  })

  it('counts an untrusted certificate as tls errors; the deprecated `ca` dep still works', async () => {
    srv = await tlsServer(server)
    const bad = await runValidateBench(opts(srv.origin, { requests: 4 }))
    expect(bad.requests.ok).toBe(0)
    expect(bad.requests.errors).toBe(4)
    expect(bad.errors).toEqual({ tls: 4 })
    const viaCa = await runValidateBench(opts(srv.origin, { requests: 4 }), { ca })
    expect(viaCa.requests.ok).toBe(4)
  })

  it('--http-client undici still works over https and is recorded', async () => {
    srv = await tlsServer(server)
    const r = await runValidateBench(opts(srv.origin, { client: 'undici' }), { tls: { ca } })
    expect(r.httpClient).toBe('undici')
    expect(r.requests.ok).toBe(40)
  })
})
