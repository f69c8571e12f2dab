import { describe, expect, it } from 'vitest'
import { ExitCode } from '../../src/exit-codes.js'
import { leakCheckOutcome, pageLeakCheck } from '../../src/ldap/leak-check.js'
import { chooseSampleEvery, type LeakCheckRun } from '../../src/ldap/page-leak-check.js'
import type { LeakSubject, PageLeakCheckResult } from '../../src/results/types.js'

const subject = (over: Partial<LeakSubject>): LeakSubject => ({
  name: 'slapd',
  pid: 7,
  metric: 'RssAnon',
  slopeBytesPerIteration: 2048,
  ci95: [1500, 2500],
  startBytes: 0,
  endBytes: 0,
  samples: 40,
  verdict: 'no-leak',
  ...over,
})

const run = (verdict: PageLeakCheckResult['verdict'], subjects: LeakSubject[], stopReason?: string) =>
  ({
    result: { verdict, subjects } as PageLeakCheckResult,
    stopReason,
    gcMethod: 'exposed',
    sampleEvery: 1,
  }) as LeakCheckRun

describe('leakCheckOutcome', () => {
  const plain = { interrupted: false, allowInconclusive: false }

  it('maps the verdict to the exit code and one warning line', () => {
    expect(leakCheckOutcome(run('no-leak', [subject({})]), plain)).toEqual({})
    expect(leakCheckOutcome(run('leak', [subject({ verdict: 'leak' })]), plain)).toEqual({
      exitCode: ExitCode.Leak,
      warning: 'leak: slapd pid 7 RssAnon grows 2.0 KiB/iteration',
    })
    expect(leakCheckOutcome(run('no-leak', [], 'stopped after 10 failures'), plain)).toEqual({
      exitCode: ExitCode.Runtime,
      warning: 'stopped after 10 failures',
    })
    expect(leakCheckOutcome(run('leak', []), { ...plain, interrupted: true })).toEqual({
      exitCode: ExitCode.Interrupted,
    })
  })

  it('names why a run is inconclusive (VmRSS left out) and exits 0 with allowInconclusive', () => {
    const subjects = [
      subject({ name: 'idtool', pid: null, metric: 'heapUsed', verdict: 'inconclusive', note: 'too few' }),
      subject({ metric: 'VmRSS', verdict: 'inconclusive' }),
    ]
    expect(leakCheckOutcome(run('inconclusive', subjects), plain)).toEqual({
      exitCode: ExitCode.Runtime,
      warning: 'inconclusive: idtool heapUsed: too few (exit 1; --allow-inconclusive to exit 0)',
    })
    expect(leakCheckOutcome(run('inconclusive', subjects), { ...plain, allowInconclusive: true })).toEqual({
      warning: 'inconclusive: idtool heapUsed: too few',
    })
  })
})

describe('chooseSampleEvery', () => {
  const pace = { warmDone: 0, warmMs: 0, probeMs: 10, concurrency: 1 }
  it('takes --sample-every, else aims at about 40 samples over the iterations or the duration', () => {
    expect(chooseSampleEvery({ sampleEvery: 3.7 }, pace)).toBe(3)
    expect(chooseSampleEvery({ iterations: 200 }, pace)).toBe(5)
    expect(chooseSampleEvery({ iterations: 10 }, pace)).toBe(1)
    // 60 s at the warm-up's 5 ms per iteration: 12000 iterations, every 300th sampled
    expect(chooseSampleEvery({ durationMs: 60_000 }, { ...pace, warmDone: 100, warmMs: 500 })).toBe(300)
    // no warm-up: the probe's 10 ms over 2 connections
    expect(chooseSampleEvery({ durationMs: 60_000 }, { ...pace, concurrency: 2 })).toBe(300)
  })
})

describe('pageLeakCheck', () => {
  it('checks the inputs before any output path, file or connection', async () => {
    let checked = false
    const opts = {
      keystone: false,
      direct: { url: 'ldap://x', base: 'dc=x', filter: '(a=*)', scope: 'one' as const, starttls: false },
      auth: {},
      timeoutMs: 1000,
      concurrency: 1,
      env: {},
      leakThreshold: '0B',
      pids: [],
    }
    const io = { beforeConnect: () => (checked = true) }
    await expect(pageLeakCheck(opts, io)).rejects.toThrow('--leak-threshold must be above 0')
    await expect(
      pageLeakCheck({ ...opts, leakThreshold: '1KiB', iterations: 1, durationMs: 1 }, io),
    ).rejects.toThrow('use either --iterations or --duration, not both')
    expect(checked).toBe(false)
  })
})
