import { UsageError } from '../errors.js'

/**
 * Noise-aware baseline comparison.
 *
 * Each run (a result, or parallel results merged into one) gives one value of a metric. A change is
 * called a regression only when BOTH hold:
 *   1. the mean moved in the bad direction by more than the allowed percentage, and
 *   2. the move is larger than the run-to-run noise: a one-sided Welch t-test at 95% confidence,
 *      t = (worsening of the means) / sqrt(sB²/nB + sC²/nC) > t(0.95, Welch–Satterthwaite df).
 * With two or more runs on one side only, that side's spread stands for both (t-test with nK-1 df).
 * With one run on each side the noise is unknown: only the percentage decides, and the check says so.
 */

export interface RegressionSpec {
  metric: string
  /** allowed worsening in percent, e.g. 10 */
  maxPct: number
  text: string
}

/** Parse `METRIC=PCT` (e.g. `p99=10%`, `rps=5`). */
export function parseMaxRegression(text: string): RegressionSpec {
  const m = /^\s*([A-Za-z_*][A-Za-z0-9_*.-]*)\s*=\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text)
  if (!m)
    throw new UsageError(`bad --max-regression "${text}"`, {
      hint: 'write METRIC=PERCENT, e.g. --max-regression p99=10% --max-regression rps=5%.',
    })
  return { metric: m[1] as string, maxPct: Number(m[2]), text: `${m[1]}=${m[2]}%` }
}

// one-sided 95% quantiles of Student's t
const T95: Array<[number, number]> = [
  [1, 6.314],
  [2, 2.92],
  [3, 2.353],
  [4, 2.132],
  [5, 2.015],
  [6, 1.943],
  [7, 1.895],
  [8, 1.86],
  [9, 1.833],
  [10, 1.812],
  [12, 1.782],
  [15, 1.753],
  [20, 1.725],
  [25, 1.708],
  [30, 1.697],
  [40, 1.684],
  [60, 1.671],
  [120, 1.658],
]
const Z95 = 1.645

/** One-sided 95% critical value of Student's t for (possibly fractional) degrees of freedom. */
export function tCritical95(df: number): number {
  if (!(df > 0)) return Number.POSITIVE_INFINITY
  if (df < 1) return T95[0]?.[1] as number
  const last = T95[T95.length - 1] as [number, number]
  if (df >= last[0]) {
    // interpolate in 1/df towards the normal quantile
    return Z95 + (last[1] - Z95) * (last[0] / df)
  }
  for (let i = 1; i < T95.length; i++) {
    const [d1, t1] = T95[i - 1] as [number, number]
    const [d2, t2] = T95[i] as [number, number]
    if (df <= d2) {
      // interpolate in 1/df (the quantile is nearly linear in it)
      const f = (1 / d1 - 1 / df) / (1 / d1 - 1 / d2)
      return t1 + (t2 - t1) * f
    }
  }
  return Z95
}

export function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length
}

/** Sample variance (n-1); 0 for fewer than two values. */
export function variance(xs: number[]): number {
  if (xs.length < 2) return 0
  const m = mean(xs)
  return xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1)
}

export interface Comparison {
  baselineMean: number
  currentMean: number
  /** signed change of the mean in percent (positive = the value grew); null when the baseline is 0 */
  changePct: number | null
  /** the change in the bad direction, in percent (negative = improved) */
  worsePct: number | null
  pctExceeded: boolean
  /** how the noise was judged */
  method: 'welch' | 'one-sided-spread' | 'percentage-only'
  noiseKnown: boolean
  t: number | null
  tCritical: number | null
  df: number | null
  beyondNoise: boolean
  regression: boolean
  baselineRuns: number
  currentRuns: number
  baselineSd: number
  currentSd: number
}

/**
 * Compare per-run values of one metric. `maxPct` is the allowed worsening in percent; `higherIsBetter`
 * gives the direction (throughput) or not (latency, errors).
 */
export function compareRuns(
  baseline: number[],
  current: number[],
  maxPct: number,
  higherIsBetter: boolean,
): Comparison {
  if (baseline.length === 0 || current.length === 0) throw new Error('compareRuns needs values on both sides')
  const mB = mean(baseline)
  const mC = mean(current)
  const vB = variance(baseline)
  const vC = variance(current)
  const nB = baseline.length
  const nC = current.length
  const worseDiff = higherIsBetter ? mB - mC : mC - mB
  const changePct = mB !== 0 ? ((mC - mB) / Math.abs(mB)) * 100 : mC === 0 ? 0 : null
  const worsePct = changePct === null ? null : higherIsBetter ? -changePct : changePct
  const pctExceeded = worsePct === null ? worseDiff > 0 : worsePct > maxPct + 1e-9

  let method: Comparison['method']
  let se: number
  let df: number | null
  if (nB >= 2 && nC >= 2) {
    method = 'welch'
    const a = vB / nB
    const b = vC / nC
    se = Math.sqrt(a + b)
    const den = (a * a) / (nB - 1) + (b * b) / (nC - 1)
    df = den > 0 ? ((a + b) * (a + b)) / den : nB + nC - 2
  } else if (nB >= 2 || nC >= 2) {
    method = 'one-sided-spread'
    const v = nB >= 2 ? vB : vC
    se = Math.sqrt(v * (1 / nB + 1 / nC))
    df = (nB >= 2 ? nB : nC) - 1
  } else {
    method = 'percentage-only'
    se = Number.NaN
    df = null
  }
  let t: number | null = null
  let tCrit: number | null = null
  let beyondNoise: boolean
  if (method === 'percentage-only') {
    beyondNoise = true
  } else if (se === 0) {
    // no spread at all: any worsening is beyond the (zero) noise
    t = worseDiff > 0 ? Number.POSITIVE_INFINITY : 0
    tCrit = tCritical95(df ?? 1)
    beyondNoise = worseDiff > 0
  } else {
    t = worseDiff / se
    tCrit = tCritical95(df ?? 1)
    beyondNoise = t > tCrit
  }
  return {
    baselineMean: mB,
    currentMean: mC,
    changePct,
    worsePct,
    pctExceeded,
    method,
    noiseKnown: method !== 'percentage-only',
    t,
    tCritical: tCrit,
    df,
    beyondNoise,
    regression: pctExceeded && beyondNoise,
    baselineRuns: nB,
    currentRuns: nC,
    baselineSd: Math.sqrt(vB),
    currentSd: Math.sqrt(vC),
  }
}
