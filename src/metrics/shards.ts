import { UsageError } from '../errors.js'
import type { BenchValidateResult } from '../results/types.js'
import { histogramSettingsOf } from './histogram.js'

/**
 * The rules of a shard set (`bench validate --shard i/n`): its results merge into the whole load only when
 * the set is complete (every index of 0..n-1), has no index twice, and every shard ran the same
 * configuration (one configHash) with the same histogram settings. Pure.
 */

export interface ShardSetOptions {
  /** merge a set with shards missing, marked partial (duplicates and mixed configurations stay refused) */
  allowPartial?: boolean
  /** how to name each result in a refusal (its file); default "result N" */
  labels?: string[]
}

/** What a checked shard set is: undefined when no result is a shard. */
export interface ShardSet {
  count: number
  configHash: string
  /** the indices present, ascending */
  indices: number[]
  /** shards missing (only with allowPartial) */
  partial: boolean
}

const HINT =
  'merge the --out files of every shard of one run (--shard 0/N to N-1/N, same settings and --start-at), or pass --allow-partial to merge an incomplete set as partial.'

/**
 * Check a set of results that may be shards of one load; throws UsageError (exit 2) naming the shards when
 * it is incomplete (unless allowPartial), holds an index twice, mixes shards with whole runs, or mixes
 * shard counts, config hashes or histogram settings.
 */
export function checkShardSet(
  results: BenchValidateResult[],
  opts: ShardSetOptions = {},
): ShardSet | undefined {
  const name = (i: number) => opts.labels?.[i] ?? `result ${i + 1}`
  const sharded = results.map((r, i) => ({ i, s: r.shard })).filter((x) => x.s !== undefined)
  if (sharded.length === 0) return undefined
  const whole = results.map((r, i) => (r.shard ? undefined : name(i))).filter((x): x is string => !!x)
  if (whole.length > 0)
    throw new UsageError(`cannot merge shards with results that are no shard (${whole.join(', ')})`, {
      hint: HINT,
    })
  const describe = (xs: typeof sharded) =>
    xs.map(({ i, s }) => `${name(i)} (shard ${s!.index}/${s!.count}, config ${s!.configHash.slice(0, 12)})`)
  const counts = new Set(sharded.map((x) => x.s!.count))
  const hashes = new Set(sharded.map((x) => x.s!.configHash))
  if (counts.size > 1 || hashes.size > 1)
    throw new UsageError(
      `the shards are not of one run: their configurations differ: ${describe(sharded).join(', ')}`,
      { hint: HINT },
    )
  const settings = results.map((r) => histogramSettingsOf(r.histogram))
  if (new Set(settings).size > 1)
    throw new UsageError(
      `the shards' histograms have different settings: ${sharded.map(({ i }) => `${name(i)} (${settings[i]})`).join(', ')}`,
      { hint: 'merge results written by the same idtool version.' },
    )
  const count = sharded[0]!.s!.count
  const byIndex = new Map<number, number[]>()
  for (const { i, s } of sharded) byIndex.set(s!.index, [...(byIndex.get(s!.index) ?? []), i])
  const twice = [...byIndex.entries()].filter(([, is]) => is.length > 1)
  if (twice.length > 0)
    throw new UsageError(
      `duplicate shards: ${twice.map(([index, is]) => `shard ${index}/${count} in ${is.map(name).join(' and ')}`).join('; ')}`,
      { hint: HINT },
    )
  const missing: number[] = []
  for (let k = 0; k < count; k++) if (!byIndex.has(k)) missing.push(k)
  if (missing.length > 0 && !opts.allowPartial)
    throw new UsageError(
      `incomplete shard set: ${missing.length} of ${count} shards missing (${missing.map((k) => `${k}/${count}`).join(', ')})`,
      { hint: HINT },
    )
  return {
    count,
    configHash: sharded[0]!.s!.configHash,
    indices: [...byIndex.keys()].sort((a, b) => a - b),
    partial: missing.length > 0,
  }
}
