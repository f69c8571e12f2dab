import { UsageError } from '../errors.js'
import { mean, tCritical95, variance, welch } from './stats.js'

export { tCritical95 } from './stats.js'

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
    ;({ se, df } = welch(vB, nB, vC, nC))
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
