import { describe, expect, it } from 'vitest'
import { ServerMemoryWatch, serverMemoryTargets } from '../../src/bench/server-memory.js'
import { UsageError } from '../../src/errors.js'
import { MIN_LEAK_SAMPLES, MIN_SAMPLES } from '../../src/metrics/stats.js'

// A fake /proc, as test/load/memory.test.ts uses: each PID's status reads RssAnon from a function of the
// requests the test has "served" so far.
const STAT = (pid: number, start: string) =>
  `${pid} (uwsgi) S 1 ${pid} ${pid} 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 ${start} 1000000 200 18446744073709551615`

interface FakeProcess {
  pid: number
  /** RssAnon in bytes after `served` requests */
  anon(served: number): number
  gone?: boolean
}

function fakeProc(procs: FakeProcess[], served: () => number) {
  return (path: string) => {
    const m = /^\/proc\/(\d+)\/(\w+)$/.exec(path)
    const p = m ? procs.find((x) => x.pid === Number(m[1])) : undefined
    if (!m || !p || p.gone) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' })
    if (m[2] === 'stat') return STAT(p.pid, '777')
    if (m[2] === 'comm') return 'uwsgi\n'
    const anonKb = Math.round(p.anon(served()) / 1024)
    return `Name:\tuwsgi\nState:\tS (sleeping)\nVmRSS:\t${anonKb + 20_000} kB\nRssAnon:\t${anonKb} kB\n`
  }
}

const MiB = 1024 * 1024

/** Run `steps` observations of `per` requests each, then finish. */
function run(procs: FakeProcess[], steps: number, per = 100, failuresAt: (step: number) => number = () => 0) {
  let served = 0
  const warnings: string[] = []
  const watch = ServerMemoryWatch.open(
    {
      pids: procs.map((p) => p.pid),
      leakThresholdBytesPerRequest: 256,
      readProc: fakeProc(procs, () => served),
    },
    (m) => warnings.push(m),
  )
  for (let step = 1; step <= steps; step++) {
    served = step * per
    watch.observe(served, failuresAt(step))
  }
  return { memory: watch.finish(served, failuresAt(steps)), warnings, served }
}

describe('server memory: which processes', () => {
  const lab = (dir: string) => {
    expect(dir).toBe('/lab')
    return [
      { name: 'ks1', pid: 101 },
      { name: 'ks2', pid: 102 },
    ]
  }

  it('the lab workers by name, then every --pid not among them as pid-<PID>', () => {
    expect(
      serverMemoryTargets({
        pids: [102, 555],
        labDir: '/lab',
        labWorkers: lab,
        leakThresholdBytesPerRequest: 1,
      }),
    ).toEqual([
      { name: 'ks1', pid: 101 },
      { name: 'ks2', pid: 102 },
      { name: 'pid-555', pid: 555 },
    ])
    expect(serverMemoryTargets({ pids: [7], leakThresholdBytesPerRequest: 1 })).toEqual([
      { name: 'pid-7', pid: 7 },
    ])
  })

  it('no lab, a stopped worker, nothing to watch, a PID that is not there: usage errors', () => {
    expect(() =>
      serverMemoryTargets({
        pids: [],
        labDir: '/lab',
        labWorkers: () => [],
        leakThresholdBytesPerRequest: 1,
      }),
    ).toThrow(/--watch-lab: no lab found in \/lab/)
    expect(() =>
      serverMemoryTargets({
        pids: [],
        labDir: '/lab',
        labWorkers: () => [{ name: 'ks2', pid: null }],
        leakThresholdBytesPerRequest: 1,
      }),
    ).toThrow(/ks2 is not running/)
    expect(() => serverMemoryTargets({ pids: [], leakThresholdBytesPerRequest: 1 })).toThrow(UsageError)
    const open = () =>
      ServerMemoryWatch.open({
        pids: [999],
        leakThresholdBytesPerRequest: 1,
        readProc: fakeProc([], () => 0),
      })
    expect(open).toThrow(UsageError)
    expect(open).toThrow(/--pid 999: no such process/)
  })
})

describe('server memory: sampling against requests and the verdict', () => {
  it('a process growing 1 KiB a request leaks, a flat one does not; counts and axes match', () => {
    const { memory, served } = run(
      [
        { pid: 101, anon: (n) => 50 * MiB + n * 1024 },
        { pid: 102, anon: () => 50 * MiB },
      ],
      40,
    )
    expect(memory.x).toBe('requests')
    expect(memory.leakThresholdBytesPerRequest).toBe(256)
    expect(memory.verdict).toBe('leak')
    const leak = memory.processes['pid-101']!
    const flat = memory.processes['pid-102']!
    expect(leak).toMatchObject({ pid: 101, command: 'uwsgi', verdict: 'leak' })
    expect(flat.verdict).toBe('no-leak')
    // one sample per observation, and x is the requests served at each
    expect(leak.rssAnon.samples).toBe(40)
    expect(leak.rssAnon.series?.map((p) => p[0])).toEqual(Array.from({ length: 40 }, (_, i) => (i + 1) * 100))
    expect(leak.vmRss.samples).toBe(leak.rssAnon.samples)
    expect(leak.rssAnon.metric).toBe('RssAnon')
    expect(leak.vmRss.metric).toBe('VmRSS')
    // 1 KiB per request, within the rounding of /proc's kB
    expect(leak.rssAnon.slopeBytesPerIteration).toBeGreaterThan(1000)
    expect(leak.rssAnon.slopeBytesPerIteration).toBeLessThan(1050)
    expect(leak.rssAnon.endBytes - leak.rssAnon.startBytes).toBeGreaterThan(0.99 * (served - 100) * 1024)
    expect(flat.rssAnon.slopeBytesPerIteration).toBe(0)
  })

  it('the end of the run is sampled once more when requests were answered after the last tick', () => {
    let served = 0
    const proc = fakeProc([{ pid: 5, anon: () => 10 * MiB }], () => served)
    const watch = ServerMemoryWatch.open({ pids: [5], leakThresholdBytesPerRequest: 256, readProc: proc })
    for (const n of [10, 20, 20, 30]) {
      served = n
      watch.observe(n, 0) // the repeated 20 is no new sample
    }
    served = 35
    const m = watch.finish(35, 0)
    expect(m.processes['pid-5']!.rssAnon.series?.map((p) => p[0])).toEqual([10, 20, 30, 35])
  })

  it(`fewer than ${MIN_SAMPLES} samples is inconclusive, and so is a leaking slope on fewer than ${MIN_LEAK_SAMPLES}`, () => {
    expect(run([{ pid: 9, anon: (n) => MiB + n * 4096 }], MIN_SAMPLES - 2).memory.verdict).toBe(
      'inconclusive',
    )
    expect(run([{ pid: 9, anon: (n) => MiB + n * 4096 }], MIN_LEAK_SAMPLES - 5).memory.verdict).toBe(
      'inconclusive',
    )
  })

  it('samples taken after new failures are kept out of the verdict', () => {
    const { memory } = run([{ pid: 3, anon: () => 20 * MiB }], 30, 100, (step) =>
      step >= 21 ? step - 20 : 0,
    )
    // steps 21..30 each saw a new failure: 10 dirty samples (the final one repeats x and is not taken)
    expect(memory.processes['pid-3']!.rssAnon.samples).toBe(20)
    expect(memory.processes['pid-3']!.rssAnon.note).toMatch(/10 samples taken after errors left out/)
  })

  it('a process that exits is judged on its samples before, with a warning', () => {
    const procs: FakeProcess[] = [{ pid: 11, anon: () => 30 * MiB }]
    let served = 0
    const warnings: string[] = []
    const watch = ServerMemoryWatch.open(
      { pids: [11], leakThresholdBytesPerRequest: 256, readProc: fakeProc(procs, () => served) },
      (m) => warnings.push(m),
    )
    for (let i = 1; i <= 12; i++) {
      served = i * 10
      if (i === 9) procs[0]!.gone = true
      watch.observe(served, 0)
    }
    const m = watch.finish(served, 0)
    expect(warnings).toEqual([
      expect.stringMatching(/^memory: stopped watching pid-11: process 11 has exited/),
    ])
    expect(m.processes['pid-11']!.rssAnon.samples).toBe(8)
    expect(m.processes['pid-11']!.rssAnon.note).toMatch(
      /has exited at request 90; judged on the samples before/,
    )
  })

  it('keeps its stores bounded on long runs: samples thin out, evenly', () => {
    let served = 0
    const proc = fakeProc([{ pid: 4, anon: () => 8 * MiB }], () => served)
    const watch = ServerMemoryWatch.open({
      pids: [4],
      leakThresholdBytesPerRequest: 256,
      capacity: 16,
      readProc: proc,
    })
    for (let i = 1; i <= 200; i++) {
      served = i
      watch.observe(i, 0)
    }
    const s = watch.finish(200, 0).processes['pid-4']!.rssAnon
    expect(s.samples).toBeLessThanOrEqual(16)
    expect(s.samples).toBeGreaterThanOrEqual(8)
    expect(s.series?.at(-1)?.[0]).toBe(200)
  })

  it('a leak threshold of 0 is refused', () => {
    expect(() => ServerMemoryWatch.open({ pids: [1], leakThresholdBytesPerRequest: 0 })).toThrow(
      /--leak-threshold must be above 0/,
    )
  })
})
