import { type ChildProcess, spawn } from 'node:child_process'
import { chmodSync, unlinkSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { join } from 'node:path'
import tls from 'node:tls'
import { Agent, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TlsSettings } from '../../src/config/settings.js'
import {
  ConfigError,
  ConnectionError,
  connectionErrorFor,
  type IdtoolError,
  networkErrorClass,
  plainHttpToTlsAnswer,
  toIdtoolError,
} from '../../src/errors.js'
import {
  explainConnectionError,
  isTls,
  type TlsConnectOptions,
  tlsConnectOptions,
  tlsConnector,
} from '../../src/load/tls.js'
import { makeTestPki, type TestPki } from '../fixtures/tls/pki.js'

let pki: TestPki
const servers: net.Server[] = []
let sServer: ChildProcess | undefined
const port: Record<string, number> = {}

function listen(name: string, server: net.Server): Promise<void> {
  servers.push(server)
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      port[name] = (server.address() as net.AddressInfo).port
      resolve()
    }),
  )
}

const ok = (_req: http.IncomingMessage, res: http.ServerResponse) => res.end('ok')

function httpsServer(cert: { cert: string; key: string }, extra: https.ServerOptions = {}): https.Server {
  return https.createServer({ cert: cert.cert, key: cert.key, ...extra }, ok)
}

/** `openssl s_server` verifies client certificates inside OpenSSL, so it sends the alerts haproxy sends (48). */
function startSServer(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'openssl',
      [
        's_server',
        '-accept',
        '127.0.0.1:0',
        '-cert',
        pki.server.certFile,
        '-key',
        pki.server.keyFile,
        '-CAfile',
        pki.ca.certFile,
        '-Verify',
        '1',
        '-verify_return_error',
        '-www',
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    )
    sServer = child
    let out = ''
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /ACCEPT \S+:(\d+)/.exec(out)
      if (m) resolve(Number(m[1]))
    })
    child.on('exit', () => reject(new Error(`openssl s_server exited: ${out}`)))
  })
}

beforeAll(async () => {
  pki = makeTestPki()
  await listen('good', httpsServer(pki.server))
  await listen('selfSigned', httpsServer(pki.selfSigned))
  await listen('wrongName', httpsServer(pki.wrongName))
  await listen('expired', httpsServer(pki.expired))
  const mtls = { requestCert: true, rejectUnauthorized: true, ca: pki.ca.cert }
  await listen('mtls', httpsServer(pki.server, mtls))
  await listen('mtls12', httpsServer(pki.server, { ...mtls, maxVersion: 'TLSv1.2' }))
  await listen('plain', http.createServer(ok))
  // a TLS server that answers a plain HTTP request with a TLS alert record (some servers do)
  await listen(
    'alerts',
    net.createServer((c) =>
      c.once('data', () => c.end(Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46]))),
    ),
  )
  // nginx on a TLS port answers plain HTTP with a 400 that says so
  const nginxBody = '<html><center>The plain HTTP request was sent to HTTPS port</center></html>\r\n'
  await listen(
    'nginxLike',
    net.createServer((c) =>
      c.once('data', () =>
        c.end(
          `HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\nConnection: close\r\nContent-Length: ${nginxBody.length}\r\n\r\n${nginxBody}`,
        ),
      ),
    ),
  )
  port.sServer = await startSServer()
}, 30_000)

afterAll(async () => {
  sServer?.removeAllListeners('exit')
  sServer?.kill()
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  pki?.remove()
})

interface Outcome {
  status?: number
  err?: unknown
  /** connectionErrorFor (sync) */
  mapped?: IdtoolError
  /** explainConnectionError (a diagnostic handshake when it helps) */
  explained?: IdtoolError
}

/** A request the way the Keystone client sends one: undici with the connect options of the settings. */
async function viaUndici(
  url: string,
  settings: TlsSettings,
  extra: Partial<tls.ConnectionOptions> = {},
): Promise<Outcome> {
  const connect = tlsConnectOptions(settings)
  const agent = new Agent({ connect: { ...connect, ...extra } })
  try {
    const res = await request(url, { dispatcher: agent })
    const body = await res.body.text()
    const answer = plainHttpToTlsAnswer(url, res.statusCode, body)
    return { status: res.statusCode, mapped: answer }
  } catch (err) {
    return {
      err,
      mapped: connectionErrorFor(url, err, settings),
      explained: await explainConnectionError(url, err, { tls: settings, connect }),
    }
  } finally {
    await agent.destroy()
  }
}

/** A raw `tls.connect` that sends one request (the lean load lanes' way). */
function viaTls(p: number, connect: TlsConnectOptions): Promise<{ answer?: string; err?: Error }> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port: p, ...connect })
    s.on('secureConnect', () => s.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'))
    s.on('data', (d: Buffer) => {
      resolve({ answer: d.toString() })
      s.destroy()
    })
    s.on('error', (err) => resolve({ err }))
    s.on('close', () => resolve({}))
  })
}

/** The promise of the whole suite: one line, no OpenSSL text, and a hint. */
function expectOneLine(e: IdtoolError | undefined): asserts e is IdtoolError {
  expect(e).toBeInstanceOf(ConnectionError)
  expect(e?.message).not.toMatch(/\n/)
  expect(e?.message).not.toMatch(/:error:[0-9A-F]+:|deps\/openssl|ssl3_/)
  expect(e?.hint).toBeTruthy()
  expect(e?.hint).not.toMatch(/\n/)
  expect(e?.exitCode).toBe(2)
}

const verify = (extra: Partial<TlsSettings> = {}): TlsSettings => ({ verify: true, ...extra })
const url = (name: string, scheme = 'https') => `${scheme}://127.0.0.1:${port[name]}/v3`

describe('server certificate failures name the fix', () => {
  it('unknown CA: cacert / OS_CACERT / --os-cacert, or verify: false (not recommended)', async () => {
    const o = await viaUndici(url('good'), verify())
    expect((o.err as { code?: string }).code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE')
    expectOneLine(o.mapped)
    expect(o.mapped.message).toMatch(/signed by a CA this machine does not trust/)
    expect(o.mapped.hint).toMatch(/`cacert` in clouds\.yaml, OS_CACERT or --os-cacert/)
    expect(o.mapped.hint).toMatch(/verify: false.*not recommended/)
    expect(o.mapped.code).toBe('TLS_UNKNOWN_CA')
    expect(networkErrorClass(o.err)).toBe('tls')
    expect(networkErrorClass(o.mapped)).toBe('tls')
    // the diagnostic handshake names the issuer
    expectOneLine(o.explained)
    expect(o.explained.message).toMatch(/issued by CN=idtool test CA/)
    // the same through a raw tls.connect
    const raw = await viaTls(port.good as number, tlsConnectOptions(verify()))
    const e = connectionErrorFor(url('good'), raw.err)
    expectOneLine(e)
    expect(e.code).toBe('TLS_UNKNOWN_CA')
  })

  it('unknown CA with a cacert that does not hold it names the file', async () => {
    const o = await viaUndici(url('good'), verify({ cacert: pki.otherCa.certFile }))
    expectOneLine(o.mapped)
    expect(o.mapped.message).toContain(`not signed by a CA in ${pki.otherCa.certFile} (cacert)`)
    expect(o.mapped.hint).toMatch(/cacert/)
  })

  it('a self-signed server certificate', async () => {
    const o = await viaUndici(url('selfSigned'), verify({ cacert: pki.ca.certFile }))
    expect((o.err as { code?: string }).code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT')
    expectOneLine(o.mapped)
    expect(o.mapped.message).toMatch(/presented a self-signed certificate/)
    expect(o.mapped.hint).toMatch(/cacert.*OS_CACERT.*--os-cacert/)
    expect(o.explained?.message).toMatch(/self-signed certificate \(CN=127\.0\.0\.1\)/)
    expect(networkErrorClass(o.err)).toBe('tls')
  })

  it('host name mismatch names the host and the names of the certificate', async () => {
    const o = await viaUndici(url('wrongName'), verify({ cacert: pki.ca.certFile }))
    expect((o.err as { code?: string }).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID')
    expectOneLine(o.mapped)
    expect(o.mapped.message).toBe(
      `cannot reach ${url('wrongName')}: TLS: the certificate of 127.0.0.1:${port.wrongName} is for wrong.example, 10.9.9.9, not 127.0.0.1`,
    )
    expect(o.mapped.hint).toMatch(/subjectAltName/)
    expect(o.mapped.hint).toMatch(/auth_url/)
    expect(networkErrorClass(o.err)).toBe('tls')
    const raw = await viaTls(port.wrongName as number, tlsConnectOptions(verify({ cacert: pki.ca.certFile })))
    expect(connectionErrorFor(url('wrongName'), raw.err).message).toMatch(
      /is for wrong\.example, 10\.9\.9\.9/,
    )
  })

  it('expired certificate names the expiry date', async () => {
    const o = await viaUndici(url('expired'), verify({ cacert: pki.ca.certFile }))
    expect((o.err as { code?: string }).code).toBe('CERT_HAS_EXPIRED')
    expectOneLine(o.mapped)
    expect(o.mapped.message).toMatch(/certificate of 127\.0\.0\.1:\d+ expired$/)
    expect(o.mapped.hint).toMatch(/renew/)
    expectOneLine(o.explained)
    expect(o.explained.message).toMatch(/expired on 2020-02-01 00:00 UTC$/)
    expect(networkErrorClass(o.err)).toBe('tls')
  })
})

describe('client certificates', () => {
  it('required by the server (TLS 1.3, alert 116): undici loses the alert, the diagnosis finds it', async () => {
    const o = await viaUndici(url('mtls'), verify({ cacert: pki.ca.certFile }))
    expect((o.err as { code?: string }).code).toBe('UND_ERR_SOCKET')
    expectOneLine(o.mapped)
    expect(o.mapped.message).toMatch(/closed the connection after the TLS handshake without answering/)
    expect(o.mapped.hint).toMatch(
      /client certificate: set `cert` and `key` in clouds\.yaml \(OS_CERT and OS_KEY/,
    )
    expectOneLine(o.explained)
    expect(o.explained.message).toMatch(/requires a client certificate and none was sent \(alert 116/)
    expect(o.explained.hint).toMatch(/--os-cert and --os-key/)
    expect(o.explained.code).toBe('TLS_CLIENT_CERT_REQUIRED')
    // a raw tls.connect sees the alert itself
    const raw = await viaTls(port.mtls as number, tlsConnectOptions(verify({ cacert: pki.ca.certFile })))
    expect((raw.err as { code?: string }).code).toBe('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED')
    const e = connectionErrorFor(url('mtls'), raw.err, verify({ cacert: pki.ca.certFile }))
    expectOneLine(e)
    expect(e.message).toMatch(/requires a client certificate and none was sent \(alert 116/)
    expect(networkErrorClass(raw.err)).toBe('tls')
  })

  it('required by a TLS 1.2 server (alert 40 handshake failure)', async () => {
    const o = await viaUndici(url('mtls12'), verify({ cacert: pki.ca.certFile }))
    // OpenSSL 3.0 (Node 20) and 3.5 (Node 24) name it differently
    expect((o.err as { code?: string }).code).toMatch(/^ERR_SSL_(SSLV3|SSL\/TLS)_ALERT_HANDSHAKE_FAILURE$/)
    expectOneLine(o.mapped)
    expect(o.mapped.message).toMatch(/requires a client certificate and none was sent \(alert 40/)
    expect(o.mapped.hint).toMatch(/`cert` and `key`/)
    expect(networkErrorClass(o.err)).toBe('tls')
    // without knowing the settings, the message still says what is likely
    const bare = connectionErrorFor(url('mtls12'), o.err)
    expect(bare.message).toMatch(
      /refused the handshake \(alert 40: .*\): it likely requires a client certificate/,
    )
  })

  it('required by an OpenSSL-verifying server (s_server, like haproxy)', async () => {
    const o = await viaUndici(url('sServer'), verify({ cacert: pki.ca.certFile }))
    expectOneLine(o.explained)
    expect(o.explained.message).toMatch(/requires a client certificate and none was sent \(alert 116/)
  })

  it('rejected: a client certificate from a CA the server does not trust (alert 48 unknown ca)', async () => {
    const settings = verify({
      cacert: pki.ca.certFile,
      cert: pki.foreignClient.certFile,
      key: pki.foreignClient.keyFile,
    })
    // TLS 1.3: the alert comes after the handshake; undici says "other side closed"
    const o = await viaUndici(url('sServer'), settings)
    expect((o.err as { code?: string }).code).toBe('UND_ERR_SOCKET')
    expectOneLine(o.mapped)
    expect(o.mapped.hint).toContain(`may refuse the client certificate ${pki.foreignClient.certFile}`)
    expectOneLine(o.explained)
    expect(o.explained.message).toMatch(
      /rejected the client certificate .*foreign-client\.pem \(alert 48: tlsv1 alert unknown ca: it does not trust the CA that signed it\)/,
    )
    expect(o.explained.hint).toMatch(/signed by a CA the server trusts: `cert` and `key`/)
    expect(o.explained.code).toBe('TLS_CLIENT_CERT_REJECTED')
    // TLS 1.2: the alert ends the handshake; undici reports it
    const o12 = await viaUndici(url('sServer'), settings, { maxVersion: 'TLSv1.2' })
    expect((o12.err as { code?: string }).code).toBe('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA')
    expectOneLine(o12.mapped)
    expect(o12.mapped.message).toMatch(/rejected the client certificate .* \(alert 48/)
    expect(networkErrorClass(o12.err)).toBe('tls')
    // raw tls.connect, TLS 1.3
    const raw = await viaTls(port.sServer as number, tlsConnectOptions(settings))
    expect((raw.err as { code?: string }).code).toBe('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA')
    expect(connectionErrorFor(url('sServer'), raw.err, settings).code).toBe('TLS_CLIENT_CERT_REJECTED')
  })

  it('rejected by a Node server (closes without an alert): the hint names the certificate', async () => {
    const settings = verify({
      cacert: pki.ca.certFile,
      cert: pki.foreignClient.certFile,
      key: pki.foreignClient.keyFile,
    })
    const o = await viaUndici(url('mtls'), settings)
    expectOneLine(o.explained)
    expect(o.explained.message).toMatch(/closed the connection after the TLS handshake without answering/)
    expect(o.explained.hint).toContain(`may refuse the client certificate ${pki.foreignClient.certFile}`)
  })

  it('accepted: a client certificate from the CA, and one whose key is inside the certificate PEM', async () => {
    const separate = verify({ cacert: pki.ca.certFile, cert: pki.client.certFile, key: pki.client.keyFile })
    expect((await viaUndici(url('mtls'), separate)).status).toBe(200)
    expect((await viaUndici(url('sServer'), separate)).status).toBe(200)
    const combined = verify({ cacert: pki.ca.certFile, cert: pki.clientCombinedFile })
    const opts = tlsConnectOptions(combined)
    expect(opts.key).toMatch(/^-----BEGIN PRIVATE KEY-----/)
    expect(opts.cert).not.toMatch(/PRIVATE KEY/)
    expect((await viaUndici(url('mtls'), combined)).status).toBe(200)
    expect((await viaTls(port.mtls as number, opts)).answer).toMatch(/^HTTP\/1\.1 200/)
  })
})

describe('tlsConnector keeps the alert undici loses', () => {
  async function send(
    u: string,
    settings: TlsSettings,
    times = 1,
  ): Promise<{ statuses: number[]; err?: unknown }> {
    const agent = new Agent({ connect: tlsConnector(tlsConnectOptions(settings)) })
    const statuses: number[] = []
    try {
      for (let i = 0; i < times; i++) {
        const res = await request(u, { dispatcher: agent })
        await res.body.text()
        statuses.push(res.statusCode)
      }
      return { statuses }
    } catch (err) {
      return { statuses, err }
    } finally {
      await agent.destroy()
    }
  }

  it('client certificate required (TLS 1.3): the request fails with alert 116 itself', async () => {
    const settings = verify({ cacert: pki.ca.certFile })
    const { err } = await send(url('mtls'), settings)
    expect((err as { code?: string }).code).toBe('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED')
    expect(networkErrorClass(err)).toBe('tls')
    const e = connectionErrorFor(url('mtls'), err, settings)
    expectOneLine(e)
    expect(e.code).toBe('TLS_CLIENT_CERT_REQUIRED')
  })

  it('client certificate rejected (TLS 1.3, alert 48): the request fails with the alert itself', async () => {
    const settings = verify({
      cacert: pki.ca.certFile,
      cert: pki.foreignClient.certFile,
      key: pki.foreignClient.keyFile,
    })
    const { err } = await send(url('sServer'), settings)
    expect((err as { code?: string }).code).toBe('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA')
    expect(connectionErrorFor(url('sServer'), err, settings).message).toMatch(
      /rejected the client certificate/,
    )
  })

  it('changes nothing else: keep-alive requests, verification errors, refused connections', async () => {
    const good = verify({ cacert: pki.ca.certFile, cert: pki.client.certFile, key: pki.client.keyFile })
    expect((await send(url('mtls'), good, 3)).statuses).toEqual([200, 200, 200])
    const wrong = await send(url('wrongName'), verify({ cacert: pki.ca.certFile }))
    expect((wrong.err as { code?: string }).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID')
    const closed = net.createServer()
    await listen('refused', closed)
    await new Promise((r) => closed.close(r))
    const refused = await send(url('refused'), verify())
    expect((refused.err as { code?: string }).code).toBe('ECONNREFUSED')
    expect(connectionErrorFor(url('refused'), refused.err).message).toMatch(/connection refused$/)
  })
})

describe('the wrong scheme for the port', () => {
  it('TLS sent to a plain HTTP port (wrong version number): use http://', async () => {
    const o = await viaUndici(url('plain'), verify())
    expect((o.err as { code?: string }).code).toBe('ERR_SSL_WRONG_VERSION_NUMBER')
    expect((o.err as Error).message).toMatch(/\n|:error:/) // what the user must not see
    expectOneLine(o.mapped)
    expect(o.mapped.message).toMatch(
      /does not speak TLS \(wrong version number\): https:\/\/ to a plain-HTTP port\?/,
    )
    expect(o.mapped.hint).toContain(`use http://127.0.0.1:${port.plain}/v3`)
    expect(networkErrorClass(o.err)).toBe('tls')
    const raw = await viaTls(port.plain as number, tlsConnectOptions(verify()))
    expect(connectionErrorFor(url('plain'), raw.err).code).toBe('TLS_TO_PLAIN_PORT')
  })

  it('TLS sent to a port that answers with a long non-TLS record (packet length too long)', async () => {
    // a service that answers the ClientHello with bytes OpenSSL reads as an oversized record
    await listen(
      'oversized',
      net.createServer((c) =>
        c.once('data', () =>
          c.end(Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff]), Buffer.alloc(64, 0x41)])),
        ),
      ),
    )
    const o = await viaUndici(url('oversized'), verify())
    // OpenSSL 3.0 (Node 20): packet length too long; 3.5 (Node 24): data length too long
    expect((o.err as { code?: string }).code).toMatch(/^ERR_SSL_(PACKET|DATA)_LENGTH_TOO_LONG$/)
    expectOneLine(o.mapped)
    expect(o.mapped.message).toMatch(/does not speak TLS \((packet|data) length too long\)/)
    expect(o.mapped.hint).toContain(`use http://127.0.0.1:${port.oversized}/v3`)
    // wrapped in a cause, as fetch() does
    const wrapped = connectionErrorFor(url('oversized'), new TypeError('fetch failed', { cause: o.err }))
    expect(wrapped.code).toBe('TLS_TO_PLAIN_PORT')
    expect(networkErrorClass(new TypeError('fetch failed', { cause: o.err }))).toBe('tls')
  })

  it('plain HTTP sent to a TLS port that closes: the hint says https://, the diagnosis is sure', async () => {
    const o = await viaUndici(url('good', 'http'), verify())
    expect((o.err as { code?: string }).code).toBe('UND_ERR_SOCKET')
    expect(o.mapped?.hint).toContain(`if the port speaks TLS, use https://127.0.0.1:${port.good}/v3`)
    expectOneLine(o.explained)
    expect(o.explained.message).toMatch(/speaks TLS, not plain HTTP: http:\/\/ to an https port\?/)
    expect(o.explained.hint).toContain(`use https://127.0.0.1:${port.good}/v3`)
    expect(o.explained.code).toBe('PLAIN_TO_TLS_PORT')
    // a plain server that really closed: the diagnosis does not claim TLS
    const closer = net.createServer((c) => c.destroy())
    await listen('closer', closer)
    const c = await viaUndici(url('closer', 'http'), verify())
    expect(c.explained?.code).not.toBe('PLAIN_TO_TLS_PORT')
  })

  it('plain HTTP sent to a TLS port that answers with a TLS alert', async () => {
    const o = await viaUndici(url('alerts', 'http'), verify())
    expect((o.err as Error).name).toBe('HTTPParserError')
    expectOneLine(o.mapped)
    expect(o.mapped.code).toBe('PLAIN_TO_TLS_PORT')
    expect(o.mapped.hint).toContain('use https://')
  })

  it('plain HTTP sent to a TLS port that answers 400 "plain HTTP request was sent to HTTPS port"', async () => {
    const o = await viaUndici(url('nginxLike', 'http'), verify())
    expect(o.status).toBe(400)
    expectOneLine(o.mapped)
    expect(o.mapped.message).toMatch(/speaks TLS, not plain HTTP/)
    expect(o.mapped.hint).toContain(`use https://127.0.0.1:${port.nginxLike}/v3`)
    expect(plainHttpToTlsAnswer(url('plain', 'http'), 400, '{"error": "bad request"}')).toBeUndefined()
    expect(
      plainHttpToTlsAnswer(url('plain', 'http'), 404, 'plain HTTP request was sent to HTTPS port'),
    ).toBeUndefined()
  })
})

describe('tlsConnectOptions', () => {
  it('verify false connects to a self-signed server and warns exactly once per process', async () => {
    const warnings: string[] = []
    const warn = (m: string) => warnings.push(m)
    const insecure: TlsSettings = { verify: false, cacert: join(pki.dir, 'does-not-exist.pem') }
    const opts = tlsConnectOptions(insecure, { warn })
    expect(opts).toEqual({ rejectUnauthorized: false })
    tlsConnectOptions(insecure, { warn })
    tlsConnectOptions({ verify: false }, { warn })
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/^TLS certificate verification is off \(verify: false \/ --os-insecure\): /)
    const agent = new Agent({ connect: opts })
    try {
      const res = await request(url('selfSigned'), { dispatcher: agent })
      expect(res.statusCode).toBe(200)
      expect(await res.body.text()).toBe('ok')
    } finally {
      await agent.destroy()
    }
    expect(warnings).toHaveLength(1)
  })

  it('verifies by default and reads the CA bundle', () => {
    const o = tlsConnectOptions({ verify: true, cacert: pki.ca.certFile })
    expect(o.rejectUnauthorized).toBe(true)
    expect(o.ca).toBe(pki.ca.cert.endsWith('\n') ? pki.ca.cert : `${pki.ca.cert}\n`)
    expect(o.cert).toBeUndefined()
    expect(tlsConnectOptions({ verify: true })).toEqual({ rejectUnauthorized: true })
  })

  it('missing files are one-line ConfigErrors naming the file and the setting', () => {
    const missing = join(pki.dir, 'missing.pem')
    const check = (settings: TlsSettings, re: RegExp) => {
      let err: unknown
      try {
        tlsConnectOptions(settings)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(ConfigError)
      const e = err as ConfigError
      expect(e.message).not.toMatch(/\n/)
      expect(e.message).toMatch(re)
      expect(e.exitCode).toBe(2)
      expect(e.hint).toBeTruthy()
      return e
    }
    check(
      { verify: true, cacert: missing },
      /^cannot read the CA bundle .*missing\.pem named by `cacert` \(clouds\.yaml, OS_CACERT or --os-cacert\): no such file$/,
    )
    check(
      { verify: true, cert: missing, key: pki.client.keyFile },
      /^cannot read the client certificate .*missing\.pem named by `cert` \(clouds\.yaml, OS_CERT or --os-cert\): no such file$/,
    )
    check(
      { verify: true, cert: pki.client.certFile, key: missing },
      /^cannot read the client key .*missing\.pem named by `key` \(clouds\.yaml, OS_KEY or --os-key\): no such file$/,
    )
    // where the setting came from, when the resolver says
    expect(() =>
      tlsConnectOptions({ verify: true, cacert: missing }, { sources: { cacert: 'env OS_CACERT' } }),
    ).toThrow(/named by `cacert` from env OS_CACERT: no such file$/)
    // a certificate without a key, neither in `key` nor in its own file
    const e = check(
      { verify: true, cert: pki.client.certFile },
      /client certificate .*client\.pem named by `cert` .* holds no private key, and no `key` is set$/,
    )
    expect(e.hint).toMatch(/OS_KEY/)
    // files that are not what they should be
    check({ verify: true, cacert: pki.ca.keyFile }, /CA bundle .*ca\.key .* holds no PEM certificate$/)
    check(
      { verify: true, cert: pki.client.certFile, key: pki.ca.certFile },
      /client key .* holds no PEM private key$/,
    )
    check(
      { verify: true, cert: pki.client.certFile, key: pki.foreignClient.keyFile },
      /client key .*foreign-client\.key is not the key of the certificate .*client\.pem/,
    )
    check({ verify: true, cacert: pki.dir }, /cannot read the CA bundle .* it is a directory$/)
  })

  it('refuses an encrypted key with a one-line error', () => {
    const enc = join(pki.dir, 'encrypted.key')
    writeFileSync(
      enc,
      '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n',
      { mode: 0o600 },
    )
    expect(() => tlsConnectOptions({ verify: true, cert: pki.client.certFile, key: enc })).toThrow(
      /encrypted: idtool cannot ask for its passphrase$/,
    )
  })

  it('reads each file once per path', () => {
    const copy = join(pki.dir, 'ca-copy.pem')
    writeFileSync(copy, pki.ca.cert)
    chmodSync(copy, 0o644)
    const first = tlsConnectOptions({ verify: true, cacert: copy })
    unlinkSync(copy)
    expect(tlsConnectOptions({ verify: true, cacert: copy })).toEqual(first)
  })

  it('warns that a key without a certificate is not used', () => {
    const warnings: string[] = []
    expect(
      tlsConnectOptions({ verify: true, key: pki.client.keyFile }, { warn: (m) => warnings.push(m) }),
    ).toEqual({
      rejectUnauthorized: true,
    })
    expect(warnings[0]).toMatch(/`key` .* is set without `cert`/)
  })

  it('isTls', () => {
    expect(isTls('https://keystone.example:5000/v3')).toBe(true)
    expect(isTls('HTTPS://k/v3')).toBe(true)
    expect(isTls('http://127.0.0.1:5000/v3')).toBe(false)
    expect(isTls('not a url')).toBe(false)
  })
})

describe('TLS errors that reach the top unmapped', () => {
  it('are one line with a hint (toIdtoolError)', async () => {
    const raw = await viaTls(port.plain as number, tlsConnectOptions(verify()))
    expect(raw.err?.message).toMatch(/\n/)
    const e = toIdtoolError(raw.err)
    expectOneLine(e)
    expect(e.message).toMatch(/does not speak TLS \(wrong version number\)/)
    const wrong = await viaTls(
      port.wrongName as number,
      tlsConnectOptions(verify({ cacert: pki.ca.certFile })),
    )
    expect(toIdtoolError(wrong.err).message).toBe(
      'cannot reach 127.0.0.1: TLS: the certificate of 127.0.0.1 is for wrong.example, 10.9.9.9, not 127.0.0.1',
    )
  })
})

describe('non-TLS errors keep their behaviour', () => {
  it('refused and timeouts are unchanged', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })
    const e = connectionErrorFor('https://127.0.0.1:1/v3', refused)
    expect(e.message).toBe('cannot reach https://127.0.0.1:1/v3: connection refused')
    expect(e.code).toBe('ECONNREFUSED')
    expect(networkErrorClass(refused)).toBe('connect')
    const timeout = Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' })
    expect(connectionErrorFor('https://127.0.0.1:1/v3', timeout).message).toMatch(
      /timed out waiting for response headers/,
    )
  })
})
