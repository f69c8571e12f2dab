import { setTimeout as delay } from 'node:timers/promises'

/**
 * Pacers: when requests are sent.
 *
 * - closed model: `concurrency` virtual users, each sends its next request when the previous one has
 *   answered (like `ab -c`). The server's speed sets the pace, so a stall hides in the numbers
 *   (coordinated omission); latency is measured from when the user issued the request.
 * - open model: requests follow a fixed schedule, request `i` intended at `start + i * 1000 / rate` ms
 *   (like wrk2 or k6's constant-arrival-rate), whatever the server does. Latency is measured from the
 *   intended time, so a stall shows up in the tail. Never combine this with HdrHistogram's
 *   `recordValueWithExpectedInterval`: that would correct the same omission twice.
 */

export interface ClosedPacing {
  model: 'closed'
  /** requests in flight at any time */
  concurrency: number
}

export interface OpenPacing {
  model: 'open'
  /** requests per second */
  rate: number
  /**
   * the schedule starts this long after the phase, ms (default 0): shard i of a rate-R load is offset by
   * i/R s so that the shards' streams interleave into one (load/shard.ts)
   */
  offsetMs?: number
}

export type Pacing = ClosedPacing | OpenPacing

/*
 * The load engine (runner.ts) paces its requests itself from a `Pacing`: the closed model by its virtual
 * users, the open model by a `ConstantRateSchedule`. Callers that await each call in turn (the bulk token
 * operations: `concurrency` calls in flight, the closed model) take a `Pacer` to cap their start rate.
 */

/** A tiny tolerance so that `now === intendedAt(i)` counts request i as due despite float rounding. */
const EPSILON = 1e-9

/**
 * How many requests a run plans: at most `requests`, and for a timed open-model run the number of
 * intended send times that fall inside the duration (`ceil(duration * rate)`).
 * Closed-model timed runs have no fixed count (Infinity unless `requests` is given).
 */
export function plannedRequests(pacing: Pacing, limits: { requests?: number; durationMs?: number }): number {
  const byCount = limits.requests ?? Number.POSITIVE_INFINITY
  if (pacing.model === 'open' && limits.durationMs !== undefined) {
    // the intended times offset + k/rate that fall before the end of the duration
    const span = limits.durationMs - (pacing.offsetMs ?? 0)
    const byTime = Math.ceil((span * pacing.rate) / 1000 - EPSILON)
    return Math.min(byCount, Math.max(0, byTime))
  }
  return byCount
}

/**
 * The constant-rate schedule of the open model: pure timing math over a clock in milliseconds.
 * Request `i` (0-based) is intended at `startMs + i * 1000 / rate`; computed from `i` each time, so
 * there is no drift from adding up intervals.
 */
export class ConstantRateSchedule {
  readonly intervalMs: number

  constructor(
    readonly rate: number,
    readonly startMs: number,
    /** how many requests the schedule holds (Infinity for an unbounded schedule) */
    readonly limit: number = Number.POSITIVE_INFINITY,
  ) {
    if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`rate must be > 0 (got ${rate})`)
    this.intervalMs = 1000 / rate
  }

  /** The intended send time of request `i`. */
  intendedAt(i: number): number {
    return this.startMs + (i * 1000) / this.rate
  }

  /** How many requests are due at `nowMs` (intended at or before it), capped at the limit. */
  dueBy(nowMs: number): number {
    if (nowMs < this.startMs) return 0
    const n = Math.floor(((nowMs - this.startMs) * this.rate) / 1000 + EPSILON) + 1
    return Math.min(n, this.limit)
  }

  /** Milliseconds from `nowMs` until request `i` is due (0 when it is already due). */
  waitFor(i: number, nowMs: number): number {
    return Math.max(0, this.intendedAt(i) - nowMs)
  }

  /** When the schedule ends: the intended time of the last request plus one interval. */
  get endMs(): number {
    return Number.isFinite(this.limit) ? this.intendedAt(this.limit) : Number.POSITIVE_INFINITY
  }
}

/**
 * Whether a request counts as sent late: it reached the socket more than `thresholdMs` after its
 * intended time (the connections were all busy, or the generator could not keep up).
 */
export function isLate(intendedAtMs: number, sentAtMs: number, thresholdMs: number): boolean {
  return sentAtMs - intendedAtMs > thresholdMs
}

/**
 * Sub-millisecond waits of the open model. Node's timers have whole-millisecond granularity on a
 * millisecond loop clock, so a request due 0.3 ms from now is sent up to ~1.5 ms late if the engine
 * sleeps on a timer, and that delay lands in the intended-time (corrected) latency. When nothing is
 * in flight (no answer can arrive whose timing a block would distort), the engine instead blocks the
 * thread for the exact remainder (`Atomics.wait`, a futex with a sub-millisecond timeout): the send
 * leaves on time and no extra wake-up is spent. When requests are in flight it sleeps on a timer.
 */

/**
 * Whether the engine should block the thread until the next send instead of sleeping on a timer:
 * only when it is idle (nothing in flight) and the send is due within `maxBlockMs` (0 disables).
 */
export function shouldBlock(waitMs: number, idle: boolean, maxBlockMs: number): boolean {
  return idle && waitMs > 0 && waitMs <= maxBlockMs
}

/** Below this schedule interval (above 4,000 req/s) the engine batches sends per timer tick instead. */
export const MIN_BLOCK_INTERVAL_MS = 0.25

/**
 * The longest precise wait of a schedule with interval `intervalMs`: `maxBlockMs`, or 0 (never block)
 * when requests are so close together that batching them per millisecond tick costs less CPU than a
 * wake-up per request (measured: +70% CPU per request at 10,000 req/s, +20% at 2,000 req/s).
 */
export function blockWindowMs(intervalMs: number, maxBlockMs: number): number {
  return intervalMs >= MIN_BLOCK_INTERVAL_MS ? Math.max(0, maxBlockMs) : 0
}

/**
 * The timer delay (whole ms, at least 1) for a send due in `waitMs`. With precise waits enabled it
 * aims to wake up to `maxBlockMs` early, so that an idle engine can block the exact remainder; a timer
 * that fires early with requests in flight just re-arms. Without them: the first tick at or after due.
 */
export function timerDelayMs(waitMs: number, maxBlockMs: number): number {
  return Math.max(1, Math.ceil(waitMs - maxBlockMs))
}

// --- callers that await their turn ---------------------------------------------------------------

/** Time, injected so tests can drive it: a monotonic clock, the wall clock and a sleep that an abort ends early. */
export interface Clock {
  /** Monotonic milliseconds (for rates and durations). */
  now(): number
  /** Epoch milliseconds (for token expiry and timestamps). */
  wallNow(): number
  /** Resolve after `ms`, or as soon as `signal` aborts (never rejects). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  sleep: (ms, signal) =>
    ms <= 0 || signal?.aborted ? Promise.resolve() : delay(ms, undefined, { signal }).catch(() => undefined),
}

/**
 * Spaces the starts of awaited calls at most `ratePerSec` apart: the closed model with a cap on its rate.
 * Unlike the open model's schedule it keeps no backlog: a call that comes late starts at once and the next
 * one an interval after it, so an idle spell (or a slow answer) never builds up a burst. Without a rate it
 * never waits (the plain closed model).
 */
export class Pacer {
  private next = Number.NEGATIVE_INFINITY
  private readonly intervalMs: number

  constructor(
    ratePerSec: number | undefined,
    private readonly clock: Clock,
  ) {
    this.intervalMs = ratePerSec && ratePerSec > 0 ? 1000 / ratePerSec : 0
  }

  /** Wait until the next call may start. */
  async acquire(signal?: AbortSignal): Promise<void> {
    if (!this.intervalMs) return
    const now = this.clock.now()
    const slot = Math.max(now, this.next)
    this.next = slot + this.intervalMs
    if (slot > now) await this.clock.sleep(slot - now, signal)
  }
}
