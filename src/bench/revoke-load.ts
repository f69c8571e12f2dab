import { HttpError, networkErrorClass } from '../errors.js'
import { type Clock, ConstantRateSchedule, plannedRequests, systemClock } from '../load/pacer.js'
import { createHistogram, type LatencyHistogram, recordMs } from '../metrics/histogram.js'
import type { MixedRevocationFailureKind } from '../results/types.js'

/**
 * Revocations at a fixed rate (the open model: revocation `i` intended at `start + i / rate`, whatever
 * Keystone does), each token revoked once, every answer timed from its intended time and every failure
 * sorted by kind. No retries: a failed revocation is what `bench mixed` measures. Never prints.
 */

/** Every failure kind, in the order reports show them. */
export const REVOCATION_FAILURE_KINDS: readonly MixedRevocationFailureKind[] = [
  'deadlock',
  'lock-wait-timeout',
  'database-locked',
  'http-409',
  'http-5xx',
  'timeout',
  'http-other',
  'transport',
]

/**
 * The kind of a failed revocation. The database errors Keystone puts in its answer bodies (`deadlock`,
 * `lock wait timeout`, `database is locked`) win over the status that carried them; then 409, 5xx, a
 * timed-out request, any other status (401, 403, 404...) and any other transport failure.
 */
export function classifyRevocationFailure(err: unknown): MixedRevocationFailureKind {
  const text = err instanceof Error ? err.message : String(err)
  if (/deadlock/i.test(text)) return 'deadlock'
  if (/lock wait timeout/i.test(text)) return 'lock-wait-timeout'
  if (/database is locked/i.test(text)) return 'database-locked'
  const status = err instanceof HttpError ? err.status : undefined
  if (status === 409) return 'http-409'
  if (status !== undefined && status >= 500) return 'http-5xx'
  if (status !== undefined) return 'http-other'
  if (networkErrorClass(err) === 'timeout') return 'timeout'
  // a typed error of another status (e.g. 401 as AuthError) names it in its code
  if (/^HTTP_|^AUTH/.test(String((err as { code?: unknown })?.code ?? ''))) return 'http-other'
  return 'transport'
}

/** What the revocations of a run did. */
export class RevocationTally {
  /** revocations the schedule holds */
  planned = 0
  sent = 0
  /** 204: revoked now (one new event each) */
  revoked = 0
  failed = 0
  /** from the intended time, answers of every kind (a failure's time too) */
  readonly latency: LatencyHistogram = createHistogram()
  readonly statusCodes = new Map<string, number>()
  readonly failures = new Map<MixedRevocationFailureKind, number>()
  /** the first message of each failure kind (for a warning; no token in it) */
  readonly examples = new Map<MixedRevocationFailureKind, string>()
  startMs = 0
  endMs = 0

  answer(status: number, latencyMs: number): void {
    recordMs(this.latency, latencyMs)
    this.statusCodes.set(String(status), (this.statusCodes.get(String(status)) ?? 0) + 1)
    if (status === 204) this.revoked++
    else this.fail('http-other', `answered ${status}`)
  }

  failure(err: unknown, latencyMs: number): void {
    recordMs(this.latency, latencyMs)
    const status = err instanceof HttpError ? err.status : 0
    this.statusCodes.set(String(status), (this.statusCodes.get(String(status)) ?? 0) + 1)
    this.fail(classifyRevocationFailure(err), err instanceof Error ? err.message : String(err))
  }

  private fail(kind: MixedRevocationFailureKind, message: string): void {
    this.failed++
    this.failures.set(kind, (this.failures.get(kind) ?? 0) + 1)
    if (!this.examples.has(kind)) this.examples.set(kind, message.slice(0, 300))
  }

  /** Every kind, zeros included, in report order. */
  failureRecord(): Record<MixedRevocationFailureKind, number> {
    return Object.fromEntries(REVOCATION_FAILURE_KINDS.map((k) => [k, this.failures.get(k) ?? 0])) as Record<
      MixedRevocationFailureKind,
      number
    >
  }
}

export interface RevocationLoadOptions {
  /** the tokens to revoke, each once, in order (at least the planned number) */
  tokens: readonly string[]
  /** revocations per second */
  rate: number
  durationMs: number
  /** revoke one token: resolves to its status (204, 404), rejects with the typed error of a failure */
  revoke(token: string): Promise<number>
  /** revocations in flight at most (default 256): beyond, the next one waits (and shows in its latency) */
  maxInFlight?: number
  signal?: AbortSignal
  clock?: Clock
  /** the tally to fill (for live progress); default a new one */
  tally?: RevocationTally
}

/** How many revocations a phase of `durationMs` at `rate` per second holds (the tokens to issue for it). */
export function plannedRevocations(rate: number, durationMs: number): number {
  return plannedRequests({ model: 'open', rate }, { durationMs })
}

/** Run the revocations of one phase; resolves when every one sent has answered (or the signal aborted). */
export async function runRevocationLoad(o: RevocationLoadOptions): Promise<RevocationTally> {
  const clock = o.clock ?? systemClock
  const tally = o.tally ?? new RevocationTally()
  const planned = Math.min(o.tokens.length, plannedRevocations(o.rate, o.durationMs))
  tally.planned = planned
  const max = Math.max(1, o.maxInFlight ?? 256)
  const inFlight = new Set<Promise<void>>()
  tally.startMs = clock.now()
  const schedule = new ConstantRateSchedule(o.rate, tally.startMs, planned)
  for (let i = 0; i < planned; i++) {
    if (o.signal?.aborted) break
    const wait = schedule.waitFor(i, clock.now())
    if (wait > 0) await clock.sleep(wait, o.signal)
    if (o.signal?.aborted) break
    while (inFlight.size >= max) await Promise.race(inFlight)
    const intended = schedule.intendedAt(i)
    tally.sent++
    const p: Promise<void> = o.revoke(o.tokens[i]!).then(
      (status) => tally.answer(status, clock.now() - intended),
      (err: unknown) => tally.failure(err, clock.now() - intended),
    )
    const tracked = p.finally(() => inFlight.delete(tracked))
    inFlight.add(tracked)
  }
  await Promise.all(inFlight)
  tally.endMs = clock.now()
  return tally
}
