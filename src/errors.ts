import { dirname } from 'node:path'
import { ExitCode, type ExitCodeValue } from './exit-codes.js'

/**
 * Every error idtool raises on purpose. `message` is one line naming the problem; `hint` names the fix.
 * The base command prints `Error: <message>` and `Hint: <hint>` and exits with `exitCode`.
 */
export class IdtoolError extends Error {
  readonly exitCode: ExitCodeValue
  readonly code: string
  readonly hint?: string

  constructor(
    message: string,
    opts: { code?: string; exitCode?: ExitCodeValue; hint?: string; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = new.target.name
    this.code = opts.code ?? 'IDTOOL_ERROR'
    this.exitCode = opts.exitCode ?? ExitCode.Runtime
    this.hint = opts.hint
  }
}

/** Bad input: flags, files, URLs, scenario content. Exit 2. */
export class UsageError extends IdtoolError {
  constructor(message: string, opts: { code?: string; hint?: string; cause?: unknown } = {}) {
    super(message, { code: 'USAGE', ...opts, exitCode: ExitCode.Usage })
  }
}

/** Missing or conflicting connection settings (clouds.yaml, OS_* variables, flags). Exit 2. */
export class ConfigError extends IdtoolError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, { code: 'CONFIG', ...opts, exitCode: ExitCode.Usage })
  }
}

/** Credentials rejected by Keystone or LDAP. Exit 2: it is the user's input that is wrong. */
export class AuthError extends IdtoolError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, { code: 'AUTH', ...opts, exitCode: ExitCode.Usage })
  }
}

/** The target could not be reached (refused, DNS, TLS). Exit 2: usually a wrong URL or a stopped service. */
export class ConnectionError extends IdtoolError {
  constructor(message: string, opts: { hint?: string; cause?: unknown; code?: string } = {}) {
    super(message, { code: 'CONNECTION', ...opts, exitCode: ExitCode.Usage })
  }
}

/** An HTTP answer that the operation cannot use. Exit 1. */
export class HttpError extends IdtoolError {
  readonly status: number
  constructor(status: number, message: string, opts: { hint?: string } = {}) {
    super(message, { code: `HTTP_${status}`, ...opts, exitCode: ExitCode.Runtime })
    this.status = status
  }
}

/** Thrown (or returned) when a run was interrupted by a signal. Exit 130. */
export class InterruptedError extends IdtoolError {
  constructor(message = 'interrupted', opts: { hint?: string } = {}) {
    super(message, { code: 'INTERRUPTED', ...opts, exitCode: ExitCode.Interrupted })
  }
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  UND_ERR_HEADERS_TIMEOUT: 'timed out waiting for response headers',
  UND_ERR_BODY_TIMEOUT: 'timed out reading the response body',
  UND_ERR_SOCKET: 'socket closed unexpectedly',
  UND_ERR_CLOSED: 'client closed',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS: self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'TLS: self-signed certificate in chain',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS: unable to verify the certificate',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'TLS: unable to get the local issuer certificate',
  UNABLE_TO_GET_ISSUER_CERT: 'TLS: unable to get the issuer certificate',
  CERT_UNTRUSTED: 'TLS: certificate not trusted',
  CERT_HAS_EXPIRED: 'TLS: certificate expired',
  CERT_NOT_YET_VALID: 'TLS: certificate not yet valid',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS: certificate does not match the host name',
}

/**
 * errno codes of the local file system: never a "network error". Each with what it means; `fsErrorHint` says
 * the fix.
 */
export const FS_CODES: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a component of the path is not a directory',
  EISDIR: 'is a directory',
  EEXIST: 'file already exists',
  EFBIG: 'file too large',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many symbolic links',
  EBUSY: 'resource busy',
}

/** "no space left on device (ENOSPC)" for a file-system error, else the error's first line. */
export function fsErrorText(err: unknown): string {
  const code = (err as { code?: unknown })?.code
  if (typeof code === 'string' && code in FS_CODES) return `${FS_CODES[code]} (${code})`
  return ((err as Error)?.message ?? String(err)).split('\n')[0] ?? 'unknown error'
}

/** The usual fix of a file-system error on `path`. */
export function fsErrorHint(err: unknown, path: string): string {
  const code = (err as { code?: unknown })?.code
  const dir = dirname(path)
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
    case 'EFBIG':
      return `free space on the file system of ${dir} (df -h ${dir}) or write elsewhere.`
    case 'EROFS':
      return `${dir} is on a read-only file system: write elsewhere.`
    case 'EACCES':
    case 'EPERM':
      return `check the permissions of ${path} and ${dir}, or write elsewhere.`
    case 'ENOENT':
    case 'ENOTDIR':
      return `create the directory first (mkdir -p ${dir}) or choose another path.`
    case 'EMFILE':
    case 'ENFILE':
      return 'raise the open-file limit (ulimit -n) or lower the concurrency.'
    default:
      return `check ${path}, its directory and the file system it is on.`
  }
}

/** A local file could not be read or written (full disk, read-only, permissions). Exit 1 unless said. */
export class FileSystemError extends IdtoolError {
  readonly path: string
  constructor(
    what: string,
    path: string,
    err: unknown,
    opts: { hint?: string; exitCode?: ExitCodeValue } = {},
  ) {
    super(`${what} ${path}: ${fsErrorText(err)}`, {
      code: 'FILESYSTEM',
      exitCode: opts.exitCode ?? ExitCode.Runtime,
      hint: opts.hint ?? fsErrorHint(err, path),
      cause: err,
    })
    this.path = path
  }
}

/** errno codes that only the file system gives (EACCES, EPERM, ENOENT... also come from sockets or spawn). */
const FS_ONLY = new Set([
  'ENOSPC',
  'EDQUOT',
  'EROFS',
  'EFBIG',
  'EISDIR',
  'ENOTDIR',
  'EIO',
  'ENAMETOOLONG',
  'ELOOP',
])

/** Whether an error is a local file-system failure: a file-system errno code, from a call on a path. */
export function isFsError(err: unknown): err is NodeJS.ErrnoException {
  const e = err as { code?: unknown; path?: unknown }
  if (!e || typeof e.code !== 'string' || !(e.code in FS_CODES)) return false
  return FS_ONLY.has(e.code) || typeof e.path === 'string'
}

/** Codes of TLS failures that Node does not list above: OpenSSL's (ERR_SSL_*) and Node's TLS layer's (ERR_TLS_*). */
const TLS_CODE = /^(ERR_SSL_|ERR_TLS_)/

/** The errno-style code of an error or of its cause chain, if any. */
export function errorCode(err: unknown): string | undefined {
  let e: unknown = err
  for (let depth = 0; depth < 5 && e; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && code in NETWORK_CODES) return code
    if (typeof code === 'string' && (/^E[A-Z]+$/.test(code) || TLS_CODE.test(code))) return code
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

/**
 * Classify a transport error into the error classes that reports count:
 * connect, timeout, reset, tls, other.
 */
export function networkErrorClass(err: unknown): 'connect' | 'timeout' | 'reset' | 'tls' | 'other' {
  const code = errorCode(err) ?? (err as { code?: string })?.code ?? ''
  if (/TIMEOUT|ETIMEDOUT/.test(code)) return 'timeout'
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code))
    return 'connect'
  if (['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED'].includes(code)) return 'reset'
  // OpenSSL's certificate verification codes without CERT in their name (UNABLE_TO_VERIFY_LEAF_SIGNATURE)
  if (/CERT|TLS|SSL|^UNABLE_TO_/.test(code)) return 'tls'
  return 'other'
}

// ---------------------------------------------------------------------------------------------------------
// TLS failures: which one it is, and the fix

/** The TLS failures idtool names, each with its own fix. */
export type TlsProblemKind =
  /** the server's certificate chain does not lead to a trusted CA (private CA, no `cacert`) */
  | 'unknown-ca'
  /** the server's certificate is self-signed */
  | 'self-signed'
  /** the certificate is valid but for other names than the host in the URL */
  | 'name-mismatch'
  | 'expired'
  | 'not-yet-valid'
  /** the server wants a client certificate and none was sent */
  | 'client-cert-required'
  /** the server refused the client certificate that was sent */
  | 'client-cert-rejected'
  /** https:// to a port that speaks plain HTTP */
  | 'tls-to-plain-port'
  /** http:// to a port that speaks TLS */
  | 'plain-to-tls-port'
  /** the server closed the connection during the handshake (no alert) */
  | 'closed-in-handshake'
  /** the server closed the connection right after the handshake without answering (no alert seen) */
  | 'closed-after-handshake'
  /** any other TLS failure (the OpenSSL reason, one line) */
  | 'other'

/** What is known of the server's certificate (from the error, or from a diagnostic handshake). */
export interface PeerCertificateInfo {
  subject?: string
  issuer?: string
  /** DNS names and IP addresses of the subjectAltName (else the CN) */
  names?: string[]
  /** validity dates as OpenSSL prints them ("Feb  1 00:00:00 2020 GMT") */
  validFrom?: string
  validTo?: string
}

/** Which of the configured TLS settings matter for the message: the files the user named. */
export interface TlsErrorContext {
  /**
   * present when the context is the whole resolved TlsSettings: then no `cert` means that no client
   * certificate was sent (without it, that is unknown)
   */
  verify?: boolean
  /** the CA bundle configured (`cacert`), if any */
  cacert?: string
  /** the client certificate configured (`cert`); undefined when not known whether one was sent */
  cert?: string
  /** true when it is known that a client certificate was configured, false when known not to be */
  clientCert?: boolean
  /** the server certificate, when a diagnostic handshake could read it */
  peer?: PeerCertificateInfo
}

export interface TlsProblem {
  kind: TlsProblemKind
  /** the code it was recognised by (Node's, OpenSSL's or undici's) */
  code: string
  /** OpenSSL's reason, one line (e.g. "tlsv1 alert unknown ca"), when there is one */
  reason?: string
  /** the TLS alert number the server sent, when there was one */
  alert?: number
  /** for name-mismatch: the host that was asked for and the names the certificate holds */
  host?: string
  names?: string[]
  validTo?: string
}

interface ErrLike {
  name?: unknown
  code?: unknown
  message?: unknown
  reason?: unknown
  host?: unknown
  cert?: { subjectaltname?: unknown; subject?: { CN?: unknown }; valid_to?: unknown }
  socket?: { bytesRead?: unknown }
  data?: unknown
  cause?: unknown
}

function chainOf(err: unknown): ErrLike[] {
  const out: ErrLike[] = []
  let e: unknown = err
  for (let depth = 0; depth < 6 && e && typeof e === 'object'; depth++) {
    out.push(e as ErrLike)
    e = (e as ErrLike).cause
  }
  return out
}

const UNKNOWN_CA_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_UNTRUSTED',
])

/**
 * TLS alerts a server sends about the client certificate: the alert's name in Node's error code (after
 * `_ALERT_`) -> [alert number, what it means]. The prefix differs between OpenSSL versions (3.0:
 * `ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE`, `ERR_SSL_TLSV1_ALERT_UNKNOWN_CA`; 3.5, Node 24:
 * `ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE`), so only the name is matched.
 */
const CLIENT_CERT_ALERTS: Record<string, [number, string]> = {
  CERTIFICATE_REQUIRED: [116, 'certificate required'],
  HANDSHAKE_FAILURE: [40, 'handshake failure'],
  BAD_CERTIFICATE: [42, 'bad certificate'],
  UNSUPPORTED_CERTIFICATE: [43, 'unsupported certificate'],
  CERTIFICATE_REVOKED: [44, 'certificate revoked'],
  CERTIFICATE_EXPIRED: [45, 'certificate expired'],
  CERTIFICATE_UNKNOWN: [46, 'certificate unknown'],
  UNKNOWN_CA: [48, 'unknown ca'],
  ACCESS_DENIED: [49, 'access denied'],
}

function clientCertAlert(code: string): [number, string] | undefined {
  const m = /^ERR_SSL_.*_ALERT_([A-Z_]+)$/.exec(code)
  return m ? CLIENT_CERT_ALERTS[m[1]!] : undefined
}

/** OpenSSL's answer when the other side does not speak TLS (it read plain text as a TLS record). */
const NOT_TLS =
  /wrong version number|packet length too long|data length too long|unknown protocol|record layer failure|http request/i

/** OpenSSL's reason of an error, one line: `reason` when Node set it, else parsed from the message. */
export function opensslReason(err: { reason?: unknown; message?: unknown }): string | undefined {
  if (typeof err.reason === 'string' && err.reason) return err.reason
  const msg = typeof err.message === 'string' ? err.message : ''
  // "80AC...:error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca:../deps/...:1601:SSL alert number 48"
  const m = /:error:[0-9A-Fa-f]+:[^:]*:[^:]*:([^:\n]+)/.exec(msg)
  return m?.[1]?.trim()
}

/** Names of a certificate's subjectAltName ("DNS:a, IP Address:10.0.0.1" -> ["a", "10.0.0.1"]). */
export function altNames(subjectaltname: unknown): string[] {
  if (typeof subjectaltname !== 'string' || !subjectaltname) return []
  return subjectaltname
    .split(/,\s*/)
    .map((s) => s.replace(/^(DNS|IP Address|IP):/, '').trim())
    .filter(Boolean)
}

/**
 * Recognise a TLS failure in an error (undici's or Node's `tls`/`net`, anywhere in the cause chain).
 * `url` tells the undici cases apart that only the scheme explains (a socket closed without an answer).
 */
export function tlsProblem(err: unknown, url?: string): TlsProblem | undefined {
  const https = url ? /^https:/i.test(url) : undefined
  for (const e of chainOf(err)) {
    const code = typeof e.code === 'string' ? e.code : ''
    const reason = opensslReason(e)
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      const names = altNames(e.cert?.subjectaltname)
      const cn = e.cert?.subject?.CN
      if (!names.length && typeof cn === 'string') names.push(cn)
      return {
        kind: 'name-mismatch',
        code,
        reason: typeof e.reason === 'string' ? e.reason : undefined,
        host: typeof e.host === 'string' ? e.host : undefined,
        names: names.length ? names : undefined,
      }
    }
    if (code === 'DEPTH_ZERO_SELF_SIGNED_CERT') return { kind: 'self-signed', code }
    if (UNKNOWN_CA_CODES.has(code)) return { kind: 'unknown-ca', code }
    if (code === 'CERT_HAS_EXPIRED') {
      const validTo = e.cert?.valid_to
      return { kind: 'expired', code, validTo: typeof validTo === 'string' ? validTo : undefined }
    }
    if (code === 'CERT_NOT_YET_VALID') return { kind: 'not-yet-valid', code }
    const alert = clientCertAlert(code)
    if (alert) {
      const kind =
        alert[0] === 116 || alert[0] === 40 || alert[0] === 42
          ? 'client-cert-required'
          : 'client-cert-rejected'
      return { kind, code, reason: reason ?? alert[1], alert: alert[0] }
    }
    if ((code.startsWith('ERR_SSL_') || code === 'EPROTO') && reason && NOT_TLS.test(reason)) {
      return { kind: 'tls-to-plain-port', code, reason }
    }
    const message = typeof e.message === 'string' ? e.message : ''
    if (code === 'ECONNRESET' && /before secure TLS connection was established/.test(message)) {
      return { kind: 'closed-in-handshake', code }
    }
    // undici reads a TLS alert as the answer to a plain HTTP request: the server speaks TLS
    if ((code.startsWith('HPE_') || e.name === 'HTTPParserError') && isTlsRecord(e.data))
      return { kind: 'plain-to-tls-port', code: code || 'HTTPParserError' }
    if (https === true && (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET') && e.socket?.bytesRead === 0) {
      // undici reports a TLS 1.3 alert that follows the handshake as "other side closed" (the alert is lost)
      return { kind: 'closed-after-handshake', code }
    }
    if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) {
      const m = /SSL alert number (\d+)/.exec(message)
      return { kind: 'other', code, reason, alert: m ? Number(m[1]) : undefined }
    }
  }
  return undefined
}

/** Bytes that begin a TLS record (handshake 0x16 or alert 0x15, version 3.x): a TLS server's answer. */
function isTlsRecord(data: unknown): boolean {
  const s = typeof data === 'string' ? data : Buffer.isBuffer(data) ? data.toString('latin1') : ''
  return s.length >= 2 && (s.charCodeAt(0) === 0x15 || s.charCodeAt(0) === 0x16) && s.charCodeAt(1) === 0x03
}

function hostPort(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return url
  }
}

function withScheme(url: string, scheme: 'http:' | 'https:'): string {
  try {
    const u = new URL(url)
    u.protocol = scheme
    return u.toString()
  } catch {
    return url.replace(/^https?:/i, scheme)
  }
}

/** "Feb  1 00:00:00 2020 GMT" -> "2020-02-01 00:00 UTC" (as given when it does not parse). */
function certDate(text: string | undefined): string | undefined {
  if (!text) return undefined
  const d = new Date(text)
  return Number.isNaN(d.getTime()) ? text : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`
}

const CACERT = '`cacert` in clouds.yaml, OS_CACERT or --os-cacert'
const CLIENT_CERT = '`cert` and `key` in clouds.yaml (OS_CERT and OS_KEY, or --os-cert and --os-key)'
const INSECURE = '`verify: false` (or --os-insecure) skips the check: not recommended'

/** The one-line message and the hint for a TLS problem on `url`. */
export function describeTlsProblem(
  url: string,
  p: TlsProblem,
  ctx: TlsErrorContext = {},
): { message: string; hint: string; code: string } {
  const where = hostPort(url)
  const peer = ctx.peer ?? {}
  const sent = ctx.clientCert ?? (ctx.cert ? true : ctx.verify !== undefined ? false : undefined)
  const issuer = peer.issuer ? ` (issued by ${peer.issuer})` : ''
  switch (p.kind) {
    case 'unknown-ca':
      return {
        code: 'TLS_UNKNOWN_CA',
        message: ctx.cacert
          ? `TLS: the certificate of ${where} is not signed by a CA in ${ctx.cacert} (cacert)${issuer}`
          : `TLS: the certificate of ${where} is signed by a CA this machine does not trust${issuer}`,
        hint: ctx.cacert
          ? `point ${CACERT} at the CA bundle (PEM) that signed the server's certificate; ${INSECURE}.`
          : `set ${CACERT} to the CA bundle (PEM) that signed the server's certificate; ${INSECURE}.`,
      }
    case 'self-signed':
      return {
        code: 'TLS_SELF_SIGNED',
        message: `TLS: ${where} presented a self-signed certificate${peer.subject ? ` (${peer.subject})` : ''}`,
        hint: `set ${CACERT} to that certificate (PEM) to trust it; ${INSECURE}.`,
      }
    case 'name-mismatch': {
      const names = p.names ?? peer.names
      const host = p.host ?? where.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')
      return {
        code: 'TLS_NAME_MISMATCH',
        message: names?.length
          ? `TLS: the certificate of ${where} is for ${names.join(', ')}, not ${host}`
          : `TLS: the certificate of ${where} does not name ${host}${p.reason ? ` (${p.reason})` : ''}`,
        hint: `use a host name the certificate holds in auth_url${names?.length ? ` (e.g. ${names[0]})` : ''}, or reissue the server's certificate with ${host} in its subjectAltName.`,
      }
    }
    case 'expired': {
      const when = certDate(p.validTo ?? peer.validTo)
      return {
        code: 'TLS_EXPIRED',
        message: `TLS: the certificate of ${where} expired${when ? ` on ${when}` : ''}`,
        hint: `renew the server's certificate (or check this machine's clock); ${INSECURE}.`,
      }
    }
    case 'not-yet-valid': {
      const when = certDate(peer.validFrom)
      return {
        code: 'TLS_NOT_YET_VALID',
        message: `TLS: the certificate of ${where} is not valid yet${when ? ` (valid from ${when})` : ''}`,
        hint: `check this machine's clock, or the start date of the server's certificate; ${INSECURE}.`,
      }
    }
    case 'client-cert-required':
      if (p.alert === 116 || sent === false) {
        return {
          code: 'TLS_CLIENT_CERT_REQUIRED',
          message: `TLS: ${where} requires a client certificate and none was sent${p.alert ? ` (alert ${p.alert}: ${p.reason ?? 'certificate required'})` : ''}`,
          hint: `set ${CLIENT_CERT} to a client certificate signed by a CA the server trusts.`,
        }
      }
      if (sent === true) {
        return {
          code: 'TLS_CLIENT_CERT_REJECTED',
          message: `TLS: ${where} rejected the client certificate${ctx.cert ? ` ${ctx.cert}` : ''} (alert ${p.alert}: ${p.reason})`,
          hint: `use a client certificate signed by a CA the server trusts: ${CLIENT_CERT}.`,
        }
      }
      return {
        code: 'TLS_CLIENT_CERT_REQUIRED',
        message: `TLS: ${where} refused the handshake (alert ${p.alert}: ${p.reason}): it likely requires a client certificate`,
        hint: `set ${CLIENT_CERT} to a client certificate signed by a CA the server trusts.`,
      }
    case 'client-cert-rejected': {
      const why =
        p.alert === 48
          ? 'it does not trust the CA that signed it'
          : p.alert === 45
            ? 'the certificate has expired'
            : p.alert === 44
              ? 'the certificate is revoked'
              : undefined
      return {
        code: 'TLS_CLIENT_CERT_REJECTED',
        message: `TLS: ${where} rejected the client certificate${ctx.cert ? ` ${ctx.cert}` : ''} (alert ${p.alert}: ${p.reason}${why ? `: ${why}` : ''})`,
        hint: `use a client certificate signed by a CA the server trusts: ${CLIENT_CERT}.`,
      }
    }
    case 'tls-to-plain-port':
      return {
        code: 'TLS_TO_PLAIN_PORT',
        message: `TLS: ${where} does not speak TLS (${p.reason ?? 'no TLS answer'}): https:// to a plain-HTTP port?`,
        hint: `use ${withScheme(url, 'http:')} for a plain-HTTP port, or the port where the service speaks TLS.`,
      }
    case 'plain-to-tls-port':
      return {
        code: 'PLAIN_TO_TLS_PORT',
        message: `${where} speaks TLS, not plain HTTP: http:// to an https port?`,
        hint: `use ${withScheme(url, 'https:')}; if its CA is private, set ${CACERT} too.`,
      }
    case 'closed-in-handshake':
      return {
        code: 'TLS_HANDSHAKE_CLOSED',
        message: `TLS: ${where} closed the connection during the TLS handshake`,
        hint:
          sent === true
            ? `the server may refuse the client certificate${ctx.cert ? ` ${ctx.cert}` : ''} (${CLIENT_CERT}), or this port may not speak TLS (then use ${withScheme(url, 'http:')}).`
            : `check that this port speaks TLS (else use ${withScheme(url, 'http:')}); if the server requires a client certificate, set ${CLIENT_CERT}.`,
      }
    case 'closed-after-handshake':
      return {
        code: 'TLS_CLOSED',
        message: `TLS: ${where} closed the connection after the TLS handshake without answering`,
        hint:
          sent === true
            ? `the server may refuse the client certificate${ctx.cert ? ` ${ctx.cert}` : ''}: use one signed by a CA the server trusts, in ${CLIENT_CERT}.`
            : `the server may require a client certificate: set ${CLIENT_CERT}.`,
      }
    default:
      return {
        code: 'TLS',
        message: `TLS with ${where} failed: ${p.reason ?? p.code}${p.alert ? ` (alert ${p.alert})` : ''}`,
        hint: `check the server's TLS setup (\`openssl s_client -connect ${where}\` shows the handshake) and ${CACERT}.`,
      }
  }
}

/**
 * Turn a transport error on `url` into a ConnectionError with a clear one-line message and a hint naming the
 * fix. TLS failures (undici's or Node's `tls`/`net` errors, in the cause chain) are named precisely; `ctx`
 * (the configured CA and client certificate, the server's certificate if known) makes the message exact.
 */
export function connectionErrorFor(url: string, err: unknown, ctx: TlsErrorContext = {}): IdtoolError {
  if (err instanceof IdtoolError) return err
  const problem = tlsProblem(err, url)
  if (problem) return tlsConnectionError(url, problem, ctx, err)
  const code = errorCode(err)
  const raw = (err as Error)?.message || String(err)
  const what = code ? (NETWORK_CODES[code] ?? code) : raw.split('\n')[0]
  const silentClose =
    code === 'UND_ERR_SOCKET' && chainOf(err).some((e) => e.socket && e.socket.bytesRead === 0)
  const hint =
    code === 'ECONNREFUSED'
      ? 'is the service running? For the local lab run `idtool lab up` (or `idtool lab status`).'
      : code && /CERT|TLS|SSL/.test(code)
        ? `set ${CACERT} to the CA bundle that signed the server's certificate.`
        : silentClose && /^http:/i.test(url)
          ? `the server closed the connection without answering: if the port speaks TLS, use ${withScheme(url, 'https:')}; else check that the service is reachable and healthy.`
          : 'check the URL and that the service is reachable from this machine.'
  return new ConnectionError(`cannot reach ${url}: ${what}`, { hint, cause: err, code: code ?? 'CONNECTION' })
}

/**
 * An HTTP answer that says the request went in plain HTTP to a TLS port (nginx: 400 "The plain HTTP request
 * was sent to HTTPS port"; Go: 400 "Client sent an HTTP request to an HTTPS server"), as a ConnectionError;
 * undefined for any other answer.
 */
export function plainHttpToTlsAnswer(url: string, status: number, body: string): ConnectionError | undefined {
  if (
    status !== 400 ||
    !/plain HTTP request was sent to HTTPS port|HTTP request to an HTTPS server/i.test(body)
  ) {
    return undefined
  }
  return tlsConnectionError(url, { kind: 'plain-to-tls-port', code: 'HTTP_400' })
}

/** The ConnectionError for a TLS problem on `url` (see `describeTlsProblem`). */
export function tlsConnectionError(
  url: string,
  problem: TlsProblem,
  ctx: TlsErrorContext = {},
  cause?: unknown,
): ConnectionError {
  const { message, hint, code } = describeTlsProblem(url, problem, ctx)
  return new ConnectionError(`cannot reach ${url}: ${message}`, { hint, code, cause })
}

/** Normalise anything thrown into an IdtoolError (unknown errors become runtime failures). */
export function toIdtoolError(err: unknown): IdtoolError {
  if (err instanceof IdtoolError) return err
  // a run-ending error (tokens/runner.ts FatalRunError) that reached the top: its IdtoolError says it all
  const inner = (err as { name?: unknown; error?: unknown } | undefined)?.error
  if ((err as { name?: unknown } | undefined)?.name === 'FatalRunError' && inner instanceof IdtoolError)
    return inner
  const e = err as { message?: string; code?: string; oclif?: { exit?: number } }
  // a flag's own parser failed: oclif rewrites the message as "Parsing --name \n\t<reason>\nSee more help"
  const parsing = /^Parsing --(\S+)\s*\n\t(.*)/.exec(e?.message ?? '')
  if (parsing) {
    const reason = (parsing[2] ?? '').replace(/^--\S+:\s*/, '')
    return new UsageError(`--${parsing[1]}: ${reason}`, { hint: 'see --help for the flags and examples.' })
  }
  // oclif parse errors (unknown flag, missing required flag, bad option) are usage errors
  if (e && typeof e === 'object' && 'oclif' in e && e.oclif && typeof e.oclif.exit === 'number') {
    // oclif sometimes leads with a generic line ("The following error occurred:"): take the first specific one
    const lines = (e.message ?? '')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !/^The following errors? occurred:?$/i.test(l) && !/^See more help with/i.test(l))
    const msg = (lines[0] ?? 'invalid usage').replace(/^Error:\s*/, '')
    return new UsageError(msg, { hint: 'see --help for the flags and examples.' })
  }
  // a TLS failure that no caller mapped: name it all the same, with the host when the error has it
  const tls = tlsProblem(err)
  if (tls) {
    const at = chainOf(err).find((x) => typeof x.host === 'string') as
      | { host: string; port?: unknown }
      | undefined
    return tlsConnectionError(
      at ? `${at.host}${typeof at.port === 'number' ? `:${at.port}` : ''}` : 'the server',
      tls,
      {},
      err,
    )
  }
  // a file-system failure no caller wrapped: named as such, with the path when Node gives it
  if (isFsError(err)) {
    const path = typeof err.path === 'string' ? err.path : undefined
    return path
      ? new FileSystemError(`cannot ${err.syscall ?? 'write'}`, path, err)
      : new IdtoolError(`file-system error: ${fsErrorText(err)}`, {
          code: 'FILESYSTEM',
          hint: 'check the files idtool writes (--out, pools, ledgers) and the file systems they are on.',
          cause: err,
        })
  }
  if (e && typeof e.code === 'string' && errorCode(err)) {
    return new ConnectionError(`network error: ${NETWORK_CODES[e.code] ?? e.code}`, { cause: err })
  }
  const message = (e?.message ?? String(err)).split('\n')[0] ?? 'unexpected error'
  return new IdtoolError(message || 'unexpected error', { code: 'UNEXPECTED', cause: err })
}
