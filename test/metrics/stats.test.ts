import { describe, expect, it } from 'vitest'
import {
  combineVerdicts,
  fitSlope,
  judgeSeries,
  MIN_LEAK_SAMPLES,
  MIN_SAMPLES,
  type Point,
  studentTCdf,
  studentTQuantile,
  tCritical95,
  variance,
  welch,
} from '../../src/metrics/stats.js'
import { formatBytes, parseBytes } from '../../src/metrics/units.js'
import { rng as mulberry32 } from '../fixtures/results.js'

/** A seeded PRNG (mulberry32) and a normal deviate, so "noisy" series are reproducible. */
function rng(seed: number) {
  const uniform = mulberry32(seed)
  const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform())
  return { uniform, normal }
}

const series = (n: number, every: number, f: (i: number) => number): Point[] =>
  Array.from({ length: n }, (_, k) => [k * every, f(k * every)] as const)

const KiB = 1024
const MiB = 1024 * 1024

describe("Student's t", () => {
  it('matches the 97.5% quantiles of the textbook table', () => {
    const table: Array<[number, number]> = [
      [1, 12.706],
      [2, 4.303],
      [3, 3.182],
      [5, 2.571],
      [10, 2.228],
      [30, 2.042],
      [100, 1.984],
      [1000, 1.962],
    ]
    for (const [df, t] of table) expect(studentTQuantile(0.975, df)).toBeCloseTo(t, 3)
  })

  it('matches the one-sided 95% quantiles of the textbook table and tends to the normal quantile', () => {
    const table: Array<[number, number]> = [
      [1, 6.314],
      [2, 2.92],
      [3, 2.353],
      [4, 2.132],
      [5, 2.015],
      [10, 1.812],
      [20, 1.725],
      [30, 1.697],
      [60, 1.671],
      [120, 1.658],
    ]
    for (const [df, t] of table) expect(tCritical95(df)).toBeCloseTo(t, 3)
    expect(tCritical95(1e6)).toBeCloseTo(1.645, 3)
    // Welch–Satterthwaite gives fractional degrees of freedom
    expect(tCritical95(2.5)).toBeLessThan(2.92)
    expect(tCritical95(2.5)).toBeGreaterThan(2.353)
    expect(tCritical95(0)).toBe(Number.POSITIVE_INFINITY)
  })

  it('has a symmetric CDF with the right centre and tails', () => {
    expect(studentTCdf(0, 7)).toBeCloseTo(0.5, 12)
    expect(studentTCdf(2.365, 7)).toBeCloseTo(0.975, 3)
    expect(studentTCdf(-2.365, 7)).toBeCloseTo(0.025, 3)
    expect(studentTQuantile(0.025, 12)).toBeCloseTo(-studentTQuantile(0.975, 12), 10)
  })
})

describe("Welch's t-test", () => {
  it('gives the standard error and the Welch–Satterthwaite degrees of freedom', () => {
    const x = [10, 12, 11, 13]
    const y = [20, 25, 22, 30, 28]
    expect(variance(x)).toBeCloseTo(5 / 3, 12)
    expect(variance([7])).toBe(0)
    const { se, df } = welch(variance(x), x.length, variance(y), y.length)
    const a = variance(x) / 4
    const b = variance(y) / 5
    expect(se).toBeCloseTo(Math.sqrt(a + b), 12)
    expect(df).toBeCloseTo((a + b) ** 2 / (a ** 2 / 3 + b ** 2 / 4), 12)
    // no spread on either side: the pooled degrees of freedom
    expect(welch(0, 3, 0, 4)).toEqual({ se: 0, df: 5 })
  })
})

describe('fitSlope', () => {
  it('recovers an exact line with a zero-width interval', () => {
    const fit = fitSlope(series(10, 5, (i) => 1000 + 300 * i))!
    expect(fit.slope).toBeCloseTo(300, 9)
    expect(fit.intercept).toBeCloseTo(1000, 6)
    expect(fit.ci95[0]).toBeCloseTo(300, 6)
    expect(fit.ci95[1]).toBeCloseTo(300, 6)
    expect(fit.df).toBe(8)
  })

  it('matches a hand-computed interval', () => {
    // x = 0..4, y = 0, 2, 1, 3, 4: slope 0.9, residual SSE 1.9, Sxx 10, se = sqrt(1.9/3/10), t(3) = 3.182
    const fit = fitSlope([
      [0, 0],
      [1, 2],
      [2, 1],
      [3, 3],
      [4, 4],
    ])!
    const se = Math.sqrt(1.9 / 3 / 10)
    expect(fit.slope).toBeCloseTo(0.9, 12)
    expect(fit.stderr).toBeCloseTo(se, 12)
    expect(fit.ci95[0]).toBeCloseTo(0.9 - 3.1824 * se, 3)
    expect(fit.ci95[1]).toBeCloseTo(0.9 + 3.1824 * se, 3)
  })

  it('refuses fewer than 3 points or a single x', () => {
    expect(
      fitSlope([
        [0, 1],
        [1, 2],
      ]),
    ).toBeUndefined()
    expect(
      fitSlope([
        [3, 1],
        [3, 2],
        [3, 5],
      ]),
    ).toBeUndefined()
  })
})

describe('judgeSeries (threshold 1 KiB per iteration)', () => {
  it('calls a perfectly flat series no-leak', () => {
    const j = judgeSeries(
      series(40, 5, () => 20 * MiB),
      KiB,
    )
    expect(j.verdict).toBe('no-leak')
    expect(j.slope).toBe(0)
    expect(j.samples).toBe(40)
  })

  it('calls a noisy flat series no-leak (RSS-like noise of 64 KiB over 200 iterations)', () => {
    const r = rng(42)
    const j = judgeSeries(
      series(41, 5, () => 30 * MiB + 64 * KiB * r.normal()),
      KiB,
    )
    expect(j.verdict).toBe('no-leak')
    expect(j.ci95[0]).toBeLessThan(0 + KiB)
    expect(j.ci95[1]).toBeLessThan(KiB)
  })

  it('calls a leaking series leak with the true slope inside the interval', () => {
    const r = rng(7)
    const truth = 4 * KiB
    const j = judgeSeries(
      series(41, 5, (i) => 30 * MiB + truth * i + 32 * KiB * r.normal()),
      KiB,
    )
    expect(j.verdict).toBe('leak')
    expect(j.ci95[0]).toBeLessThanOrEqual(truth)
    expect(j.ci95[1]).toBeGreaterThanOrEqual(truth)
    expect(Math.abs(j.slope - truth) / truth).toBeLessThan(0.1)
  })

  it('calls a leak that grows in allocator-sized steps (a staircase) a leak', () => {
    // 4 KiB per iteration, but resident memory moves in 132 KiB arena extensions
    const step = 132 * KiB
    const j = judgeSeries(
      series(41, 5, (i) => 30 * MiB + Math.floor((4 * KiB * i) / step) * step),
      KiB,
    )
    expect(j.verdict).toBe('leak')
  })

  it('does not call a single step followed by a plateau a leak', () => {
    const j = judgeSeries(
      series(40, 5, (i) => 30 * MiB + (i >= 60 ? 2 * MiB : 0)),
      KiB,
    )
    expect(j.verdict).toBe('inconclusive')
    expect(j.note).toMatch(/second-half slope 0 B.*not a steady leak/)
    // the whole-series slope alone would have said leak
    expect(j.ci95[0]).toBeGreaterThan(KiB)
  })

  it('does not call growth that levels off (a warm-up curve) a leak', () => {
    // like a fresh process: +2 MiB approached exponentially, flat for the last third
    const j = judgeSeries(
      series(51, 6, (i) => 30 * MiB + Math.round(2 * MiB * (1 - Math.exp(-i / 40)))),
      KiB,
    )
    expect(j.ci95[0]).toBeGreaterThan(KiB)
    expect(j.verdict).toBe('inconclusive')
    expect(j.note).toMatch(/stopped growing/)
  })

  it('is inconclusive when the interval straddles the threshold, and says what to do', () => {
    const r = rng(3)
    const j = judgeSeries(
      series(12, 5, (i) => 30 * MiB + KiB * i + 200 * KiB * r.normal()),
      KiB,
    )
    expect(j.verdict).toBe('inconclusive')
    expect(j.ci95[0]).toBeLessThan(KiB)
    expect(j.ci95[1]).toBeGreaterThan(KiB)
    expect(j.note).toMatch(/more iterations/)
  })

  it('speaks of requests and a longer run when a benchmark judges server memory', () => {
    const r = rng(3)
    const words = { unit: 'request', more: 'run longer (--duration)', oftener: '' }
    const straddles = judgeSeries(
      series(12, 5, (i) => 30 * MiB + KiB * i + 200 * KiB * r.normal()),
      KiB,
      words,
    )
    expect(straddles.note).toMatch(
      / per request straddles the threshold .*: run longer \(--duration\) for a tighter interval$/,
    )
    const few = judgeSeries(
      series(MIN_SAMPLES - 1, 5, (i) => i * MiB),
      KiB,
      words,
    )
    expect(few.note).toMatch(/\(need \d+\): run longer \(--duration\)$/)
    expect(`${straddles.note} ${few.note}`).not.toMatch(/iteration|--sample-every/)
  })

  it('is inconclusive with too few samples', () => {
    const j = judgeSeries(
      series(MIN_SAMPLES - 1, 5, (i) => i * MiB),
      KiB,
    )
    expect(j.verdict).toBe('inconclusive')
    expect(j.note).toMatch(/need 5/)
  })

  it('never calls a leak from fewer than MIN_LEAK_SAMPLES samples, however steep', () => {
    const pts = series(MIN_LEAK_SAMPLES - 1, 1, (i) => 14 * MiB + i * 100 * KiB)
    expect(fitSlope(pts)!.ci95[0]).toBeGreaterThan(KiB)
    const j = judgeSeries(pts, KiB)
    expect(j.verdict).toBe('inconclusive')
    expect(j.note).toMatch(/a leak needs 20/)
    // one more sample, and it is a leak
    expect(
      judgeSeries(
        series(MIN_LEAK_SAMPLES, 1, (i) => 14 * MiB + i * 100 * KiB),
        KiB,
      ).verdict,
    ).toBe('leak')
  })

  it('does not call a leak when memory hardly rose from start to end (the heap of a short run, issue 12 item 6)', () => {
    // 24 samples 14.24 MiB at both ends (as printed), growing 1.5 KiB an iteration: a tight slope above 1 KiB,
    // but 34 KiB in all, within what allocator pages and the collector move by themselves
    const pts = series(24, 1, (i) => 14.24 * MiB + i * 1.5 * KiB)
    expect(fitSlope(pts)!.ci95[0]).toBeGreaterThan(KiB)
    const j = judgeSeries(pts, KiB)
    expect(j.verdict).toBe('inconclusive')
    expect(j.note).toMatch(/hardly rose from the start to the end/)
    // the same slope over enough iterations rises well past the minimum: a leak
    expect(
      judgeSeries(
        series(24, 10, (i) => 14.24 * MiB + i * 1.5 * KiB),
        KiB,
      ).verdict,
    ).toBe('leak')
  })

  it('treats a shrinking series as no-leak', () => {
    expect(
      judgeSeries(
        series(20, 5, (i) => 40 * MiB - 10 * KiB * i),
        KiB,
      ).verdict,
    ).toBe('no-leak')
  })
})

describe('combineVerdicts and units', () => {
  it('lets any leak win, then inconclusive', () => {
    expect(combineVerdicts(['no-leak', 'leak', 'inconclusive'])).toBe('leak')
    expect(combineVerdicts(['no-leak', 'inconclusive'])).toBe('inconclusive')
    expect(combineVerdicts(['no-leak', 'no-leak'])).toBe('no-leak')
    expect(combineVerdicts([])).toBe('inconclusive')
  })

  it('parses and formats byte sizes', () => {
    expect(parseBytes('1KiB')).toBe(1024)
    expect(parseBytes('512')).toBe(512)
    expect(parseBytes('1.5 MiB')).toBe(1572864)
    expect(parseBytes('4kB')).toBe(4000)
    expect(() => parseBytes('lots')).toThrow(/invalid size/)
    expect(formatBytes(1536)).toBe('1.5 KiB')
    expect(formatBytes(-2048)).toBe('-2.0 KiB')
    expect(formatBytes(812)).toBe('812 B')
  })
})
