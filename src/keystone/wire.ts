import type { Dispatcher } from 'undici'
import { AuthError, connectionErrorFor, HttpError } from '../errors.js'
import { transportError } from '../load/h1.js'
import { H1Pool } from '../load/h1-pool.js'
import { type IssuedToken, issuedToken, type Scope, type TokenBody } from './client.js'

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

const ISSUE_HEADERS = { accept: 'application/json', 'content-type': 'application/json' }

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v)

function detail(body: Buffer): string {
  const text = body.toString('utf8')
  try {
    const j = JSON.parse(text) as { error?: { message?: string } }
    if (j?.error?.message) return j.error.message
  } catch {
    /* not JSON */
  }
  return text.slice(0, 200).replace(/\s+/g, ' ').trim()
}

/**
 * The two hot calls of the bulk operations (issue with the token method, revoke). On a small machine the client
 * shares the cores with Keystone, so their client CPU is what keeps idtool from being the bottleneck:
 * - a plain-HTTP target (the lab, a TLS-terminating load balancer's backend) goes through H1Pool, a minimal
 *   keep-alive HTTP/1.1 client (measured on the lab at 4 in flight, old and new runs interleaved in one
 *   process: ~500 -> ~310 us of client CPU per issued token, ~535 -> ~330 us per revoke-bulk request;
 *   the bare transports alone: ~250 vs ~600 us per request);
 * - an HTTPS target goes through undici's `dispatch()` on the session's dispatcher (its TLS settings, CA bundle).
 * Errors are the same typed errors KeystoneClient raises (transport -> ConnectionError with the errno code,
 * 401 -> AuthError, other statuses -> HttpError), so retries and re-authentication treat both alike.
 */
export class TokenWire {
  private readonly origin: string
  private readonly prefix: string

  private readonly h1?: H1Pool

  constructor(
    private readonly dispatcher: Dispatcher,
    base: string,
    private readonly timeoutMs = 30_000,
    /** connections: sockets of the lean transport; lean: false sends plain HTTP through undici as well. */
    opts: { connections?: number; lean?: boolean } = {},
  ) {
    const u = new URL(base)
    this.origin = u.origin
    this.prefix = u.pathname.replace(/\/+$/, '')
    if (u.protocol === 'http:' && opts.lean !== false) {
      this.h1 = new H1Pool(u.hostname.replace(/^\[|\]$/g, ''), Number(u.port || 80), {
        connections: Math.max(1, opts.connections ?? 4),
        timeoutMs,
      })
    }
  }

  /** Close the lean transport's connections (the session's dispatcher is closed with the session). */
  close(): void {
    this.h1?.close()
  }

  private send(
    method: Dispatcher.HttpMethod,
    path: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<Answer> {
    const url = this.origin + this.prefix + path
    if (this.h1) {
      return this.h1.request(method, this.prefix + path, headers, body).catch((err) => {
        throw connectionErrorFor(url, err)
      })
    }
    return new Promise<Answer>((resolve, reject) => {
      let status = 0
      let resHeaders: Answer['headers'] = {}
      const chunks: Buffer[] = []
      // undici's own timeouts start once the request is on a connection: the connect and the TLS handshake
      // (up to the connector's 10 s) come on top. One deadline for the whole request, as on the lean path.
      let controller: { abort(reason: Error): void } | undefined
      let expired: Error | undefined
      let settled = false
      const settle = () => {
        settled = true
        if (timer) clearTimeout(timer)
      }
      const timer =
        this.timeoutMs > 0
          ? setTimeout(() => {
              if (settled) return
              settle()
              expired = transportError('UND_ERR_HEADERS_TIMEOUT', `no answer within ${this.timeoutMs} ms`)
              controller?.abort(expired)
              reject(connectionErrorFor(url, expired))
            }, this.timeoutMs)
          : undefined
      this.dispatcher.dispatch(
        {
          origin: this.origin,
          path: this.prefix + path,
          method,
          headers,
          body,
          headersTimeout: this.timeoutMs,
          bodyTimeout: this.timeoutMs,
        },
        {
          // its presence selects undici's controller-style handler API
          onRequestStart: (c) => {
            controller = c
            if (expired) c.abort(expired)
          },
          onResponseStart: (_c, statusCode, h) => {
            status = statusCode
            resHeaders = h as Answer['headers']
          },
          onResponseData: (_c, chunk) => {
            chunks.push(chunk)
          },
          onResponseEnd: () => {
            if (settled) return
            settle()
            resolve({
              status,
              headers: resHeaders,
              body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks),
            })
          },
          onResponseError: (_c, err) => {
            if (settled) return
            settle()
            reject(connectionErrorFor(url, err))
          },
        },
      )
    })
  }

  private fail(status: number, what: string, body: Buffer) {
    const d = detail(body)
    const suffix = d ? `: ${d}` : ''
    if (status === 401) {
      return new AuthError(`Keystone answered 401 to "${what}"${suffix}`, {
        hint: 'the caller token expired or was revoked; run again to get a fresh one.',
      })
    }
    if (status === 403) return new HttpError(403, `Keystone refused to ${what} (403 forbidden)${suffix}`)
    if (status >= 500) return new HttpError(status, `Keystone failed to ${what} (${status})${suffix}`)
    return new HttpError(status, `Keystone could not ${what} (${status})${suffix}`)
  }

  private lastBody?: { caller: string; scope?: Scope; body: string }

  /** The token-method request body; the same for every request of a run until the caller token changes. */
  private issueBody(caller: string, scope?: Scope): string {
    const last = this.lastBody
    if (last && last.caller === caller && last.scope === scope) return last.body
    const auth: Record<string, unknown> = { identity: { methods: ['token'], token: { id: caller } } }
    if (scope) auth.scope = scope
    const body = JSON.stringify({ auth })
    this.lastBody = { caller, scope, body }
    return body
  }

  /** A new token from `caller` with the token method (POST /v3/auth/tokens?nocatalog). */
  async issueFromToken(caller: string, scope?: Scope): Promise<IssuedToken> {
    const a = await this.send('POST', '/auth/tokens?nocatalog', ISSUE_HEADERS, this.issueBody(caller, scope))
    if (a.status !== 201 && a.status !== 200) throw this.fail(a.status, 'issue a token', a.body)
    const token = first(a.headers['x-subject-token'])?.trim()
    if (!token) throw new HttpError(a.status, 'Keystone answered without an X-Subject-Token header')
    let body: TokenBody
    try {
      body = { token: (JSON.parse(a.body.toString('utf8')) as TokenBody).token }
    } catch {
      throw new HttpError(a.status, 'Keystone answered a token request with a body that is not JSON')
    }
    return issuedToken(token, body)
  }

  /** Revoke `subject` as `caller`: 204 revoked now, 404 already invalid. */
  async revoke(caller: string, subject: string): Promise<{ status: number }> {
    const a = await this.send('DELETE', '/auth/tokens', {
      'x-auth-token': caller,
      'x-subject-token': subject,
    })
    if (a.status === 204 || a.status === 404) return { status: a.status }
    throw this.fail(a.status, 'revoke a token', a.body)
  }
}
