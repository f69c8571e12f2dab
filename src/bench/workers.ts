import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { IdtoolError } from '../errors.js'
import type { ExitCodeValue } from '../exit-codes.js'
import type { EngineProgress } from '../load/engine.js'
import { partition, type ShardSpec } from '../load/shard.js'
import { mergeBenchResults } from '../metrics/merge.js'
import type { BenchValidateResult } from '../results/types.js'
import { configHash, planShard, shardInfo } from './shard.js'
import type { TokenSource } from './token-pool.js'
import type { ValidateBenchDeps, ValidateBenchOptions } from './validate-types.js'

/**
 * `bench validate --workers N`: N shards of one load inside one process, one worker thread each (its own
 * lanes and histograms), all measuring from one common start (the `--start-at` machinery), merged exactly
 * into one result as `report merge` merges shards (histograms cross the thread boundary base64-encoded,
 * inside each shard's `bench.validate` result). Tokens partition as shards do (token k to worker k mod N).
 */

/** The lead of the common start over the end of the warm-up, once every thread is ready, ms. */
export const WORKER_START_LEAD_MS = 100

/** What one worker thread is given (structured-cloned). */
export interface WorkerJob {
  options: ValidateBenchOptions
  deps: Pick<ValidateBenchDeps, 'tls' | 'tlsResume' | 'progressIntervalMs'>
}

/** What a worker thread posts back. */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'progress'; progress: EngineProgress }
  | { type: 'result'; result: BenchValidateResult }
  | { type: 'error'; message: string; name: string; code?: string; exitCode?: number; hint?: string }

/** What the parent posts to a worker. */
export type ParentMessage = { type: 'run'; job: WorkerJob } | { type: 'stop' }

export interface WorkersOptions extends ValidateBenchOptions {
  /** the worker threads (shards), at least 1 */
  workers: number
  /** how the tokens were prepared (for the shards' config hash) */
  source?: TokenSource
  /** how late a worker may start measuring after the common start, ms */
  startToleranceMs?: number
}

export interface WorkersRun {
  /** the shards merged exactly into one result */
  merged: BenchValidateResult
  /** each worker's own result (shard i of N), in index order */
  shards: BenchValidateResult[]
}

/** The worker entry: next to this module in dist/; from the sources (tests), the built one. */
export function workerEntry(): URL {
  const here = new URL('./validate-worker.js', import.meta.url)
  if (existsSync(fileURLToPath(here))) return here
  const built = new URL('../../dist/bench/validate-worker.js', import.meta.url)
  if (existsSync(fileURLToPath(built))) return built
  throw new IdtoolError('the worker entry (dist/bench/validate-worker.js) is missing', {
    hint: 'build idtool (npm run build).',
  })
}

/** The workers' latest progress summed into one (the usual validate progress line). */
export function sumProgress(ps: readonly EngineProgress[]): EngineProgress {
  const sum = (f: (p: EngineProgress) => number) => ps.reduce((a, p) => a + f(p), 0)
  const planned = ps.map((p) => p.plannedRequests)
  return {
    phase: ps.every((p) => p.phase === 'measure') ? 'measure' : 'warmup',
    elapsedMs: Math.max(0, ...ps.map((p) => p.elapsedMs)),
    plannedMs: ps[0]?.plannedMs ?? null,
    plannedRequests: planned.some((v) => v === null)
      ? null
      : planned.reduce<number>((a, b) => a + (b ?? 0), 0),
    issued: sum((p) => p.issued),
    completed: sum((p) => p.completed),
    inFlight: sum((p) => p.inFlight),
    late: sum((p) => p.late),
    ok: sum((p) => p.ok),
    errors: sum((p) => p.errors),
    unexpectedStatus: sum((p) => p.unexpectedStatus),
    rps: sum((p) => p.rps),
    // the workers' histograms stay in their threads while they run: the slowest worker's figures
    p50Ms: Math.max(0, ...ps.map((p) => p.p50Ms)),
    p99Ms: Math.max(0, ...ps.map((p) => p.p99Ms)),
  }
}

/** Each worker's options: its shard's settings and tokens, the common start, its shard record. */
export async function workerJobs(o: WorkersOptions, startAtEpochMs: number): Promise<ValidateBenchOptions[]> {
  const { workers: n, source, startToleranceMs, ...whole } = o
  const hash = configHash({
    kind: 'bench.validate',
    url: whole.url,
    settings: whole,
    source: source ?? {},
    poolTokens: whole.tokens,
    count: n,
    startAtEpochMs,
  })
  const jobs: ValidateBenchOptions[] = []
  for (let index = 0; index < n; index++) {
    const spec: ShardSpec = { index, count: n }
    const { settings, scheduleOffsetMs } = planShard(whole, {
      shard: spec,
      startAtEpochMs,
      ...(startToleranceMs !== undefined ? { startToleranceMs } : {}),
    })
    jobs.push({
      ...settings,
      scheduleOffsetMs,
      startAtEpochMs,
      ...(startToleranceMs !== undefined ? { startToleranceMs } : {}),
      tokens: partition(whole.tokens, spec),
      shard: await shardInfo(spec, hash, whole.url),
    })
  }
  return jobs
}

function errorOf(m: Extract<WorkerMessage, { type: 'error' }>): Error {
  if (m.exitCode !== undefined) {
    const e = new IdtoolError(m.message, {
      code: m.code,
      exitCode: m.exitCode as ExitCodeValue,
      ...(m.hint ? { hint: m.hint } : {}),
    })
    e.name = m.name
    return e
  }
  const e = new Error(m.message)
  e.name = m.name
  return e
}

/** A started worker thread: ready (its modules loaded) when `ready` resolves; `run` gives it its shard. */
interface ShardThread {
  ready: Promise<void>
  run(job: WorkerJob): Promise<BenchValidateResult>
  stop(): void
  terminate(): Promise<number>
}

/** Start a worker thread; its progress to `onProgress`. */
function startThread(onProgress: (p: EngineProgress) => void): ShardThread {
  const worker = new Worker(workerEntry())
  let settle: { resolve(r: BenchValidateResult): void; reject(e: unknown): void } | undefined
  let onReady: { resolve(): void; reject(e: unknown): void } | undefined
  const ready = new Promise<void>((resolve, reject) => {
    onReady = { resolve, reject }
  })
  const fail = (err: unknown) => {
    onReady?.reject(err)
    settle?.reject(err)
    settle = undefined
  }
  worker.on('message', (m: WorkerMessage) => {
    if (m.type === 'ready') onReady?.resolve()
    else if (m.type === 'progress') onProgress(m.progress)
    else if (m.type === 'result') {
      settle?.resolve(m.result)
      settle = undefined
    } else fail(errorOf(m))
  })
  worker.on('error', fail)
  worker.on('exit', (code) =>
    fail(new IdtoolError(`a load worker thread exited (code ${code}) without a result`)),
  )
  return {
    ready,
    run: (job) =>
      new Promise((resolve, reject) => {
        settle = { resolve, reject }
        worker.postMessage({ type: 'run', job } satisfies ParentMessage)
      }),
    stop: () => worker.postMessage({ type: 'stop' } satisfies ParentMessage),
    terminate: () => worker.terminate(),
  }
}

/**
 * Run a validation benchmark on `workers` threads, each a shard (i of N) of the whole load, all measuring
 * from `startAtEpochMs` (default: now + the warm-up + a short lead). Returns the exact merge (as
 * `report merge`) and each shard's own result. On abort every worker stops and the partial merged result is
 * returned (`interrupted: true`). Never prints: the summed progress of the workers goes to `onProgress`.
 */
export async function runValidateWorkers(
  o: WorkersOptions,
  deps: ValidateBenchDeps = {},
): Promise<WorkersRun> {
  const latest: EngineProgress[] = []
  const threads = Array.from({ length: o.workers }, (_, i) =>
    startThread((p) => {
      latest[i] = p
      if (deps.onProgress && latest.filter(Boolean).length === o.workers) deps.onProgress(sumProgress(latest))
    }),
  )
  const stop = () => {
    for (const t of threads) t.stop()
  }
  deps.signal?.addEventListener('abort', stop, { once: true })
  try {
    // the common start once every thread has loaded its modules
    await Promise.all(threads.map((t) => t.ready))
    const startAt = o.startAtEpochMs ?? Date.now() + o.warmupMs + WORKER_START_LEAD_MS
    const jobs = await workerJobs(o, startAt)
    const tls = deps.tls || deps.ca ? { ...deps.tls, ca: deps.tls?.ca ?? deps.ca } : undefined
    const common: WorkerJob['deps'] = {
      ...(tls ? { tls } : {}),
      ...(deps.tlsResume !== undefined ? { tlsResume: deps.tlsResume } : {}),
      ...(deps.progressIntervalMs !== undefined ? { progressIntervalMs: deps.progressIntervalMs } : {}),
    }
    const runs = threads.map((t, i) => t.run({ options: jobs[i]!, deps: common }))
    if (deps.signal?.aborted) stop()
    const shards = await Promise.all(runs)
    return { merged: mergeBenchResults(shards), shards }
  } finally {
    deps.signal?.removeEventListener('abort', stop)
    await Promise.all(threads.map((t) => t.terminate()))
  }
}
