import type { EngineSettings } from './engine.js'

/**
 * Shards: one load split over n generators (processes or machines) so that together they send what one
 * generator with the whole settings would. Pure arithmetic, no I/O.
 *
 * - open model: shard i sends at rate r = R/n, its schedule offset by i/(n·r) = i/R s, so the n streams
 *   interleave into the one evenly spaced stream of rate R (request j of the whole goes to shard j mod n);
 * - closed model: concurrency split by divmod (the remainder to the lowest indices);
 * - both: the request count and the connections split by divmod; the duration and everything else is
 *   the same on every shard;
 * - items used in turn (e.g. tokens): item k goes to shard k mod n, so no two shards share one.
 */

/** Which share of the load this generator takes: shard `index` (0-based) of `count`. */
export interface ShardSpec {
  index: number
  count: number
}

/** Shard `index`'s part of `total` split over `count`: divmod, the remainder to the lowest indices. */
export function shareOf(total: number, s: ShardSpec): number {
  const q = Math.floor(total / s.count)
  return q + (s.index < total % s.count ? 1 : 0)
}

/**
 * The schedule offset of shard `index` of `count` in an open model of `rate` requests per second overall,
 * in ms: i/(n·r) s with r = R/n the shard's rate, that is i/R. Shard i's request k is then intended at
 * i/R + k·n/R = j/R with j = k·n + i: the whole load's stream, each request sent by exactly one shard.
 */
export function scheduleOffsetMs(rate: number, s: ShardSpec): number {
  return (s.index * 1000) / rate
}

/** Shard `index`'s items of a list used in turn: item k goes to shard k mod n. */
export function partition<T>(items: readonly T[], s: ShardSpec): T[] {
  return items.filter((_, k) => k % s.count === s.index)
}

/** Why a shard spec cannot run, or undefined when it can. */
export function shardSpecProblem(s: ShardSpec): string | undefined {
  if (!Number.isInteger(s.count) || s.count < 1)
    return `the shard count must be a whole number >= 1 (got ${s.count})`
  if (!Number.isInteger(s.index) || s.index < 0 || s.index >= s.count)
    return `shard index ${s.index} is not one of 0 to ${s.count - 1} (0-based)`
  return undefined
}

/** The engine settings of one shard, and its schedule offset (open model). */
export interface ShardedSettings<S extends EngineSettings> {
  settings: S
  /** open model: when this shard's schedule starts after the common start, ms (0 for the closed model) */
  scheduleOffsetMs: number
}

/**
 * The settings of shard `s` of whole-load settings `whole`. Throws RangeError naming the setting when the
 * load has fewer units than shards (a shard with no connection, no concurrency or no request).
 */
export function shardSettings<S extends EngineSettings>(whole: S, s: ShardSpec): ShardedSettings<S> {
  const problem = shardSpecProblem(s)
  if (problem) throw new RangeError(problem)
  const tooFew = (what: string, n: number) =>
    new RangeError(`${s.count} shards but only ${n} ${what}: every shard needs at least one`)
  if (whole.connections < s.count) throw tooFew('connections', whole.connections)
  if (whole.requests !== undefined && whole.requests < s.count) throw tooFew('requests', whole.requests)
  if (whole.model === 'closed' && (whole.concurrency ?? 0) < s.count)
    throw tooFew('requests in flight (concurrency)', whole.concurrency ?? 0)
  if (s.count === 1) return { settings: whole, scheduleOffsetMs: 0 }
  const open = whole.model === 'open'
  return {
    settings: {
      ...whole,
      connections: shareOf(whole.connections, s),
      ...(whole.requests !== undefined ? { requests: shareOf(whole.requests, s) } : {}),
      ...(open
        ? { rate: (whole.rate as number) / s.count }
        : { concurrency: shareOf(whole.concurrency as number, s) }),
    },
    scheduleOffsetMs: open ? scheduleOffsetMs(whole.rate as number, s) : 0,
  }
}
