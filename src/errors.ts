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
  CERT_HAS_EXPIRED: 'TLS: certificate expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS: certificate does not match the host name',
}

/** The errno-style code of an error or of its cause chain, if any. */
export function errorCode(err: unknown): string | undefined {
  let e: unknown = err
  for (let depth = 0; depth < 5 && e; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && code in NETWORK_CODES) return code
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code
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
  if (/CERT|TLS|SSL/.test(code)) return 'tls'
  return 'other'
}

/** Turn a transport error on `url` into a ConnectionError with a clear one-line message. */
export function connectionErrorFor(url: string, err: unknown): IdtoolError {
  if (err instanceof IdtoolError) return err
  const code = errorCode(err)
  const what = code ? (NETWORK_CODES[code] ?? code) : (err as Error)?.message || String(err)
  const hint =
    code === 'ECONNREFUSED'
      ? 'is the service running? For the local lab run `idtool lab up` (or `idtool lab status`).'
      : code && /CERT|TLS/.test(code)
        ? 'pass the CA bundle with --os-cacert (or OS_CACERT, or cacert: in clouds.yaml).'
        : 'check the URL and that the service is reachable from this machine.'
  return new ConnectionError(`cannot reach ${url}: ${what}`, { hint, cause: err, code: code ?? 'CONNECTION' })
}

/** Normalise anything thrown into an IdtoolError (unknown errors become runtime failures). */
export function toIdtoolError(err: unknown): IdtoolError {
  if (err instanceof IdtoolError) return err
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
  if (e && typeof e.code === 'string' && errorCode(err)) {
    return new ConnectionError(`network error: ${NETWORK_CODES[e.code] ?? e.code}`, { cause: err })
  }
  const message = (e?.message ?? String(err)).split('\n')[0] ?? 'unexpected error'
  return new IdtoolError(message || 'unexpected error', { code: 'UNEXPECTED', cause: err })
}
