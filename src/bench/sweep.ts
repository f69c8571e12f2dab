import { setMaxListeners } from 'node:events'
import type { AuthInputs } from '../config/auth.js'
import { IdtoolError, UsageError } from '../errors.js'
import { ExitCode } from '../exit-codes.js'
import type { BulkProgress } from '../keystone/progress.js'
import { openSession } from '../keystone/session.js'
import { validationUrl } from '../keystone/validation.js'
import { labRevocationStore } from '../lab/revocations.js'
import { isLabTarget, resolveAuthOrLab } from '../lab/target.js'
import type { BenchSweepResult, BenchValidateResult } from '../results/types.js'
import { type ServerMemoryOptions, ServerMemoryWatch } from './server-memory.js'
import { type ShardPlan, shardRun } from './shard.js'
import { apiLeveler, type EventLeveler, type LevelChange, seedLeveler } from './sweep-drivers.js'
import { prepareValidateTokens, type TokenSource } from './token-pool.js'
import {
  runValidateBench,
  runValidateLoad,
  type ValidateBenchSettings,
  type ValidateProgress,
} from './validate.js'

export type SweepPoint = BenchSweepResult['points'][number]

/** What a sweep needs from the world: injected, so the loop is testable without Keystone. */
export interface SweepDriver {
  /** Bring the revocation event count to `level` (as near as the method allows) and report the change. */
  bringTo(level: number, signal: AbortSignal | undefined): Promise<LevelChange>
  /** One bench validate run with the sweep's settings. */
  bench(level: number, signal: AbortSignal | undefined): Promise<BenchValidateResult>
}

/** What a sweep shows while it works: its one progress event. The loop (`runSweep`) emits the last four. */
export type SweepEvent =
  /** the sweep is about to start: its levels, how the count is raised, and the count now */
  | { type: 'start'; levels: number[]; via: 'seed' | 'api'; events: number }
  /** events made through the API (`apiEvents`) are above the first level: lower levels are measured there */
  | { type: 'above-first-level'; apiEvents: number; first: number; via: 'seed' | 'api' }
  | { type: 'issuing'; issued: number; total: number }
  | { type: 'issued'; count: number; durationMs: number }
  | { type: 'priming'; validated: number; total: number }
  | { type: 'primed'; requests: number }
  | { type: 'seeding'; inserted: number }
  | { type: 'revoking'; progress: BulkProgress }
  | { type: 'bench'; level: number; progress: ValidateProgress }
  | { type: 'level'; index: number; total: number; level: number }
  | { type: 'events'; level: number; change: LevelChange }
  | { type: 'point'; index: number; point: SweepPoint; first: SweepPoint }
  | { type: 'stopped'; reason: 'interrupted' }

export interface SweepOptions {
  /** ascending revocation levels */
  levels: number[]
  label?: string
  signal?: AbortSignal
  now?: () => number
  onEvent?: (e: SweepEvent) => void
}

/** A sweep that failed part way: `partial` holds the points measured before the failure. */
export class SweepFailed extends IdtoolError {
  readonly partial: BenchSweepResult
  constructor(cause: unknown, partial: BenchSweepResult, level: number) {
    const e = cause instanceof IdtoolError ? cause : undefined
    super(`sweep stopped at ${level} events: ${(cause as Error)?.message ?? String(cause)}`, {
      code: e?.code ?? 'SWEEP_FAILED',
      exitCode: e?.exitCode ?? ExitCode.Runtime,
      hint: e?.hint ?? `the ${partial.points.length} point(s) measured before were kept.`,
      cause,
    })
    this.partial = partial
  }
}

/** The point of one level, from its bench result. */
export function pointOf(revocationEvents: number, result: BenchValidateResult): SweepPoint {
  return {
    revocationEvents,
    rps: result.throughput.rps,
    latencyMs: { p50: result.latencyMs.p50, p99: result.latencyMs.p99 },
    errors: result.requests.errors + result.requests.unexpectedStatus,
    result,
  }
}

/**
 * For each level in ascending order: bring the revocation event count to it, then run the benchmark with the
 * same settings, and record one point at the event count actually reached. Ctrl-C (the signal) keeps the
 * points measured so far, plus the interrupted level's partial point if it measured any request. Never
 * prints: progress goes to `onEvent`.
 */
export async function runSweep(opts: SweepOptions, driver: SweepDriver): Promise<BenchSweepResult> {
  const now = opts.now ?? Date.now
  const t0 = now()
  const levels = [...opts.levels]
  for (let i = 1; i < levels.length; i++) {
    if (levels[i]! <= levels[i - 1]!) throw new IdtoolError('sweep levels must be strictly ascending')
  }
  const result: BenchSweepResult = {
    version: 3,
    kind: 'bench.sweep',
    ...(opts.label ? { label: opts.label } : {}),
    startedAt: new Date(t0).toISOString(),
    durationMs: 0,
    points: [],
    interrupted: false,
  }
  const aborted = () => Boolean(opts.signal?.aborted)
  const finish = () => {
    result.durationMs = Math.round(now() - t0)
    return result
  }
  for (const [index, level] of levels.entries()) {
    if (aborted()) break
    opts.onEvent?.({ type: 'level', index, total: levels.length, level })
    let reached: number
    let bench: BenchValidateResult
    try {
      const change = await driver.bringTo(level, opts.signal)
      opts.onEvent?.({ type: 'events', level, change })
      if (aborted()) break
      reached = change.after
      bench = await driver.bench(level, opts.signal)
    } catch (err) {
      if (aborted()) break
      throw new SweepFailed(err, finish(), level)
    }
    if (bench.interrupted && bench.requests.total === 0) break
    const point = pointOf(reached, bench)
    result.points.push(point)
    opts.onEvent?.({ type: 'point', index, point, first: result.points[0]! })
    if (bench.interrupted || aborted()) break
  }
  if (aborted()) {
    result.interrupted = true
    opts.onEvent?.({ type: 'stopped', reason: 'interrupted' })
  }
  return finish()
}

/** Fresh tokens of a sweep when no pool is given. */
export const DEFAULT_SWEEP_TOKEN_COUNT = 100

export interface BenchSweepOptions {
  /** ascending revocation levels */
  levels: number[]
  /** the `bench validate` settings of every level */
  settings: ValidateBenchSettings
  /** the tokens, prepared once before the first level */
  source: TokenSource
  /** the connection flags and environment; nothing named: the local lab */
  auth: AuthInputs
  /** LAB ONLY: reach each level by seeding the lab database (else: revoke-bulk through the API) */
  seedDirect: boolean
  /** the lab's directory (for --seed-direct) */
  labDir: string
  /** API path: revocations in flight */
  revokeConcurrency: number
  /** validate every token once before the first level */
  prime: boolean
  label?: string
  /**
   * a share of a sweep run by several generators (`--shard`: every level's load and the tokens split) and a
   * common start of the first level's measurement (`--start-at`)
   */
  shard?: ShardPlan
  /** every level's load on this many worker threads of this process (merged exactly); default 1 */
  workers?: number
  /** watch the memory of server processes during each level's measured phase (`--pid`, `--watch-lab`) */
  memory?: ServerMemoryOptions
}

export interface BenchSweepCallbacks {
  /** Asked before tokens are issued and revoked on the target through the API; throws to refuse. */
  confirm(authUrl: string, what: string): Promise<void>
  /** The signal that stops the sweep, taken once the target is checked and confirmed. */
  interruptSignal(): AbortSignal
  warn(message: string): void
  onEvent(e: SweepEvent): void
}

/**
 * `bench sweep` from start to end: resolve and check the target (the lab by default; --seed-direct only on
 * the lab; the API path confirmed), prepare the tokens once, prime them, then run the sweep. Never prints:
 * progress goes to `onEvent`, warnings to `warn`. A sweep that fails part way throws `SweepFailed` with the
 * points measured before.
 */
export async function benchSweep(o: BenchSweepOptions, cb: BenchSweepCallbacks): Promise<BenchSweepResult> {
  const workers = o.workers ?? 1
  if (workers > 1 && o.shard?.shard)
    throw new UsageError('--workers and --shard exclude each other', {
      hint: 'run each shard with --workers 1, or one generator with --workers N (N shards in one process).',
    })
  // a nonsense shard or a start time already past: refused before any work
  const sharded = shardRun(o.settings, o.source, o.shard)
  // a PID that is not there fails before any work (each level then watches afresh)
  if (o.memory) ServerMemoryWatch.open(o.memory, cb.warn)
  const auth = resolveAuthOrLab(o.auth)
  if (o.seedDirect && !isLabTarget(auth.authUrl, o.labDir)) {
    throw new UsageError(`--seed-direct works on the idtool lab only, and the target is ${auth.authUrl}`, {
      hint: `drop --seed-direct to raise the count through the API, or target the lab (no lab found in ${o.labDir} for that URL).`,
    })
  }
  // through the API the sweep issues and revokes tokens to raise the count: the same guard as revoke-bulk
  if (!o.seedDirect)
    await cb.confirm(auth.authUrl, 'issue and revoke tokens to raise the revocation event count')
  const signal = cb.interruptSignal()
  // many requests share this signal (token issue, revoke-bulk, every bench level)
  setMaxListeners(256, signal)
  const emit = cb.onEvent
  const session = await openSession(auth, {
    warn: cb.warn,
    timeoutMs: o.settings.timeoutMs,
    backendHeader: o.settings.backendHeader,
    connections: 8,
    signal,
  })
  const store = o.seedDirect ? labRevocationStore(o.labDir) : undefined
  let leveler: EventLeveler | undefined
  try {
    leveler = store
      ? seedLeveler(store, {
          onProgress: (inserted) => emit({ type: 'seeding', inserted }),
          onWarning: cb.warn,
        })
      : apiLeveler(session, {
          concurrency: o.revokeConcurrency,
          onProgress: (progress) => emit({ type: 'revoking', progress }),
          onWarning: cb.warn,
        })
    // preflight: the first level must be reachable before tokens are issued
    const first = o.levels[0]!
    const now = await leveler.count()
    if (now > first) {
      const apiEvents = now - (store ? await store.countSeeded() : 0)
      if (apiEvents > first) emit({ type: 'above-first-level', apiEvents, first, via: leveler.via })
    }
    emit({ type: 'start', levels: o.levels, via: leveler.via, events: now })
    const t0 = Date.now()
    const prepared = await prepareValidateTokens(session, sharded.source, {
      signal,
      onProgress: (n, total) => emit({ type: 'issuing', issued: n, total }),
    })
    emit({ type: 'issued', count: prepared.issued, durationMs: Date.now() - t0 })
    const url = validationUrl(session.client.base)
    const { tokens, shard } = await sharded.finish(prepared.tokens, {
      kind: 'bench.sweep',
      url,
      levels: o.levels,
    })
    const base = { url, callerToken: session.caller.token, tokens }
    if (o.prime) {
      // Keystone caches validations: without this the first level alone would pay for cold tokens
      const c = Math.min(8, tokens.length)
      const primed = await runValidateBench(
        {
          ...o.settings,
          model: 'closed',
          concurrency: c,
          rate: null,
          connections: c,
          requests: tokens.length,
          durationMs: undefined,
          warmupMs: 0,
          ...base,
        },
        {
          tls: session.tls,
          signal,
          onProgress: (p) => emit({ type: 'priming', validated: p.completed, total: tokens.length }),
        },
      )
      emit({ type: 'primed', requests: primed.requests.total })
    }
    const lv = leveler
    const result = await runSweep(
      { levels: o.levels, label: o.label, signal, onEvent: emit },
      {
        bringTo: (level, sig) => lv.bringTo(level, sig),
        bench: (level, sig) =>
          runValidateLoad(
            {
              ...sharded.settings,
              // the common start is that of the first level's measurement
              ...(level === o.levels[0] ? {} : { startAtEpochMs: undefined }),
              ...base,
              ...(shard ? { shard } : {}),
            },
            {
              workers,
              source: o.source,
              ...(level === o.levels[0] && o.shard?.startAtEpochMs !== undefined
                ? { startAtEpochMs: o.shard.startAtEpochMs }
                : {}),
              ...(o.shard?.startToleranceMs !== undefined
                ? { startToleranceMs: o.shard.startToleranceMs }
                : {}),
              ...(o.memory ? { memory: ServerMemoryWatch.open(o.memory, cb.warn) } : {}),
            },
            {
              tls: session.tls,
              signal: sig,
              onProgress: (progress) => emit({ type: 'bench', level, progress }),
            },
          ),
      },
    )
    if (!shard) return result
    const skew = result.points[0]?.result.shard?.startSkewMs ?? null
    return { ...result, shard: { ...shard, startSkewMs: skew } }
  } finally {
    await leveler?.close()
    await session.close()
  }
}
