import { describe, expect, it } from 'vitest'
import { compareRuns, parseMaxRegression } from '../../src/metrics/compare.js'
import { gate, type LoadedResult } from '../../src/metrics/gate.js'
import { benchResultFrom, latencies, rng } from '../fixtures/results.js'

/**
 * `n` sequential runs of the same service: each run draws 2000 latencies from one log-normal
 * distribution, scaled by `shift`, and by a per-run factor that models a noisy CI machine (±jitter).
 */
function runs(prefix: string, n: number, seed: number, shift = 1, jitter = 0.06): LoadedResult[] {
  const r = rng(seed * 7919)
  return Array.from({ length: n }, (_, i) => {
    const machine = 1 + jitter * (2 * r() - 1)
    const values = latencies(2000, seed * 100 + i, 10 * shift * machine)
    const result = benchResultFrom(values, {
      startedAt: new Date(Date.UTC(2026, 0, 1, seed % 24, i * 5)).toISOString(),
      durationMs: Math.round(10_000 * shift * machine),
    })
    return { file: `${prefix}${i + 1}.json`, result }
  })
}

const specs = ['p50=5%', 'p99=5%', 'rps=5%'].map(parseMaxRegression)

describe('noise-aware baseline comparison', () => {
  it('does not fail identical distributions, over many noisy CI runs', () => {
    let compared = 0
    let naive = 0
    for (let seed = 1; seed <= 12; seed++) {
      const cur = runs('cur', 3, seed + 50)
      const base = runs('base', 3, seed)
      // the same data judged one run against one run, by the percentage alone, does cry wolf
      const single = gate({ inputs: cur.slice(0, 1), baselines: base.slice(0, 1), regressions: specs })
      naive += single.checks.filter((c) => !c.passed).length
      const r = gate({ inputs: cur, baselines: base, regressions: specs })
      // the regression checks, then the default failure-rate check (these runs have no failure)
      expect(r.checks).toHaveLength(4)
      expect(r.checks[3]).toMatchObject({ metric: 'failures.rate', default: true, passed: true })
      for (const c of r.checks.filter((x) => !x.default)) {
        expect(c.kind).toBe('regression')
        expect(c.passed, `${c.metric}: ${c.detail}`).toBe(true)
        compared++
      }
    }
    expect(compared).toBe(36)
    expect(naive).toBeGreaterThan(0)
  })

  it('calls a real shift a regression, in the right direction', () => {
    const r = gate({ inputs: runs('cur', 3, 77, 1.3), baselines: runs('base', 3, 3), regressions: specs })
    const by = Object.fromEntries(r.checks.map((c) => [c.metric, c]))
    for (const m of ['p50', 'p99', 'rps']) {
      expect(by[m]?.passed, by[m]?.detail).toBe(false)
      expect(by[m]?.detail).toMatch(/beyond run-to-run noise \(Welch t-test/)
    }
    expect(by.p99?.changePct as number).toBeGreaterThan(20)
    expect(by.rps?.changePct as number).toBeLessThan(-15)
    expect(r.passed).toBe(false)
    // faster and higher throughput is no regression
    const better = gate({
      inputs: runs('cur', 3, 78, 0.7),
      baselines: runs('base', 3, 3),
      regressions: specs,
    })
    expect(better.checks.every((c) => c.passed)).toBe(true)
  })

  it('needs both: a change beyond the percentage but within the spread is not a regression', () => {
    const c = compareRuns([100, 140, 95], [125, 150, 100], 5, false)
    expect(c.pctExceeded).toBe(true)
    expect(c.beyondNoise).toBe(false)
    expect(c.regression).toBe(false)
    expect(c.method).toBe('welch')
    // and a change beyond the spread but within the percentage is not one either
    const d = compareRuns([100, 100.1, 99.9], [103, 103.1, 102.9], 5, false)
    expect(d.beyondNoise).toBe(true)
    expect(d.pctExceeded).toBe(false)
    expect(d.regression).toBe(false)
  })

  it('falls back to the percentage with one run each and says the noise is unknown', () => {
    const base = runs('base', 1, 4)
    const cur = runs('cur', 1, 5, 1.25)
    const r = gate({ inputs: cur, baselines: base, regressions: [parseMaxRegression('p99=10%')] })
    expect(r.checks[0]?.passed).toBe(false)
    expect(r.checks[0]?.detail).toMatch(
      /noise unknown \(1 run on each side\), judged by the percentage alone/,
    )
    const c = compareRuns([10], [10.5], 10, false)
    expect(c).toMatchObject({ method: 'percentage-only', noiseKnown: false, regression: false })
  })

  it('uses the spread of the side with several runs when the other has one', () => {
    const c = compareRuns([100, 102, 98, 101], [130], 10, false)
    expect(c.method).toBe('one-sided-spread')
    expect(c.df).toBe(3)
    expect(c.regression).toBe(true)
    const d = compareRuns([100, 130, 80, 110], [115], 10, false)
    expect(d.regression).toBe(false)
  })

  it('reports baseline, current, change and verdict per metric', () => {
    const r = gate({ inputs: runs('cur', 2, 9, 1.3), baselines: runs('base', 2, 8) })
    // default metrics for bench validate, then the default failure-rate check
    expect(r.checks.map((c) => c.metric)).toEqual(['p50', 'p99', 'rps', 'failures.rate'])
    for (const c of r.checks.filter((x) => x.kind === 'regression')) {
      expect(typeof c.baseline).toBe('number')
      expect(typeof c.actual).toBe('number')
      expect(typeof c.changePct).toBe('number')
      expect(c.limit).toMatch(/beyond noise/)
    }
    expect(r.baselines).toEqual(['base1.json', 'base2.json'])
  })

  it('compares every backend for a wildcard metric', () => {
    const r = gate({
      inputs: runs('cur', 2, 11, 1.4),
      baselines: runs('base', 2, 10),
      regressions: [parseMaxRegression('backends.*.p99=10%')],
    })
    expect(r.checks.map((c) => c.metric)).toEqual(['backends.ks1.p99', 'backends.ks2.p99', 'failures.rate'])
  })

  it('rejects bad --max-regression values', () => {
    expect(() => parseMaxRegression('p99')).toThrow(/bad --max-regression/)
    expect(() => parseMaxRegression('p99=ten')).toThrow(/bad --max-regression/)
    expect(parseMaxRegression('rps=5')).toMatchObject({ metric: 'rps', maxPct: 5 })
  })
})
