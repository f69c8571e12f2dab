import { UsageError } from '../errors.js'
import type { BackendStats, BenchSweepResult, BenchValidateResult, Percentiles } from '../results/types.js'
import { clampToMax, encodeHistogram, mergeEncoded, summarizeMs } from './histogram.js'
import { checkShardSet, type ShardSet, type ShardSetOptions } from './shards.js'

/**
 * Merge bench validate results taken at the same time by several load generators (processes or
 * machines) into one result for the whole load: HDR histograms are added exactly, so the merged
 * percentiles are those of one histogram fed every sample; counts, status codes, error classes and
 * throughput are summed; the duration spans the earliest start to the latest end.
 *
 * Exact where the inputs carry histograms (overall, uncorrected, per backend). The cold/warm split has
 * a histogram since this version (exact too); for older results its merged percentiles are the worst (largest) of the inputs and
 * its mean is count-weighted; per-backend figures fall back the same way when a backend histogram is
 * missing. Throws UsageError for results that cannot be merged (other kinds, different load models or
 * methods, a missing histogram).
 */
export function mergeBenchResults(
  results: BenchValidateResult[],
  opts: ShardSetOptions = {},
): BenchValidateResult {
  if (results.length === 0)
    throw new UsageError('nothing to merge: no results given', {
      hint: 'give two or more bench validate result files.',
    })
  for (const r of results) {
    if (r?.kind !== 'bench.validate')
      throw new UsageError(`cannot merge a ${String(r?.kind)} result: only bench.validate results merge`, {
        hint: 'merge the bench validate results that several machines took at the same time; `idtool report` renders the others one by one.',
      })
    if (typeof r.histogram !== 'string' || r.histogram === '')
      throw new UsageError('cannot merge a bench.validate result without its histogram', {
        hint: 'results written by idtool bench validate --out carry one; do not strip it.',
      })
  }
  // shards of one load: a complete set of one configuration (or partial, when allowed)
  const set = checkShardSet(results, opts)
  const first = results[0] as BenchValidateResult
  if (results.length === 1) return set?.partial ? { ...first, ...shardSetFields(set) } : first
  const models = new Set(results.map((r) => r.model))
  if (models.size > 1)
    throw new UsageError('cannot merge results of different load models (closed and open)', {
      hint: 'merge only results of generators that ran the same scenario at the same time.',
    })
  const methods = new Set(results.map((r) => r.method))
  if (methods.size > 1)
    throw new UsageError('cannot merge results of different HTTP methods (GET and HEAD)', {
      hint: 'merge results of runs with the same --http-method.',
    })

  const starts = results.map((r) => Date.parse(r.startedAt))
  const validStarts = starts.every((s) => Number.isFinite(s))
  const t0 = validStarts ? Math.min(...starts) : Number.NaN
  const tEnd = validStarts
    ? Math.max(...results.map((r, i) => (starts[i] as number) + (r.durationMs ?? 0)))
    : 0
  const durationMs = validStarts ? tEnd - t0 : Math.max(...results.map((r) => r.durationMs ?? 0))

  const merged = mergeEncoded(results.map((r) => r.histogram))
  const uncorrected = results.every(
    (r) => typeof r.histogramUncorrected === 'string' && r.histogramUncorrected,
  )
    ? mergeEncoded(results.map((r) => r.histogramUncorrected as string))
    : null

  const sumOrNull = (vals: Array<number | null>): number | null =>
    vals.some((v) => v === null) ? null : vals.reduce<number>((a, b) => a + (b ?? 0), 0)
  const lateVals = results.map((r) => r.requests.late)
  const targets = [...new Set(results.map((r) => r.target))]
  const warmups = results.map((r) => r.warmup).filter((w): w is NonNullable<typeof w> => w !== null && !!w)

  return {
    version: 3,
    kind: 'bench.validate',
    target: targets.join(', '),
    model: first.model,
    concurrency: sumOrNull(results.map((r) => r.concurrency)),
    connections: results.reduce((a, r) => a + (r.connections ?? 0), 0),
    rate: sumOrNull(results.map((r) => r.rate)),
    method: first.method,
    startedAt: validStarts ? new Date(t0).toISOString() : first.startedAt,
    durationMs,
    requests: {
      total: sum(results, (r) => r.requests.total),
      ok: sum(results, (r) => r.requests.ok),
      errors: sum(results, (r) => r.requests.errors),
      unexpectedStatus: sum(results, (r) => r.requests.unexpectedStatus),
      ...(lateVals.some((v) => v !== undefined)
        ? { late: lateVals.reduce<number>((a, b) => a + (b ?? 0), 0) }
        : {}),
    },
    throughput: { rps: round3(sum(results, (r) => r.throughput.rps)) },
    // max from the inputs' recorded samples (a decoded bucket only knows its top); percentiles clamped to it
    latencyMs: clampToMax({
      ...percentilesOf(merged),
      max: Math.max(...results.map((r) => r.latencyMs.max)),
    }),
    latencyUncorrectedMs: uncorrected
      ? clampToMax({
          ...percentilesOf(uncorrected),
          max: Math.max(...results.map((r) => r.latencyUncorrectedMs?.max ?? 0)),
        })
      : null,
    statusCodes: sumRecords(results.map((r) => r.statusCodes)),
    errors: sumRecords(results.map((r) => r.errors)),
    backends: mergeBackends(results.map((r) => r.backends ?? {})),
    cold: mergeSplit(results.map((r) => r.cold)),
    warm: mergeSplit(results.map((r) => r.warm)),
    warmup:
      warmups.length === 0
        ? null
        : {
            durationMs: Math.max(...warmups.map((w) => w.durationMs)),
            requests: sum(warmups, (w) => w.requests),
          },
    histogram: encodeHistogram(merged),
    histogramUncorrected: uncorrected ? encodeHistogram(uncorrected) : null,
    interrupted: results.some((r) => r.interrupted),
    mergedFrom: sum(results, (r) => r.mergedFrom ?? 1),
    ...mergeFailures(results, durationMs),
    ...(set ? shardSetFields(set) : {}),
  }
}

/**
 * Merge the shards of one sweep (`bench sweep --shard i/n`) level by level: each level's results merge as
 * `mergeBenchResults` merges a shard set (the same refusals, naming the files); the point's event count is the
 * highest the shards reached. Throws UsageError for results that are no shards or measured other levels.
 */
export function mergeSweepShards(results: BenchSweepResult[], opts: ShardSetOptions = {}): BenchSweepResult {
  const name = (i: number) => opts.labels?.[i] ?? `result ${i + 1}`
  const whole = results.map((r, i) => (r.shard ? undefined : name(i))).filter((x): x is string => !!x)
  if (whole.length > 0 || results.length === 0)
    throw new UsageError(
      `only the shards of one sweep merge (${whole.join(', ') || 'none given'}: no shard)`,
      {
        hint: 'merge the --out files of `bench sweep --shard I/N`; render whole sweeps one by one with `idtool report`.',
      },
    )
  const levels = results.map((r) => r.points.length)
  if (new Set(levels).size > 1)
    throw new UsageError(
      `the sweep shards measured different numbers of levels: ${levels.map((n, i) => `${name(i)} ${n}`).join(', ')}`,
      { hint: 'merge the shards of one complete sweep (an interrupted shard stops early).' },
    )
  const points = (results[0] as BenchSweepResult).points.map((_, k) => {
    const result = mergeBenchResults(
      results.map((r) => (r.points[k] as BenchSweepResult['points'][number]).result),
      opts,
    )
    return {
      revocationEvents: Math.max(...results.map((r) => r.points[k]?.revocationEvents ?? 0)),
      rps: result.throughput.rps,
      latencyMs: { p50: result.latencyMs.p50, p99: result.latencyMs.p99 },
      errors: result.requests.errors + result.requests.unexpectedStatus,
      result,
    }
  })
  const starts = results.map((r) => Date.parse(r.startedAt))
  const t0 = Math.min(...starts)
  const first = results[0] as BenchSweepResult
  return {
    version: 3,
    kind: 'bench.sweep',
    ...(first.label ? { label: first.label } : {}),
    startedAt: Number.isFinite(t0) ? new Date(t0).toISOString() : first.startedAt,
    durationMs: Number.isFinite(t0)
      ? Math.max(...results.map((r, i) => (starts[i] as number) + r.durationMs)) - t0
      : Math.max(...results.map((r) => r.durationMs)),
    points,
    interrupted: results.some((r) => r.interrupted),
  }
}

/** What a merged shard set records: its count, config hash and indices, and `partial` when shards are missing. */
function shardSetFields(set: ShardSet): Pick<BenchValidateResult, 'shards' | 'partial'> {
  return {
    shards: { count: set.count, configHash: set.configHash, indices: set.indices },
    ...(set.partial ? { partial: true } : {}),
  }
}

/**
 * The failures of merged results: counts from the inputs' requests, rates over the whole load, latency
 * from the inputs' failure histograms added exactly. Absent when no input kept failures apart (older
 * results); when only some did, the latency is that of those.
 */
function mergeFailures(
  results: BenchValidateResult[],
  durationMs: number,
): Pick<BenchValidateResult, 'failures'> {
  const withFailures = results.filter((r) => r.failures)
  if (withFailures.length === 0) return {}
  const count = sum(results, (r) => r.requests.errors + r.requests.unexpectedStatus)
  const total = sum(results, (r) => r.requests.total)
  const seconds = durationMs / 1000
  const hists = withFailures.map((r) => r.failures?.histogram).filter((h): h is string => Boolean(h))
  let latencyMs: Percentiles | null = null
  let histogram: string | undefined
  if (hists.length > 0) {
    const h = mergeEncoded(hists)
    const maxes = withFailures
      .map((r) => r.failures?.latencyMs?.max)
      .filter((v): v is number => typeof v === 'number')
    latencyMs = clampToMax({ ...percentilesOf(h), ...(maxes.length ? { max: Math.max(...maxes) } : {}) })
    histogram = encodeHistogram(h)
  }
  return {
    failures: {
      count,
      rate: total > 0 ? Math.round((count / total) * 1e6) / 1e6 : 0,
      rps: seconds > 0 ? Math.round((count / seconds) * 10) / 10 : 0,
      latencyMs,
      ...(histogram ? { histogram } : {}),
    },
  }
}

const round3 = (n: number) => Math.round(n * 1000) / 1000

function sum<T>(xs: T[], f: (x: T) => number | undefined | null): number {
  return xs.reduce((a, x) => a + (f(x) ?? 0), 0)
}

function percentilesOf(h: ReturnType<typeof mergeEncoded>): Percentiles {
  const s = summarizeMs(h)
  return { p50: s.p50, p90: s.p90, p99: s.p99, p999: s.p999, max: s.max, mean: s.mean }
}

function sumRecords(records: Array<Record<string, number> | undefined>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const rec of records) for (const [k, v] of Object.entries(rec ?? {})) out[k] = (out[k] ?? 0) + v
  return out
}

function mergeBackends(all: Array<Record<string, BackendStats>>): Record<string, BackendStats> {
  const names = [...new Set(all.flatMap((b) => Object.keys(b)))].sort()
  const out: Record<string, BackendStats> = {}
  for (const name of names) {
    const parts = all.map((b) => b[name]).filter((b): b is BackendStats => b !== undefined)
    if (parts.length === 1) {
      out[name] = parts[0] as BackendStats
      continue
    }
    const count = sum(parts, (b) => b.count)
    const errors = sum(parts, (b) => b.errors)
    if (parts.every((b) => typeof b.histogram === 'string' && b.histogram)) {
      const h = mergeEncoded(parts.map((b) => b.histogram as string))
      const s = summarizeMs(h)
      // the inputs' max come from raw samples; a decoded histogram only knows the bucket's top
      const maxes = parts.map((b) => b.latencyMs.max).filter((v): v is number => typeof v === 'number')
      const max = maxes.length === parts.length ? Math.max(...maxes) : s.max
      out[name] = {
        count,
        errors,
        latencyMs: clampToMax({ p50: s.p50, p90: s.p90, p99: s.p99, max }),
        histogram: encodeHistogram(h),
      }
    } else {
      // no histograms: the worst of the inputs, an upper bound, never an invented percentile
      const worst = (f: (b: BackendStats) => number | undefined) => {
        const vals = parts.map(f).filter((v): v is number => typeof v === 'number')
        return vals.length ? Math.max(...vals) : undefined
      }
      const latencyMs: BackendStats['latencyMs'] = {
        p50: worst((b) => b.latencyMs.p50) ?? 0,
        p99: worst((b) => b.latencyMs.p99) ?? 0,
      }
      const p90 = worst((b) => b.latencyMs.p90)
      const max = worst((b) => b.latencyMs.max)
      if (p90 !== undefined) latencyMs.p90 = p90
      if (max !== undefined) latencyMs.max = max
      out[name] = { count, errors, latencyMs }
    }
  }
  return out
}

type Split = BenchValidateResult['cold']

function mergeSplit(parts: Split[]): Split {
  const present = parts.filter((p): p is NonNullable<Split> => p !== null && p !== undefined)
  if (present.length === 0) return null
  if (present.length === 1) return present[0] as NonNullable<Split>
  const count = sum(present, (p) => p.count)
  if (present.every((p) => typeof p.histogram === 'string' && p.histogram)) {
    // exact: add the histograms; max from the inputs' raw samples (a bucket only knows its top)
    const h = mergeEncoded(present.map((p) => p.histogram as string))
    return {
      count,
      latencyMs: clampToMax({ ...percentilesOf(h), max: Math.max(...present.map((p) => p.latencyMs.max)) }),
      histogram: encodeHistogram(h),
    }
  }
  // results from before cold/warm carried histograms: the worst of the inputs, a bound
  const worst = (k: keyof Percentiles) => Math.max(...present.map((p) => p.latencyMs[k]))
  const mean = count > 0 ? round3(present.reduce((a, p) => a + p.latencyMs.mean * p.count, 0) / count) : 0
  return {
    count,
    latencyMs: {
      p50: worst('p50'),
      p90: worst('p90'),
      p99: worst('p99'),
      p999: worst('p999'),
      max: worst('max'),
      mean,
    },
  }
}

/** A result with a time window, for grouping. */
interface Timed {
  startedAt?: string
  durationMs?: number
}

/**
 * Group results into runs: results whose time windows [startedAt, startedAt + durationMs] overlap were
 * taken at the same time (parallel generators) and form one run; results one after the other are
 * separate runs. Results without a usable start time are runs of their own. Returns indexes.
 */
export function groupByOverlap(results: Timed[]): number[][] {
  const spans = results.map((r, i) => {
    const s = typeof r.startedAt === 'string' ? Date.parse(r.startedAt) : Number.NaN
    return { i, s, e: s + (r.durationMs ?? 0) }
  })
  const timed = spans.filter((x) => Number.isFinite(x.s)).sort((a, b) => a.s - b.s || a.i - b.i)
  const groups: number[][] = []
  let end = Number.NEGATIVE_INFINITY
  for (const x of timed) {
    const last = groups[groups.length - 1]
    if (last && x.s < end) {
      last.push(x.i)
      end = Math.max(end, x.e)
    } else {
      groups.push([x.i])
      end = x.e
    }
  }
  for (const x of spans) if (!Number.isFinite(x.s)) groups.push([x.i])
  return groups
}

/**
 * Whether results ran at the same time, as one run of parallel generators: the rule `groupByOverlap`
 * applies (the gate merges such results into one run); false when one started after the others had ended.
 */
export function ranTogether(results: Timed[]): boolean {
  return groupByOverlap(results).length <= 1
}
