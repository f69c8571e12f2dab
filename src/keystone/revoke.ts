import { resolve } from 'node:path'
import { HttpError, IdtoolError, UsageError } from '../errors.js'
import type { RevokeBulkResult } from '../results/types.js'
import { FatalRunError, RunAborted, runBounded, systemClock } from './bulk.js'
import { callWithRetry, failureReason } from './caller.js'
import {
  type BulkCommonOptions,
  BulkTally,
  bulkCallContext,
  effectiveIssueMethod,
  firstTokenError,
  type IssueMethod,
  issueOne,
  wireFor,
} from './issue.js'
import {
  entryId,
  type LedgerHeader,
  LedgerLock,
  type LedgerReplay,
  LedgerWriter,
  readLedger,
  tokenKey,
} from './ledger.js'
import { ForbiddenWatch, forbiddenReason, forbiddenRunError, isForbidden } from './policy.js'
import { markRevoked, readPool } from './pool.js'
import { type BulkProgress, etaMs, perSec, throttle } from './progress.js'

/** A run stops (exit 2, the policy named) when its first this many revocation answers are all 403. */
export const FORBIDDEN_PROBE = 20

export interface RevokeBulkOptions extends BulkCommonOptions {
  /** Issue this many tokens and revoke them (exclusive with `pool`; taken from the ledger on resume). */
  count?: number
  /** Revoke the tokens listed in this pool file (exclusive with `count`; taken from the ledger on resume). */
  pool?: string
  /** Ledger file: created for a new run (must not exist), continued with `resume`. */
  ledger: string
  /** Continue the run recorded in `ledger`: nothing issued is left unrevoked, nothing is revoked twice. */
  resume?: boolean
  /**
   * With `resume`: leave out damaged ledger lines instead of refusing the ledger; every readable record is
   * kept, the dropped lines are reported (result, `onWarning`) and recorded in the ledger.
   */
  skipBadLines?: boolean
  /** How `count` mode issues tokens: `token` (default, fast) or `password`. */
  method?: IssueMethod
  /** Count revocation events before and after (default true); null in the result when not allowed. */
  countEvents?: boolean
  /** Tokens issued before they are revoked, at most (bounds memory and token lifetime; default 5000). */
  chunkSize?: number
  /** Non-fatal problems worth telling the user (the library never prints). */
  onWarning?: (message: string) => void
}

interface Pending {
  /** Index in the run (count mode) or in the pool (pool mode). */
  i: number
  k?: string
  token: string
}

/**
 * Revoke tokens in bulk, recording every token's state in an append-only ledger as it changes.
 *
 * - `count` mode issues N tokens (chunk by chunk) and revokes them; `pool` mode revokes a pool's tokens.
 * - It only ever revokes tokens it issued (recorded in the ledger) or that the pool lists.
 * - `revoked` counts 204 answers (a new revocation event each); `skipped` counts tokens already revoked or
 *   expired (per the ledger or the pool: not sent) and 404 answers (already invalid: no new event).
 * - Interrupted (signal): in-flight requests finish, the ledger and a partial result are written.
 * - Run-ending errors (password rejected on re-authentication, too many failures in a row) are thrown after
 *   the ledger is closed; `--resume` continues from it.
 * Never prints; reports through `onProgress` / `onWarning`.
 */
export async function revokeBulk(opts: RevokeBulkOptions): Promise<RevokeBulkResult> {
  const clock = opts.clock ?? systemClock
  const session = opts.session
  const client = session.client
  const concurrency = Math.max(1, opts.concurrency ?? 4)
  const chunkSize = Math.max(1, opts.chunkSize ?? 5000)
  const ledgerPath = resolve(opts.ledger)
  const t0 = clock.now()

  // ---- the ledger: new, or replayed for --resume
  let replay: LedgerReplay | undefined
  let header: LedgerHeader
  // decided before any file is touched: a method the caller cannot use fails with nothing written
  const { method, note: methodNote } = effectiveIssueMethod(session, opts.method)
  let lock: LedgerLock | undefined
  if (opts.resume) {
    // one writer per ledger: the lock is taken before the ledger is read, so two resumes cannot both act on it
    lock = LedgerLock.acquire(ledgerPath)
    try {
      replay = readLedger(ledgerPath, { skipBadLines: opts.skipBadLines })
      header = replay.header
      checkResumable(header, opts, client.base, ledgerPath)
    } catch (err) {
      lock.release()
      throw err
    }
  } else {
    if ((opts.count === undefined) === (opts.pool === undefined)) {
      throw new UsageError('give either a token count or a pool to revoke', {
        hint: 'use --count N (issue N tokens and revoke them) or --from POOL.jsonl.',
      })
    }
    if (opts.count !== undefined && (!Number.isInteger(opts.count) || opts.count < 1)) {
      throw new UsageError(`invalid count ${opts.count}`, {
        hint: 'use a whole number of tokens, at least 1.',
      })
    }
    header = {
      type: 'run',
      v: 1,
      mode: opts.pool !== undefined ? 'pool' : 'count',
      count: opts.count,
      pool: opts.pool !== undefined ? resolve(opts.pool) : undefined,
      authUrl: client.base,
      startedAt: new Date(clock.wallNow()).toISOString(),
    }
  }
  // read the pool before creating anything, so a bad pool leaves no ledger behind
  let poolEntries: ReturnType<typeof readPool> | undefined
  try {
    poolEntries = header.mode === 'pool' ? readPool(header.pool!) : undefined
  } catch (err) {
    lock?.release()
    throw err
  }
  if (poolEntries && !poolEntries.length) {
    lock?.release()
    throw new UsageError(`pool ${header.pool} holds no tokens`, {
      hint: 'fill it with `idtool tokens issue --count N --out POOL.jsonl`, or pass another --from.',
    })
  }
  const ledger =
    replay && lock ? LedgerWriter.resume(ledgerPath, replay, lock) : LedgerWriter.create(ledgerPath, header)
  const at = () => new Date(clock.wallNow()).toISOString()
  const dropped = replay?.dropped ?? []
  if (replay && dropped.length) {
    // recorded, so later resumes of this ledger skip these lines without the flag
    ledger.append({ type: 'dropped', lines: dropped, at: at() })
    opts.onWarning?.(droppedWarning(ledgerPath, replay))
  }

  const tally = new BulkTally(opts.maxConsecutiveFailures ?? 50)
  const { auth, ctx } = bulkCallContext(opts, tally, clock)
  const wire = wireFor(session, opts.requestTimeoutMs, concurrency)
  const total = header.mode === 'count' ? header.count! : poolEntries!.length
  let phase: BulkProgress['phase'] = 'events'
  let issueMs = 0
  let revokeMs = 0
  let answered = 0
  let phaseStart = clock.now()
  const snapshot = (final = false): BulkProgress => {
    const now = clock.now()
    const elapsed = now - t0
    const inPhase = now - phaseStart
    const done = tally.revoked + tally.skipped + tally.failed
    return {
      phase: final ? 'done' : phase,
      done,
      total,
      issued: tally.issued,
      revoked: tally.revoked,
      skipped: tally.skipped,
      failed: tally.failed,
      retries: tally.retries,
      reauthentications: auth.reauthentications,
      ratePerSec:
        phase === 'issue'
          ? perSec(tally.issued, issueMs + inPhase)
          : phase === 'revoke'
            ? perSec(answered, revokeMs + inPhase)
            : 0,
      elapsedMs: elapsed,
      etaMs: final ? 0 : etaMs(done, total, elapsed),
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
  // a caller the policy does not allow gets a 403 for every token: stop after the first answers and name
  // the rule (a --resume with the same caller would get the same answers)
  const forbidden = new ForbiddenWatch(FORBIDDEN_PROBE)
  const stop = () => tally.tripped || forbidden.tripped

  const countEvents = async (): Promise<number | null> => {
    if (opts.countEvents === false) return null
    try {
      const { value } = await callWithRetry(ctx, (caller) => client.listRevocationEvents(caller))
      return value.length
    } catch (err) {
      if (err instanceof RunAborted || opts.signal?.aborted) return null
      if (err instanceof FatalRunError) throw err
      const why = isForbidden(err)
        ? '403: the caller lacks Keystone policy identity:list_revoke_events'
        : failureReason(err)
      opts.onWarning?.(`cannot count revocation events (${why}); reporting null`)
      return null
    }
  }

  const revokeOne = async (p: Pending) => {
    try {
      const { value } = await callWithRetry(ctx, (caller) =>
        wire ? wire.revoke(caller, p.token) : client.revoke(caller, p.token),
      )
      ledger.append({ i: p.i, ...(p.k ? { k: p.k } : {}), s: 'revoked', status: value.status, at: at() })
      answered++
      forbidden.see(value.status)
      if (value.status === 204) tally.revoked++
      else tally.skipped++
      tally.ok()
    } catch (err) {
      if (err instanceof RunAborted || err instanceof FatalRunError) throw err
      if (err instanceof HttpError) forbidden.see(err.status)
      const reason = isForbidden(err) ? forbiddenReason('revoke') : failureReason(err)
      ledger.append({ i: p.i, ...(p.k ? { k: p.k } : {}), s: 'failed', stage: 'revoke', reason, at: at() })
      tally.fail(p.i, 'revoke', reason)
    }
    emit(snapshot)
  }
  const revokeAll = async (items: Iterable<Pending>) => {
    phase = 'revoke'
    phaseStart = clock.now()
    try {
      await runBounded(items, { concurrency, signal: opts.signal, shouldStop: stop }, (p) =>
        revokeOne(p).catch((err) => {
          if (!(err instanceof RunAborted)) throw err
        }),
      )
    } finally {
      revokeMs += clock.now() - phaseStart
    }
  }

  const finishLedger = (done: boolean) => {
    try {
      ledger.append({ type: 'end', at: at(), complete: done, interrupted: Boolean(opts.signal?.aborted) })
    } finally {
      ledger.close()
      wire?.close()
    }
  }

  let eventsBefore: number | null = null
  let eventsAfter: number | null = null
  let complete = false
  try {
    eventsBefore = await countEvents()
    if (header.mode === 'count') {
      complete = await runCountMode()
    } else {
      complete = await runPoolMode()
    }
    phase = 'events'
    if (!opts.signal?.aborted) eventsAfter = await countEvents()
  } catch (err) {
    const e = err instanceof FatalRunError ? err.error : err
    finishLedger(false)
    if (e instanceof IdtoolError) {
      throw new IdtoolError(e.message, {
        code: e.code,
        exitCode: e.exitCode,
        hint: `${e.hint ? `${e.hint} ` : ''}The ledger is up to date: continue with --resume --ledger ${ledgerPath}`,
        cause: e,
      })
    }
    throw e
  }
  if (forbidden.allForbidden && !opts.signal?.aborted) {
    finishLedger(false)
    throw forbiddenRunError(
      'revoke',
      forbidden.forbidden,
      `Then --resume --ledger ${ledgerPath} revokes the rest (the ledger is up to date; a resume with the same caller gets the same 403s).`,
    )
  }
  if (tally.tripped) {
    finishLedger(false)
    throw tally.trippedError(`fix the cause, then continue with --resume --ledger ${ledgerPath}`)
  }
  const interrupted = Boolean(opts.signal?.aborted)
  finishLedger(complete && !interrupted)
  opts.onProgress?.(snapshot(true))

  const durationMs = Math.round(clock.now() - t0)
  const result: RevokeBulkResult = {
    version: 2,
    kind: 'revoke-bulk',
    issued: tally.issued,
    revoked: tally.revoked,
    failed: tally.failed,
    skipped: tally.skipped,
    durationMs,
    issueRatePerSec: perSec(tally.issued, issueMs),
    revokeRatePerSec: perSec(answered, revokeMs),
    revocationEventsBefore: eventsBefore,
    revocationEventsAfter: eventsAfter,
    ledger: ledgerPath,
    ...(header.mode === 'count' ? { method, ...(methodNote ? { methodNote } : {}) } : {}),
    caller: session.callerKind ?? 'password',
    ...tally.summary(auth.reauthentications),
    interrupted,
  }
  if (dropped.length) {
    result.droppedLines = dropped
    result.salvagedTokens = replay?.salvaged ?? 0
  }
  if (tally.failures.length) result.failures = tally.failures
  return result

  // ---- count mode: chunk by chunk, issue the chunk's missing tokens, then revoke the chunk
  async function runCountMode(): Promise<boolean> {
    const n = header.count!
    const entries = replay?.entries
    let firstIssue = true
    let cursor = 0
    while (cursor < n && !opts.signal?.aborted && !stop()) {
      const toIssue: number[] = []
      const toRevoke: Pending[] = []
      for (; cursor < n && toIssue.length + toRevoke.length < chunkSize; cursor++) {
        const e = entries?.get(String(cursor))
        if (e?.state === 'revoked') tally.skipped++
        else if (e?.token) toRevoke.push({ i: cursor, token: e.token })
        else toIssue.push(cursor)
      }
      if (toIssue.length) {
        phase = 'issue'
        phaseStart = clock.now()
        const issueIndex = async (i: number, first: boolean) => {
          try {
            const { value: t } = await issueOne(ctx, session, method, session.scope, wire)
            ledger.append({
              i,
              s: 'issued',
              token: t.token,
              auditId: t.auditId,
              expiresAt: t.expiresAt,
              at: at(),
            })
            tally.issued++
            tally.ok()
            toRevoke.push({ i, token: t.token })
          } catch (err) {
            if (err instanceof RunAborted || err instanceof FatalRunError) throw err
            if (first) throw new FatalRunError(firstTokenError(err))
            const reason = failureReason(err)
            ledger.append({ i, s: 'failed', stage: 'issue', reason, at: at() })
            tally.fail(i, 'issue', reason)
          }
          emit(snapshot)
        }
        try {
          let rest = toIssue
          if (firstIssue) {
            // the first token alone: wrong settings fail fast with their own message
            firstIssue = false
            await issueIndex(toIssue[0]!, true).catch((err) => {
              if (!(err instanceof RunAborted)) throw err
            })
            rest = toIssue.slice(1)
          }
          await runBounded(rest, { concurrency, signal: opts.signal, shouldStop: stop }, (i) =>
            issueIndex(i, false).catch((err) => {
              if (!(err instanceof RunAborted)) throw err
            }),
          )
        } finally {
          issueMs += clock.now() - phaseStart
        }
      }
      if (opts.signal?.aborted || stop()) break
      toRevoke.sort((a, b) => a.i - b.i)
      await revokeAll(toRevoke)
    }
    return cursor >= n && tally.failed === 0 && !opts.signal?.aborted
  }

  // ---- pool mode: revoke every listed token that is not known to be revoked or expired
  async function runPoolMode(): Promise<boolean> {
    const entries = replay?.entries
    const now = clock.wallNow()
    function* pending(): Generator<Pending> {
      for (let i = 0; i < poolEntries!.length; i++) {
        const e = poolEntries![i]!
        const k = tokenKey(e.token)
        const led = entries?.get(entryId({ i, k }))
        const expired = e.expiresAt ? Date.parse(e.expiresAt) <= now : false
        if (led?.state === 'revoked' || e.state === 'revoked' || expired) {
          tally.skipped++
          continue
        }
        yield { i, k, token: e.token }
      }
    }
    try {
      await revokeAll(pending())
    } finally {
      markPool()
    }
    return tally.failed === 0 && !opts.signal?.aborted
  }

  /**
   * Mark the pool's tokens the ledger knows as revoked (204 now or 404 already invalid), so `bench validate
   * --tokens POOL` expects 404 for them: one appended state record per token (the pool's format: later
   * lines win; each one write, 0600, a torn tail cut first), so a crash mid-way leaves a correct pool.
   */
  function markPool(): void {
    const done = readLedger(ledgerPath, { skipBadLines: true }).entries
    const tokens = poolEntries!
      .filter((e) => e.state !== 'revoked' && done.get(tokenKey(e.token))?.state === 'revoked')
      .map((e) => e.token)
    try {
      markRevoked(header.pool!, tokens)
    } catch (err) {
      opts.onWarning?.(
        `could not mark the revoked tokens in pool ${header.pool} (${(err as Error).message}); ` +
          'bench validate --tokens will count their 404s as unexpected',
      )
    }
  }
}

/** What a resume with --skip-bad-lines left out, and what it means for the tokens. */
function droppedWarning(path: string, replay: LedgerReplay): string {
  const n = replay.dropped.length
  const lines = replay.dropped.slice(0, 20).join(', ') + (n > 20 ? ', ...' : '')
  let msg = `ledger ${path}: dropped ${n} damaged line${n === 1 ? '' : 's'} (line${n === 1 ? '' : 's'} ${lines})`
  if (replay.header.mode === 'pool') {
    msg += '; every token of the pool not recorded as revoked is sent again (404 for those already revoked)'
  } else {
    const lost = n - replay.salvaged
    if (replay.salvaged)
      msg += `; ${replay.salvaged} token${replay.salvaged === 1 ? '' : 's'} read from them will be revoked`
    if (lost > 0) {
      msg +=
        `; a token recorded only on ${replay.salvaged ? 'the other' : 'a'} dropped line cannot be identified: ` +
        'it stays valid until it expires (the run issues a new token for its index)'
    }
  }
  return msg
}

function checkResumable(h: LedgerHeader, opts: RevokeBulkOptions, base: string, path: string): void {
  if (h.authUrl !== base) {
    throw new UsageError(`ledger ${path} belongs to ${h.authUrl}, not ${base}`, {
      hint: 'resume against the Keystone the run started on (same --os-auth-url / cloud).',
    })
  }
  if (opts.count !== undefined && (h.mode !== 'count' || h.count !== opts.count)) {
    throw new UsageError(
      `--count ${opts.count} does not match the ledger (${h.mode === 'count' ? `count ${h.count}` : `pool ${h.pool}`})`,
      { hint: 'leave out --count and --from with --resume: the ledger knows them.' },
    )
  }
  if (opts.pool !== undefined && (h.mode !== 'pool' || resolve(opts.pool) !== h.pool)) {
    throw new UsageError(
      `--from ${opts.pool} does not match the ledger (${h.mode === 'pool' ? `pool ${h.pool}` : `count ${h.count}`})`,
      { hint: 'leave out --count and --from with --resume: the ledger knows them.' },
    )
  }
}
