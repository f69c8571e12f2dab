import { createHash } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { hostname } from 'node:os'
import { UsageError } from '../errors.js'
import type { ValidateToken } from '../keystone/validation.js'
import { checkStartSkew, DEFAULT_START_TOLERANCE_MS, type EngineSettings } from '../load/engine.js'
import { partition, type ShardSpec, shardSettings, shareOf } from '../load/shard.js'
import { HISTOGRAM_SETTINGS } from '../metrics/histogram.js'
import type { ShardInfo } from '../results/types.js'
import type { TokenSource } from './token-pool.js'

/**
 * A validation benchmark split over shards (`--shard i/n`, `--start-at`): the shard's settings and tokens,
 * the hash of what every shard must share, and where the shard runs from. The arithmetic is load/shard.ts.
 */

/** The settings of a validation benchmark (bench/validate.ts ValidateBenchSettings; no import cycle). */
type ValidateBenchSettings = EngineSettings & { nocatalog: boolean }

/** How a run takes part in a sharded load. */
export interface ShardPlan {
  /** this run's share; absent: the whole load (shard 0 of 1 when a start time is given) */
  shard?: ShardSpec
  /** the common start (epoch ms) */
  startAtEpochMs?: number
  /** how late the measured phase may start after it, ms (default 1 s) */
  startToleranceMs?: number
}

/** A run's shard spec: the given one, or shard 0 of 1 when only a start time is given; undefined otherwise. */
export function shardOf(plan: ShardPlan): ShardSpec | undefined {
  return plan.shard ?? (plan.startAtEpochMs !== undefined ? { index: 0, count: 1 } : undefined)
}

/**
 * The settings of this shard (exit 2 when the load has fewer connections, requests in flight or requests
 * than shards), checked before any work; a start time already past by more than the tolerance (the warm-up
 * included) is refused here too.
 */
export function planShard<S extends ValidateBenchSettings>(
  whole: S,
  plan: ShardPlan,
): { settings: S; scheduleOffsetMs: number } {
  if (plan.startAtEpochMs !== undefined)
    checkStartSkew(
      plan.startAtEpochMs,
      Date.now() + whole.warmupMs,
      plan.startToleranceMs ?? DEFAULT_START_TOLERANCE_MS,
    )
  const s = plan.shard
  if (!s) return { settings: whole, scheduleOffsetMs: 0 }
  try {
    return shardSettings(whole, s)
  } catch (err) {
    throw new UsageError(`--shard ${s.index}/${s.count}: ${(err as Error).message}`, {
      hint: 'use fewer shards, or raise --connections, --concurrency or --requests of the whole load.',
    })
  }
}

/** A run's part of a sharded load, planned before any work (`shardRun`). */
export interface ShardRun<S> {
  /** this shard's settings, its schedule offset and common start */
  settings: S & { scheduleOffsetMs: number; startAtEpochMs?: number; startToleranceMs?: number }
  /** the tokens to prepare: with `count`, this shard's share */
  source: TokenSource
  /**
   * Once the tokens are prepared: this shard's tokens (of a pool every shard reads whole) and its record in
   * the result (but the start skew), when the run is a shard.
   */
  finish(
    prepared: ValidateToken[],
    c: { kind: ShardConfig['kind']; url: string; levels?: number[] },
  ): Promise<{ tokens: ValidateToken[]; shard?: Omit<ShardInfo, 'startSkewMs'> }>
}

/**
 * Plan a run's part of a sharded load (none without `--shard` or `--start-at`): a nonsense shard or a start
 * already past is refused here, before any work (exit 2).
 */
export function shardRun<S extends ValidateBenchSettings>(
  whole: S,
  source: TokenSource,
  plan: ShardPlan = {},
): ShardRun<S> {
  const spec = shardOf(plan)
  const { settings, scheduleOffsetMs } = planShard(whole, plan)
  return {
    settings: {
      ...settings,
      scheduleOffsetMs,
      startAtEpochMs: plan.startAtEpochMs,
      startToleranceMs: plan.startToleranceMs,
    },
    source: shardTokenSource(source, spec),
    async finish(prepared, c) {
      const tokens = shardTokens(prepared, source, spec)
      if (!spec) return { tokens }
      const hash = configHash({
        ...c,
        settings: whole,
        source,
        poolTokens: source.count === undefined ? prepared : undefined,
        count: spec.count,
        startAtEpochMs: plan.startAtEpochMs,
      })
      return { tokens, shard: await shardInfo(spec, hash, c.url) }
    },
  }
}

/** The token source of this shard: with `count` fresh tokens, its divmod share of them. */
export function shardTokenSource(source: TokenSource, s: ShardSpec | undefined): TokenSource {
  if (!s || s.count === 1 || source.count === undefined) return source
  if (source.count < s.count)
    throw new UsageError(`--shard ${s.index}/${s.count}: ${s.count} shards but only ${source.count} tokens`, {
      hint: 'every shard needs tokens of its own: raise --token-count to at least the shard count.',
    })
  return { ...source, count: shareOf(source.count, s) }
}

/**
 * This shard's tokens of a pool every shard reads whole: token k goes to shard k mod n, so no token is used
 * by two shards (and a cold validation stays cold). Fresh tokens are the shard's own already.
 */
export function shardTokens(
  tokens: ValidateToken[],
  source: TokenSource,
  s: ShardSpec | undefined,
): ValidateToken[] {
  if (!s || s.count === 1 || source.count !== undefined) return tokens
  if (tokens.length < s.count)
    throw new UsageError(
      `--shard ${s.index}/${s.count}: ${s.count} shards but the pool holds only ${tokens.length} usable tokens`,
      { hint: 'every shard needs tokens of its own: issue a larger pool, or use fewer shards.' },
    )
  return partition(tokens, s)
}

/** What the shards of one load must share, beyond the settings. */
export interface ShardConfig {
  kind: 'bench.validate' | 'bench.sweep'
  /** the validation URL */
  url: string
  /** the whole load's settings (before the split) */
  settings: ValidateBenchSettings
  source: TokenSource
  /** the pool every shard reads (`--tokens` without `--token-count`) */
  poolTokens?: readonly ValidateToken[]
  count: number
  startAtEpochMs?: number
  /** sweep: the revocation levels */
  levels?: number[]
}

/** JSON with sorted keys and no undefined, so the hash does not depend on the order of fields. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`
  if (v && typeof v === 'object')
    return `{${Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`)
      .join(',')}}`
  return JSON.stringify(v)
}

/**
 * sha256 (hex) of every setting that must match across the shards of one load: the target, the whole load's
 * settings, the histogram settings, the token source (the count of fresh tokens, or a digest of the pool's
 * tokens), the shard count, the start time and the sweep's levels. Not the index, host or output files.
 */
export function configHash(c: ShardConfig): string {
  const s = c.settings
  const pool = c.poolTokens
    ? createHash('sha256')
        .update(c.poolTokens.map((t) => `${t.state ?? 'valid'} ${t.token}`).join('\n'))
        .digest('hex')
    : undefined
  const config = {
    kind: c.kind,
    url: c.url,
    model: s.model,
    rate: s.rate,
    concurrency: s.concurrency,
    connections: s.connections,
    requests: s.requests,
    durationMs: s.durationMs,
    warmupMs: s.warmupMs,
    method: s.method,
    nocatalog: s.nocatalog,
    keepalive: s.keepalive,
    timeoutMs: s.timeoutMs,
    backendHeader: s.backendHeader,
    client: s.client ?? 'h1',
    lateThresholdMs: s.lateThresholdMs,
    maxInFlight: s.maxInFlight,
    histogram: HISTOGRAM_SETTINGS,
    tokens: c.source.count !== undefined ? { issued: c.source.count } : { pool, size: c.poolTokens?.length },
    shards: c.count,
    startAt: c.startAtEpochMs,
    levels: c.levels,
  }
  return createHash('sha256').update(canonical(config)).digest('hex')
}

/**
 * The local address this machine's connections to `url` leave from: the kernel's route, found by
 * connecting a UDP socket (no packet is sent). null when it cannot be told.
 */
export async function sourceAddressFor(url: string): Promise<string | null> {
  const u = new URL(url)
  const host = u.hostname.replace(/^\[|\]$/g, '')
  const port = Number(u.port) || (u.protocol === 'https:' ? 443 : 80)
  const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4')
  try {
    return await new Promise<string | null>((resolve) => {
      sock.once('error', () => resolve(null))
      sock.connect(port, host, () => {
        try {
          resolve(sock.address().address)
        } catch {
          resolve(null)
        }
      })
    })
  } finally {
    sock.close()
  }
}

/** The shard record of a result, but its start skew (known once the run started measuring). */
export async function shardInfo(
  s: ShardSpec,
  hash: string,
  url: string,
): Promise<Omit<ShardInfo, 'startSkewMs'>> {
  return {
    index: s.index,
    count: s.count,
    configHash: hash,
    host: hostname(),
    sourceAddress: await sourceAddressFor(url),
  }
}
