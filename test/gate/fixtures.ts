import { createHistogram, encodeHistogram, recordMs, summarizeMs } from '../../src/metrics/histogram.js'
import type { BenchValidateResult, Percentiles } from '../../src/results/types.js'

/** A deterministic PRNG (mulberry32), so "random" runs are the same on every machine. */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** n log-normal latencies (ms) around `medianMs`, scaled by `shift`. */
export function latencies(n: number, seed: number, medianMs = 10, shift = 1): number[] {
  const r = rng(seed)
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    // Box-Muller
    const u = Math.max(r(), 1e-12)
    const v = r()
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
    out.push(medianMs * shift * Math.exp(0.35 * z))
  }
  return out
}

function pct(values: number[]): { p: Percentiles; hist: string } {
  const h = createHistogram()
  for (const v of values) recordMs(h, v)
  const s = summarizeMs(h)
  return {
    p: { p50: s.p50, p90: s.p90, p99: s.p99, p999: s.p999, max: s.max, mean: s.mean },
    hist: encodeHistogram(h),
  }
}

/**
 * A bench.validate result whose histogram holds exactly `values` (ms), spread round-robin over the
 * given backends, each with its own histogram.
 */
export function benchResult(
  values: number[],
  opts: {
    startedAt?: string
    durationMs?: number
    backends?: string[]
    errors?: number
    unexpected?: number
  } = {},
): BenchValidateResult {
  const names = opts.backends ?? ['ks1', 'ks2']
  const per = new Map<string, number[]>(names.map((n) => [n, []]))
  values.forEach((v, i) => {
    per.get(names[i % names.length] as string)?.push(v)
  })
  const all = pct(values)
  const durationMs = opts.durationMs ?? 10_000
  const errors = opts.errors ?? 0
  const unexpected = opts.unexpected ?? 0
  const backends: BenchValidateResult['backends'] = {}
  for (const [name, vals] of per) {
    const b = pct(vals)
    backends[name] = {
      count: vals.length,
      errors: 0,
      latencyMs: { p50: b.p.p50, p90: b.p.p90, p99: b.p.p99, max: b.p.max },
      histogram: b.hist,
    }
  }
  return {
    version: 1,
    kind: 'bench.validate',
    target: 'http://127.0.0.1:5000/v3',
    model: 'closed',
    concurrency: 2,
    connections: 2,
    rate: null,
    method: 'GET',
    startedAt: opts.startedAt ?? '2026-01-01T00:00:00.000Z',
    durationMs,
    requests: {
      total: values.length + errors,
      ok: values.length - unexpected,
      errors,
      unexpectedStatus: unexpected,
    },
    throughput: { rps: Math.round((values.length / durationMs) * 1000 * 1000) / 1000 },
    latencyMs: all.p,
    latencyUncorrectedMs: null,
    statusCodes: { '200': values.length - unexpected, ...(unexpected ? { '500': unexpected } : {}) },
    errors: errors ? { timeout: errors } : {},
    backends,
    cold: null,
    warm: null,
    warmup: null,
    histogram: all.hist,
    histogramUncorrected: null,
    interrupted: false,
  }
}
