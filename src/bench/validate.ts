import type { Dispatcher } from 'undici'
import { ForbiddenWatch, forbiddenRunError } from '../keystone/policy.js'
import type { PhaseProgress, PhaseSummary } from '../load/events.js'
import {
  createLanes,
  type LaneClient,
  type Lanes,
  type LaneTlsOptions,
  laneClientFor,
  lanesFrom,
} from '../load/lanes.js'
import type { Pacing } from '../load/pacer.js'
import { OutcomeRecorder, percentiles } from '../load/recorder.js'
import { type RequestSpec, runPhase } from '../load/runner.js'
import { encodeHistogram } from '../metrics/histogram.js'
import type { BenchValidateResult } from '../results/types.js'

/** A token to validate and what its validation must answer. */
export interface ValidateToken {
  token: string
  /** 'revoked' tokens must answer 404, every other one 200 */
  state?: 'valid' | 'revoked' | 'failed'
}

/** The engine settings of a validation benchmark: everything but the target and the tokens. */
export interface ValidateBenchSettings {
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
  /** append `?nocatalog` */
  nocatalog: boolean
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
}

export interface ValidateBenchOptions extends ValidateBenchSettings {
  /** the validation URL, e.g. http://127.0.0.1:5000/v3/auth/tokens (no query) */
  url: string
  /** X-Auth-Token of every request */
  callerToken: string
  /** X-Subject-Token values, used in turn; 'failed' entries are skipped */
  tokens: ValidateToken[]
}

/** Live progress of a run, for a progress line. */
export interface ValidateProgress extends PhaseProgress {
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

export interface ValidateBenchDeps {
  /** send through this dispatcher instead of opening `connections` sockets (the caller owns it) */
  dispatcher?: Dispatcher
  /**
   * https targets: the TLS connect options of both clients (CA, client certificate and key,
   * rejectUnauthorized, SNI name), e.g. `tlsConnectOptions(settings.tls)`
   */
  tls?: LaneTlsOptions
  /** @deprecated use `tls: { ca }`; still honoured when `tls` has no `ca` */
  ca?: string
  /**
   * https, lean client: resume TLS sessions on new connections (default true; false: a full handshake
   * per connection, for measurement)
   */
  tlsResume?: boolean
  /** Ctrl-C: stop, and return the partial result marked `interrupted` */
  signal?: AbortSignal
  onProgress?: (p: ValidateProgress) => void
  /** default 500 ms */
  progressIntervalMs?: number
}

/** The token validation URL of a Keystone v3 base URL (`…/v3` -> `…/v3/auth/tokens`). */
export function validationUrl(keystoneV3Base: string): string {
  return `${keystoneV3Base.replace(/\/+$/, '')}/auth/tokens`
}

/** How long to wait for answers after sending stopped, beyond the per-request timeout. */
const DRAIN_GRACE_MS = 1000

/** A run stops (exit 2, the policy named) when its first this many answers are all 403. */
export const FORBIDDEN_PROBE = 20

/** Default number of connections of the open model when none is given. */
export const OPEN_MODEL_DEFAULT_CONNECTIONS = 10

/**
 * The dispatch options of every token, built once (undici does not mutate them). No `accept` header:
 * Keystone only speaks JSON, and every header costs validation per request. Timeouts go on the
 * connections the engine opens; an injected dispatcher gets them per request.
 */
function buildRequests(
  o: ValidateBenchOptions,
  usable: ValidateToken[],
  perRequestTimeouts: boolean,
): Dispatcher.DispatchOptions[] {
  const u = new URL(o.url)
  const query = u.search ? `${u.search}${o.nocatalog ? '&nocatalog' : ''}` : o.nocatalog ? '?nocatalog' : ''
  const path = `${u.pathname}${query}`
  return usable.map((t) => ({
    origin: u.origin,
    path,
    method: o.method,
    headers: ['x-auth-token', o.callerToken, 'x-subject-token', t.token],
    ...(perRequestTimeouts ? { headersTimeout: o.timeoutMs, bodyTimeout: o.timeoutMs } : {}),
    ...(o.keepalive ? {} : { reset: true }),
  }))
}

/** Validate settings that a caller may have built by hand; throws RangeError naming the problem. */
export function checkSettings(s: ValidateBenchSettings): void {
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
 * Run a token-validation benchmark: an optional warm-up, then the measured phase, with every answer
 * recorded in HDR histograms. Returns the `bench.validate` result; on abort, the partial result with
 * `interrupted: true`. Never prints.
 */
export async function runValidateBench(
  options: ValidateBenchOptions,
  deps: ValidateBenchDeps = {},
): Promise<BenchValidateResult> {
  checkSettings(options)
  const usable = options.tokens.filter((t) => t.state !== 'failed' && t.token)
  if (usable.length === 0) throw new RangeError('the token pool holds no usable token')
  const specs = buildRequests(options, usable, Boolean(deps.dispatcher))
  const expected = usable.map((t) => (t.state === 'revoked' ? 404 : 200))
  // cold/warm: the first validation of each token is cold (warm-up included)
  const seen = new Uint8Array(usable.length)
  let cursor = 0
  // one spec per token and temperature, built once: tag = token index * 2 + cold bit (the runner reads a
  // spec at once and keeps nothing of it, so no allocation per request)
  const warmSpecs: RequestSpec[] = specs.map((opts, i) => ({ opts, tag: i * 2 }))
  const coldSpecs: RequestSpec[] = specs.map((opts, i) => ({ opts, tag: i * 2 + 1 }))
  const next = (): RequestSpec => {
    const i = cursor
    cursor = cursor + 1 === usable.length ? 0 : cursor + 1
    if (seen[i] === 1) return warmSpecs[i]!
    seen[i] = 1
    return coldSpecs[i]!
  }
  const pacing: Pacing =
    options.model === 'closed'
      ? { model: 'closed', concurrency: options.concurrency! }
      : { model: 'open', rate: options.rate! }

  // a caller the policy does not allow gets a 403 for every token: stop after the first answers instead of
  // measuring the refusals, and say which role is missing
  const watch = new ForbiddenWatch(FORBIDDEN_PROBE)
  const stopForbidden = new AbortController()
  const signal = deps.signal ? AbortSignal.any([deps.signal, stopForbidden.signal]) : stopForbidden.signal
  const checkForbidden = () => {
    if (watch.tripped || (watch.allForbidden && !deps.signal?.aborted))
      throw forbiddenRunError(options.method === 'HEAD' ? 'check' : 'validate', watch.forbidden)
  }

  const origin = new URL(options.url).origin
  const httpClient = deps.dispatcher ? 'injected' : laneClientFor(origin, options.client)
  const lanes: Lanes = deps.dispatcher
    ? lanesFrom(deps.dispatcher)
    : createLanes(origin, {
        connections: options.connections,
        timeoutMs: options.timeoutMs,
        tls: deps.tls || deps.ca ? { ...deps.tls, ca: deps.tls?.ca ?? deps.ca } : undefined,
        tlsResume: deps.tlsResume,
        client: options.client,
      })

  const runOne = async (
    phase: 'warmup' | 'measure',
    limits: { requests?: number; durationMs?: number },
    rec: OutcomeRecorder,
  ): Promise<PhaseSummary> => {
    let lastT = 0
    let lastDone = 0
    return runPhase({
      pacing,
      lanes,
      ...limits,
      drainMs: options.timeoutMs + DRAIN_GRACE_MS,
      lateThresholdMs: options.lateThresholdMs ?? 2,
      maxInFlight: options.model === 'open' ? (options.maxInFlight ?? 10_000) : undefined,
      backendHeader: options.backendHeader.toLowerCase(),
      next,
      onOutcome: (o) => {
        rec.record(o, expected[o.tag >>> 1]!, (o.tag & 1) === 1)
        watch.see(o.status)
        if (watch.tripped && !stopForbidden.signal.aborted) stopForbidden.abort()
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

  try {
    let warmup: BenchValidateResult['warmup'] = null
    if (options.warmupMs > 0) {
      const w = await runOne('warmup', { durationMs: options.warmupMs }, new OutcomeRecorder(false))
      warmup = { durationMs: Math.round(w.durationMs), requests: w.completed }
      checkForbidden()
      if (w.interrupted) {
        return assemble(
          options,
          httpClient,
          new OutcomeRecorder(options.model === 'open'),
          emptySummary(),
          warmup,
          true,
        )
      }
    }
    const rec = new OutcomeRecorder(options.model === 'open')
    const s = await runOne('measure', { requests: options.requests, durationMs: options.durationMs }, rec)
    checkForbidden()
    if (!s.interrupted) rec.abandon(s.abandoned)
    return assemble(options, httpClient, rec, s, warmup, s.interrupted)
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

const round = (n: number, d = 3) => Math.round(n * 10 ** d) / 10 ** d

function assemble(
  o: ValidateBenchOptions,
  httpClient: BenchValidateResult['httpClient'],
  rec: OutcomeRecorder,
  s: PhaseSummary,
  warmup: BenchValidateResult['warmup'],
  interrupted: boolean,
): BenchValidateResult {
  const open = o.model === 'open'
  const seconds = s.durationMs / 1000
  return {
    version: 1,
    kind: 'bench.validate',
    target: o.url,
    model: o.model,
    concurrency: open ? null : o.concurrency,
    connections: o.connections,
    rate: open ? o.rate : null,
    method: o.method,
    httpClient,
    startedAt: new Date(s.startedAtEpochMs).toISOString(),
    durationMs: round(s.durationMs, 1),
    requests: {
      total: rec.total,
      ok: rec.ok,
      errors: rec.transportErrors,
      unexpectedStatus: rec.unexpectedStatus,
      ...(open ? { late: s.late } : {}),
    },
    // expected answers only: an outage's fast 503s must not count as throughput
    throughput: { rps: seconds > 0 ? round(rec.ok / seconds, 1) : 0 },
    latencyMs: percentiles(rec.latency),
    latencyUncorrectedMs: rec.uncorrected ? percentiles(rec.uncorrected) : null,
    statusCodes: rec.statusCodes(),
    errors: rec.errors(),
    backends: rec.backends(),
    cold:
      rec.cold.totalCount > 0
        ? {
            count: rec.cold.totalCount,
            latencyMs: percentiles(rec.cold),
            histogram: encodeHistogram(rec.cold),
          }
        : null,
    warm:
      rec.warm.totalCount > 0
        ? {
            count: rec.warm.totalCount,
            latencyMs: percentiles(rec.warm),
            histogram: encodeHistogram(rec.warm),
          }
        : null,
    warmup,
    histogram: encodeHistogram(rec.latency),
    histogramUncorrected: rec.uncorrected ? encodeHistogram(rec.uncorrected) : null,
    interrupted,
    failures: {
      count: rec.failures,
      rate: rec.total > 0 ? round(rec.failures / rec.total, 6) : 0,
      rps: seconds > 0 ? round(rec.failures / seconds, 1) : 0,
      latencyMs: rec.failureLatency.totalCount > 0 ? percentiles(rec.failureLatency) : null,
      ...(rec.failureLatency.totalCount > 0 ? { histogram: encodeHistogram(rec.failureLatency) } : {}),
    },
  }
}
