import { spawn } from 'node:child_process'
import { afterEach, describe, expect, it } from 'vitest'
import { IdtoolError } from '../../src/errors.js'
import {
  IterationError,
  type IterationOutcome,
  type LeakCheckOptions,
  type LeakTarget,
  runPageLeakCheck,
  type WriteLoad,
} from '../../src/ldap/page-leak-check.js'
import { compareWithExpected } from '../../src/ldap/paged-search.js'
import { decodeHistogram } from '../../src/metrics/histogram.js'

/** An in-process target: `step(n)` runs the n-th iteration (0 is the probe) and may throw or leak. */
function fakeTarget(step: (n: number) => Partial<IterationOutcome> | undefined = () => undefined) {
  const stats = { opens: 0, closes: 0, iterations: 0 }
  const target: LeakTarget = {
    mode: 'direct',
    description: 'fake',
    pageSize: 5,
    async open() {
      stats.opens++
      return {
        async iterate() {
          const n = stats.iterations++
          await new Promise((r) => setImmediate(r))
          const extra = step(n) ?? {}
          return { entries: 10, pages: 2, pageMs: [1.5, 2.5], searchMs: 4, duplicates: 0, ...extra }
        },
        async close() {
          stats.closes++
        },
      }
    },
  }
  return { target, stats }
}

const base = (target: LeakTarget, more: Partial<LeakCheckOptions> = {}): LeakCheckOptions => ({
  target,
  iterations: 20,
  warmup: 0,
  concurrency: 1,
  sampleEvery: 5,
  leakThresholdBytesPerIteration: 1024,
  pids: [],
  retryDelayMs: 1,
  ...more,
})

const children: Array<ReturnType<typeof spawn>> = []
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL')
})

describe('runPageLeakCheck', () => {
  it('counts searches, pages and entries, records both histograms and samples every K iterations', async () => {
    const { target, stats } = fakeTarget()
    const { result, sampleEvery } = await runPageLeakCheck(base(target, { warmup: 3 }))
    expect(stats.iterations).toBe(1 + 3 + 20) // probe + warm-up + measured
    expect(result).toMatchObject({
      version: 2,
      kind: 'ldap.page-leak-check',
      mode: 'direct',
      searches: 20,
      pages: 40,
      entries: 200,
      entriesPerSearch: 10,
      pageSize: 5,
      errors: {},
      interrupted: false,
    })
    expect(sampleEvery).toBe(5)
    expect(decodeHistogram(result.histograms!.page).totalCount).toBe(40)
    expect(decodeHistogram(result.histograms!.search).totalCount).toBe(20)
    expect(result.latencyMs.page.max).toBeCloseTo(2.5, 2)
    const heap = result.subjects.find((s) => s.metric === 'heapUsed')!
    expect(heap.series!.map(([i]) => i)).toEqual([0, 5, 10, 15, 20])
    expect(result.subjects.map((s) => `${s.name}/${s.metric}`)).toEqual([
      'idtool/heapUsed',
      'idtool/external',
    ])
  })

  it('aims at about 40 samples when no interval is given', async () => {
    const { target } = fakeTarget()
    const { sampleEvery, result } = await runPageLeakCheck(
      base(target, { iterations: 200, sampleEvery: undefined }),
    )
    expect(sampleEvery).toBe(5)
    expect(result.subjects[0]!.samples).toBe(41)
  })

  it('finds a leak in its own heap with the right slope (16 KiB of JS per iteration)', async () => {
    const kept: number[][] = []
    const { target } = fakeTarget((n) => {
      if (n > 0) kept.push(new Array(2048).fill(n + 0.5)) // 2048 doubles = 16 KiB + a header
      return undefined
    })
    const { result } = await runPageLeakCheck(base(target, { iterations: 60, warmup: 5, sampleEvery: 3 }))
    const heap = result.subjects.find((s) => s.metric === 'heapUsed')!
    expect(heap.verdict).toBe('leak')
    expect(Math.abs(heap.slopeBytesPerIteration - 16384) / 16384).toBeLessThan(0.25)
    expect(result.verdict).toBe('leak')
    expect(kept.length).toBeGreaterThan(60)
  })

  it('counts reconnecting errors, reopens the worker and leaves samples taken after errors out', async () => {
    const { target, stats } = fakeTarget((n) => {
      if (n === 7 || n === 8) throw new IterationError('reset', 'connection closed', { reconnect: true })
      return undefined
    })
    const warnings: string[] = []
    const { result, stopReason } = await runPageLeakCheck(base(target, { onWarn: (m) => warnings.push(m) }))
    expect(stopReason).toBeUndefined()
    expect(result.errors).toEqual({ reset: 2 })
    expect(result.searches).toBe(18)
    expect(stats.opens).toBe(3) // the first, then one after each failure
    const heap = result.subjects.find((s) => s.metric === 'heapUsed')!
    expect(heap.series!.map(([i]) => i)).toEqual([0, 5, 15, 20]) // iteration 10's window had errors
    expect(heap.note).toMatch(/1 sample taken after errors left out/)
    expect(warnings.join('\n')).toMatch(/connection closed \(counted as reset/)
  })

  it('counts a wrong entry count and duplicate DNs as errors', async () => {
    const { target } = fakeTarget((n) => (n === 3 ? { entries: 9 } : n === 4 ? { duplicates: 2 } : undefined))
    const { result } = await runPageLeakCheck(base(target))
    expect(result.errors).toEqual({ 'entry-count-mismatch': 1, 'duplicate-dn': 1 })
    expect(result.searches).toBe(18)
    expect(result.entriesPerSearch).toBe(10)
  })

  it('stops after 10 failures in a row and still returns the result', async () => {
    const { target } = fakeTarget((n) => {
      if (n > 4)
        throw new IterationError('connect', 'cannot reach ldap://x: connection refused', { reconnect: true })
      return undefined
    })
    const { result, stopReason } = await runPageLeakCheck(base(target, { iterations: 100 }))
    expect(stopReason).toMatch(/10 failures in a row.*connection refused/)
    expect(result.errors.connect).toBe(10)
    expect(result.searches).toBe(4)
  })

  it('fails before measuring when the probe fails (size limit), with the message and exit code', async () => {
    const { target } = fakeTarget(() => {
      throw new IterationError('size-limit', "slapd's default `sizelimit 500` ...", {
        exitCode: 2,
        hint: 'bind as...',
      })
    })
    const err = await runPageLeakCheck(base(target)).catch((e) => e)
    expect(err).toBeInstanceOf(IdtoolError)
    expect(err.exitCode).toBe(2)
    expect(err.code).toBe('SIZE_LIMIT')
    expect(err.message).toMatch(/sizelimit 500/)
  })

  it('stops starting searches when interrupted and marks the result', async () => {
    const ac = new AbortController()
    const { target } = fakeTarget((n) => {
      if (n === 6) ac.abort()
      return undefined
    })
    const { result } = await runPageLeakCheck(base(target, { iterations: 1000, signal: ac.signal }))
    expect(result.interrupted).toBe(true)
    expect(result.searches).toBe(6)
  })

  it('runs for a duration instead of a count', async () => {
    const { target } = fakeTarget()
    const { result } = await runPageLeakCheck(
      base(target, { iterations: undefined, durationMs: 300, concurrency: 2 }),
    )
    expect(result.searches).toBeGreaterThan(5)
    expect(result.durationMs).toBeGreaterThanOrEqual(300)
    expect(result.durationMs).toBeLessThan(3000)
  })

  it('refuses a PID that does not exist', async () => {
    const { target } = fakeTarget()
    const err = await runPageLeakCheck(base(target, { pids: [2 ** 30] })).catch((e) => e)
    expect(err.exitCode).toBe(2)
    expect(err.message).toMatch(/--pid 1073741824: no such process/)
  })

  it('keeps judging a PID that exits mid-run on the samples before, and counts it', async () => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
    children.push(child)
    await new Promise((r) => child.once('spawn', r))
    const { target } = fakeTarget((n) => {
      if (n === 12) child.kill('SIGKILL')
      return undefined
    })
    const exited = new Promise((r) => child.once('exit', r))
    const { result } = await runPageLeakCheck(
      base(target, { iterations: 30, sampleEvery: 2, pids: [child.pid!], onProgress: () => {} }),
    )
    await exited
    expect(result.errors['pid-exited']).toBe(1)
    const anon = result.subjects.find((s) => s.pid === child.pid && s.metric === 'RssAnon')!
    expect(anon.name).toBe('node')
    expect(anon.note).toMatch(/exited.*judged on the samples before/)
    expect(anon.samples).toBeGreaterThanOrEqual(5)
    expect(anon.samples).toBeLessThan(16)
    // the kill lands at iteration 12; the zombie or the missing /proc entry shows soon after
    expect(anon.series!.at(-1)![0]).toBeGreaterThanOrEqual(10)
    expect(anon.series!.at(-1)![0]).toBeLessThanOrEqual(20)
    const rss = result.subjects.find((s) => s.pid === child.pid && s.metric === 'VmRSS')!
    expect(rss.note).toMatch(/informational/)
  })
})

/** A WriteLoad that logs when the engine calls it. */
function fakeWrites(log: string[]): WriteLoad {
  const phase = (writes: number) => ({
    writes,
    ok: writes,
    errors: {},
    durationMs: 100,
    achievedRatePerSec: writes * 10,
    latencyMs: { p50: 1, p90: 2, p99: 3, max: 4 },
  })
  return {
    baselineMs: 100,
    async baseline(_signal, onWrite) {
      log.push('baseline')
      onWrite?.(1, 10)
    },
    startDuring: () => log.push('startDuring'),
    async stopDuring() {
      log.push('stopDuring')
    },
    async finish() {
      log.push('finish')
    },
    result: () => ({
      writers: 2,
      ratePerSec: 10,
      attribute: 'description',
      bindDn: null,
      baselinePlannedMs: 100,
      baseline: phase(10),
      during: phase(20),
      entriesWritten: 30,
      restored: 30,
      restoreErrors: 0,
    }),
  }
}

describe('runPageLeakCheck with writes and an expected set', () => {
  it('writes alone after the warm-up, then during the measured searches only, and counts consistency per search', async () => {
    const log: string[] = []
    const { target } = fakeTarget((n) => {
      log.push(`search ${n}`)
      if (n === 1) return { missing: 10, entries: 0 } // a warm-up search: an error, not in the consistency
      if (n === 5) return { missing: 2, unexpected: 0, entries: 8 }
      if (n === 7) return { missing: 1, duplicates: 1, unexpected: 0 }
      if (n === 9) return { missing: 0, unexpected: 1, entries: 11 }
      return { missing: 0, unexpected: 0 }
    })
    target.expectedEntries = 10
    const phases: string[] = []
    const { result } = await runPageLeakCheck(
      base(target, { warmup: 2, writes: fakeWrites(log), onProgress: (p) => phases.push(p.phase) }),
    )
    expect(log.slice(0, 6)).toEqual([
      'search 0',
      'search 1',
      'search 2',
      'baseline',
      'startDuring',
      'search 3',
    ])
    expect(log.slice(-3)).toEqual(['search 22', 'stopDuring', 'finish'])
    expect(phases).toContain('write-baseline')
    expect(result.version).toBe(2)
    expect(result.consistency).toEqual({
      expectedEntries: 10,
      searches: 20,
      consistent: 17,
      missing: 3,
      duplicates: 1,
      unexpected: 1,
    })
    expect(result.errors).toEqual({ 'missing-dn': 2, 'duplicate-dn': 1, 'unexpected-dn': 1 })
    expect(result.searches).toBe(17)
    expect(result.writes?.during.writes).toBe(20)
  })

  it('lets the writes finish (restore) when the probe fails', async () => {
    const log: string[] = []
    const { target } = fakeTarget(() => {
      throw new IterationError('auth', 'LDAP bind rejected', { exitCode: 2 })
    })
    await expect(runPageLeakCheck(base(target, { writes: fakeWrites(log) }))).rejects.toThrow(
      'LDAP bind rejected',
    )
    expect(log).toEqual(['finish'])
  })

  it('has no writes and no consistency without them', async () => {
    const { target } = fakeTarget()
    const { result } = await runPageLeakCheck(base(target))
    expect(result.writes).toBeUndefined()
    expect(result.consistency).toBeUndefined()
  })
})

describe('compareWithExpected', () => {
  it('counts the expected DNs not seen and the seen ones not expected', () => {
    const expected = new Set(['a', 'b', 'c'])
    expect(compareWithExpected(new Set(['a', 'b', 'c']), expected)).toEqual({ missing: 0, unexpected: 0 })
    expect(compareWithExpected(new Set(['a', 'x']), expected)).toEqual({ missing: 2, unexpected: 1 })
    expect(compareWithExpected(new Set(), expected)).toEqual({ missing: 3, unexpected: 0 })
  })
})
