import { describe, expect, it } from 'vitest'
import { renderBenchValidateTable } from '../../src/report/bench.js'
import { renderHtml } from '../../src/report/html/page.js'
import { renderMarkdown } from '../../src/report/markdown.js'
import type { BenchValidateResult } from '../../src/results/types.js'
import { benchResultFrom, latencies } from '../fixtures/results.js'

// Issue 12 item 5: the tables show the expected answers' throughput and latency, and the failures apart.

function outage(): BenchValidateResult {
  const r = benchResultFrom(latencies(142, 5, 12), { durationMs: 8000 })
  return {
    ...r,
    requests: { total: 1712, ok: 142, errors: 0, unexpectedStatus: 1570 },
    throughput: { rps: 17.8 },
    statusCodes: { '200': 142, '503': 1570 },
    errors: { http_503: 1570 },
    backends: {
      ...r.backends,
      unknown: { count: 1570, errors: 1570, latencyMs: { p50: 0, p90: 0, p99: 0, max: 0 } },
    },
    failures: {
      count: 1570,
      rate: 1570 / 1712,
      rps: 196.3,
      latencyMs: { p50: 0.25, p90: 0.31, p99: 0.52, p999: 1.1, max: 2.4, mean: 0.27 },
    },
  }
}

describe('bench validate tables with failures kept apart', () => {
  it('text: expected answers/s, a failures row, expected and failure latencies, no latency for a failing backend', () => {
    const t = renderBenchValidateTable(outage())
    expect(t).toMatch(/throughput\s*│\s*17\.8 expected answers\/s/)
    expect(t).toMatch(
      /failures\s*│\s*1570 \(92% of requests, 196\.3\/s\): 1570 unexpected answers \+ 0 transport errors/,
    )
    expect(t).toMatch(/│ expected answers\s*│ 142\s*│ 1[0-9]\.\d/)
    expect(t).toMatch(/│ failures \(unexpected answers, transport errors\)\s*│\s*│ 0\.25/)
    expect(t).toMatch(/│ unknown\s*│ 1570\s*│ 1570\s*│ -\s*│ -/)
    expect(t).not.toMatch(/all answers/)
  })

  it('markdown and html: failures column and rows, the failure rate', () => {
    const md = renderMarkdown(outage())
    expect(md).toMatch(/\| failures \| expected rps \|/)
    expect(md).toMatch(/\| 1,570 \(92%, 196\.3\/s\) \|/)
    expect(md).toMatch(/\| expected answers \| 142 \|/)
    expect(md).toMatch(/\| failures \(unexpected answers, transport errors\) \|/)
    const html = renderHtml([{ source: 'r.json', result: outage() }])
    expect(html).toContain('failure rate')
    expect(html).toContain('expected answers')
  })
})
