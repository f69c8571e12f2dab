import { describe, expect, it } from 'vitest'
import { mergeBenchResults } from '../../src/metrics/gate.js'
import { decodeHistogram, encodeHistogram, summarizeMs } from '../../src/metrics/histogram.js'
import { benchResult, histogramOf, latencies } from '../fixtures/results.js'

describe('report merge: bench validate results', () => {
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
