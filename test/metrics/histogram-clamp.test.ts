import { describe, expect, it } from 'vitest'
import { OutcomeRecorder, percentiles } from '../../src/load/recorder.js'
import {
  clampToMax,
  createHistogram,
  encodeHistogram,
  recordMs,
  summarizeMs,
} from '../../src/metrics/histogram.js'
import { mergeBenchResults } from '../../src/metrics/merge.js'
import type { BenchValidateResult } from '../../src/results/types.js'
import { benchResultFrom } from '../fixtures/results.js'

// Issue 12 item 17: a reported p99 of 3008.5 ms above a max of 3007.0 ms. HdrHistogram gives a
// percentile as the highest value equivalent to its bucket (3 significant digits: a bucket ~2 ms wide at
// 3 s), which can lie above the largest value recorded.

/** 100 latencies of 1 ms and `slow` of 3007 ms. */
function hist(slow = 2) {
  const h = createHistogram()
  for (let i = 0; i < 100; i++) recordMs(h, 1)
  for (let i = 0; i < slow; i++) recordMs(h, 3007)
  return h
}

describe('percentiles never above the recorded max', () => {
  it('the raw histogram does overshoot (the bug this guards against)', () => {
    const h = hist()
    expect(h.maxValue).toBe(3_007_000)
    expect(h.getValueAtPercentile(99)).toBeGreaterThan(3_007_000)
  })

  it('summarizeMs clamps p99, p99.9 and the mean to max', () => {
    const s = summarizeMs(hist())
    expect(s.max).toBe(3007)
    expect(s.p99).toBe(3007)
    expect(s.p999).toBe(3007)
    expect(s.p50).toBeCloseTo(1, 2)
    for (const v of [s.p50, s.p90, s.p99, s.p999, s.mean, s.min]) expect(v).toBeLessThanOrEqual(s.max)
    // a percentile below the max is not touched
    expect(summarizeMs(hist(0)).p99).toBeCloseTo(1, 2)
  })

  it("the recorder's percentiles and per-backend figures", () => {
    expect(percentiles(hist()).p99).toBe(3007)
    const rec = new OutcomeRecorder(false)
    const base = { seq: 0, tag: 0, intendedAt: 0, queuedAt: 0, sentAt: 0, status: 200 }
    const one = (ms: number) => ({
      ...base,
      endAt: ms,
      backend: 'ks1',
      errorClass: undefined,
      error: undefined,
    })
    for (let i = 0; i < 100; i++) rec.record(one(1), 200, false)
    rec.record(one(3007), 200, false)
    rec.record(one(3007), 200, false)
    const b = rec.backends().ks1!.latencyMs
    expect(b.max).toBe(3007)
    expect(b.p99).toBeLessThanOrEqual(3007)
  })

  it('merged results: percentiles of the added histograms clamped to the inputs’ recorded max', () => {
    const part = (startedAt: string): BenchValidateResult => {
      const r = benchResultFrom([], { startedAt, backends: ['ks1'] })
      const h = hist()
      const p = { ...percentiles(h) }
      return {
        ...r,
        requests: { total: 102, ok: 102, errors: 0, unexpectedStatus: 0 },
        latencyMs: p,
        histogram: encodeHistogram(h),
        backends: {
          ks1: {
            count: 102,
            errors: 0,
            latencyMs: { p50: p.p50, p90: p.p90, p99: p.p99, max: p.max },
            histogram: encodeHistogram(h),
          },
        },
        cold: { count: 102, latencyMs: p, histogram: encodeHistogram(h) },
        failures: { count: 0, rate: 0, rps: 0, latencyMs: p, histogram: encodeHistogram(h) },
      }
    }
    const m = mergeBenchResults([part('2026-01-01T00:00:00Z'), part('2026-01-01T00:00:01Z')])
    for (const p of [m.latencyMs, m.cold!.latencyMs, m.failures!.latencyMs!]) {
      expect(p.max).toBe(3007)
      expect(p.p99).toBe(3007)
      expect(p.p999).toBe(3007)
    }
    expect(m.backends.ks1!.latencyMs).toMatchObject({ p99: 3007, max: 3007 })
  })

  it('clampToMax keeps max and figures below it', () => {
    expect(clampToMax({ p50: 1, p99: 3008.5, max: 3007 })).toEqual({ p50: 1, p99: 3007, max: 3007 })
    expect(clampToMax<{ p50: number; p99: number; max?: number }>({ p50: 1, p99: 2 })).toEqual({
      p50: 1,
      p99: 2,
    })
  })
})
