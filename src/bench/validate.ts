import type { AuthInputs } from '../config/auth.js'
import { UsageError } from '../errors.js'
import { openSession } from '../keystone/session.js'
import {
  forbiddenValidationWatch,
  usableTokens,
  validationRequests,
  validationUrl,
} from '../keystone/validation.js'
import { resolveAuthOrLab } from '../lab/target.js'
import { checkSettings, type EngineRun, runEngine } from '../load/engine.js'
import { percentiles } from '../load/recorder.js'
import { encodeHistogram } from '../metrics/histogram.js'
import type { BenchValidateResult } from '../results/types.js'
import { type ServerMemoryOptions, ServerMemoryWatch } from './server-memory.js'
import { type ShardPlan, shardRun } from './shard.js'
import { prepareValidateTokens, type TokenSource } from './token-pool.js'
import type {
  ValidateBenchDeps,
  ValidateBenchOptions,
  ValidateBenchSettings,
  ValidateProgress,
} from './validate-types.js'
import { runValidateWorkers } from './workers.js'

/**
 * `bench validate`: Keystone's validation requests (keystone/validation.ts) driven by the load engine
 * (load/engine.ts), the run turned into the `bench.validate` result.
 */

export type {
  ValidateBenchDeps,
  ValidateBenchOptions,
  ValidateBenchSettings,
  ValidateProgress,
} from './validate-types.js'

/**
 * Run a token-validation benchmark: an optional warm-up, then the measured phase, with every answer
 * recorded in HDR histograms. Returns the `bench.validate` result; on abort, the partial result with
 * `interrupted: true`. A caller the policy refuses ends the run at once (exit 2). Never prints.
 */
export async function runValidateBench(
  options: ValidateBenchOptions,
  deps: ValidateBenchDeps = {},
): Promise<BenchValidateResult> {
  checkSettings(options)
  const usable = usableTokens(options.tokens)
  if (usable.length === 0) throw new RangeError('the token pool holds no usable token')
  const { ca, ...engineDeps } = deps
  const run = await runEngine(
    { ...options, ...validationRequests(options, usable) },
    {
      ...engineDeps,
      tls: deps.tls || ca ? { ...deps.tls, ca: deps.tls?.ca ?? ca } : undefined,
      watch: forbiddenValidationWatch(options.method, () => Boolean(deps.signal?.aborted)),
    },
  )
  return assemble(options, run)
}

/** What `bench validate` shows while it works: its one progress event. */
export type ValidateEvent =
  | { type: 'issuing'; issued: number; total: number }
  | { type: 'issued'; count: number; durationMs: number; file?: string }
  | { type: 'run'; progress: ValidateProgress }

export interface BenchValidateOptions {
  settings: ValidateBenchSettings
  source: TokenSource
  /** the connection flags and environment; nothing named: the local lab */
  auth: AuthInputs
  signal?: AbortSignal
  /** a share of a load run by several generators (`--shard`), a common start (`--start-at`) */
  shard?: ShardPlan
  /** run the load on this many worker threads of this process (shards merged exactly); default 1 */
  workers?: number
  /** watch the memory of server processes during the measured phase (`--pid`, `--watch-lab`) */
  memory?: ServerMemoryOptions
}

export interface BenchValidateCallbacks {
  warn(message: string): void
  onEvent(e: ValidateEvent): void
}

/**
 * `bench validate` from start to end: resolve the target (the lab by default), open a session, read or issue
 * the tokens, run the benchmark. Never prints: progress goes to `onEvent`, warnings to `warn`.
 */
export async function benchValidate(
  o: BenchValidateOptions,
  cb: BenchValidateCallbacks,
): Promise<BenchValidateResult> {
  const workers = o.workers ?? 1
  if (workers > 1 && o.shard?.shard)
    throw new UsageError('--workers and --shard exclude each other', {
      hint: 'run each shard with --workers 1, or one generator with --workers N (N shards in one process).',
    })
  // a nonsense shard or a start time already past: refused before any work
  const sharded = shardRun(o.settings, o.source, o.shard)
  const auth = resolveAuthOrLab(o.auth)
  // a PID that is not there fails before any work
  const memory = o.memory ? ServerMemoryWatch.open(o.memory, cb.warn) : undefined
  const session = await openSession(auth, {
    warn: cb.warn,
    timeoutMs: o.settings.timeoutMs,
    backendHeader: o.settings.backendHeader,
    connections: 8,
  })
  try {
    const t0 = Date.now()
    const prepared = await prepareValidateTokens(session, sharded.source, {
      signal: o.signal,
      onProgress: (issued, total) => cb.onEvent({ type: 'issuing', issued, total }),
    })
    cb.onEvent({
      type: 'issued',
      count: prepared.issued,
      durationMs: Date.now() - t0,
      ...(prepared.file ? { file: prepared.file } : {}),
    })
    const url = validationUrl(session.client.base)
    const { tokens, shard } =
      workers > 1
        ? { tokens: prepared.tokens, shard: undefined }
        : await sharded.finish(prepared.tokens, { kind: 'bench.validate', url })
    return await runValidateLoad(
      {
        ...(workers > 1 ? o.settings : sharded.settings),
        url,
        callerToken: session.caller.token,
        tokens,
        ...(shard ? { shard } : {}),
      },
      {
        workers,
        source: o.source,
        ...(o.shard?.startAtEpochMs !== undefined ? { startAtEpochMs: o.shard.startAtEpochMs } : {}),
        ...(o.shard?.startToleranceMs !== undefined ? { startToleranceMs: o.shard.startToleranceMs } : {}),
        ...(memory ? { memory } : {}),
      },
      { tls: session.tls, signal: o.signal, onProgress: (progress) => cb.onEvent({ type: 'run', progress }) },
    )
  } finally {
    await session.close()
  }
}

/** How one validation load runs besides its settings: threads, the shards' common start, a memory watch. */
export interface ValidateLoadPlan {
  /** worker threads (shards of the load, merged exactly); 1: this thread */
  workers: number
  /** how the tokens were prepared (the workers' config hash) */
  source?: TokenSource
  /** the workers' common start (--start-at), epoch ms */
  startAtEpochMs?: number
  startToleranceMs?: number
  /** a watch opened for this load: it samples the servers on every measuring progress tick */
  memory?: ServerMemoryWatch
}

/**
 * One validation load, the unit `bench validate` runs once and `bench sweep` once per level: on `workers`
 * threads merged exactly, or in this thread; with a memory watch, the servers' memory is sampled against the
 * requests answered and the verdict lands in the result's `memory`.
 */
export async function runValidateLoad(
  o: ValidateBenchOptions,
  plan: ValidateLoadPlan,
  deps: ValidateBenchDeps,
): Promise<BenchValidateResult> {
  const { memory } = plan
  const onProgress = (progress: ValidateProgress) => {
    if (progress.phase === 'measure')
      memory?.observe(progress.completed, progress.errors + progress.unexpectedStatus)
    deps.onProgress?.(progress)
  }
  const result =
    plan.workers > 1
      ? (
          await runValidateWorkers(
            {
              ...o,
              workers: plan.workers,
              ...(plan.source ? { source: plan.source } : {}),
              ...(plan.startAtEpochMs !== undefined ? { startAtEpochMs: plan.startAtEpochMs } : {}),
              ...(plan.startToleranceMs !== undefined ? { startToleranceMs: plan.startToleranceMs } : {}),
            },
            { ...deps, onProgress },
          )
        ).merged
      : await runValidateBench(o, { ...deps, onProgress })
  if (!memory) return result
  const q = result.requests
  return { ...result, memory: memory.finish(q.total, q.errors + q.unexpectedStatus) }
}

const round = (n: number, d = 3) => Math.round(n * 10 ** d) / 10 ** d

/** The `bench.validate` result of a run. */
function assemble(o: ValidateBenchOptions, run: EngineRun): BenchValidateResult {
  const { httpClient, recorder: rec, summary: s, warmup, interrupted } = run
  const open = o.model === 'open'
  const seconds = s.durationMs / 1000
  return {
    version: 3,
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
    ...(o.shard ? { shard: { ...o.shard, startSkewMs: run.startSkewMs ?? null } } : {}),
  }
}
