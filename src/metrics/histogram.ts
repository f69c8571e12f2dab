import * as hdr from 'hdr-histogram-js'

/**
 * HDR histograms for latency. Values are integer microseconds in 64-bit buckets (8/16/32-bit buckets
 * wrap silently on overflow), JS implementation only (never mixed with WASM in add()).
 */
export type LatencyHistogram = hdr.Histogram

const SIGNIFICANT_DIGITS = 3

/** The parts of hdr-histogram-js's JS histogram that place a value in its counts array. */
interface CountsIndexing {
  countsArrayIndex(value: number): number
  readonly unitMagnitude: number
  readonly subBucketHalfCountMagnitude: number
  readonly subBucketHalfCount: number
}

/**
 * Give a JS histogram a cheaper `countsArrayIndex` for integer values in [1, 2^31), the values recordMs
 * records: hdr-histogram-js computes the index with Math.log2 and two Math.pow calls (a third of the load
 * engine's client instructions per request, three histograms a request; bench/instructions.mjs). For such
 * a value floor(log2(v)) is 31 - clz32(v) and floor(v / 2^k) is v >>> k, exactly: the same index, so the
 * same counts. Any other value goes to the library's own method.
 */
export function fastCountsIndex(h: LatencyHistogram): LatencyHistogram {
  const x = h as unknown as CountsIndexing
  const slow = x.countsArrayIndex
  if (typeof slow !== 'function' || typeof x.unitMagnitude !== 'number') return h
  const unit = x.unitMagnitude
  const halfMagnitude = x.subBucketHalfCountMagnitude
  const half = x.subBucketHalfCount
  x.countsArrayIndex = function countsArrayIndex(this: CountsIndexing, value: number): number {
    if (!(value >= 1 && value < 2_147_483_648 && Number.isInteger(value))) return slow.call(this, value)
    const bucket = Math.max(31 - Math.clz32(value) - halfMagnitude - unit, 0)
    return (bucket + 1) * 2 ** halfMagnitude + (value >>> (bucket + unit)) - half
  }
  return h
}

/** A new latency histogram (µs, 1 µs to 1 h, auto-resizing, 3 significant digits). */
export function createHistogram(): LatencyHistogram {
  return fastCountsIndex(
    hdr.build({
      bitBucketSize: 64,
      autoResize: true,
      lowestDiscernibleValue: 1,
      highestTrackableValue: 3_600_000_000,
      numberOfSignificantValueDigits: SIGNIFICANT_DIGITS,
      useWebAssembly: false,
    }),
  )
}

/** Record a latency given in milliseconds (fractional ok) as integer microseconds, at least 1. */
export function recordMs(h: LatencyHistogram, ms: number, count = 1): void {
  const us = Math.max(1, Math.round(ms * 1000))
  if (count === 1) h.recordValue(us)
  else h.recordValueWithCount(us, count)
}

/** Percentile summary in milliseconds. */
export interface LatencySummaryMs {
  p50: number
  p90: number
  p99: number
  p999: number
  max: number
  min: number
  mean: number
  stddev: number
  count: number
}

const round3 = (n: number) => Math.round(n * 1000) / 1000

/**
 * Summarise a µs histogram in ms (3 decimals). An empty histogram gives zeros with count 0.
 * Percentiles and the mean are clamped to the recorded max: HdrHistogram reports a percentile as the
 * highest value equivalent to its bucket, which can lie above the largest value recorded (a p99 of
 * 3008.5 ms with a max of 3007.0 ms).
 */
export function summarizeMs(h: LatencyHistogram): LatencySummaryMs {
  const count = h.totalCount
  if (count === 0) return { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, min: 0, mean: 0, stddev: 0, count: 0 }
  const max = round3(h.maxValue / 1000)
  const at = (p: number) => Math.min(max, round3(h.getValueAtPercentile(p) / 1000))
  return {
    p50: at(50),
    p90: at(90),
    p99: at(99),
    p999: at(99.9),
    max,
    min: Math.min(max, round3(h.minNonZeroValue / 1000)),
    mean: Math.min(max, round3(h.mean / 1000)),
    stddev: round3(h.stdDeviation / 1000),
    count,
  }
}

/**
 * The same figures with every one clamped to `max` (which is kept): for percentiles summarised from a
 * merged histogram whose max is replaced by the inputs' recorded max.
 */
export function clampToMax<T extends { max?: number }>(p: T): T {
  const max = p.max
  if (typeof max !== 'number' || !Number.isFinite(max)) return p
  const out = { ...p } as Record<string, unknown>
  for (const [k, v] of Object.entries(out)) if (k !== 'max' && typeof v === 'number' && v > max) out[k] = max
  return out as T
}

/** Encode as the HdrHistogram V2 compressed format, base64 (decodable by the Java reference). */
export function encodeHistogram(h: LatencyHistogram): string {
  return hdr.encodeIntoCompressedBase64(h)
}

/** The settings every idtool latency histogram is built with (what shards must share to merge exactly). */
export const HISTOGRAM_SETTINGS = {
  unit: 'us',
  lowestDiscernibleValue: 1,
  numberOfSignificantValueDigits: SIGNIFICANT_DIGITS,
} as const

/** The settings an encoded histogram was recorded with, as `<digits> digits, lowest <n>`. */
export function histogramSettingsOf(base64: string): string {
  const h = hdr.decodeFromCompressedBase64(base64, 64, false)
  // the JS implementation keeps the header's lowest discernible value (not in the Histogram interface)
  const lowest = (h as unknown as { lowestDiscernibleValue?: number }).lowestDiscernibleValue
  return `${h.numberOfSignificantValueDigits} digits, lowest ${lowest ?? '?'}`
}

/** Decode a base64 V2 compressed histogram into a 64-bit JS histogram. */
export function decodeHistogram(base64: string): LatencyHistogram {
  const decoded = hdr.decodeFromCompressedBase64(base64, 64, false)
  // normalise into our own configuration so add() never mixes layouts
  const h = createHistogram()
  h.add(decoded)
  return h
}

/** Add several encoded histograms exactly into one. */
export function mergeEncoded(encoded: string[]): LatencyHistogram {
  const h = createHistogram()
  for (const e of encoded) h.add(decodeHistogram(e))
  return h
}

/**
 * The percentile distribution in HdrHistogram's `.hgrm` text format, values in milliseconds
 * (the plotter's convention), 5 ticks per half distance.
 */
export function toHgrm(h: LatencyHistogram): string {
  return h.outputPercentileDistribution(5, 1000)
}
