import { describe, expect, it } from 'vitest'
import { buildRuns, type GateInputResult, gate, type LoadedResult } from '../../src/metrics/gate.js'
import {
  createHistogram,
  decodeHistogram,
  encodeHistogram,
  recordMs,
  summarizeMs,
} from '../../src/metrics/histogram.js'
import { groupByOverlap, mergeBenchResults, ranTogether } from '../../src/metrics/merge.js'
import { parseThreshold } from '../../src/metrics/thresholds.js'
import { benchResult, benchResultFrom, histogramOf, latencies, pct } from '../fixtures/results.js'
import { thrown } from '../helpers/thrown.js'

const loaded = (file: string, result: object): LoadedResult => ({ file, result: result as GateInputResult })

describe('mergeBenchResults', () => {
  // three parallel generators with different distributions, same time window
  const a = latencies(3000, 1, 8)
  const b = latencies(2000, 2, 12)
  const c = latencies(1000, 3, 30)
  const ra = benchResultFrom(a, { backends: ['ks1', 'ks2'] })
  const rb = benchResultFrom(b, { backends: ['ks1', 'ks2'], errors: 3, unexpected: 2 })
  const rc = benchResultFrom(c, { backends: ['ks2', 'ks3'], startedAt: '2026-01-01T00:00:01.000Z' })
  const merged = mergeBenchResults([ra, rb, rc])

  it('gives the percentiles of one histogram fed every value', () => {
    expect(merged.latencyMs).toEqual(pct(histogramOf([...a, ...b, ...c])))
    expect(decodeHistogram(merged.histogram).totalCount).toBe(6000)
    // and per backend: ks2 got values from all three generators
    const ks2 = createHistogram()
    const feed = (xs: number[], odd: boolean) => {
      xs.forEach((v, i) => {
        if (i % 2 === (odd ? 1 : 0)) recordMs(ks2, v)
      })
    }
    feed(a, true)
    feed(b, true)
    feed(c, false)
    expect(merged.backends.ks2?.latencyMs.p99).toBe(summarizeMs(ks2).p99)
    expect(merged.backends.ks2?.count).toBe(1500 + 1000 + 500)
    expect(Object.keys(merged.backends)).toEqual(['ks1', 'ks2', 'ks3'])
  })

  it('merges cold and warm exactly when the results carry their histograms', () => {
    const split = (xs: number[]) => {
      const h = histogramOf(xs)
      return { count: xs.length, latencyMs: pct(h), histogram: encodeHistogram(h) }
    }
    const coldA = a.slice(0, 100)
    const coldB = b.slice(0, 300).map((v) => v * 3)
    const m = mergeBenchResults([
      { ...ra, cold: split(coldA), warm: split(a.slice(100)) },
      { ...rb, cold: split(coldB), warm: split(b.slice(300)) },
    ])
    expect(m.cold?.count).toBe(400)
    expect(m.cold?.latencyMs).toEqual(pct(histogramOf([...coldA, ...coldB])))
    expect(decodeHistogram(m.cold!.histogram!).totalCount).toBe(400)
    expect(m.warm?.count).toBe(2900 + 1700)
    // without histograms (older results) the merge falls back to a bound: the worst of the inputs
    const old = mergeBenchResults([
      { ...ra, cold: { count: 1, latencyMs: { p50: 1, p90: 1, p99: 1, p999: 1, max: 1, mean: 1 } } },
      { ...rb, cold: { count: 3, latencyMs: { p50: 5, p90: 5, p99: 5, p999: 5, max: 5, mean: 5 } } },
    ])
    expect(old.cold?.latencyMs.p99).toBe(5)
    expect(old.cold?.histogram).toBeUndefined()
  })

  it('sums counts and throughput and spans the time window', () => {
    expect(merged.requests).toEqual({ total: 6003, ok: 5998, errors: 3, unexpectedStatus: 2 })
    expect(merged.throughput.rps).toBeCloseTo(ra.throughput.rps + rb.throughput.rps + rc.throughput.rps, 2)
    expect(merged.statusCodes).toEqual({ '200': 5998, '500': 2 })
    expect(merged.errors).toEqual({ timeout: 3 })
    expect(merged.concurrency).toBe(6)
    expect(merged.durationMs).toBe(11_000)
    expect(merged.mergedFrom).toBe(3)
  })

  it('judges thresholds on the merged load, not on one generator', () => {
    const p99 = pct(histogramOf([...a, ...b, ...c])).p99
    // a limit between generator a's p99 and the whole load's p99: a alone would pass, the load fails
    expect(ra.latencyMs.p99).toBeLessThan(p99)
    const limit = (ra.latencyMs.p99 + p99) / 2
    const inputs = [loaded('a.json', ra), loaded('b.json', rb), loaded('c.json', rc)]
    const r = gate({
      inputs,
      thresholds: [parseThreshold(`p99 < ${limit}ms`), parseThreshold('errors.rate < 0.1%')],
    })
    expect(r.checks[0]).toMatchObject({ passed: false, actual: p99, limit: `< ${limit}ms` })
    expect(r.checks[1]?.passed).toBe(true)
    expect(r.checks[1]?.actual as number).toBeCloseTo(3 / 6003, 10)
    expect(r.passed).toBe(false)
    const alone = gate({
      inputs: [inputs[0] as LoadedResult],
      thresholds: [parseThreshold(`p99 < ${limit}ms`)],
    })
    expect(alone.passed).toBe(true)
  })

  it('checks every backend for backends.*.p99 and names the worst', () => {
    const inputs = [loaded('a.json', ra), loaded('b.json', rb), loaded('c.json', rc)]
    const limit = merged.backends.ks3?.latencyMs.p99 as number
    const r = gate({ inputs, thresholds: [parseThreshold(`backends.*.p99 < ${limit}ms`)] })
    const chk = r.checks[0]
    expect(chk?.passed).toBe(false)
    expect(chk?.actual).toBe(limit)
    expect(chk?.detail).toMatch(/worst backends\.ks3\.p99/)
  })

  it('refuses what cannot be merged', () => {
    expect(() => mergeBenchResults([])).toThrow(/nothing to merge/)
    expect(() => mergeBenchResults([ra, { ...rb, model: 'open' }])).toThrow(/different load models/)
    expect(() => mergeBenchResults([ra, { ...rb, histogram: '' }])).toThrow(/without its histogram/)
    // every refusal comes with a hint (issue 12 item 17: merge-kind errors had none)
    for (const bad of [
      [],
      [ra, { ...rb, model: 'open' as const }],
      [ra, { ...rb, method: 'HEAD' as const }],
      [ra, { ...rb, kind: 'revoke-bulk' }],
    ]) {
      const err = thrown(() => mergeBenchResults(bad as (typeof ra)[])) as {
        hint?: string
        exitCode?: number
      }
      expect(err.exitCode).toBe(2)
      expect(err.hint).toBeTruthy()
    }
  })
})

describe('mergeBenchResults on recorded bench validate results (the report fixtures)', () => {
  const a = benchResult({ seed: 1, n: 3000, base: 8 })
  const b = benchResult({ seed: 2, n: 1700, base: 14, startedAt: '2026-11-21T12:00:01.000Z' })
  const c = benchResult({ seed: 3, n: 900, base: 30, startedAt: '2026-11-21T12:00:00.500Z' })

  it('gives the percentiles of one histogram fed every value', () => {
    const merged = mergeBenchResults([a, b, c])
    // the same values, recorded into one histogram
    const odd = (v: number, i: number) => (i % 2 === 1 ? v * 1.25 : v)
    const single = histogramOf([
      ...latencies(3000, 1, 8, 'tail').map(odd),
      ...latencies(1700, 2, 14, 'tail').map(odd),
      ...latencies(900, 3, 30, 'tail').map(odd),
    ])
    const live = summarizeMs(single)
    // a saved result carries its histogram encoded: the same round trip as the merged one
    const saved = summarizeMs(decodeHistogram(encodeHistogram(single)))
    const { max, ...rest } = merged.latencyMs
    expect(rest).toEqual({
      p50: saved.p50,
      p90: saved.p90,
      p99: saved.p99,
      p999: saved.p999,
      mean: saved.mean,
    })
    // the same percentiles as the live histogram too; max to the histogram's precision (or exact)
    expect([rest.p50, rest.p90, rest.p99, rest.p999]).toEqual([live.p50, live.p90, live.p99, live.p999])
    expect(Math.abs(max - live.max) / live.max).toBeLessThan(0.001)
    expect(decodeHistogram(merged.histogram).totalCount).toBe(3000 + 1700 + 900)
  })

  it('adds per-backend histograms exactly and sums counts and throughput', () => {
    const merged = mergeBenchResults([a, b])
    const ks2 = summarizeMs(
      histogramOf([
        ...latencies(3000, 1, 8, 'tail')
          .filter((_, i) => i % 2 === 1)
          .map((v) => v * 1.25),
        ...latencies(1700, 2, 14, 'tail')
          .filter((_, i) => i % 2 === 1)
          .map((v) => v * 1.25),
      ]),
    )
    expect(merged.backends.ks2!.count).toBe(1500 + 850)
    expect(merged.backends.ks2!.latencyMs.p99).toBe(ks2.p99)
    expect(merged.backends.ks2!.latencyMs.p50).toBe(ks2.p50)
    expect(merged.requests.total).toBe(4700)
    expect(merged.requests.errors).toBe(2)
    expect(merged.statusCodes['404']).toBe(4)
    expect(merged.throughput.rps).toBeCloseTo(a.throughput.rps + b.throughput.rps, 3)
    expect(merged.concurrency).toBe(10)
    expect(merged.mergedFrom).toBe(2)
  })

  it('refuses results of another kind or another load model', () => {
    const open = benchResult({ seed: 4, model: 'open' })
    expect(() => mergeBenchResults([a, open])).toThrow(/model/)
    expect(() => mergeBenchResults([a, { ...a, kind: 'bench.sweep' } as never])).toThrow(/bench.validate/)
  })
})

describe('runs from several files', () => {
  it('groups overlapping time windows and keeps sequential runs apart', () => {
    const groups = groupByOverlap([
      { startedAt: '2026-01-01T00:00:00Z', durationMs: 10_000 },
      { startedAt: '2026-01-01T00:01:00Z', durationMs: 10_000 },
      { startedAt: '2026-01-01T00:00:02Z', durationMs: 10_000 },
      { startedAt: 'not a date', durationMs: 10_000 },
    ])
    expect(groups).toEqual([[0, 2], [1], [3]])
  })

  it('says whether results ran together by the same rule (report merge warns when they did not)', () => {
    const at = (startedAt: string, durationMs = 10_000) => ({ startedAt, durationMs })
    expect(ranTogether([at('2026-01-01T00:00:00Z'), at('2026-01-01T00:00:02Z')])).toBe(true)
    // one inside the other: they overlapped, however short the second
    expect(ranTogether([at('2026-01-01T00:00:00Z'), at('2026-01-01T00:00:05Z', 1_000)])).toBe(true)
    expect(ranTogether([at('2026-01-01T00:00:00Z'), at('2026-01-01T00:01:00Z')])).toBe(false)
    expect(ranTogether([at('2026-01-01T00:00:00Z')])).toBe(true)
  })

  it('every sequential run must pass a threshold', () => {
    const fast = benchResultFrom(latencies(1000, 5, 5), { startedAt: '2026-01-01T00:00:00Z' })
    const slow = benchResultFrom(latencies(1000, 6, 50), { startedAt: '2026-01-01T01:00:00Z' })
    const inputs = [loaded('fast.json', fast), loaded('slow.json', slow)]
    expect(buildRuns(inputs, 'auto').map((r) => r.label)).toEqual(['run 1', 'run 2'])
    const r = gate({ inputs, thresholds: [parseThreshold('p50 < 20ms')] })
    expect(r.checks[0]?.passed).toBe(false)
    expect(r.checks[0]?.detail).toMatch(/run 2: p50/)
    // --merge all pools them into one run
    expect(buildRuns(inputs, 'all')).toHaveLength(1)
  })
})

describe('gate input rules', () => {
  const ok = benchResultFrom(latencies(100, 9))
  it('rejects mixed kinds and nothing to check', () => {
    const leak = { kind: 'ldap.page-leak-check', verdict: 'no-leak' }
    expect(() =>
      gate({ inputs: [loaded('a', ok), loaded('b', leak)], thresholds: [parseThreshold('rps > 1')] }),
    ).toThrow(/mixed result kinds/)
    expect(() => gate({ inputs: [loaded('a', ok)] })).toThrow(/nothing to check/)
  })

  it('reports an unknown metric as unusable input, a missing one as a failed check', () => {
    expect(() => gate({ inputs: [loaded('a', ok)], thresholds: [parseThreshold('p98 < 1ms')] })).toThrow(
      /unknown metric "p98"/,
    )
    const r = gate({ inputs: [loaded('a', ok)], thresholds: [parseThreshold('cold.p99 < 10ms')] })
    expect(r.checks[0]).toMatchObject({ passed: false, actual: null })
    expect(r.checks[0]?.detail).toMatch(/not in the result/)
    const none = gate({
      inputs: [loaded('a', { ...ok, backends: {} })],
      thresholds: [parseThreshold('backends.*.p99 < 1s')],
    })
    expect(none.checks[0]).toMatchObject({ passed: false, actual: null })
  })

  it('judges page-leak-check and sweep results', () => {
    const leak = {
      kind: 'ldap.page-leak-check',
      verdict: 'leak',
      latencyMs: { page: { p50: 1, p90: 2, p99: 3, max: 4 }, search: { p50: 10, p90: 20, p99: 30, max: 40 } },
      errors: { timeout: 1 },
      subjects: [{ name: 'ks1', pid: 42, verdict: 'leak', slopeBytesPerIteration: 2048 }],
    }
    const r = gate({
      inputs: [loaded('l', leak)],
      thresholds: ['leak == false', 'search.p99 < 25ms', 'errors == 0', 'subjects.*.slope < 1024'].map(
        parseThreshold,
      ),
    })
    expect(r.checks.map((c) => [c.actual, c.passed])).toEqual([
      [true, false],
      [30, false],
      [1, false],
      [2048, false],
    ])
    expect(() => gate({ inputs: [loaded('l', leak)], thresholds: [parseThreshold('p99 < 1ms')] })).toThrow(
      /ambiguous/,
    )
    const sweep = {
      kind: 'bench.sweep',
      points: [
        {
          revocationEvents: 0,
          rps: 200,
          latencyMs: { p50: 5, p99: 20 },
          errors: 0,
          result: { requests: { total: 900 } },
        },
        {
          revocationEvents: 10000,
          rps: 120,
          latencyMs: { p50: 9, p99: 40 },
          errors: 0,
          result: { requests: { total: 900 } },
        },
      ],
    }
    const s = gate({
      inputs: [loaded('s', sweep)],
      thresholds: ['rps >= 150', 'rps.drop < 50%', 'errors == 0'].map(parseThreshold),
    })
    expect(s.checks.map((c) => [c.actual, c.passed])).toEqual([
      [120, false],
      [0.4, true],
      [0, true],
      [0, true], // the default check: failures.rate < 1% on every point
    ])
    expect(s.checks[0]?.detail).toMatch(/points\.1\.rps/)
  })
})
