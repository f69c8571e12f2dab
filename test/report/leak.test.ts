import { describe, expect, it } from 'vitest'
import { renderLeakTable } from '../../src/report/leak.js'
import type { PageLeakCheckResult } from '../../src/results/types.js'

const result = (over: Partial<PageLeakCheckResult> = {}): PageLeakCheckResult => ({
  version: 1,
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
