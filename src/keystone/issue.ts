import { resolve } from 'node:path'
import { AuthError, ConfigError, IdtoolError, toIdtoolError } from '../errors.js'
import type { TokensIssueResult } from '../results/types.js'
import {
  type Clock,
  DEFAULT_RETRY,
  FatalRunError,
  Pacer,
  type RetryPolicy,
  RunAborted,
  range,
  runBounded,
  systemClock,
} from './bulk.js'
import {
  type CallContext,
  CallerAuth,
  callWithRetry,
  failureReason,
  rejectsSourceToken,
  type TokenSession,
} from './caller.js'
import type { IssuedToken, Scope } from './client.js'
import { type PoolEntry, PoolWriter } from './pool.js'
import { type BulkProgress, etaMs, perSec, throttle } from './progress.js'
import { TokenWire } from './wire.js'

/**
 * How tokens are issued: `token` (from the caller token with Keystone's token method: fast, no hashing on the
 * server) or `credential` (authenticating with the caller's own password or application credential each time).
 * `password` is the older name of `credential`.
 */
export type IssueMethod = 'token' | 'credential' | 'password'

/** The method a run really uses, and why when it is not the one asked for. */
export function effectiveIssueMethod(
  session: TokenSession,
  wanted: IssueMethod = 'token',
): { method: 'token' | 'credential'; note?: string } {
  const kind = session.callerKind ?? 'password'
  if (wanted === 'token') {
    if (kind === 'v3applicationcredential') {
      return {
        method: 'credential',
        note: 'Keystone refuses the token method for a token from an application credential ("delegated token"), so every token was issued with the application credential itself',
      }
    }
    return { method: 'token' }
  }
  if (kind === 'token' || !session.reauthenticate) {
    throw new ConfigError(
      `--method ${wanted} needs a password or an application credential, and the caller is a token`,
      {
        hint: 'use --method token (the default), or give a password or an application credential.',
      },
    )
  }
  return { method: 'credential' }
}

/** Options shared by the bulk token operations (the injected dependencies included). */
export interface BulkCommonOptions {
  /** An authenticated session (e.g. from openSession): client, caller token, scope, settings. */
  session: TokenSession
  /** Requests in flight at most (default 4). */
  concurrency?: number
  /** Request starts per second at most, retries included (default: unlimited). */
  rate?: number
  /** Backoff for transient failures (default 3 retries, 100 ms doubling up to 2 s, with jitter). */
  retry?: Partial<RetryPolicy>
  /** Re-authentication when the caller token is rejected (default: the session's own credential). */
  reauthenticate?: () => Promise<IssuedToken>
  /** Per-request timeout of the hot calls, in ms (default 30 s; the session's client has its own). */
  requestTimeoutMs?: number
  /** Stop the run after this many tokens in a row failed for good (default 50). */
  maxConsecutiveFailures?: number
  clock?: Clock
  random?: () => number
  /** Abort to stop: no new requests start, the ones in flight finish, and a partial result is returned. */
  signal?: AbortSignal
  /** Live progress (at most every `progressIntervalMs`, default 100 ms, and once at the end). */
  onProgress?: (p: BulkProgress) => void
  progressIntervalMs?: number
}

export interface IssueTokensOptions extends BulkCommonOptions {
  count: number
  /** Pool file to append to (created 0600); none: the tokens go to `onToken` only. */
  out?: string
  /** Called with each token issued (after it is written to `out`), e.g. to keep the pool in memory. */
  onToken?: (entry: PoolEntry) => void
  /** `token` (default): authenticate once, then the token method, 20-30x faster; `credential`: every token. */
  method?: IssueMethod
  /** Project name to scope the tokens to (default: the session's scope). */
  project?: string
}

/** The scope issued tokens get: the session's, or `project` in the domain of the session's project. */
export function issueScope(session: TokenSession, project?: string): Scope | undefined {
  if (!project) return session.scope
  if (session.callerKind === 'v3applicationcredential') {
    throw new ConfigError('an application credential cannot scope its tokens to another project', {
      hint: 'drop --project: tokens from an application credential have its own project.',
    })
  }
  const current = session.scope?.project as { domain?: Record<string, unknown> } | undefined
  return { project: { name: project, domain: current?.domain ?? { name: 'Default' } } }
}

/** The lean transport for the hot calls, when the session exposes its dispatcher. */
export function wireFor(
  session: TokenSession,
  timeoutMs?: number,
  connections?: number,
): TokenWire | undefined {
  return session.dispatcher
    ? new TokenWire(session.dispatcher, session.client.base, timeoutMs, { connections })
    : undefined
}

/** Issue one token with the given method, retried and re-authenticated as needed. */
export function issueOne(
  ctx: CallContext,
  session: TokenSession,
  method: 'token' | 'credential',
  scope: Scope | undefined,
  wire?: TokenWire,
): Promise<{ value: IssuedToken; retries: number }> {
  if (method === 'credential') {
    const authenticate = session.reauthenticate
    if (!authenticate) {
      throw new ConfigError('the credential method needs a password or an application credential', {
        hint: 'use --method token, or give a password or an application credential.',
      })
    }
    return callWithRetry(
      ctx,
      async () => {
        try {
          return await authenticate(scope)
        } catch (err) {
          // the credential itself was rejected: nothing else will work either
          if (err instanceof AuthError) throw new FatalRunError(err)
          throw err
        }
      },
      () => false,
    )
  }
  return callWithRetry(
    ctx,
    (caller) =>
      wire ? wire.issueFromToken(caller, scope) : session.client.issueTokenFromToken(caller, scope),
    rejectsSourceToken,
  )
}

/**
 * The error that ends a run whose first token failed for good (the settings are wrong or the target is
 * down), saying how many times it was retried (--retries).
 */
export function firstTokenError(err: unknown): IdtoolError {
  const e = toIdtoolError(err)
  const retries = (err as { retries?: number })?.retries ?? 0
  if (!retries) return e
  return new IdtoolError(`${e.message} (after ${retries} ${retries === 1 ? 'retry' : 'retries'})`, {
    code: e.code,
    exitCode: e.exitCode,
    hint: e.hint,
    cause: err,
  })
}

/** Run-wide counters, the consecutive-failure breaker and throttled progress. */
export class BulkTally {
  issued = 0
  revoked = 0
  skipped = 0
  failed = 0
  retries = 0
  private consecutive = 0
  readonly reasons = new Map<string, number>()
  readonly failures: Array<{ index: number; stage: 'issue' | 'revoke'; reason: string }> = []
  static readonly MAX_LISTED_FAILURES = 10_000

  constructor(private readonly maxConsecutive: number) {}

  ok(): void {
    this.consecutive = 0
  }

  fail(index: number, stage: 'issue' | 'revoke', reason: string): void {
    this.failed++
    this.consecutive++
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1)
    if (this.failures.length < BulkTally.MAX_LISTED_FAILURES) this.failures.push({ index, stage, reason })
  }

  /** Too many tokens failed in a row: something is wrong with the target, stop instead of hammering it. */
  get tripped(): boolean {
    return this.maxConsecutive > 0 && this.consecutive >= this.maxConsecutive
  }

  trippedError(resumeHint: string): IdtoolError {
    const last = this.failures.at(-1)?.reason ?? 'unknown'
    return new IdtoolError(
      `stopped after ${this.consecutive} tokens in a row failed; last failure: ${last}`,
      {
        code: 'TOO_MANY_FAILURES',
        hint: resumeHint,
      },
    )
  }

  reasonsRecord(): Record<string, number> {
    return Object.fromEntries(this.reasons)
  }

  /** The run-wide figures a bulk result carries beside its counts (the live summary shows them too). */
  summary(reauthentications: number) {
    return { retries: this.retries, reauthentications, failureReasons: this.reasonsRecord() }
  }
}

/**
 * The caller authentication (renewed on 401 or near expiry, written back to the session) and the call
 * context (pacer, retry policy, abort signal, retry counting) shared by `tokens issue` and `revoke-bulk`.
 */
export function bulkCallContext(
  opts: BulkCommonOptions,
  tally: BulkTally,
  clock: Clock,
): { auth: CallerAuth; ctx: CallContext } {
  const session = opts.session
  const reauth = opts.reauthenticate ?? session.reauthenticate
  const auth = new CallerAuth(session.caller, reauth && (() => reauth()), clock, {
    onRenewed: (t) => {
      session.caller = t
    },
  })
  const ctx: CallContext = {
    auth,
    pacer: new Pacer(opts.rate, clock),
    clock,
    retry: { ...DEFAULT_RETRY, ...opts.retry },
    random: opts.random,
    signal: opts.signal,
    onRetry: () => {
      tally.retries++
    },
  }
  return { auth, ctx }
}

/**
 * Issue `count` tokens and append each one to a pool file (0600) as it arrives: one JSON record a line. Never
 * prints; reports through `onProgress`. Returns the `tokens issue` result; throws only for run-ending errors
 * (password rejected, too many failures in a row), after closing the pool.
 */
export async function issueTokens(opts: IssueTokensOptions): Promise<TokensIssueResult> {
  const clock = opts.clock ?? systemClock
  const session = opts.session
  const { method, note } = effectiveIssueMethod(session, opts.method)
  const concurrency = Math.max(1, opts.concurrency ?? 4)
  const scope = issueScope(session, opts.project)
  const file = opts.out === undefined ? undefined : resolve(opts.out)
  const tally = new BulkTally(opts.maxConsecutiveFailures ?? 50)
  const { auth, ctx } = bulkCallContext(opts, tally, clock)
  const wire = wireFor(session, opts.requestTimeoutMs, concurrency)
  const t0 = clock.now()
  const snapshot = (final = false): BulkProgress => {
    const elapsed = clock.now() - t0
    const done = tally.issued + tally.failed
    return {
      phase: final ? 'done' : 'issue',
      done,
      total: opts.count,
      issued: tally.issued,
      revoked: 0,
      skipped: 0,
      failed: tally.failed,
      retries: tally.retries,
      reauthentications: auth.reauthentications,
      ratePerSec: perSec(tally.issued, elapsed),
      elapsedMs: elapsed,
      etaMs: final ? 0 : etaMs(done, opts.count, elapsed),
      failureReasons: tally.reasonsRecord(),
      final,
    }
  }
  // takes the snapshot only when it is due: building one per token costs more than the request's own code
  const emit = throttle<() => BulkProgress>(
    (take) => opts.onProgress?.(take()),
    opts.progressIntervalMs ?? 100,
    clock.now,
  )

  // opened with the first token, so a run that cannot issue any token leaves no file behind
  let pool: PoolWriter | undefined
  let fatal: IdtoolError | undefined
  const issueIndex = async (i: number, first: boolean) => {
    try {
      const { value: t } = await issueOne(ctx, session, method, scope, wire)
      const entry: PoolEntry = {
        token: t.token,
        auditId: t.auditId,
        issuedAt: t.issuedAt,
        expiresAt: t.expiresAt,
        user: t.user?.name,
        project: t.project?.name,
        state: 'valid',
      }
      if (file) {
        pool ??= new PoolWriter(file)
        pool.append(entry)
      }
      opts.onToken?.(entry)
      tally.issued++
      tally.ok()
    } catch (err) {
      if (err instanceof RunAborted) return
      if (err instanceof FatalRunError) throw err
      // the very first token failing for good means the settings are wrong: stop with that error
      if (first) throw new FatalRunError(firstTokenError(err))
      tally.fail(i, 'issue', failureReason(err))
    }
    emit(snapshot)
  }
  try {
    if (opts.count > 0 && !opts.signal?.aborted) await issueIndex(0, true)
    await runBounded(
      range(1, opts.count),
      { concurrency, signal: opts.signal, shouldStop: () => tally.tripped },
      (i) => issueIndex(i, false),
    )
  } catch (err) {
    fatal = err instanceof FatalRunError ? err.error : err instanceof IdtoolError ? err : undefined
    if (!fatal) throw err
  } finally {
    pool?.close()
    wire?.close()
  }
  if (!fatal && tally.tripped) {
    fatal = tally.trippedError(
      `${file ? `the tokens issued so far are in ${file}; ` : ''}fix the cause and run again.`,
    )
  }
  if (fatal) throw fatal
  const durationMs = Math.round(clock.now() - t0)
  opts.onProgress?.(snapshot(true))
  return {
    version: 2,
    kind: 'tokens.issue',
    issued: tally.issued,
    failed: tally.failed,
    durationMs,
    ratePerSec: perSec(tally.issued, durationMs),
    file: file ?? '',
    method,
    ...(note ? { methodNote: note } : {}),
    caller: session.callerKind ?? 'password',
    ...tally.summary(auth.reauthentications),
    interrupted: Boolean(opts.signal?.aborted),
  }
}
