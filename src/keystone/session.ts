import { Agent, type Dispatcher } from 'undici'
import type { AuthSettings, AuthType } from '../config/settings.js'
import { type TlsConnectOptions, tlsConnectOptions, tlsConnector } from '../load/tls.js'
import { authRequestBody, describeCaller } from './auth-body.js'
import { type IssuedToken, KeystoneClient, type Scope } from './client.js'

/** A Keystone client with an authenticated caller token, built from resolved settings. */
export interface KeystoneSession {
  client: KeystoneClient
  dispatcher: Dispatcher
  settings: AuthSettings
  caller: IssuedToken
  /** how the caller authenticated: password, application credential or token */
  callerKind: AuthType
  /** the caller, named for messages and results (never a secret) */
  callerName: string
  /** the scope the caller asked for (none for an application credential, whose scope is its own) */
  scope?: Scope
  /**
   * A fresh caller token from the same credential, for a token rejected or expiring mid-run. Undefined for a
   * token caller: a token cannot renew itself.
   */
  reauthenticate?: (scope?: Scope) => Promise<IssuedToken>
  /** TLS connect options for other connections to the same Keystone (the load lanes) */
  tls: TlsConnectOptions
  close(): Promise<void>
}

export interface OpenSessionOptions {
  timeoutMs?: number
  dispatcher?: Dispatcher
  connections?: number
  signal?: AbortSignal
  backendHeader?: string
  /** told once when TLS verification is off */
  warn?: (message: string) => void
}

/** The scope a token request asks for, when it names one (`unscoped` and none give undefined). */
export function scopeOfBody(body: ReturnType<typeof authRequestBody>): Scope | undefined {
  const s = body.auth.scope
  return s && typeof s === 'object' ? (s as Scope) : undefined
}

/**
 * Authenticate as the settings say (password, application credential or token; project, domain, system or no
 * scope) and return a ready session. Missing pieces of the credential are a ConfigError before any request.
 */
export async function openSession(
  settings: AuthSettings,
  opts: OpenSessionOptions = {},
): Promise<KeystoneSession> {
  const body = authRequestBody(settings)
  const who = describeCaller(settings)
  const tls = tlsConnectOptions(settings.tls, { warn: opts.warn, sources: settings.sources })
  const own = !opts.dispatcher
  const dispatcher =
    opts.dispatcher ??
    new Agent({
      connections: opts.connections ?? 16,
      // undici's connect timeout (10 s by default, the TLS handshake included) bounded by the request timeout
      connect: tlsConnector(opts.timeoutMs ? { ...tls, timeout: opts.timeoutMs } : tls),
    })
  const client = new KeystoneClient({
    authUrl: settings.authUrl,
    dispatcher,
    timeoutMs: opts.timeoutMs,
    signal: opts.signal,
    backendHeader: opts.backendHeader,
    tls: settings.tls,
    connect: tls,
  })
  const reauthenticate =
    settings.credential.type === 'token'
      ? undefined
      : (scope?: Scope) =>
          client.authenticate(scope ? { auth: { identity: body.auth.identity, scope } } : body, who)
  try {
    const caller = await client.authenticate(body, who)
    return {
      client,
      dispatcher,
      settings,
      caller,
      callerKind: settings.credential.type,
      callerName: who,
      scope: scopeOfBody(body),
      reauthenticate,
      tls,
      close: async () => {
        if (own) await dispatcher.close()
      },
    }
  } catch (err) {
    if (own) await dispatcher.close().catch(() => {})
    throw err
  }
}
