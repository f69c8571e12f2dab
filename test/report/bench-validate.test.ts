import { describe, expect, it } from 'vitest'
import { renderBenchValidateTable } from '../../src/report/bench.js'
import type { BenchValidateResult, Percentiles } from '../../src/results/types.js'

const pct = (p50: number): Percentiles => ({
  p50,
  p90: p50 * 2,
  p99: p50 * 4,
  p999: p50 * 8,
  max: p50 * 10,
  mean: p50 * 1.5,
})

function result(over: Partial<BenchValidateResult> = {}): BenchValidateResult {
  return {
    version: 3,
    kind: 'bench.validate',
    target: 'http://127.0.0.1:5000/v3/auth/tokens',
    model: 'closed',
    concurrency: 20,
    connections: 20,
    rate: null,
    method: 'GET',
    startedAt: '2026-11-21T12:00:00.000Z',
    durationMs: 10_250,
    requests: { total: 2000, ok: 1990, errors: 4, unexpectedStatus: 6 },
    throughput: { rps: 194.7 },
    latencyMs: pct(9.5),
    latencyUncorrectedMs: null,
    statusCodes: { '200': 1990, '503': 6 },
    errors: { timeout: 4, http_503: 6 },
    backends: {
      ks1: { count: 1000, errors: 0, latencyMs: { p50: 9.1, p90: 15, p99: 30.5, max: 80 } },
      ks2: { count: 996, errors: 6, latencyMs: { p50: 10.2, p90: 16, p99: 33.25, max: 91 } },
    },
    cold: { count: 100, latencyMs: pct(42) },
    warm: { count: 1896, latencyMs: pct(9) },
    warmup: { durationMs: 5000, requests: 480 },
    histogram: 'HISTFAAAA',
    histogramUncorrected: null,
    interrupted: false,
    ...over,
  }
}

describe('renderBenchValidateTable', () => {
  it('shows the load, throughput, counts, status codes, errors and percentiles', () => {
    const text = renderBenchValidateTable(result())
    expect(text).toContain('GET http://127.0.0.1:5000/v3/auth/tokens')
    expect(text).toContain('closed model, concurrency 20, 20 connections')
    expect(text).toContain('194.7 answers/s')
    expect(text).toContain('2000 total, 1990 as expected, 6 unexpected status, 4 transport errors')
    expect(text).toContain('200=1990  503=6')
    expect(text).toContain('timeout=4  http_503=6')
    expect(text).toContain('10.25 s')
    expect(text).toContain('5.00 s, 480 requests (not measured)')
    // p50 / p90 / p99 / p99.9 / max / mean of all answers
    expect(text).toMatch(
      /all answers\s*│\s*1996\s*│\s*9\.50\s*│\s*19\.0\s*│\s*38\.0\s*│\s*76\.0\s*│\s*95\.0\s*│\s*14\.3/,
    )
    expect(text).toMatch(/cold \(first validation of a token\)\s*│\s*100\s*│\s*42\.0/)
    expect(text).toMatch(/warm \(repeat validations\)\s*│\s*1896\s*│\s*9\.00/)
    expect(text).not.toContain('late sends')
    expect(text).not.toContain('uncorrected')
    expect(text).not.toContain('INTERRUPTED')
  })

  it('has one row per backend with count, errors and percentiles', () => {
    const text = renderBenchValidateTable(result())
    expect(text).toMatch(/ks1\s*│\s*1000\s*│\s*0\s*│\s*9\.10\s*│\s*15\.0\s*│\s*30\.5\s*│\s*80\.0/)
    expect(text).toMatch(/ks2\s*│\s*996\s*│\s*6\s*│\s*10\.2/)
  })

  it('open model: the schedule, late sends and both corrected and uncorrected rows', () => {
    const text = renderBenchValidateTable(
      result({
        model: 'open',
        concurrency: null,
        rate: 150,
        connections: 10,
        requests: { total: 1500, ok: 1500, errors: 0, unexpectedStatus: 0, late: 12 },
        latencyMs: pct(250),
        latencyUncorrectedMs: pct(8),
        backends: {},
        cold: null,
        warm: null,
        warmup: null,
      }),
    )
    expect(text).toContain('open model, 150 req/s on a fixed schedule, 10 connections')
    expect(text).toMatch(/late sends\s*│\s*12/)
    expect(text).toMatch(/from intended send \(corrected\)\s*│\s*1500\s*│\s*250/)
    expect(text).toMatch(/from actual send \(uncorrected\)\s*│\s*│\s*8\.00/)
    expect(text).not.toContain('backend')
    expect(text).not.toContain('cold')
  })

  it('names the HTTP client when the result records it, and nothing for older results', () => {
    expect(renderBenchValidateTable(result({ httpClient: 'h1' }))).toMatch(
      /connections, lean HTTP\/1\.1 client, started/,
    )
    expect(renderBenchValidateTable(result({ httpClient: 'undici' }))).toMatch(
      /connections, undici client, started/,
    )
    expect(renderBenchValidateTable(result())).not.toMatch(/client/)
  })

  it('marks an interrupted (partial) result and shows empty maps as "-"', () => {
    const text = renderBenchValidateTable(result({ interrupted: true, errors: {}, statusCodes: {} }))
    expect(text).toContain('INTERRUPTED: partial result')
    expect(text).toMatch(/errors\s*│\s*-/)
  })
})
