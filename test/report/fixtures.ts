import { encodeHistogram, summarizeMs } from '../../src/metrics/histogram.js'
import type {
  BenchSweepResult,
  BenchValidateResult,
  GateResult,
  PageLeakCheckResult,
  RevokeBulkResult,
  TokensIssueResult,
} from '../../src/results/types.js'
import { histogramOf, latencies, lcg, pct } from '../fixtures/results.js'

// The result of every kind for the report's golden files, built from the shared fixtures.

/** A bench validate result over two backends with the given latencies. */
export function benchResult(opts: {
  seed?: number
  n?: number
  base?: number
  durationMs?: number
  startedAt?: string
  backends?: string[]
  model?: 'closed' | 'open'
}): BenchValidateResult {
  const n = opts.n ?? 2000
  const base = opts.base ?? 10
  const names = opts.backends ?? ['ks1', 'ks2']
  const all = latencies(n, opts.seed ?? 1, base, 'tail')
  const byBackend = new Map<string, number[]>(names.map((b) => [b, []]))
  all.forEach((v, i) => {
    const b = names[i % names.length]!
    // the second backend is a little slower, so the lines differ
    byBackend.get(b)!.push(i % names.length === 1 ? v * 1.25 : v)
  })
  const values = [...byBackend.values()].flat()
  const h = histogramOf(values)
  const durationMs = opts.durationMs ?? 10_000
  const open = opts.model === 'open'
  const uncorrected = open ? histogramOf(values.map((v) => v * 0.8)) : null
  return {
    version: 1,
    kind: 'bench.validate',
    target: 'http://127.0.0.1:5000/v3',
    model: open ? 'open' : 'closed',
    concurrency: open ? null : 5,
    connections: 5,
    rate: open ? 200 : null,
    method: 'GET',
    startedAt: opts.startedAt ?? '2026-11-21T12:00:00.000Z',
    durationMs,
    requests: { total: n, ok: n - 3, errors: 1, unexpectedStatus: 2, ...(open ? { late: 4 } : {}) },
    throughput: { rps: Math.round((n / durationMs) * 1000 * 1000) / 1000 },
    latencyMs: pct(h),
    latencyUncorrectedMs: uncorrected ? pct(uncorrected) : null,
    statusCodes: { '200': n - 3, '404': 2 },
    errors: { reset: 1 },
    backends: Object.fromEntries(
      [...byBackend.entries()].map(([name, vs]) => {
        const bh = histogramOf(vs)
        const s = summarizeMs(bh)
        return [
          name,
          {
            count: vs.length,
            errors: name === names[0] ? 1 : 0,
            latencyMs: { p50: s.p50, p90: s.p90, p99: s.p99, max: s.max },
            histogram: encodeHistogram(bh),
          },
        ]
      }),
    ),
    cold: { count: 100, latencyMs: pct(histogramOf(latencies(100, 7, base * 3, 'tail'))) },
    warm: { count: n - 100, latencyMs: pct(h) },
    warmup: { durationMs: 1000, requests: 150 },
    histogram: encodeHistogram(h),
    histogramUncorrected: uncorrected ? encodeHistogram(uncorrected) : null,
    interrupted: false,
  }
}

/** A sweep whose throughput falls with the events, as SQLite without ANALYZE does. */
export function sweepResult(opts: { label?: string; flat?: boolean; seed?: number } = {}): BenchSweepResult {
  const levels = [0, 1000, 10_000, 30_000]
  const points = levels.map((ev, i) => {
    const base = opts.flat ? 4.2 + 0.1 * i : 4.2 + ev * 0.00043 * 4
    const r = benchResult({
      seed: (opts.seed ?? 10) + i,
      n: 1500,
      base,
      durationMs: Math.round((1500 * base) / 5),
    })
    return {
      revocationEvents: ev,
      rps: r.throughput.rps,
      latencyMs: { p50: r.latencyMs.p50, p99: r.latencyMs.p99 },
      errors: r.requests.errors + r.requests.unexpectedStatus,
      result: r,
    }
  })
  return {
    version: 1,
    kind: 'bench.sweep',
    ...(opts.label ? { label: opts.label } : {}),
    startedAt: '2026-11-21T12:00:00.000Z',
    durationMs: 95_000,
    points,
    interrupted: false,
  }
}

export function leakResult(): PageLeakCheckResult {
  const rnd = lcg(3)
  const heap: Array<[number, number]> = []
  const rss: Array<[number, number]> = []
  for (let i = 0; i <= 60; i++) {
    const it = i * 50
    heap.push([it, 48 * 1024 * 1024 + (rnd() - 0.5) * 400_000])
    rss.push([it, 180 * 1024 * 1024 + it * 2048 + (rnd() - 0.5) * 300_000])
  }
  const page = histogramOf(latencies(3000, 5, 0.4, 'tail'))
  const search = histogramOf(latencies(150, 6, 25, 'tail'))
  return {
    version: 1,
    kind: 'ldap.page-leak-check',
    mode: 'keystone',
    target: 'http://127.0.0.1:5000/v3 domain ldapdom',
    verdict: 'leak',
    leakThresholdBytesPerIteration: 1024,
    searches: 3000,
    pages: 600_000,
    entries: 3_000_000,
    entriesPerSearch: 1000,
    pageSize: 5,
    durationMs: 300_000,
    subjects: [
      {
        name: 'idtool heap',
        pid: null,
        metric: 'heapUsed',
        slopeBytesPerIteration: 3.1,
        ci95: [-20.5, 26.7],
        startBytes: heap[0]![1],
        endBytes: heap.at(-1)![1],
        samples: heap.length,
        verdict: 'no-leak',
        series: heap,
      },
      {
        name: 'keystone ks1',
        pid: 6848,
        metric: 'RssAnon',
        slopeBytesPerIteration: 2047.2,
        ci95: [2001.9, 2092.5],
        startBytes: rss[0]![1],
        endBytes: rss.at(-1)![1],
        samples: rss.length,
        verdict: 'leak',
        series: rss,
      },
    ],
    latencyMs: {
      page: {
        p50: summarizeMs(page).p50,
        p90: summarizeMs(page).p90,
        p99: summarizeMs(page).p99,
        max: summarizeMs(page).max,
      },
      search: {
        p50: summarizeMs(search).p50,
        p90: summarizeMs(search).p90,
        p99: summarizeMs(search).p99,
        max: summarizeMs(search).max,
      },
    },
    histograms: { page: encodeHistogram(page), search: encodeHistogram(search) },
    errors: {},
    interrupted: false,
  }
}

export function revokeResult(): RevokeBulkResult {
  return {
    version: 2,
    kind: 'revoke-bulk',
    issued: 2000,
    revoked: 1998,
    failed: 2,
    skipped: 0,
    durationMs: 26_000,
    issueRatePerSec: 251.3,
    revokeRatePerSec: 121.7,
    revocationEventsBefore: 12,
    revocationEventsAfter: 2010,
    ledger: '/tmp/ledger.jsonl',
    failures: [
      { index: 17, stage: 'revoke', reason: 'HTTP 502' },
      { index: 933, stage: 'issue', reason: 'timeout' },
    ],
    retries: 3,
    reauthentications: 1,
    failureReasons: { 'HTTP 502': 1, timeout: 1 },
    interrupted: false,
  }
}

export function tokensResult(): TokensIssueResult {
  return {
    version: 2,
    kind: 'tokens.issue',
    issued: 500,
    failed: 0,
    durationMs: 2100,
    ratePerSec: 238.1,
    file: '/tmp/pool.jsonl',
    retries: 0,
    reauthentications: 0,
    failureReasons: {},
    interrupted: false,
  }
}

export function gateResult(): GateResult {
  return {
    version: 1,
    kind: 'gate',
    passed: false,
    checks: [
      {
        name: 'p99 < 250ms',
        kind: 'threshold',
        metric: 'latency.p99',
        actual: 231.5,
        limit: '< 250',
        passed: true,
      },
      {
        name: 'rps regression',
        kind: 'regression',
        metric: 'throughput.rps',
        actual: 150.2,
        limit: 'max -10%',
        baseline: 200.1,
        changePct: -24.9,
        passed: false,
        detail: 'significant',
      },
    ],
    inputs: ['bench.json'],
    baselines: ['baseline.json'],
  }
}
