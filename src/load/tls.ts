/**
 * TLS settings (clouds.yaml `cacert`, `verify`, `cert`, `key`; OS_CACERT, OS_CERT, OS_KEY; --os-*) turned into
 * the options that undici's `connect` and Node's `tls.connect` take, and a diagnosis of TLS failures that
 * names the fix (see `connectionErrorFor` in src/errors.ts for the one-line messages).
 */
import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { homedir } from 'node:os'
import tls from 'node:tls'
import { buildConnector } from 'undici'
import type { Sources, TlsSettings } from '../config/settings.js'
import {
  altNames,
  ConfigError,
  connectionErrorFor,
  type IdtoolError,
  opensslReason,
  type PeerCertificateInfo,
  type TlsErrorContext,
  tlsConnectionError,
  tlsProblem,
} from '../errors.js'
import { requestBytes } from './h1.js'

/** What undici's `connect` option and Node's `tls.connect` take: PEM text, and whether to verify the server. */
export interface TlsConnectOptions {
  /** CA certificates (PEM) to trust instead of the system's */
  ca?: string
  /** client certificate (PEM) */
  cert?: string
  /** its private key (PEM) */
  key?: string
  /** false: the server's certificate is not verified (`verify: false`) */
  rejectUnauthorized: boolean
}

export interface TlsConnectOptionsOptions {
  /** told once per process when verification is off, and about settings that are ignored */
  warn?: (message: string) => void
  /** where each setting came from (the resolver's `sources`: `cacert`, `cert`, `key`), for messages */
  sources?: Sources
}

type Setting = 'cacert' | 'cert' | 'key'

const SETTING_NAMES: Record<Setting, string> = {
  cacert: '`cacert` (clouds.yaml, OS_CACERT or --os-cacert)',
  cert: '`cert` (clouds.yaml, OS_CERT or --os-cert)',
  key: '`key` (clouds.yaml, OS_KEY or --os-key)',
}

const WHAT: Record<Setting, string> = {
  cacert: 'CA bundle',
  cert: 'client certificate',
  key: 'client key',
}

/** true when `url` is https:// (false for anything else, or a URL that does not parse). */
export function isTls(url: string): boolean {
  try {
    return new URL(url).protocol === 'https:'
  } catch {
    return false
  }
}

const files = new Map<string, string>()
let warnedInsecure = false

function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? homedir() + path.slice(1) : path
}

function namedBy(setting: Setting, sources?: Sources): string {
  const from = sources?.[setting]
  return from ? `\`${setting}\` from ${from}` : SETTING_NAMES[setting]
}

/** A PEM file named by a setting, read once per path per process. */
function readPem(path: string, setting: Setting, sources?: Sources): string {
  const full = expandHome(path)
  const cached = files.get(full)
  if (cached !== undefined) return cached
  let text: string
  try {
    text = readFileSync(full, 'utf8')
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    const why =
      e.code === 'ENOENT'
        ? 'no such file'
        : e.code === 'EACCES'
          ? 'permission denied'
          : e.code === 'EISDIR'
            ? 'it is a directory'
            : (e.code ?? e.message)
    throw new ConfigError(
      `cannot read the ${WHAT[setting]} ${path} named by ${namedBy(setting, sources)}: ${why}`,
      {
        hint: `point ${SETTING_NAMES[setting]} at a readable PEM file.`,
      },
    )
  }
  files.set(full, text)
  return text
}

interface PemBlock {
  label: string
  text: string
}

function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = []
  for (const m of text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g)) {
    out.push({ label: m[1] ?? '', text: `${m[0]}\n` })
  }
  return out
}

const isCert = (b: PemBlock) => b.label === 'CERTIFICATE' || b.label === 'X509 CERTIFICATE'
const isKey = (b: PemBlock) => /PRIVATE KEY$/.test(b.label)

function keyBlock(blocks: PemBlock[], path: string, setting: Setting, sources?: Sources): string | undefined {
  const key = blocks.find(isKey)
  if (!key) return undefined
  if (key.label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,ENCRYPTED/.test(key.text)) {
    throw new ConfigError(
      `the client key in ${path} named by ${namedBy(setting, sources)} is encrypted: idtool cannot ask for its passphrase`,
      {
        hint: `write an unencrypted copy readable only by you (openssl pkey -in ${path} -out KEYFILE; chmod 600 KEYFILE) and point ${SETTING_NAMES.key} at it.`,
      },
    )
  }
  return key.text
}

/**
 * The connect options for `tls` settings: the PEM files read (once per path per process) and checked (a CA
 * bundle holds certificates, a client certificate has its key, in `key` or in the same file, and they match).
 * Throws a one-line ConfigError naming the file and the setting that named it. When `verify` is false, `warn`
 * is told once per process and `cacert` is not used (as the openstack client does).
 */
export function tlsConnectOptions(
  settings: TlsSettings,
  opts: TlsConnectOptionsOptions = {},
): TlsConnectOptions {
  const { sources, warn } = opts
  const out: TlsConnectOptions = { rejectUnauthorized: settings.verify !== false }
  if (settings.verify === false) {
    if (!warnedInsecure) {
      warnedInsecure = true
      warn?.(
        'TLS certificate verification is off (verify: false / --os-insecure): idtool does not check who answers, ' +
          'so credentials and tokens could go to an impostor; set `cacert` to the CA bundle instead.',
      )
    }
  } else if (settings.cacert) {
    const blocks = pemBlocks(readPem(settings.cacert, 'cacert', sources)).filter(isCert)
    if (!blocks.length) {
      throw new ConfigError(
        `the CA bundle ${settings.cacert} named by ${namedBy('cacert', sources)} holds no PEM certificate`,
        {
          hint: `point ${SETTING_NAMES.cacert} at the CA certificate(s) in PEM (-----BEGIN CERTIFICATE-----).`,
        },
      )
    }
    out.ca = blocks.map((b) => b.text).join('')
  }
  if (settings.cert) {
    const certBlocks = pemBlocks(readPem(settings.cert, 'cert', sources))
    const certs = certBlocks.filter(isCert)
    if (!certs.length) {
      throw new ConfigError(
        `the client certificate ${settings.cert} named by ${namedBy('cert', sources)} holds no PEM certificate`,
        {
          hint: `point ${SETTING_NAMES.cert} at the client certificate in PEM (-----BEGIN CERTIFICATE-----).`,
        },
      )
    }
    out.cert = certs.map((b) => b.text).join('')
    out.key = settings.key
      ? keyBlock(pemBlocks(readPem(settings.key, 'key', sources)), settings.key, 'key', sources)
      : keyBlock(certBlocks, settings.cert, 'cert', sources)
    if (!out.key) {
      throw new ConfigError(
        settings.key
          ? `the client key ${settings.key} named by ${namedBy('key', sources)} holds no PEM private key`
          : `the client certificate ${settings.cert} named by ${namedBy('cert', sources)} holds no private key, and no \`key\` is set`,
        {
          hint: `point ${SETTING_NAMES.key} at the certificate's private key (PEM), or put the key in the certificate file.`,
        },
      )
    }
  } else if (settings.key) {
    warn?.(`${namedBy('key', sources)} is set without \`cert\`: no client certificate is sent.`)
  }
  checkTogether(settings, out, sources)
  return out
}

/** Let OpenSSL parse what was read (bad PEM, a key that is not the certificate's) before any connection. */
function checkTogether(settings: TlsSettings, o: TlsConnectOptions, sources?: Sources): void {
  if (o.ca) {
    try {
      tls.createSecureContext({ ca: o.ca })
    } catch (err) {
      throw new ConfigError(
        `the CA bundle ${settings.cacert} named by ${namedBy('cacert', sources)} does not parse: ${opensslReason(err as Error) ?? (err as Error).message}`,
        { hint: `point ${SETTING_NAMES.cacert} at the CA certificate(s) in PEM.` },
      )
    }
  }
  if (o.cert && o.key) {
    try {
      tls.createSecureContext({ cert: o.cert, key: o.key })
    } catch (err) {
      const reason = opensslReason(err as Error) ?? (err as Error).message
      const keyFile = settings.key ?? settings.cert
      throw new ConfigError(
        /key values mismatch/i.test(reason)
          ? `the client key ${keyFile} is not the key of the certificate ${settings.cert} (${namedBy('cert', sources)})`
          : `the client certificate ${settings.cert} or its key ${keyFile} does not parse: ${reason}`,
        {
          hint: `point ${SETTING_NAMES.cert} and ${SETTING_NAMES.key} at a certificate and its own private key (PEM).`,
        },
      )
    }
  }
}

/** A certificate's subject or issuer as one string ("CN=idtool test CA, O=Example"). */
function dn(name: unknown): string | undefined {
  if (!name || typeof name !== 'object') return undefined
  const parts = Object.entries(name as Record<string, unknown>).map(
    ([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`,
  )
  return parts.length ? parts.join(', ') : undefined
}

/** What is worth naming of a peer certificate. */
export function peerCertificateInfo(cert: tls.PeerCertificate | undefined): PeerCertificateInfo | undefined {
  if (!cert || !Object.keys(cert).length) return undefined
  const names = altNames(cert.subjectaltname)
  const cn = cert.subject?.CN
  if (!names.length && cn) names.push(Array.isArray(cn) ? cn.join(', ') : cn)
  return {
    subject: dn(cert.subject),
    issuer: dn(cert.issuer),
    names: names.length ? names : undefined,
    validFrom: cert.valid_from,
    validTo: cert.valid_to,
  }
}

/** What a diagnostic handshake found. */
export interface TlsProbe {
  /** the TLS handshake completed (the server was not verified) */
  handshake: boolean
  /** the server's certificate, when the handshake got that far */
  peer?: PeerCertificateInfo
  /** the server answered the request after the handshake */
  answered: boolean
  /** the error the connection ended with, if any */
  error?: Error
}

/**
 * One diagnostic TLS connection to `url`'s host and port, without verifying the server (to read its
 * certificate), with the client certificate of `connect` if any; with `request`, a HEAD of the URL's path
 * follows the handshake, to see whether the server answers or sends an alert (TLS 1.3 servers reject a client
 * certificate after the handshake). Never throws; gives up after `timeoutMs`.
 */
export function probeTls(
  url: string,
  connect: Partial<TlsConnectOptions> = {},
  opts: { request?: boolean; timeoutMs?: number } = {},
): Promise<TlsProbe> {
  return new Promise((resolve) => {
    let u: URL
    try {
      u = new URL(url)
    } catch (err) {
      resolve({ handshake: false, answered: false, error: err as Error })
      return
    }
    const host = u.hostname.replace(/^\[|\]$/g, '')
    const port = Number(u.port) || (u.protocol === 'https:' ? 443 : 80)
    const result: TlsProbe = { handshake: false, answered: false }
    let done = false
    const socket = tls.connect({
      host,
      port,
      servername: isIP(host) ? undefined : host,
      ca: connect.ca,
      cert: connect.cert,
      key: connect.key,
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
    })
    const finish = () => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      resolve(result)
    }
    const timer = setTimeout(finish, opts.timeoutMs ?? 3000)
    timer.unref()
    socket.on('secureConnect', () => {
      result.handshake = true
      result.peer = peerCertificateInfo(socket.getPeerCertificate())
      if (!opts.request) return finish()
      socket.write(requestBytes('HEAD', u.host, `${u.pathname}${u.search}`, ['connection', 'close']))
    })
    socket.on('data', () => {
      result.answered = true
      finish()
    })
    socket.on('error', (err) => {
      result.error ??= err
      finish()
    })
    socket.on('close', finish)
  })
}

/**
 * `connectionErrorFor` with what a diagnostic handshake adds, for a failed request to `url` through undici
 * (or any client): the expiry date or issuer of a server certificate that failed verification, the TLS alert
 * that undici loses when a TLS 1.3 server rejects the client certificate after the handshake (it reports
 * "other side closed"), and whether an http:// port that closed without answering speaks TLS. Only failures
 * that a probe can explain cost a connection; others map directly. Never throws: it returns the error to throw.
 */
export async function explainConnectionError(
  url: string,
  err: unknown,
  opts: { tls?: TlsSettings; connect?: TlsConnectOptions; timeoutMs?: number } = {},
): Promise<IdtoolError> {
  const ctx: TlsErrorContext = {
    ...(opts.tls ?? {}),
    clientCert: opts.connect ? opts.connect.cert !== undefined : undefined,
  }
  const base = connectionErrorFor(url, err, ctx)
  if (base === err) return base
  const problem = tlsProblem(err, url)
  const timeoutMs = opts.timeoutMs ?? 3000
  if (isTls(url)) {
    if (!problem) return base
    if (['unknown-ca', 'self-signed', 'expired', 'not-yet-valid'].includes(problem.kind)) {
      const probe = await probeTls(url, opts.connect, { timeoutMs })
      return probe.peer ? connectionErrorFor(url, err, { ...ctx, peer: probe.peer }) : base
    }
    if (problem.kind === 'closed-after-handshake' || problem.kind === 'closed-in-handshake') {
      const probe = await probeTls(url, opts.connect, { request: true, timeoutMs })
      const found = probe.error && tlsProblem(probe.error, url)
      if (found && found.kind !== 'closed-after-handshake' && found.kind !== 'closed-in-handshake') {
        return connectionErrorFor(url, probe.error, { ...ctx, peer: probe.peer })
      }
    }
    return base
  }
  // http:// that closed without a word, or answered with bytes that are not HTTP: does the port speak TLS?
  if (problem?.kind === 'plain-to-tls-port') return base
  const codes: string[] = []
  for (
    let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0;
    e && i < 6;
    e = e.cause as typeof e, i++
  ) {
    if (typeof e.code === 'string') codes.push(e.code)
    if ((e as { name?: unknown }).name === 'HTTPParserError') codes.push('HPE_')
  }
  if (codes.some((c) => /^(UND_ERR_SOCKET|ECONNRESET|EPIPE|HPE_[A-Z_]*)$/.test(c))) {
    const probe = await probeTls(url, {}, { timeoutMs })
    if (probe.handshake)
      return tlsConnectionError(url, { kind: 'plain-to-tls-port', code: base.code }, ctx, err)
  }
  return base
}

/**
 * An undici `connect` function for these options that keeps the TLS alert a server sends after the handshake
 * (TLS 1.3: client certificate required 116, unknown ca 48): undici reports it as "other side closed" because
 * the end of the stream that follows the alert replaces the error. Closing the socket on its first TLS error
 * leaves that error as the request's, so `connectionErrorFor` and `networkErrorClass` see it without a
 * diagnostic handshake. Drop-in for `connect: tlsConnectOptions(...)`:
 * `new Agent({ connect: tlsConnector(tlsConnectOptions(settings.tls)) })`.
 */
export function tlsConnector(
  connect: TlsConnectOptions & Omit<buildConnector.BuildOptions, keyof TlsConnectOptions>,
): buildConnector.connector {
  const base = buildConnector(connect as buildConnector.BuildOptions)
  return (options, callback) =>
    base(options, (...args: Parameters<buildConnector.Callback>) => {
      const socket = args[1]
      if (socket) {
        // registered before undici's own listeners: undici records the error, then sees the close
        socket.on('error', (err: NodeJS.ErrnoException) => {
          if (typeof err.code === 'string' && /^ERR_SSL_/.test(err.code)) socket.destroy()
        })
      }
      ;(callback as (...a: Parameters<buildConnector.Callback>) => void)(...args)
    })
}
