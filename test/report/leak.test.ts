import { describe, expect, it } from 'vitest'
import { compileMetric } from '../../src/metrics/catalogue.js'
import { renderLeakTable } from '../../src/report/leak.js'
import { renderMarkdown } from '../../src/report/markdown.js'
import type { PageLeakCheckResult } from '../../src/results/types.js'

const result = (over: Partial<PageLeakCheckResult> = {}): PageLeakCheckResult => ({
  version: 2,
  kind: 'ldap.page-leak-check',
  mode: 'direct',
  target: 'ldap://127.0.0.1:3890 ou=Users,dc=example,dc=org (objectClass=*) (scope one)',
  verdict: 'leak',
  leakThresholdBytesPerIteration: 1024,
  searches: 40,
  pages: 8000,
  entries: 40000,
  entriesPerSearch: 1000,
  pageSize: 5,
  durationMs: 7375,
  subjects: [
    {
      name: 'idtool',
      pid: null,
      metric: 'heapUsed',
      slopeBytesPerIteration: 12.5,
      ci95: [-100, 125],
      startBytes: 14 * 1024 * 1024,
      endBytes: 14 * 1024 * 1024 + 500,
      samples: 41,
      verdict: 'no-leak',
    },
    {
      name: 'node',
      pid: 4242,
      metric: 'RssAnon',
      slopeBytesPerIteration: 411847.8,
      ci95: [410738.5, 412957.1],
      startBytes: 8 * 1024 * 1024,
      endBytes: 24 * 1024 * 1024,
      samples: 41,
      verdict: 'leak',
      note: '1 sample taken after errors left out',
    },
  ],
  latencyMs: {
    page: { p50: 0.19, p90: 0.37, p99: 3.07, max: 9.04 },
    search: { p50: 62.7, p90: 79.9, p99: 103, max: 104 },
  },
  errors: { reset: 2 },
  interrupted: false,
  ...over,
})

describe('renderLeakTable', () => {
  it('shows the run, every subject with slope, interval and verdict, latencies, errors and the verdict', () => {
    const text = renderLeakTable(result())
    expect(text).toMatch(/40 searches, 8000 pages, 40000 entries \(1000 per search\), page size 5, 7\.4 s/)
    expect(text).toMatch(/idtool \(own heap\).*heapUsed.*\+13 B.*\[-100 B, \+125 B\].*no-leak/)
    expect(text).toMatch(
      /node pid 4242.*RssAnon.*\+402\.2 KiB.*\[\+401\.1 KiB, \+403\.3 KiB\].*8\.00 MiB.*24\.00 MiB.*41.*leak/,
    )
    expect(text).toMatch(/node pid 4242 RssAnon: 1 sample taken after errors left out/)
    expect(text).toMatch(/page\s*│ 0\.19\s*│ 0\.37\s*│ 3\.07\s*│ 9\.04/)
    expect(text).toMatch(/search\s*│ 62\.7/)
    expect(text).toMatch(/errors\s+reset=2/)
    expect(text.trimEnd().split('\n').at(-1)).toBe('verdict    LEAK')
  })

  it('says listings and hides the page row in Keystone mode', () => {
    const text = renderLeakTable(
      result({ mode: 'keystone', pages: 0, pageSize: 0, verdict: 'no-leak', errors: {}, interrupted: true }),
    )
    expect(text).toMatch(/40 listings, 0 pages.*page size unknown.*\(interrupted\)/)
    expect(text).not.toMatch(/│ page /)
    expect(text).toMatch(/listing\s*│ 62\.7/)
    expect(text).toMatch(/pages are not visible here/)
    expect(text).toMatch(/errors\s+none/)
    expect(text).toMatch(/verdict {4}NO-LEAK/)
  })
})

const phase = (
  writes: number,
  ok: number,
  p50: number,
  p99: number,
  errors: Record<string, number> = {},
) => ({
  writes,
  ok,
  errors,
  durationMs: 3000,
  achievedRatePerSec: ok / 3,
  latencyMs: { p50, p90: p99 - 1, p99, max: p99 + 5 },
})

const withWrites = (over: Partial<PageLeakCheckResult> = {}) =>
  result({
    verdict: 'no-leak',
    errors: {},
    writes: {
      writers: 2,
      ratePerSec: 50,
      attribute: 'description',
      bindDn: 'cn=admin,dc=example,dc=org',
      baselinePlannedMs: 3000,
      baseline: phase(150, 150, 5.28, 41.5),
      during: {
        ...phase(537, 535, 9.22, 122, { 'busy (51)': 2 }),
        eventLoopDelayMs: { p50: 10, p99: 31.2, max: 40 },
      },
      entriesWritten: 687,
      restored: 687,
      restoreErrors: 0,
    },
    consistency: {
      expectedEntries: 1000,
      searches: 40,
      consistent: 40,
      missing: 0,
      duplicates: 0,
      unexpected: 0,
    },
    ...over,
  })

describe('the writes and paging consistency (--writers)', () => {
  it('shows both write phases, their errors by LDAP result and the consistency in the text table', () => {
    const text = renderLeakTable(withWrites())
    expect(text).toMatch(
      /writes {5}2 writers, 50 writes\/s scheduled .*replacing description as cn=admin,dc=example,dc=org; 687 entries written, 687 restored/,
    )
    expect(text).toMatch(
      /baseline \(alone\)\s*│\s*150 │\s*150 │ none\s*│\s*50\.0 │\s*5\.28 │\s*40\.5 │\s*41\.5 │\s*46\.5/,
    )
    expect(text).toMatch(
      /during paging\s*│\s*537 │\s*535 │ busy \(51\): 2 │\s*178\.3 │\s*9\.22 │\s*121 │\s*122 │\s*127/,
    )
    expect(text).toMatch(/paging {5}consistent: every search returned every entry exactly once/)
    expect(text).toMatch(/│\s*40 │\s*40 │\s*0 │\s*0 │\s*0 │\s*1,000 │/)
    expect(text.trimEnd().split('\n').at(-1)).toBe('verdict    NO-LEAK')
  })

  it('says which searches were off, and which entries were not restored', () => {
    const r = withWrites({
      consistency: {
        expectedEntries: 1000,
        searches: 40,
        consistent: 37,
        missing: 5,
        duplicates: 1,
        unexpected: 0,
      },
    })
    r.writes!.restored = 680
    r.writes!.restoreErrors = 7
    const text = renderLeakTable(r)
    expect(text).toMatch(/paging {5}INCONSISTENT: 3 of 40 searches were off/)
    expect(text).toMatch(/680 restored, 7 NOT restored/)
    const md = renderMarkdown(r)
    expect(md).toMatch(/Paging consistency: \*\*searches were inconsistent\*\*/)
    expect(md).toContain('| 40 | 37 | 5 | 1 | 0 | 1,000 |')
  })

  it('puts the same tables in Markdown', () => {
    const md = renderMarkdown(withWrites())
    expect(md).toMatch(/Writes while paging: 2 writers, 50 writes\/s scheduled/)
    expect(md).toContain('| writes | started | ok | errors | writes/s | p50 | p90 | p99 | max |')
    expect(md).toContain('| baseline (alone) | 150 | 150 | none | 50.0 | 5.28 | 40.5 | 41.5 | 46.5 |')
    expect(md).toContain(
      '| during paging | 537 | 535 | busy (51): 2 | 178.3 | 9.22 | 121 | 122 | 127 | 31.2 |',
    )
    expect(md).toContain('| baseline (alone) | 150 | 150 | none | 50.0 | 5.28 | 40.5 | 41.5 | 46.5 | - |')
    expect(md).toMatch(/Paging consistency: every search returned every entry exactly once/)
  })

  it('shows nothing of the sort without writes', () => {
    expect(renderLeakTable(result())).not.toMatch(/writes|paging/)
    expect(renderMarkdown(result())).not.toMatch(/Writes while paging|Paging consistency/)
  })

  it('offers the writes and the consistency as gate metrics (null without writes)', () => {
    const value = (metric: string, r: PageLeakCheckResult) =>
      compileMetric('ldap.page-leak-check', metric).resolve(r)[0]?.value
    const r = withWrites()
    expect(value('writes.baseline.p99', r)).toBe(41.5)
    expect(value('writes.during.p50', r)).toBe(9.22)
    expect(value('writes.during.errors', r)).toBe(2)
    expect(value('writes.during.ok', r)).toBe(535)
    expect(value('writes.restoreErrors', r)).toBe(0)
    expect(value('writes.during.eventLoopDelay.p99', r)).toBe(31.2)
    expect(value('paging.missing', r)).toBe(0)
    expect(value('paging.inconsistent', r)).toBe(0)
    expect(value('writes.during.p99', result())).toBeNull()
    expect(value('paging.missing', result())).toBeNull()
    expect(compileMetric('ldap.page-leak-check', 'writes.during.p99').higherIsBetter).toBe(false)
    expect(compileMetric('ldap.page-leak-check', 'writes.during.achievedRatePerSec').higherIsBetter).toBe(
      true,
    )
  })
})
