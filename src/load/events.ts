/**
 * What the load engine reports while it runs. The engine never prints: callers pass callbacks.
 * Times are milliseconds on the engine's monotonic clock (`performance.now()`).
 */

/** Transport error classes (from `networkErrorClass`), plus `http_<status>` for unexpected answers. */
export type TransportErrorClass = 'connect' | 'timeout' | 'reset' | 'tls' | 'other'

/** The outcome of one request. */
export interface RequestOutcome {
  /** 0-based sequence number within its phase */
  readonly seq: number
  /** caller's tag (for `bench validate`: the index of the token in the pool) */
  readonly tag: number
  /** open model: the scheduled send time; closed model: when the virtual user issued it */
  readonly intendedAt: number
  /** when the engine handed it over (to a connection or to the wait queue) */
  readonly queuedAt: number
  /** when it was written to a socket (0 if it never was) */
  readonly sentAt: number
  /** when the answer was complete or the request failed */
  readonly endAt: number
  /** HTTP status, 0 when there was no answer */
  readonly status: number
  /** value of the backend header of the answer, if any */
  readonly backend: string | undefined
  /** set when the request failed in transport (no complete answer) */
  readonly errorClass: TransportErrorClass | undefined
  readonly error: unknown
}

/** A snapshot of a running phase, emitted every `progressIntervalMs`. */
export interface PhaseProgress {
  elapsedMs: number
  /** planned duration of the phase, if timed */
  plannedMs: number | null
  /** planned number of requests, if bounded */
  plannedRequests: number | null
  issued: number
  completed: number
  inFlight: number
  late: number
}

/** How a phase ended. */
export interface PhaseSummary {
  /** wall-clock start (epoch ms) */
  startedAtEpochMs: number
  /** engine-clock start */
  startMs: number
  /** from start to the last completion (or to the drain deadline) */
  durationMs: number
  issued: number
  completed: number
  /** open model: sent more than the late threshold after the intended time (or never sent) */
  late: number
  /**
   * requests given up at the end: still in flight or queued when the drain deadline passed, or
   * scheduled but never sent. Counted as `timeout` errors, unless the run was interrupted.
   */
  abandoned: number
  interrupted: boolean
}
