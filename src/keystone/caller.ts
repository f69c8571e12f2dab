import type { Dispatcher } from 'undici'
import type { AuthType } from '../config/settings.js'
import { AuthError, HttpError, IdtoolError } from '../errors.js'
import {
  backoffDelayMs,
  type Clock,
  DEFAULT_RETRY,
  FatalRunError,
  isRetryable,
  type Pacer,
  type RetryPolicy,
  RunAborted,
} from './bulk.js'
import type { IssuedToken, KeystoneClient, Scope } from './client.js'

/** What the bulk token operations need from an authenticated Keystone session (a KeystoneSession fits). */
export interface TokenSession {
  client: KeystoneClient
  /** The caller (admin) token; replaced here when renewed mid-run. */
  caller: IssuedToken
  /** The scope the caller asked for, used for issued tokens unless told otherwise. */
  scope?: Scope
  /** How the caller authenticated (default: password). */
  callerKind?: AuthType
  /**
   * A fresh token from the caller's own credential (password, application credential), with the session's scope
   * or the one given; none for a token caller.
   */
  reauthenticate?: (scope?: Scope) => Promise<IssuedToken>
  /** The client's dispatcher: when given, the hot calls go through it with `dispatch()` (less client CPU). */
  dispatcher?: Dispatcher
}

/**
 * Holds the caller token and replaces it when Keystone rejects it (expired or revoked mid-run). Many requests
 * in flight can see the rejection at once: the first one re-authenticates, the others wait for it and then
 * retry with the new token ("single flight"). A token that is rejected again right after a re-authentication
 * ends the run instead of looping. The token is also renewed ahead of its expiry.
 */
export class CallerAuth {
  private token: IssuedToken
  private gen = 0
  private pending?: Promise<void>
  private sinceSuccess = 0
  reauthentications = 0

  constructor(
    initial: IssuedToken,
    private readonly reauth: (() => Promise<IssuedToken>) | undefined,
    private readonly clock: Clock,
    private readonly opts: {
      maxReauthWithoutSuccess?: number
      renewMarginMs?: number
      /** Told about every new caller token (e.g. to keep a session's `caller` current). */
      onRenewed?: (caller: IssuedToken) => void
    } = {},
  ) {
    this.token = initial
  }

  get current(): { token: string; gen: number } {
    return { token: this.token.token, gen: this.gen }
  }

  get canReauthenticate(): boolean {
    return Boolean(this.reauth)
  }

  /** A request with the current token succeeded: the token is good. */
  succeeded(): void {
    this.sinceSuccess = 0
  }

  /** Renew the caller token if it expires within the margin (at most a quarter of its lifetime). */
  async renewIfExpiring(): Promise<void> {
    if (!this.reauth || this.pending) return this.pending
    // computed once per caller token: this runs before every request
    if (this.renewAtFor !== this.token) {
      this.renewAtFor = this.token
      const exp = Date.parse(this.token.expiresAt ?? '')
      const issued = Date.parse(this.token.issuedAt ?? '')
      const lifetime = Number.isFinite(issued) ? exp - issued : 3_600_000
      const margin = Math.min(this.opts.renewMarginMs ?? 600_000, Math.max(0, lifetime / 4))
      this.renewAt = Number.isFinite(exp) ? exp - margin : Number.POSITIVE_INFINITY
    }
    if (this.clock.wallNow() > this.renewAt) await this.refresh(this.gen)
  }

  private renewAtFor?: IssuedToken
  private renewAt = Number.POSITIVE_INFINITY

  /**
   * Get a new caller token replacing generation `gen` (once, whoever asks first); `rejectedBy` is the error
   * with which Keystone rejected it, if it did. Throws FatalRunError when re-authentication is impossible or
   * fails, or when fresh tokens keep being rejected.
   */
  async refresh(gen: number, rejectedBy?: unknown): Promise<void> {
    if (gen !== this.gen) return
    if (!this.pending) {
      this.pending = this.doRefresh(rejectedBy).finally(() => {
        this.pending = undefined
      })
    }
    await this.pending
  }

  private async doRefresh(rejectedBy: unknown): Promise<void> {
    const rejected = rejectedBy !== undefined
    const why = rejected ? `: ${(rejectedBy as Error)?.message ?? rejectedBy}` : ''
    if (rejected && !this.reauth) {
      throw new FatalRunError(
        new AuthError(
          `Keystone rejected the caller token mid-run and there is no credential to renew it${why}`,
          {
            hint: 'a token caller (auth_type token, OS_TOKEN) cannot renew itself: give a password or an application credential so idtool can re-authenticate.',
          },
        ),
      )
    }
    if (!this.reauth) return
    if (rejected && this.sinceSuccess >= (this.opts.maxReauthWithoutSuccess ?? 2)) {
      throw new FatalRunError(
        new AuthError(`Keystone rejected the request again right after re-authenticating${why}`, {
          hint: 'the caller may lack a role on the project, or the target rejects its own fresh tokens (clock, Fernet keys).',
        }),
      )
    }
    try {
      this.token = await this.reauth()
    } catch (err) {
      const e = err instanceof IdtoolError ? err : new IdtoolError(String((err as Error)?.message ?? err))
      throw new FatalRunError(
        new IdtoolError(`re-authentication failed mid-run: ${e.message}`, {
          code: e.code,
          exitCode: e.exitCode,
          hint: e.hint,
          cause: err,
        }),
      )
    }
    if (rejected) this.sinceSuccess++
    this.gen++
    this.reauthentications++
    this.opts.onRenewed?.(this.token)
  }
}

export interface CallContext {
  auth: CallerAuth
  pacer: Pacer
  clock: Clock
  retry?: RetryPolicy
  random?: () => number
  signal?: AbortSignal
  /** Called before each retry after a transient failure. */
  onRetry?: (err: unknown, retry: number, delayMs: number) => void
}

/**
 * One Keystone operation done properly: paced, with the current caller token, retried with backoff on
 * transient failures (a bounded number of times), and re-authenticated once when the caller token is rejected.
 * `rejectsCaller(err)` says whether an error means "the caller token is no longer good".
 * Throws RunAborted when interrupted before it could finish, FatalRunError for run-ending errors, and the last
 * error (with `retries` set) for a failure of this operation alone.
 */
export async function callWithRetry<T>(
  ctx: CallContext,
  op: (caller: string) => Promise<T>,
  rejectsCaller: (err: unknown) => boolean = (err) => err instanceof AuthError,
): Promise<{ value: T; retries: number }> {
  const policy = ctx.retry ?? DEFAULT_RETRY
  let retries = 0
  for (;;) {
    if (ctx.signal?.aborted) throw new RunAborted()
    await ctx.pacer.acquire(ctx.signal)
    if (ctx.signal?.aborted) throw new RunAborted()
    await ctx.auth.renewIfExpiring()
    const { token, gen } = ctx.auth.current
    try {
      const value = await op(token)
      ctx.auth.succeeded()
      return { value, retries }
    } catch (err) {
      if ((err as Error)?.name === 'AbortError') throw new RunAborted()
      if (rejectsCaller(err)) {
        await ctx.auth.refresh(gen, err)
        continue
      }
      if (isRetryable(err) && retries < policy.retries) {
        const wait = backoffDelayMs(retries, policy, ctx.random)
        retries++
        ctx.onRetry?.(err, retries, wait)
        await ctx.clock.sleep(wait, ctx.signal)
        continue
      }
      throw Object.assign(err as object, { retries })
    }
  }
}

/** A short reason for a failed token, for the ledger and the result (never contains a token). */
export function failureReason(err: unknown): string {
  const retries = (err as { retries?: number })?.retries ?? 0
  const msg =
    err instanceof HttpError || err instanceof IdtoolError
      ? err.message
      : (String((err as Error)?.message ?? err).split('\n')[0] ?? 'unknown error')
  return retries > 0 ? `${msg} (after ${retries} ${retries === 1 ? 'retry' : 'retries'})` : msg
}

/** For the token method: Keystone answers 404 (or 401) when the source token is no longer valid. */
export function rejectsSourceToken(err: unknown): boolean {
  return err instanceof AuthError || (err instanceof HttpError && err.status === 404)
}
