/** A snapshot of a bulk token run, for live progress and the final summary (never contains a token). */
export interface BulkProgress {
  /** What the run is doing now. */
  phase: 'issue' | 'revoke' | 'events' | 'done'
  /** Tokens finished (issued for `tokens issue`; revoked, skipped or failed for revoke-bulk) of `total`. */
  done: number
  total: number
  issued: number
  revoked: number
  skipped: number
  failed: number
  /** Transient failures that were retried. */
  retries: number
  /** Times the caller token was renewed (rejected mid-run, or about to expire). */
  reauthentications: number
  /** Requests per second of the current phase. */
  ratePerSec: number
  elapsedMs: number
  etaMs: number | null
  /** Failure reasons with their counts. */
  failureReasons: Record<string, number>
  /** Set on the last snapshot of a run. */
  final?: boolean
}

/** Requests per second over `ms`, 0 when no time has passed. */
export function perSec(n: number, ms: number): number {
  return ms > 0 ? Math.round((n / ms) * 1000 * 10) / 10 : 0
}

/** A rough ETA from the overall pace so far. */
export function etaMs(done: number, total: number, elapsedMs: number): number | null {
  if (done <= 0 || elapsedMs <= 0) return null
  return Math.max(0, ((total - done) * elapsedMs) / done)
}

/** Throttle a callback to at most one call every `ms` (the last call is always passed through via `flush`). */
export function throttle<T>(fn: (v: T) => void, ms: number, now: () => number) {
  let last = Number.NEGATIVE_INFINITY
  return (v: T, force = false) => {
    const t = now()
    if (!force && t - last < ms) return
    last = t
    fn(v)
  }
}
