import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { haproxyCfg } from '../../src/lab/haproxy.js'
import { labPaths } from '../../src/lab/layout.js'
import { checkLabTls, ensureLabTls, opensslConf, pemBlocks, RENEW_BEFORE_MS } from '../../src/lab/tls.js'

const DAY = 86_400_000
const mode = (f: string) => statSync(f).mode & 0o777
const read = (f: string) => readFileSync(f, 'utf8')
const ossl = (...args: string[]) => execFileSync('openssl', args, { encoding: 'utf8', stdio: 'pipe' })

let root: string
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'idtool-tls-'))
})
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

function freshLab(name: string) {
  return labPaths(join(root, name))
}

describe('lab TLS files', () => {
  it('makes a CA, a server certificate for 127.0.0.1 and localhost, and a client certificate', async () => {
    const p = freshLab('a')
    const r = await ensureLabTls(p)
    expect(r.made).toEqual(['ca', 'server', 'client'])
    expect(mode(p.tlsDir)).toBe(0o700)
    for (const key of [p.caKey, p.serverPem, p.clientKey]) expect(mode(key)).toBe(0o600)

    const ca = new X509Certificate(read(p.caCert))
    expect(ca.ca).toBe(true)
    expect(ca.subject).toContain('CN=idtool lab CA')
    const { certs, key } = pemBlocks(read(p.serverPem))
    expect(certs).toHaveLength(1)
    expect(key).toMatch(/^-----BEGIN PRIVATE KEY-----/)
    expect(key).not.toMatch(/ENCRYPTED/)
    const server = new X509Certificate(certs[0]!)
    expect(server.ca).toBe(false)
    expect(server.subjectAltName).toBe('IP Address:127.0.0.1, DNS:localhost')
    expect(server.checkIssued(ca) && server.verify(ca.publicKey)).toBe(true)
    expect(server.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1'])
    const client = new X509Certificate(read(p.clientCert))
    expect(client.verify(ca.publicKey)).toBe(true)
    expect(client.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2'])
    expect(client.subjectAltName).toBeUndefined()

    // openssl agrees: both chain to the lab CA, with the right purpose
    const verify = (purpose: string, file: string) =>
      ossl('verify', '-purpose', purpose, '-CAfile', p.caCert, file)
    const serverCrt = join(root, 'server-only.crt')
    writeFileSync(serverCrt, certs[0]!)
    expect(verify('sslserver', serverCrt)).toContain(': OK')
    expect(verify('sslclient', p.clientCert)).toContain(': OK')
    expect(() => verify('sslserver', p.clientCert)).toThrow()
    const status = checkLabTls(p)
    expect(status.ca.ok && status.server.ok && status.client.ok).toBe(true)
  })

  it('reuses valid files byte for byte and puts key modes back to 0600', async () => {
    const p = freshLab('b')
    await ensureLabTls(p)
    const before = [p.caCert, p.caKey, p.serverPem, p.clientCert, p.clientKey].map(read)
    chmodSync(p.clientKey, 0o644)
    chmodSync(p.serverPem, 0o640)
    const r = await ensureLabTls(p)
    expect(r.made).toEqual([])
    expect([p.caCert, p.caKey, p.serverPem, p.clientCert, p.clientKey].map(read)).toEqual(before)
    expect(mode(p.clientKey)).toBe(0o600)
    expect(mode(p.serverPem)).toBe(0o600)
  })

  it('makes again only the server certificate when it is not signed by the lab CA', async () => {
    const p = freshLab('c')
    const other = freshLab('c-other')
    await ensureLabTls(p)
    await ensureLabTls(other)
    const ca = read(p.caCert)
    const client = read(p.clientCert)
    cpSync(other.serverPem, p.serverPem)
    expect(checkLabTls(p).server).toEqual({ ok: false, reason: 'not signed by the lab CA' })
    const r = await ensureLabTls(p)
    expect(r.made).toEqual(['server'])
    expect(read(p.caCert)).toBe(ca)
    expect(read(p.clientCert)).toBe(client)
    expect(checkLabTls(p).server.ok).toBe(true)
  })

  it('makes again a server certificate without the lab names, or whose key does not match', async () => {
    const p = freshLab('d')
    await ensureLabTls(p)
    // a certificate from the lab CA for another name only
    const key = join(root, 'd-other.key')
    const csr = join(root, 'd-other.csr')
    const crt = join(root, 'd-other.crt')
    const ext = join(root, 'd-other.ext')
    ossl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key)
    ossl('req', '-new', '-key', key, '-subj', '/CN=example.org', '-out', csr)
    writeFileSync(ext, 'extendedKeyUsage = serverAuth\nsubjectAltName = DNS:example.org\n')
    ossl(
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      p.caCert,
      '-CAkey',
      p.caKey,
      '-days',
      '90',
      '-extfile',
      ext,
      '-out',
      crt,
    )
    writeFileSync(p.serverPem, `${read(crt)}${read(key)}`)
    expect(checkLabTls(p).server).toEqual({ ok: false, reason: 'no IP:127.0.0.1 in subjectAltName' })
    expect((await ensureLabTls(p)).made).toEqual(['server'])

    // the right certificate with somebody else's key
    const { certs } = pemBlocks(read(p.serverPem))
    writeFileSync(p.serverPem, `${certs[0]}\n${read(key)}`)
    expect(checkLabTls(p).server).toEqual({
      ok: false,
      reason: 'the server key does not match the certificate',
    })
    expect((await ensureLabTls(p)).made).toEqual(['server'])
    expect(checkLabTls(p).server.ok).toBe(true)
  })

  it('renews certificates that expire within the renewal window, and expired ones', async () => {
    const p = freshLab('e')
    await ensureLabTls(p)
    const ca = read(p.caCert)
    const leafDays = 825
    const soon = new Date(Date.now() + leafDays * DAY - RENEW_BEFORE_MS + DAY)
    const status = checkLabTls(p, soon)
    expect(status.ca.ok).toBe(true)
    expect(status.server.ok).toBe(false)
    expect(status.server.ok ? '' : status.server.reason).toMatch(/^expires soon/)
    const later = new Date(Date.now() + (leafDays + 1) * DAY)
    const expired = checkLabTls(p, later)
    expect(expired.client.ok ? '' : expired.client.reason).toMatch(/^expired on/)
    const r = await ensureLabTls(p, later)
    expect(r.made).toEqual(['server', 'client'])
    expect(read(p.caCert)).toBe(ca)
    // a CA near its end is made again, and with it both certificates
    const caEnd = new Date(Date.now() + 3650 * DAY - DAY)
    expect(checkLabTls(p, caEnd).ca.ok).toBe(false)
  })

  it('makes everything again when the CA key does not match the CA certificate', async () => {
    const p = freshLab('f')
    const other = freshLab('f-other')
    await ensureLabTls(p)
    await ensureLabTls(other)
    cpSync(other.caKey, p.caKey)
    expect(checkLabTls(p).ca).toEqual({ ok: false, reason: 'the CA key does not match the certificate' })
    const oldCa = read(p.caCert)
    const r = await ensureLabTls(p)
    expect(r.made).toEqual(['ca', 'server', 'client'])
    expect(read(p.caCert)).not.toBe(oldCa)
    const s = checkLabTls(p)
    expect(s.ca.ok && s.server.ok && s.client.ok).toBe(true)
  })

  it.skipIf(!existsSync('/usr/sbin/haproxy'))(
    'haproxy accepts its config with the lab certificate and CA',
    async () => {
      const p = freshLab('h')
      await ensureLabTls(p)
      mkdirSync(join(p.dir, 'haproxy'), { recursive: true })
      writeFileSync(p.haproxyCfg, haproxyCfg(p, 2))
      const out = execFileSync('/usr/sbin/haproxy', ['-c', '-f', p.haproxyCfg], {
        encoding: 'utf8',
        stdio: 'pipe',
      })
      expect(out).toContain('Configuration file is valid')
      // and refuses it when the certificate file is not a certificate
      writeFileSync(p.serverPem, 'not a pem\n')
      expect(() => execFileSync('/usr/sbin/haproxy', ['-c', '-f', p.haproxyCfg], { stdio: 'pipe' })).toThrow()
    },
  )

  it('openssl configurations carry names and extensions only, never a passphrase', () => {
    for (const role of ['ca', 'server', 'client'] as const) {
      const c = opensslConf(role)
      expect(c).not.toMatch(/pass|encrypt_key\s*=\s*yes/i)
      expect(c).toContain('prompt = no')
    }
    expect(opensslConf('ca')).toContain('CA:TRUE')
    expect(opensslConf('server')).toContain('subjectAltName = IP:127.0.0.1, DNS:localhost')
    expect(opensslConf('client')).toContain('extendedKeyUsage = clientAuth')
  })
})
