import {
  createHistogram,
  encodeHistogram,
  type LatencyHistogram,
  recordMs,
  summarizeMs,
} from '../metrics/histogram.js'
import type { BackendStats, Percentiles } from '../results/types.js'
import type { RequestOutcome } from './events.js'

/** Requests whose answer carried no backend header are filed under this name. */
export const UNKNOWN_BACKEND = 'unknown'

interface BackendAgg {
  count: number
  errors: number
  hist: LatencyHistogram
}

/**
 * Percentiles (ms) of a histogram in the result's shape, never above the recorded max (HdrHistogram's
 * highest-equivalent value of a bucket can be).
 */
export function percentiles(h: LatencyHistogram): Percentiles {
  const s = summarizeMs(h)
  return { p50: s.p50, p90: s.p90, p99: s.p99, p999: s.p999, max: s.max, mean: s.mean }
}

/**
 * Aggregates request outcomes into HDR histograms (integer µs, 64-bit buckets) and counters: never a
 * list of samples, so memory stays flat however long the run.
 *
 * - `latency`: open model from the intended send time (coordinated omission corrected), closed model
 *   from when the virtual user issued the request;
 * - `uncorrected` (open model): from when the request reached its socket.
 *
 * Throughput and latency are those of the EXPECTED answers only (`latency`, `uncorrected`, `cold`,
 * `warm`, per-backend latencies): a 503 of a load balancer with no backend left answers in 0.2 ms and
 * must not make an outage look fast. Failures (unexpected answers and transport errors) are counted
 * apart, with their own latency histogram (`failureLatency`; transport errors that ended, e.g. a refused
 * connect or a timeout, have one, requests abandoned at the drain deadline do not).
 */
export class OutcomeRecorder {
  readonly latency = createHistogram()
  readonly uncorrected: LatencyHistogram | undefined
  readonly cold = createHistogram()
  readonly warm = createHistogram()
  /** latency of unexpected answers and of transport errors that ended (from the intended send time) */
  readonly failureLatency = createHistogram()
  private readonly statusCounts = new Map<number, number>()
  private readonly errorCounts = new Map<string, number>()
  private readonly backendAggs = new Map<string, BackendAgg>()
  ok = 0
  unexpectedStatus = 0
  transportErrors = 0
  responses = 0

  constructor(readonly openModel: boolean) {
    this.uncorrected = openModel ? createHistogram() : undefined
  }

  /**
   * Record one finished request. `expectedStatus` is the answer that counts as correct; `cold` says
   * whether this was the first validation of its token.
   */
  record(o: RequestOutcome, expectedStatus: number, cold: boolean): void {
    const ms = o.endAt - o.intendedAt
    if (o.errorClass) {
      this.transportErrors++
      this.bump(this.errorCounts, o.errorClass)
      if (o.endAt > 0 && Number.isFinite(ms) && ms >= 0) recordMs(this.failureLatency, ms)
      return
    }
    this.responses++
    const status = o.status
    this.statusCounts.set(status, (this.statusCounts.get(status) ?? 0) + 1)
    const good = status === expectedStatus
    if (good) {
      this.ok++
      recordMs(this.latency, ms)
      if (this.uncorrected) recordMs(this.uncorrected, o.endAt - (o.sentAt > 0 ? o.sentAt : o.queuedAt))
      recordMs(cold ? this.cold : this.warm, ms)
    } else {
      this.unexpectedStatus++
      this.bump(this.errorCounts, `http_${status}`)
      recordMs(this.failureLatency, ms)
    }
    const name = o.backend ?? UNKNOWN_BACKEND
    let b = this.backendAggs.get(name)
    if (!b) {
      b = { count: 0, errors: 0, hist: createHistogram() }
      this.backendAggs.set(name, b)
    }
    b.count++
    if (good) recordMs(b.hist, ms)
    else b.errors++
  }

  /** Requests given up at the end of a run (still out at the drain deadline): timeouts. */
  abandon(count: number): void {
    if (count <= 0) return
    this.transportErrors += count
    this.bump(this.errorCounts, 'timeout', count)
  }

  private bump(m: Map<string, number>, key: string, n = 1): void {
    m.set(key, (m.get(key) ?? 0) + n)
  }

  get total(): number {
    return this.ok + this.unexpectedStatus + this.transportErrors
  }

  /** Unexpected answers plus transport errors. */
  get failures(): number {
    return this.unexpectedStatus + this.transportErrors
  }

  statusCodes(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const k of [...this.statusCounts.keys()].sort((a, b) => a - b))
      out[String(k)] = this.statusCounts.get(k)!
    return out
  }

  errors(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const k of [...this.errorCounts.keys()].sort()) out[k] = this.errorCounts.get(k)!
    return out
  }

  /**
   * Per-backend statistics: `count` answers, `errors` of them unexpected, latencies of the expected
   * ones (all zero when a backend gave no expected answer). Answers without the backend header are
   * filed as `unknown`; when no answer carried the header at all (no load balancer), the map is empty.
   */
  backends(): Record<string, BackendStats> {
    const out: Record<string, BackendStats> = {}
    const names = [...this.backendAggs.keys()].sort()
    if (names.length === 1 && names[0] === UNKNOWN_BACKEND) return out
    for (const name of names) {
      const b = this.backendAggs.get(name)!
      const s = summarizeMs(b.hist)
      out[name] = {
        count: b.count,
        errors: b.errors,
        latencyMs: { p50: s.p50, p90: s.p90, p99: s.p99, max: s.max },
        histogram: encodeHistogram(b.hist),
      }
    }
    return out
  }
}
