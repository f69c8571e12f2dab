import type { LeakVerdict } from '../results/types.js'
import { formatBytes as fmt } from './units.js'

/**
 * Statistics, pure: Student's t distribution (the one t-quantile of idtool), mean, variance and Welch's
 * t-test (the noise-aware baseline comparison, compare.ts), and the leak statistics: an ordinary
 * least-squares line through (iteration, bytes) samples, the 95% confidence interval of its slope, and the
 * verdict rules.
 */

export type Point = readonly [x: number, y: number]

export interface SlopeFit {
  n: number
  slope: number
  intercept: number
  /** standard error of the slope */
  stderr: number
  /** degrees of freedom, n - 2 */
  df: number
  ci95: [number, number]
}

// --- Student's t ---------------------------------------------------------------------------------

const LANCZOS = [
  676.5203681218851, -1259.1392167224028, 771.3234287776531, -176.6150291621406, 12.507343278686905,
  -0.13857109526572012, 9.984369578019572e-6, 1.5056327351493116e-7,
]

/** ln Γ(x) for x > 0 (Lanczos approximation, g = 7). */
export function lnGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lnGamma(1 - x)
  const z = x - 1
  let a = 0.9999999999998099
  const t = z + 7.5
  for (let i = 0; i < LANCZOS.length; i++) a += (LANCZOS[i] as number) / (z + i + 1)
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a)
}

/** Continued fraction of the regularised incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300
  let c = 1
  let d = 1 - ((a + b) * x) / (a + 1)
  if (Math.abs(d) < tiny) d = tiny
  d = 1 / d
  let h = d
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2))
    d = 1 + aa * d
    if (Math.abs(d) < tiny) d = tiny
    c = 1 + aa / c
    if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    h *= d * c
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1))
    d = 1 + aa * d
    if (Math.abs(d) < tiny) d = tiny
    c = 1 + aa / c
    if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    const delta = d * c
    h *= delta
    if (Math.abs(delta - 1) < 1e-14) break
  }
  return h
}

/** The regularised incomplete beta function I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0
  if (x >= 1) return 1
  const front = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x))
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(a, b, x)) / a
  return 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b
}

/** P(T <= t) for Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5)
  return t >= 0 ? 1 - tail : tail
}

/** The quantile of Student's t: the t with P(T <= t) = p (0 < p < 1), by bisection on the CDF. */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1) || !(df > 0)) throw new RangeError(`bad t quantile arguments p=${p} df=${df}`)
  if (p === 0.5) return 0
  if (p < 0.5) return -studentTQuantile(1 - p, df)
  let lo = 0
  let hi = 1
  while (studentTCdf(hi, df) < p) hi *= 2
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2
    if (studentTCdf(mid, df) < p) lo = mid
    else hi = mid
  }
  return (lo + hi) / 2
}

/**
 * One-sided 95% critical value of Student's t: the t with P(T <= t) = 0.95 for `df` degrees of freedom
 * (fractional df allowed, as Welch–Satterthwaite gives); Infinity when there are none.
 */
export function tCritical95(df: number): number {
  if (!(df > 0)) return Number.POSITIVE_INFINITY
  return studentTQuantile(0.95, df)
}

// --- samples and Welch's t-test --------------------------------------------------------------------

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length
}

/** Sample variance (n-1); 0 for fewer than two values. */
export function variance(xs: readonly number[]): number {
  if (xs.length < 2) return 0
  const m = mean(xs)
  return xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1)
}

/**
 * Welch's unequal-variance test of two samples given as variance and size per side: the standard error of
 * the difference of the means and the Welch–Satterthwaite degrees of freedom (n1 + n2 - 2 when both
 * variances are 0). Needs two or more values on each side.
 */
export function welch(v1: number, n1: number, v2: number, n2: number): { se: number; df: number } {
  const a = v1 / n1
  const b = v2 / n2
  const den = (a * a) / (n1 - 1) + (b * b) / (n2 - 1)
  return { se: Math.sqrt(a + b), df: den > 0 ? ((a + b) * (a + b)) / den : n1 + n2 - 2 }
}

// --- least squares --------------------------------------------------------------------------------

/** Fit y = intercept + slope·x by least squares, with the 95% interval of the slope. Needs n >= 3 and two distinct x. */
export function fitSlope(points: readonly Point[]): SlopeFit | undefined {
  const n = points.length
  if (n < 3) return undefined
  let sx = 0
  let sy = 0
  for (const [x, y] of points) {
    sx += x
    sy += y
  }
  const mx = sx / n
  const my = sy / n
  let sxx = 0
  let sxy = 0
  for (const [x, y] of points) {
    sxx += (x - mx) * (x - mx)
    sxy += (x - mx) * (y - my)
  }
  if (sxx === 0) return undefined
  const slope = sxy / sxx
  const intercept = my - slope * mx
  let sse = 0
  for (const [x, y] of points) {
    const r = y - (intercept + slope * x)
    sse += r * r
  }
  const df = n - 2
  const stderr = Math.sqrt(sse / df / sxx)
  const t = studentTQuantile(0.975, df)
  return { n, slope, intercept, stderr, df, ci95: [slope - t * stderr, slope + t * stderr] }
}

// --- verdict --------------------------------------------------------------------------------------

/** Fewer clean samples than this give `inconclusive`. */
export const MIN_SAMPLES = 5
/**
 * A `leak` needs at least this many clean samples (fewer can still say `no-leak`): with a handful of samples
 * the interval of the slope is too easily fooled by a garbage collector's rhythm.
 */
export const MIN_LEAK_SAMPLES = 20
/**
 * A `leak` needs a real rise: the mean of the last quarter of the samples above the mean of the first quarter
 * by at least this share of what the threshold predicts over the iterations between them, and by at least
 * MIN_RISE_BYTES (below that, memory figures move by themselves: allocator pages, collector rhythm).
 */
export const MIN_RISE_FRACTION = 0.5
export const MIN_RISE_BYTES = 64 * 1024
/**
 * A leak must still grow at the end of the run: with this many samples the second half, and with
 * twice as many the last third, must not be confidently below the threshold.
 */
export const STEP_CHECK_MIN_SAMPLES = 8

export interface Judgement {
  verdict: LeakVerdict
  slope: number
  ci95: [number, number]
  samples: number
  /** why, when not a plain leak / no-leak */
  note?: string
}

/**
 * Judge one memory series against a threshold in bytes per iteration:
 * - `leak` when the 95% interval's lower bound is above the threshold, and the growth does not stop
 *   before the end (with 8+ samples the slope of the second half, with 16+ also of the last third,
 *   must not be confidently below the threshold: growth that levels off, or a single step followed by
 *   a plateau, is a warm-up or a cache, not a steady leak);
 * - `no-leak` when the upper bound is below the threshold;
 * - `inconclusive` otherwise (the interval straddles the threshold, too few samples, or a step).
 */
/** How a verdict's notes name the x axis and the advice: LDAP iterations by default, a benchmark's requests. */
export interface JudgementWords {
  /** one step of the x axis: 'iteration', 'request' */
  unit: string
  /** how to get more samples, e.g. 'run more iterations' */
  more: string
  /** how to sample more often, e.g. 'sample more often (--sample-every)'; empty: no such knob */
  oftener: string
}

export const ITERATION_WORDS: JudgementWords = {
  unit: 'iteration',
  more: 'run more iterations',
  oftener: 'sample more often (--sample-every)',
}

export function judgeSeries(
  points: readonly Point[],
  thresholdBytesPerIteration: number,
  words: JudgementWords = ITERATION_WORDS,
): Judgement {
  const n = points.length
  const moreSamples = `${words.more}${words.oftener ? ` or ${words.oftener}` : ''}`
  const fit = n >= MIN_SAMPLES ? fitSlope(points) : undefined
  if (!fit) {
    return {
      verdict: 'inconclusive',
      slope: 0,
      ci95: [0, 0],
      samples: n,
      note: `only ${n} clean sample${n === 1 ? '' : 's'} (need ${MIN_SAMPLES}): ${moreSamples}`,
    }
  }
  const base = { slope: fit.slope, ci95: fit.ci95, samples: n }
  const [lo, hi] = fit.ci95
  const thr = thresholdBytesPerIteration
  if (lo > thr) {
    if (n < MIN_LEAK_SAMPLES) {
      return {
        ...base,
        verdict: 'inconclusive',
        note: `the slope says leak but only ${n} clean samples were taken (a leak needs ${MIN_LEAK_SAMPLES}): ${moreSamples}`,
      }
    }
    const rise = quarterRise(points)
    if (rise.bytes < Math.max(MIN_RISE_FRACTION * thr * rise.iterations, MIN_RISE_BYTES)) {
      return {
        ...base,
        verdict: 'inconclusive',
        note: `the slope says leak but memory hardly rose from the start to the end (first quarter ${fmt(rise.startMean)}, last quarter ${fmt(rise.endMean)}; a leak must rise at least ${fmt(MIN_RISE_BYTES)}): ${words.more}`,
      }
    }
    const tails: Array<[string, number]> = [['second-half', Math.floor(n / 2)]]
    if (n >= 2 * STEP_CHECK_MIN_SAMPLES) tails.push(['last-third', n - Math.ceil(n / 3)])
    for (const [label, from] of n >= STEP_CHECK_MIN_SAMPLES ? tails : []) {
      const tail = fitSlope(points.slice(from))
      if (tail && tail.ci95[1] < thr) {
        return {
          ...base,
          verdict: 'inconclusive',
          note: `memory grew and then stopped growing (${label} slope ${fmt(tail.slope)}/${words.unit}, 95% CI up to ${fmt(tail.ci95[1])}): a warm-up, a cache or a one-time step, not a steady leak; use a longer --warmup or ${words.more}`,
        }
      }
    }
    return { ...base, verdict: 'leak' }
  }
  if (hi < thr) return { ...base, verdict: 'no-leak' }
  return {
    ...base,
    verdict: 'inconclusive',
    note: `the 95% interval [${fmt(lo)}, ${fmt(hi)}] per ${words.unit} straddles the threshold ${fmt(thr)}: ${words.more} for a tighter interval`,
  }
}

/** The mean of the first and of the last quarter of the samples (at least one each) and the iterations between. */
function quarterRise(points: readonly Point[]): {
  startMean: number
  endMean: number
  bytes: number
  iterations: number
} {
  const q = Math.max(1, Math.floor(points.length / 4))
  const mean = (ps: readonly Point[], i: 0 | 1) => ps.reduce((a, p) => a + p[i], 0) / ps.length
  const head = points.slice(0, q)
  const tail = points.slice(points.length - q)
  const startMean = mean(head, 1)
  const endMean = mean(tail, 1)
  return { startMean, endMean, bytes: endMean - startMean, iterations: mean(tail, 0) - mean(head, 0) }
}

/** The overall verdict of several subjects: any leak wins, then any inconclusive, else no-leak. */
export function combineVerdicts(verdicts: readonly LeakVerdict[]): LeakVerdict {
  if (verdicts.includes('leak')) return 'leak'
  if (verdicts.includes('inconclusive') || verdicts.length === 0) return 'inconclusive'
  return 'no-leak'
}
