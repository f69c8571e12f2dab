import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { LAB_HOST, type LabPaths } from './layout.js'
import { run } from './proc.js'

/**
 * The lab's private PKI: a CA, a server certificate for haproxy's TLS frontends (127.0.0.1 and localhost)
 * and a client certificate for idtool (and the openstack client) on the frontend that requires one.
 * Keys are EC P-256, unencrypted, 0600; certificates are signed with openssl. Files that are still valid
 * are reused, so the CA a user may have installed stays the same across `lab up` runs.
 */

/** The names the server certificate must cover (subjectAltName). */
export const LAB_TLS_SERVER_NAMES = { ip: LAB_HOST, dns: 'localhost' } as const
export const LAB_CA_SUBJECT = 'idtool lab CA'
export const LAB_CLIENT_SUBJECT = 'idtool lab client'

const DAY_MS = 86_400_000
/** Certificates that expire within this window are made again. */
export const RENEW_BEFORE_MS = 30 * DAY_MS
const CA_DAYS = 3650
const LEAF_DAYS = 825
const OPENSSL = '/usr/bin/openssl'

const OID_SERVER_AUTH = '1.3.6.1.5.5.7.3.1'
const OID_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2'

export type TlsRole = 'ca' | 'server' | 'client'

export type CertVerdict = { ok: true; notAfter: string } | { ok: false; reason: string }

/** The certificate blocks and the private key block of a PEM text (haproxy's crt file holds both). */
export function pemBlocks(text: string): { certs: string[]; key?: string } {
  const blocks = text.match(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g) ?? []
  return {
    certs: blocks.filter((b) => b.startsWith('-----BEGIN CERTIFICATE-----')),
    key: blocks.find((b) => /^-----BEGIN (EC |RSA |ENCRYPTED )?PRIVATE KEY-----/.test(b)),
  }
}

function parse(pem: string | undefined): X509Certificate | undefined {
  if (!pem) return undefined
  try {
    return new X509Certificate(pem)
  } catch {
    return undefined
  }
}

function validity(cert: X509Certificate, now: Date): CertVerdict {
  const from = Date.parse(cert.validFrom)
  const to = Date.parse(cert.validTo)
  if (!(from <= now.getTime())) return { ok: false, reason: `not valid before ${cert.validFrom}` }
  if (!(to > now.getTime())) return { ok: false, reason: `expired on ${cert.validTo}` }
  if (to - now.getTime() < RENEW_BEFORE_MS) return { ok: false, reason: `expires soon (${cert.validTo})` }
  return { ok: true, notAfter: new Date(to).toISOString() }
}

function keyMatches(cert: X509Certificate, keyPem: string | undefined): boolean {
  if (!keyPem) return false
  try {
    return cert.checkPrivateKey(createPrivateKey(keyPem))
  } catch {
    return false
  }
}

/** Whether a CA certificate and its key can be reused at `now`. */
export function checkCa(certPem: string | undefined, keyPem: string | undefined, now: Date): CertVerdict {
  const cert = parse(certPem)
  if (!cert) return { ok: false, reason: 'no CA certificate' }
  if (!cert.ca) return { ok: false, reason: 'not a CA certificate' }
  if (!cert.checkIssued(cert) || !cert.verify(cert.publicKey)) return { ok: false, reason: 'not self-signed' }
  if (!keyMatches(cert, keyPem)) return { ok: false, reason: 'the CA key does not match the certificate' }
  return validity(cert, now)
}

/**
 * Whether a server or client certificate can be reused at `now`: signed by this CA, matching key, not
 * expiring within RENEW_BEFORE_MS, the right extended key usage, and for the server both lab names.
 */
export function checkLeaf(
  certPem: string | undefined,
  keyPem: string | undefined,
  caPem: string,
  role: 'server' | 'client',
  now: Date,
): CertVerdict {
  const cert = parse(certPem)
  const ca = parse(caPem)
  if (!cert) return { ok: false, reason: `no ${role} certificate` }
  if (!ca) return { ok: false, reason: 'no CA certificate' }
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey))
    return { ok: false, reason: 'not signed by the lab CA' }
  if (!keyMatches(cert, keyPem))
    return { ok: false, reason: `the ${role} key does not match the certificate` }
  const usage = cert.keyUsage ?? []
  const oid = role === 'server' ? OID_SERVER_AUTH : OID_CLIENT_AUTH
  if (!usage.includes(oid)) return { ok: false, reason: `no ${role}Auth extended key usage` }
  if (role === 'server') {
    if (!cert.checkIP(LAB_TLS_SERVER_NAMES.ip))
      return { ok: false, reason: `no IP:${LAB_TLS_SERVER_NAMES.ip} in subjectAltName` }
    if (!cert.checkHost(LAB_TLS_SERVER_NAMES.dns, { subject: 'never' }))
      return { ok: false, reason: `no DNS:${LAB_TLS_SERVER_NAMES.dns} in subjectAltName` }
  }
  return validity(cert, now)
}

function readIf(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

/** Write a file through a temporary name and a rename, so readers (haproxy) never see half of it. */
export function writeAtomic(path: string, content: string, mode: number): void {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`
  writeFileSync(tmp, content, { mode })
  chmodSync(tmp, mode)
  renameSync(tmp, path)
}

function newKeyPem(): string {
  const { privateKey } = generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  })
  return privateKey
}

function serial(): string {
  const b = randomBytes(16)
  b[0] = (b[0]! & 0x7f) | 0x01
  return `0x${b.toString('hex')}`
}

/** The openssl configuration of one certificate: its subject and the extensions of its section. */
export function opensslConf(role: TlsRole): string {
  const cn =
    role === 'ca' ? LAB_CA_SUBJECT : role === 'server' ? LAB_TLS_SERVER_NAMES.dns : LAB_CLIENT_SUBJECT
  const ext =
    role === 'ca'
      ? [
          'basicConstraints = critical, CA:TRUE, pathlen:0',
          'keyUsage = critical, keyCertSign, cRLSign',
          'subjectKeyIdentifier = hash',
        ]
      : [
          'basicConstraints = critical, CA:FALSE',
          'keyUsage = critical, digitalSignature',
          `extendedKeyUsage = ${role === 'server' ? 'serverAuth' : 'clientAuth'}`,
          'subjectKeyIdentifier = hash',
          'authorityKeyIdentifier = keyid',
          ...(role === 'server'
            ? [`subjectAltName = IP:${LAB_TLS_SERVER_NAMES.ip}, DNS:${LAB_TLS_SERVER_NAMES.dns}`]
            : []),
        ]
  return `# written by idtool lab up
[req]
distinguished_name = dn
prompt = no
[dn]
CN = ${cn}
[ext]
${ext.join('\n')}
`
}

/** Sign a new certificate for `role` with openssl; returns the PEM of the certificate. */
async function makeCert(p: LabPaths, role: TlsRole, keyPem: string): Promise<string> {
  const tmp = (name: string) => join(p.tlsDir, `.${role}.${name}`)
  const files = { key: tmp('key'), conf: tmp('cnf'), csr: tmp('csr'), crt: tmp('crt') }
  try {
    writeFileSync(files.key, keyPem, { mode: 0o600 })
    writeFileSync(files.conf, opensslConf(role), { mode: 0o600 })
    const common = ['-sha256', '-set_serial', serial()]
    if (role === 'ca') {
      await run(OPENSSL, [
        'req',
        '-x509',
        '-new',
        '-key',
        files.key,
        '-config',
        files.conf,
        '-extensions',
        'ext',
        '-days',
        String(CA_DAYS),
        ...common,
        '-out',
        files.crt,
      ])
    } else {
      await run(OPENSSL, ['req', '-new', '-key', files.key, '-config', files.conf, '-out', files.csr])
      await run(OPENSSL, [
        'x509',
        '-req',
        '-in',
        files.csr,
        '-CA',
        p.caCert,
        '-CAkey',
        p.caKey,
        '-extfile',
        files.conf,
        '-extensions',
        'ext',
        '-days',
        String(LEAF_DAYS),
        ...common,
        '-out',
        files.crt,
      ])
    }
    return readFileSync(files.crt, 'utf8')
  } finally {
    for (const f of Object.values(files)) rmSync(f, { force: true })
  }
}

export interface LabTlsResult {
  /** What was made this time (empty when every file was reused). */
  made: TlsRole[]
  /** Why each one was made. */
  reasons: Partial<Record<TlsRole, string>>
}

/** The current verdict on each of the lab's TLS files, without changing anything. */
export function checkLabTls(p: LabPaths, now: Date = new Date()): Record<TlsRole, CertVerdict> {
  const caPem = readIf(p.caCert)
  const ca = checkCa(caPem, readIf(p.caKey), now)
  const server = pemBlocks(readIf(p.serverPem) ?? '')
  return {
    ca,
    server: ca.ok
      ? checkLeaf(server.certs[0], server.key, caPem!, 'server', now)
      : { ok: false, reason: 'the CA is being made again' },
    client: ca.ok
      ? checkLeaf(readIf(p.clientCert), readIf(p.clientKey), caPem!, 'client', now)
      : { ok: false, reason: 'the CA is being made again' },
  }
}

/**
 * Make sure the lab CA, the server certificate (haproxy's cert+key PEM) and idtool's client certificate
 * exist and are valid; make again only those that are not. A new CA means new server and client
 * certificates. Keys are 0600 (fixed if they were not).
 */
export async function ensureLabTls(p: LabPaths, now: Date = new Date()): Promise<LabTlsResult> {
  mkdirSync(p.tlsDir, { recursive: true, mode: 0o700 })
  chmodSync(p.tlsDir, 0o700)
  const verdict = checkLabTls(p, now)
  const made: TlsRole[] = []
  const reasons: Partial<Record<TlsRole, string>> = {}
  if (!verdict.ca.ok) {
    reasons.ca = verdict.ca.reason
    const key = newKeyPem()
    const cert = await makeCert(p, 'ca', key)
    writeAtomic(p.caKey, key, 0o600)
    writeAtomic(p.caCert, cert, 0o644)
    made.push('ca')
  }
  if (!verdict.server.ok) {
    reasons.server = verdict.server.reason
    const key = newKeyPem()
    const cert = await makeCert(p, 'server', key)
    writeAtomic(p.serverPem, `${cert.trimEnd()}\n${key.trimEnd()}\n`, 0o600)
    made.push('server')
  }
  if (!verdict.client.ok) {
    reasons.client = verdict.client.reason
    const key = newKeyPem()
    const cert = await makeCert(p, 'client', key)
    writeAtomic(p.clientKey, key, 0o600)
    writeAtomic(p.clientCert, cert, 0o644)
    made.push('client')
  }
  for (const f of [p.caKey, p.serverPem, p.clientKey]) if (existsSync(f)) chmodSync(f, 0o600)
  return { made, reasons }
}
