import { describe, expect, it } from 'vitest'
import { ServerMemoryWatch } from '../../src/bench/server-memory.js'
import { leakFails, serverMemoryFromFlags } from '../../src/cli/memory-flags.js'
import { UsageError } from '../../src/errors.js'
import { compileMetric } from '../../src/metrics/catalogue.js'
import { renderBenchValidateTable } from '../../src/report/bench.js'
import { renderHtml } from '../../src/report/html/page.js'
import { renderMarkdown } from '../../src/report/markdown.js'
import { renderMixedTable } from '../../src/report/mixed.js'
import { renderSweepTable } from '../../src/report/sweep.js'
import { checkResult } from '../../src/results/load.js'
import type { ServerMemory } from '../../src/results/types.js'
import { benchResult, mixedResult, sweepResult } from '../fixtures/results.js'

// The server memory of a benchmark result as every renderer shows it, the gate's metrics on it, and the
// flags that ask for it. The memory comes from the real watch over a fake /proc (two uwsgi workers).
function memory(): ServerMemory {
  let served = 0
  const read = (path: string) => {
    const m = /^\/proc\/(\d+)\/(\w+)$/.exec(path)!
    const pid = Number(m[1])
    if (m[2] === 'stat') return `${pid} (uwsgi) S 1 ${pid} ${pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 4242 1 2 3`
    if (m[2] === 'comm') return 'uwsgi\n'
    const kb = pid === 101 ? 60_000 + served : 60_000 // ks1 grows 1 KiB a request
    return `State:\tS\nVmRSS:\t${kb + 30_000} kB\nRssAnon:\t${kb} kB\n`
  }
  const watch = ServerMemoryWatch.open({
    pids: [],
    labDir: '/lab',
    labWorkers: () => [
      { name: 'ks1', pid: 101 },
      { name: 'ks2', pid: 102 },
    ],
    leakThresholdBytesPerRequest: 256,
    readProc: read,
  })
  for (let i = 1; i <= 30; i++) {
    served = i * 50
    watch.observe(served, 0)
  }
  return watch.finish(served, 0)
}

describe('server memory in results and reports', () => {
  const m = memory()
  const validate = { ...benchResult({}), memory: m }
  const mixed = { ...mixedResult(), memory: m }

  it('is valid in the schemas of bench.validate and bench.mixed', () => {
    expect(checkResult(JSON.parse(JSON.stringify(validate)), 'v.json').kind).toBe('bench.validate')
    expect(checkResult(JSON.parse(JSON.stringify(mixed)), 'm.json').kind).toBe('bench.mixed')
  })

  it("a sweep shows each level's verdict under its table, and is valid in the bench.sweep schema", () => {
    const sweep = sweepResult()
    sweep.points[1]!.result = { ...sweep.points[1]!.result, memory: m }
    expect(checkResult(JSON.parse(JSON.stringify(sweep)), 's.json').kind).toBe('bench.sweep')
    const lines = renderSweepTable(sweep)
      .split('\n')
      .filter((l) => /server memory/.test(l))
    expect(lines).toEqual([
      `${sweep.points[1]!.revocationEvents.toLocaleString('en-US')} events, server memory: leak (2 processes watched, RssAnon against requests answered; a leak grows over 256 B/request)`,
    ])
    expect(renderSweepTable(sweepResult())).not.toMatch(/server memory/)
  })

  it('text, Markdown and HTML show each process with its verdict and slope per 1,000 requests', () => {
    for (const out of [
      renderBenchValidateTable(validate),
      renderMixedTable(mixed),
      renderMarkdown(validate),
    ]) {
      expect(out).toMatch(/server memory: leak \(2 processes watched/)
      expect(out).toMatch(/ks1 \(pid 101, uwsgi\)/)
      expect(out).toMatch(/ks2 \(pid 102, uwsgi\)/)
      expect(out).toMatch(/per 1,000 requests/)
      expect(out).toMatch(/1000\.0 KiB|1\.0[0-9]* MiB|1000 KiB/)
    }
    const html = renderHtml([{ result: validate, source: 'v.json' }], { generatedAt: 'now' })
    expect(html).toContain('<h3>Server memory</h3>')
    expect(html).toContain('ks1 (pid 101): RssAnon against requests')
    expect(html).toContain('B/request')
    expect(renderHtml([{ result: mixed, source: 'm.json' }])).toContain(
      'ks2 (pid 102): RssAnon against requests',
    )
    // a result without memory shows none
    expect(renderBenchValidateTable(benchResult({}))).not.toMatch(/server memory/)
  })

  it('the gate reads memory.verdict, memory.<name>.verdict and memory.*.leak', () => {
    const get = (kind: string, metric: string, r: unknown) => compileMetric(kind, metric).resolve(r)
    expect(get('bench.validate', 'memory.verdict', validate)).toEqual([
      { label: 'memory.verdict', value: 'leak' },
    ])
    expect(get('bench.validate', 'memory.ks2.verdict', validate)).toEqual([
      { label: 'memory.ks2.verdict', value: 'no-leak' },
    ])
    expect(get('bench.mixed', 'memory.*.leak', mixed)).toEqual([
      { label: 'memory.ks1.leak', value: true },
      { label: 'memory.ks2.leak', value: false },
    ])
    const slope = get('bench.validate', 'memory.ks1.slope', validate)[0]!.value as number
    expect(slope).toBeGreaterThan(1000)
    expect(get('bench.validate', 'memory.ks1.samples', validate)[0]!.value).toBe(30)
    // without memory: null, so a threshold on it fails
    expect(get('bench.validate', 'memory.verdict', benchResult({}))).toEqual([
      { label: 'memory.verdict', value: null },
    ])
    expect(() => compileMetric('bench.validate', 'memory.ks1.nonsense')).toThrow(/unknown metric/)
  })
})

describe('memory flags', () => {
  const m = memory
  it('none given: no watch; --leak-threshold or --fail-on-leak alone is a usage error', () => {
    expect(serverMemoryFromFlags({})).toBeUndefined()
    expect(() => serverMemoryFromFlags({ 'fail-on-leak': true })).toThrow(UsageError)
    expect(() => serverMemoryFromFlags({ 'leak-threshold': '1KiB' })).toThrow(/needs --pid or --watch-lab/)
  })

  it('--pid and --watch-lab become the library options, the threshold in bytes per request', () => {
    expect(serverMemoryFromFlags({ pid: [5, 6] }, '/lab')).toEqual({
      pids: [5, 6],
      leakThresholdBytesPerRequest: 256,
    })
    expect(serverMemoryFromFlags({ 'watch-lab': true, 'leak-threshold': '1KiB' }, '/lab')).toEqual({
      pids: [],
      labDir: '/lab',
      leakThresholdBytesPerRequest: 1024,
    })
    expect(() => serverMemoryFromFlags({ pid: [5], 'leak-threshold': 'lots' })).toThrow(/--leak-threshold/)
    expect(() => serverMemoryFromFlags({ pid: [5], 'leak-threshold': '0' })).toThrow(/above 0/)
  })

  it('a leak fails the run (exit 5) only with --fail-on-leak', () => {
    expect(leakFails({}, m())).toBe(false)
    expect(leakFails({ 'fail-on-leak': true }, m())).toBe(true)
    expect(leakFails({ 'fail-on-leak': true }, { ...m(), verdict: 'inconclusive' })).toBe(false)
    expect(leakFails({ 'fail-on-leak': true }, undefined)).toBe(false)
  })
})
