import type { Dispatcher } from 'undici'
import { UsageError } from '../errors.js'
import type { PhaseProgress, PhaseSummary } from './events.js'
import {
  createLanes,
  type LaneClient,
  type Lanes,
  type LaneTlsOptions,
  laneClientFor,
  lanesFrom,
} from './lanes.js'
import { type Pacing, systemClock } from './pacer.js'
import { OutcomeRecorder } from './recorder.js'
import { type RequestSpec, runPhase } from './runner.js'

const now = () => performance.now()

/**
 * The load engine of a benchmark: a set of prebuilt requests sent in turn, in a closed or an open model, with
 * an optional warm-up, every answer recorded against the status it must have. It knows requests, not what
 * they ask: the caller (bench/) builds them (e.g. Keystone's validation requests) and turns the run into a
 * result. Never prints.
 */

/** The engine settings of a run: the load model, its limits and the connections. */
export interface EngineSettings {
  model: 'closed' | 'open'
  /** closed model: requests in flight */
  concurrency: number | null
  /** open model: requests per second */
  rate: number | null
  /** sockets; default the concurrency (closed) or 10 (open) */
  connections: number
  /** measured requests (with durationMs: whichever comes first) */
  requests?: number
  /** measured duration, ms */
  durationMs?: number
  method: 'GET' | 'HEAD'
  /** false: a new connection per request (`Connection: close`) */
  keepalive: boolean
  /** per-request timeout (connect, headers, body), ms */
  timeoutMs: number
  /** run this long before measuring (0: no warm-up), ms */
  warmupMs: number
  /** response header naming the backend ('' to ignore backends) */
  backendHeader: string
  /** open model: a request sent later than this after its intended time counts as late (default 2 ms) */
  lateThresholdMs?: number
  /** open model: cap on requests in flight or waiting for a connection (default 10,000) */
  maxInFlight?: number
  /**
   * the client of the engine's own connections: 'h1' (the default, http and https: the lean HTTP/1.1
   * lane) or 'undici'
   */
  client?: LaneClient
  /** open model: the schedule starts this long after the measured phase, ms (a shard's offset, load/shard.ts) */
  scheduleOffsetMs?: number
  /**
   * a common start (epoch ms) of several generators: warm up before it, start measuring at that instant;
   * a run that gets there later than `startToleranceMs` fails (exit 2) naming its skew
   */
  startAtEpochMs?: number
  /** how late the measured phase may start after `startAtEpochMs`, ms (default 1000) */
  startToleranceMs?: number
}

/** One request of the set, sent in turn with the others. */
export interface RequestTemplate {
  /** path and query */
  path: string
  /** flat list of header names and values */
  headers: string[]
  /** the status its answer must have; any other counts as an unexpected status */
  expectedStatus: number
}

export interface EngineOptions extends EngineSettings {
  /** scheme, host and port of every request */
  origin: string
  /** the requests, used in turn (at least one) */
  templates: RequestTemplate[]
}

/**
 * Watches the status of every answer. `stop` ends the run early (as an interrupt does); `check()` runs after
 * each phase and may throw to end the run with an error (e.g. every answer was a refusal).
 */
export interface AnswerWatch {
  see(status: number): void
  readonly stop: boolean
  check(): void
}

/** Live progress of a run, for a progress line: the one progress event of the engine. */
export interface EngineProgress extends PhaseProgress {
  phase: 'warmup' | 'measure'
  ok: number
  errors: number
  unexpectedStatus: number
  /** answers per second since the previous progress event */
  rps: number
  /** so far, ms */
  p50Ms: number
  p99Ms: number
}

export interface EngineDeps {
  /** send through this dispatcher instead of opening `connections` sockets (the caller owns it) */
  dispatcher?: Dispatcher
  /**
   * https targets: the TLS connect options of both clients (CA, client certificate and key,
   * rejectUnauthorized, SNI name)
   */
  tls?: LaneTlsOptions
  /**
   * https, lean client: resume TLS sessions on new connections (default true; false: a full handshake
   * per connection, for measurement)
   */
  tlsResume?: boolean
  /** Ctrl-C: stop, and return the partial run marked `interrupted` */
  signal?: AbortSignal
  watch?: AnswerWatch
  onProgress?: (p: EngineProgress) => void
  /** default 500 ms */
  progressIntervalMs?: number
}

/** What a run measured: the recorder of the measured phase and how the phases went. */
export interface EngineRun {
  httpClient: LaneClient | 'injected'
  /** the answers of the measured phase (empty when the run stopped in its warm-up) */
  recorder: OutcomeRecorder
  summary: PhaseSummary
  warmup: { durationMs: number; requests: number } | null
  interrupted: boolean
  /** with `startAtEpochMs`: how late the measured phase started after it, ms */
  startSkewMs?: number
}

/** How long to wait for answers after sending stopped, beyond the per-request timeout. */
const DRAIN_GRACE_MS = 1000

/** Default tolerance of a common start: how late a generator may start measuring, ms. */
export const DEFAULT_START_TOLERANCE_MS = 1000

/** With a common start, the warm-up ends this long before it (the warm-up's last answers drain meanwhile). */
const WARMUP_LEAD_MS = 250

/**
 * Refuse a generator that is past the common start by more than the tolerance (exit 2, naming the skew).
 * `nowEpochMs`: when it could start measuring.
 */
export function checkStartSkew(startAtEpochMs: number, nowEpochMs: number, toleranceMs: number): number {
  const skew = nowEpochMs - startAtEpochMs
  if (skew > toleranceMs)
    throw new UsageError(
      `start skew ${(skew / 1000).toFixed(3)} s: this generator is past --start-at ${new Date(startAtEpochMs).toISOString()} by more than the tolerance (${toleranceMs / 1000} s)`,
      {
        hint: 'give a start time that leaves every generator time to prepare and warm up, check the clocks (NTP), or raise --start-tolerance.',
      },
    )
  return skew
}

/** Default number of connections of the open model when none is given. */
export const OPEN_MODEL_DEFAULT_CONNECTIONS = 10

/** Validate settings that a caller may have built by hand; throws RangeError naming the problem. */
export function checkSettings(s: EngineSettings): void {
  if (s.model === 'closed' && !(Number.isInteger(s.concurrency) && (s.concurrency ?? 0) >= 1))
    throw new RangeError('the closed model needs a concurrency of at least 1')
  if (s.model === 'open' && !((s.rate ?? 0) > 0)) throw new RangeError('the open model needs a rate above 0')
  if (!(Number.isInteger(s.connections) && s.connections >= 1))
    throw new RangeError('connections must be at least 1')
  if (s.requests === undefined && s.durationMs === undefined)
    throw new RangeError('give a request count or a duration')
  if (s.requests !== undefined && !(s.requests >= 1)) throw new RangeError('requests must be at least 1')
  if (s.durationMs !== undefined && !(s.durationMs > 0)) throw new RangeError('duration must be above 0')
  if (!(s.timeoutMs > 0)) throw new RangeError('timeout must be above 0')
}

/**
 * The dispatch options of every template, built once (undici does not mutate them). Timeouts go on the
 * connections the engine opens; an injected dispatcher gets them per request.
 */
function dispatchOptions(o: EngineOptions, perRequestTimeouts: boolean): Dispatcher.DispatchOptions[] {
  return o.templates.map((t) => ({
    origin: o.origin,
    path: t.path,
    method: o.method,
    headers: t.headers,
    ...(perRequestTimeouts ? { headersTimeout: o.timeoutMs, bodyTimeout: o.timeoutMs } : {}),
    ...(o.keepalive ? {} : { reset: true }),
  }))
}

/**
 * Run the requests: an optional warm-up, then the measured phase, every answer recorded in HDR histograms
 * (the first send of each template counts as cold, repeats as warm). On abort, the partial run marked
 * `interrupted`.
 */
export async function runEngine(options: EngineOptions, deps: EngineDeps = {}): Promise<EngineRun> {
  checkSettings(options)
  const count = options.templates.length
  if (count === 0) throw new RangeError('the engine needs at least one request')
  const specs = dispatchOptions(options, Boolean(deps.dispatcher))
  const expected = options.templates.map((t) => t.expectedStatus)
  // cold/warm: the first send of each template is cold (warm-up included)
  const seen = new Uint8Array(count)
  let cursor = 0
  // one spec per template and temperature, built once: tag = template index * 2 + cold bit (the runner reads
  // a spec at once and keeps nothing of it, so no allocation per request)
  const warmSpecs: RequestSpec[] = specs.map((opts, i) => ({ opts, tag: i * 2 }))
  const coldSpecs: RequestSpec[] = specs.map((opts, i) => ({ opts, tag: i * 2 + 1 }))
  const next = (): RequestSpec => {
    const i = cursor
    cursor = cursor + 1 === count ? 0 : cursor + 1
    if (seen[i] === 1) return warmSpecs[i]!
    seen[i] = 1
    return coldSpecs[i]!
  }
  const pacing: Pacing =
    options.model === 'closed'
      ? { model: 'closed', concurrency: options.concurrency! }
      : { model: 'open', rate: options.rate!, offsetMs: options.scheduleOffsetMs ?? 0 }

  const watch = deps.watch
  const stopEarly = new AbortController()
  const signal = deps.signal ? AbortSignal.any([deps.signal, stopEarly.signal]) : stopEarly.signal

  const httpClient = deps.dispatcher ? 'injected' : laneClientFor(options.origin, options.client)
  const lanes: Lanes = deps.dispatcher
    ? lanesFrom(deps.dispatcher)
    : createLanes(options.origin, {
        connections: options.connections,
        timeoutMs: options.timeoutMs,
        tls: deps.tls,
        tlsResume: deps.tlsResume,
        client: options.client,
      })

  const runOne = async (
    phase: 'warmup' | 'measure',
    limits: { requests?: number; durationMs?: number; startAt?: number; drainMs?: number },
    rec: OutcomeRecorder,
  ): Promise<PhaseSummary> => {
    let lastT = 0
    let lastDone = 0
    return runPhase({
      pacing,
      lanes,
      drainMs: options.timeoutMs + DRAIN_GRACE_MS,
      ...limits,
      lateThresholdMs: options.lateThresholdMs ?? 2,
      maxInFlight: options.model === 'open' ? (options.maxInFlight ?? 10_000) : undefined,
      backendHeader: options.backendHeader.toLowerCase(),
      next,
      onOutcome: (o) => {
        rec.record(o, expected[o.tag >>> 1]!, (o.tag & 1) === 1)
        if (!watch) return
        watch.see(o.status)
        if (watch.stop && !stopEarly.signal.aborted) stopEarly.abort()
      },
      signal,
      progressIntervalMs: deps.progressIntervalMs ?? 500,
      onProgress: deps.onProgress
        ? (p) => {
            const dt = p.elapsedMs - lastT
            const rps = dt > 0 ? ((p.completed - lastDone) * 1000) / dt : 0
            lastT = p.elapsedMs
            lastDone = p.completed
            deps.onProgress!({
              ...p,
              phase,
              ok: rec.ok,
              errors: rec.transportErrors,
              unexpectedStatus: rec.unexpectedStatus,
              rps,
              // expected answers only, never above the recorded max (as in the result)
              p50Ms: rec.latency.totalCount
                ? Math.min(rec.latency.maxValue, rec.latency.getValueAtPercentile(50)) / 1000
                : 0,
              p99Ms: rec.latency.totalCount
                ? Math.min(rec.latency.maxValue, rec.latency.getValueAtPercentile(99)) / 1000
                : 0,
            })
          }
        : undefined,
    })
  }

  const startAt = options.startAtEpochMs
  const tolerance = options.startToleranceMs ?? DEFAULT_START_TOLERANCE_MS
  /** the common start on the monotonic clock */
  const startPerf = () => (startAt === undefined ? undefined : now() + (startAt - Date.now()))
  try {
    if (startAt !== undefined) {
      checkStartSkew(startAt, Date.now() + options.warmupMs, tolerance)
      // the warm-up ends just before the common start
      const idle = startAt - options.warmupMs - WARMUP_LEAD_MS - Date.now()
      if (idle > 0) await systemClock.sleep(idle, signal)
    }
    let warmup: EngineRun['warmup'] = null
    if (options.warmupMs > 0 && !signal.aborted) {
      // with a common start, the warm-up's last answers are not waited for past it
      const drainMs = startAt === undefined ? undefined : Math.max(0, startAt - Date.now() - options.warmupMs)
      const w = await runOne(
        'warmup',
        { durationMs: options.warmupMs, ...(drainMs !== undefined ? { drainMs } : {}) },
        new OutcomeRecorder(false),
      )
      warmup = { durationMs: Math.round(w.durationMs), requests: w.completed }
      watch?.check()
      if (w.interrupted) {
        const recorder = new OutcomeRecorder(options.model === 'open')
        return { httpClient, recorder, summary: emptySummary(), warmup, interrupted: true }
      }
    }
    let measureAt = startPerf()
    let startSkewMs: number | undefined
    if (startAt !== undefined && measureAt !== undefined && !signal.aborted) {
      checkStartSkew(startAt, Date.now(), tolerance)
      await systemClock.sleep(measureAt - now(), signal)
      // how late this generator starts measuring (the schedule keeps the common start)
      startSkewMs = Math.round(Math.max(0, now() - measureAt) * 1000) / 1000
      if (signal.aborted) measureAt = undefined
    }
    const recorder = new OutcomeRecorder(options.model === 'open')
    const measured = await runOne(
      'measure',
      { requests: options.requests, durationMs: options.durationMs, startAt: measureAt },
      recorder,
    )
    // a common start: every generator's result starts at that very instant
    const summary =
      measureAt !== undefined && startAt !== undefined ? { ...measured, startedAtEpochMs: startAt } : measured
    watch?.check()
    if (!summary.interrupted) recorder.abandon(summary.abandoned)
    return {
      httpClient,
      recorder,
      summary,
      warmup,
      interrupted: summary.interrupted,
      ...(startSkewMs !== undefined ? { startSkewMs } : {}),
    }
  } finally {
    await lanes.close({ force: true })
  }
}

function emptySummary(): PhaseSummary {
  return {
    startedAtEpochMs: Date.now(),
    startMs: 0,
    durationMs: 0,
    issued: 0,
    completed: 0,
    late: 0,
    abandoned: 0,
    interrupted: true,
  }
}
