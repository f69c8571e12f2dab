import { setMaxListeners } from 'node:events'
import { type Dispatcher, request } from 'undici'
import type { TlsSettings } from '../config/settings.js'
import { keystoneV3Base } from '../config/urls.js'
import { AuthError, HttpError, type IdtoolError } from '../errors.js'
import { explainConnectionError, type TlsConnectOptions } from '../load/tls.js'

/**
 * The `scope` member of a token request, as Keystone takes it (`{project: {id}}`, `{project: {name, domain:
 * {name}}}`, `{domain: {id}}`, `{system: {all: true}}`). Built from the resolved settings by `authRequestBody`.
 */
export type Scope = Record<string, unknown>

/** A project by name in a domain by name (the lab's admin project). */
export interface ProjectByName {
  projectName: string
  projectDomainName: string
}

function isProjectByName(s: Scope | ProjectByName | undefined): s is ProjectByName {
  return typeof s?.projectName === 'string' && typeof s.projectDomainName === 'string'
}

/** The scope of a project by name in a domain by name. */
export function projectScope(projectName: string, projectDomainName: string): Scope {
  return { project: { name: projectName, domain: { name: projectDomainName } } }
}

/** A `POST /v3/auth/tokens` body: identity (and scope), as `authRequestBody` builds it. */
export interface AuthBody {
  auth: { identity: Record<string, unknown>; scope?: Scope | string }
}

export interface PasswordCredentials {
  username: string
  password: string
  userDomainName: string
}

/** A token as issued: everything idtool records about it. */
export interface IssuedToken {
  token: string
  auditId?: string
  issuedAt?: string
  expiresAt?: string
  user?: { id: string; name: string }
  project?: { id: string; name: string }
  /** The backend that answered, from the load balancer's header (if any). */
  backend?: string
}

export interface ValidateOptions {
  method?: 'GET' | 'HEAD'
  nocatalog?: boolean
  allowExpired?: boolean
}

export interface ValidateResult {
  status: number
  backend?: string
  token?: IssuedToken
}

export interface RevocationEvent {
  audit_id?: string | null
  user_id?: string | null
  project_id?: string | null
  issued_before?: string
  revoked_at?: string
  [k: string]: unknown
}

export interface KeystoneClientOptions {
  /** Keystone auth URL, with or without `/v3`. */
  authUrl: string
  /** The undici dispatcher to send through (injected; the client never sets a global one). */
  dispatcher?: Dispatcher
  /** Per-request timeout for headers and body, in ms (default 30 s). */
  timeoutMs?: number
  /** Response header naming the backend behind a load balancer (default `x-backend`). */
  backendHeader?: string
  signal?: AbortSignal
  /** the TLS settings and connect options in use, to explain a failed connection (unknown CA, client certificate...) */
  tls?: TlsSettings
  connect?: TlsConnectOptions
}

/** What to check when Keystone rejects the caller's credentials, by authentication method. */
const REJECTED_HINTS: Record<string, string> = {
  password:
    'check OS_USERNAME / OS_PASSWORD (or the clouds.yaml / secure.yaml entry) and the user and project domains; `idtool config show` prints what was resolved.',
  application_credential:
    'check the application credential id (or name and user) and its secret (clouds.yaml / secure.yaml, OS_APPLICATION_CREDENTIAL_*); it may have expired or been deleted.',
  token: 'the token (OS_TOKEN) has expired or was revoked, or the scope asked for is not one it may have.',
}

/** The body of a token answer (issue or validate), the parts idtool reads. */
export interface TokenBody {
  token?: {
    audit_ids?: string[]
    issued_at?: string
    expires_at?: string
    user?: { id: string; name: string }
    project?: { id: string; name: string }
  }
}

/** An issued token: the X-Subject-Token value and what the answer's body says about it. */
export function issuedToken(token: string, body: TokenBody, backend?: string): IssuedToken {
  const t = body.token ?? {}
  return {
    token,
    auditId: t.audit_ids?.[0],
    issuedAt: t.issued_at,
    expiresAt: t.expires_at,
    user: t.user ? { id: t.user.id, name: t.user.name } : undefined,
    project: t.project ? { id: t.project.id, name: t.project.name } : undefined,
    backend,
  }
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name.toLowerCase()]
  return Array.isArray(v) ? v[0] : v
}

async function errorDetail(body: Dispatcher.ResponseData['body']): Promise<string> {
  try {
    const text = await body.text()
    try {
      const j = JSON.parse(text) as { error?: { message?: string } }
      if (j?.error?.message) return j.error.message
    } catch {
      /* not JSON */
    }
    return text.slice(0, 200).replace(/\s+/g, ' ').trim()
  } catch {
    return ''
  }
}

/**
 * A small typed Keystone v3 client. It sends through an injected undici dispatcher, consumes every
 * response body, and maps every failure to an IdtoolError with a one-line message.
 */
export class KeystoneClient {
  readonly base: string
  private readonly dispatcher?: Dispatcher
  private readonly timeoutMs: number
  private readonly backendHeader: string
  private readonly signal?: AbortSignal
  private readonly tls?: TlsSettings
  private readonly connect?: TlsConnectOptions

  constructor(opts: KeystoneClientOptions) {
    this.tls = opts.tls
    this.connect = opts.connect
    this.base = keystoneV3Base(opts.authUrl)
    this.dispatcher = opts.dispatcher
    this.timeoutMs = opts.timeoutMs ?? 30_000
    this.backendHeader = (opts.backendHeader ?? 'x-backend').toLowerCase()
    this.signal = opts.signal
    // every in-flight request listens on the signal: many concurrent requests are normal here
    if (opts.signal) setMaxListeners(10_000, opts.signal)
  }

  private async send(
    method: Dispatcher.HttpMethod,
    path: string,
    headers: Record<string, string>,
    body?: unknown,
  ): Promise<Dispatcher.ResponseData> {
    const url = this.base + path
    try {
      return await request(url, {
        method,
        dispatcher: this.dispatcher,
        headers: {
          accept: 'application/json',
          ...(body ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal: this.signal,
      })
    } catch (err) {
      if ((err as Error)?.name === 'AbortError') throw err
      throw await explainConnectionError(url, err, { tls: this.tls, connect: this.connect })
    }
  }

  private tokenFromResponse(res: Dispatcher.ResponseData, body: TokenBody): IssuedToken {
    const token = header(res.headers, 'x-subject-token')
    if (!token) throw new HttpError(res.statusCode, 'Keystone answered without an X-Subject-Token header')
    return issuedToken(token, body, header(res.headers, this.backendHeader))
  }

  private issue(
    identity: Record<string, unknown>,
    scope: Scope | undefined,
    who: string,
  ): Promise<IssuedToken> {
    return this.authenticate({ auth: scope ? { identity, scope } : { identity } }, who)
  }

  /**
   * Get a token for a full request body (any method, any scope): the caller's own authentication. `who`
   * names the caller in errors (never a secret).
   */
  async authenticate(body: AuthBody, who: string): Promise<IssuedToken> {
    const res = await this.send('POST', '/auth/tokens?nocatalog', {}, body)
    if (res.statusCode === 201 || res.statusCode === 200) {
      return this.tokenFromResponse(res, (await res.body.json()) as TokenBody)
    }
    const detail = await errorDetail(res.body)
    if (res.statusCode === 401) {
      throw new AuthError(`Keystone rejected the credentials of ${who} (401: ${detail || 'unauthorized'})`, {
        hint: REJECTED_HINTS[String(body.auth.identity.methods)] ?? REJECTED_HINTS.password,
      })
    }
    if (res.statusCode === 403 && body.auth.identity.methods?.toString() === 'token') {
      throw new HttpError(
        403,
        `Keystone refused to issue a token from ${who} (403: ${detail || 'forbidden'})`,
        {
          hint: 'Keystone does not let a token from an application credential (or a trust, OAuth) make other tokens; idtool issues such tokens with the credential itself.',
        },
      )
    }
    throw this.httpError(res.statusCode, 'issue a token', detail)
  }

  /** Issue a token with the password method (bcrypt on the server: slow by design). */
  issueTokenPassword(creds: PasswordCredentials, scope?: Scope | ProjectByName): Promise<IssuedToken> {
    return this.issue(
      {
        methods: ['password'],
        password: {
          user: { name: creds.username, domain: { name: creds.userDomainName }, password: creds.password },
        },
      },
      isProjectByName(scope) ? projectScope(scope.projectName, scope.projectDomainName) : scope,
      `user "${creds.username}"`,
    )
  }

  /** Issue a new token (new audit id) from an existing one with the token method: fast. */
  issueTokenFromToken(token: string, scope?: Scope): Promise<IssuedToken> {
    return this.issue({ methods: ['token'], token: { id: token } }, scope, 'the caller token')
  }

  /** Validate `subject` as `caller`: 200 valid, 404 revoked/invalid. Other statuses are returned too. */
  async validate(caller: string, subject: string, opts: ValidateOptions = {}): Promise<ValidateResult> {
    const q = [opts.nocatalog ? 'nocatalog' : '', opts.allowExpired ? 'allow_expired=1' : '']
      .filter(Boolean)
      .join('&')
    const res = await this.send(opts.method ?? 'GET', `/auth/tokens${q ? `?${q}` : ''}`, {
      'x-auth-token': caller,
      'x-subject-token': subject,
    })
    const backend = header(res.headers, this.backendHeader)
    if (res.statusCode === 200 && opts.method !== 'HEAD') {
      const body = (await res.body.json()) as TokenBody
      const t = body.token ?? {}
      return {
        status: 200,
        backend,
        token: {
          token: subject,
          auditId: t.audit_ids?.[0],
          issuedAt: t.issued_at,
          expiresAt: t.expires_at,
          user: t.user,
          project: t.project,
        },
      }
    }
    await res.body.dump()
    return { status: res.statusCode, backend }
  }

  /** Revoke `subject` as `caller`. Returns 204 when revoked now, 404 when already revoked or unknown. */
  async revoke(caller: string, subject: string): Promise<{ status: number; backend?: string }> {
    const res = await this.send('DELETE', '/auth/tokens', {
      'x-auth-token': caller,
      'x-subject-token': subject,
    })
    const backend = header(res.headers, this.backendHeader)
    if (res.statusCode === 204 || res.statusCode === 404) {
      await res.body.dump()
      return { status: res.statusCode, backend }
    }
    const detail = await errorDetail(res.body)
    throw this.httpError(res.statusCode, 'revoke a token', detail)
  }

  /** List revocation events (`GET /v3/OS-REVOKE/events`). */
  async listRevocationEvents(caller: string): Promise<RevocationEvent[]> {
    const res = await this.getJson<{ events?: RevocationEvent[] }>(
      caller,
      '/OS-REVOKE/events',
      'list revocation events',
    )
    return res.events ?? []
  }

  async findDomain(caller: string, name: string): Promise<{ id: string; name: string } | undefined> {
    const res = await this.getJson<{ domains?: { id: string; name: string }[] }>(
      caller,
      `/domains?name=${encodeURIComponent(name)}`,
      'list domains',
    )
    return res.domains?.[0]
  }

  async createDomain(caller: string, name: string, description = ''): Promise<{ id: string; name: string }> {
    const res = await this.send(
      'POST',
      '/domains',
      { 'x-auth-token': caller },
      { domain: { name, description } },
    )
    if (res.statusCode === 201) {
      const body = (await res.body.json()) as { domain: { id: string; name: string } }
      return body.domain
    }
    throw this.httpError(res.statusCode, `create domain ${name}`, await errorDetail(res.body))
  }

  /** List the users of a domain (for LDAP-backed domains this makes Keystone page through LDAP). */
  async listUsers(caller: string, domainId: string): Promise<{ id: string; name: string }[]> {
    const res = await this.getJson<{ users?: { id: string; name: string }[] }>(
      caller,
      `/users?domain_id=${encodeURIComponent(domainId)}`,
      'list users',
    )
    return res.users ?? []
  }

  private async getJson<T>(caller: string, path: string, what: string): Promise<T> {
    const res = await this.send('GET', path, { 'x-auth-token': caller })
    if (res.statusCode === 200) return (await res.body.json()) as T
    throw this.httpError(res.statusCode, what, await errorDetail(res.body))
  }

  private httpError(status: number, what: string, detail: string): IdtoolError {
    const suffix = detail ? `: ${detail}` : ''
    if (status === 401)
      return new AuthError(`Keystone answered 401 to "${what}"${suffix}`, {
        hint: 'the caller token expired or was revoked; run again to get a fresh one.',
      })
    if (status === 403)
      return new HttpError(403, `Keystone refused to ${what} (403 forbidden)${suffix}`, {
        hint: 'the user lacks the role the policy requires (admin for most of these calls).',
      })
    if (status >= 500)
      return new HttpError(status, `Keystone failed to ${what} (${status})${suffix}`, {
        hint: 'look at the Keystone / load balancer logs; `idtool lab status` for the lab.',
      })
    return new HttpError(status, `Keystone could not ${what} (${status})${suffix}`)
  }
}
