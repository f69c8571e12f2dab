import { describe, expect, it } from 'vitest'
import {
  forcedGc,
  MemoryWatch,
  ProcessGoneError,
  parseProcStatus,
  parseStartTicks,
  procIdentity,
  readProcMemory,
  sampleOwnHeap,
} from '../../src/load/memory.js'
import { SampleSeries } from '../../src/metrics/series.js'

const STAT = (state: string, start: string) =>
  `4242 (my (odd) name) ${state} 1 4242 4242 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 ${start} 1000000 200 18446744073709551615`

function fakeProc(files: Record<string, string>) {
  return (path: string) => {
    const v = files[path]
    if (v === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' })
    return v
  }
}

describe('forced GC', () => {
  it('is available on this Node without --expose-gc and really collects', async () => {
    const gc = forcedGc()
    expect(['exposed', 'v8-flag']).toContain(gc.method)
    let ref: WeakRef<object> | undefined
    ;(() => {
      ref = new WeakRef({ big: new Array(1000).fill(1) })
    })()
    // WeakRef targets stay alive until the current job ends
    await new Promise((r) => setTimeout(r, 0))
    gc.collect()
    expect(ref?.deref()).toBeUndefined()
    // the flag is switched off again: new contexts do not see gc
    const vm = await import('node:vm')
    expect(vm.runInNewContext('typeof gc')).toBe('undefined')
  })

  it('samples the own heap (heapUsed without code, external) after collection', () => {
    const h = sampleOwnHeap()
    expect(h.heapUsed).toBeGreaterThan(1_000_000)
    expect(h.heapUsed).toBeLessThan(process.memoryUsage().heapUsed + 1)
    expect(h.external).toBeGreaterThan(0)
  })
})

describe('/proc sampling', () => {
  it('reads RssAnon and VmRSS of a live process (this one)', () => {
    const who = procIdentity(process.pid)
    expect(who.name.length).toBeGreaterThan(0)
    const m = readProcMemory(who)
    expect(m.vmRss).toBeGreaterThan(10 * 1024 * 1024)
    expect(m.rssAnon).toBeGreaterThan(1024 * 1024)
    expect(m.rssAnon!).toBeLessThanOrEqual(m.vmRss)
  })

  it('says a PID that does not exist is gone', () => {
    expect(() => procIdentity(2 ** 30)).toThrow(ProcessGoneError)
    expect(() => procIdentity(-1)).toThrow(/not a valid PID/)
  })

  it('parses status lines into bytes and the start time after an odd command name', () => {
    expect(
      parseProcStatus('Name:\tslapd\nState:\tS (sleeping)\nVmRSS:\t   20880 kB\nRssAnon:\t   15728 kB\n'),
    ).toEqual({
      state: 'S',
      vmRss: 20880 * 1024,
      rssAnon: 15728 * 1024,
    })
    expect(parseStartTicks(STAT('S', '987654'))).toBe('987654')
  })

  it('treats a zombie and a reused PID as exited', () => {
    const base = {
      '/proc/4242/comm': 'slapd\n',
      '/proc/4242/stat': STAT('S', '1000'),
      '/proc/4242/status': 'State:\tS (sleeping)\nVmRSS:\t 100 kB\nRssAnon:\t 50 kB\n',
    }
    const who = procIdentity(4242, fakeProc(base))
    expect(who).toEqual({ pid: 4242, name: 'slapd', startTicks: '1000' })
    expect(readProcMemory(who, fakeProc(base))).toEqual({ vmRss: 102400, rssAnon: 51200 })
    const zombie = { ...base, '/proc/4242/status': 'State:\tZ (zombie)\n' }
    expect(() => readProcMemory(who, fakeProc(zombie))).toThrow(/exited/)
    const reused = { ...base, '/proc/4242/stat': STAT('S', '2000') }
    expect(() => readProcMemory(who, fakeProc(reused))).toThrow(/another process/)
    expect(() => readProcMemory(who, fakeProc({}))).toThrow(ProcessGoneError)
  })
})

describe('SampleSeries', () => {
  it('keeps clean points, counts dirty ones and halves instead of growing', () => {
    const s = new SampleSeries(8)
    for (let i = 0; i < 8; i++) s.add(i * 10, 1000 + i, i !== 3)
    expect(s.full).toBe(true)
    expect(s.dirtyCount()).toBe(1)
    expect(s.cleanPoints()).toHaveLength(7)
    s.add(80, 2000, true)
    // halved to 0, 20, 40, 60 then 80 appended
    expect(s.cleanPoints().map(([x]) => x)).toEqual([0, 20, 40, 60, 80])
    expect(s.dirtyCount()).toBe(0)
  })
})

describe('MemoryWatch', () => {
  it('samples RssAnon (deciding) and VmRSS (informational) per PID, and stops at a gone process', () => {
    const files: Record<string, string> = {
      '/proc/4242/comm': 'slapd\n',
      '/proc/4242/stat': STAT('S', '1000'),
      '/proc/4242/status': 'State:\tS (sleeping)\nVmRSS:\t 100 kB\nRssAnon:\t 50 kB\n',
    }
    const watch = MemoryWatch.open({ pids: [4242], ownHeap: false, capacity: 4, readProc: fakeProc(files) })
    expect(watch.sample(0, true)).toEqual([])
    expect(watch.sample(10, false)).toEqual([])
    files['/proc/4242/stat'] = STAT('S', '2000') // the PID now belongs to another process
    const gone = watch.sample(20, true)
    expect(gone.map((e) => e.message)).toEqual([
      'process 4242 has exited (its PID now belongs to another process)',
    ])
    expect(watch.sample(30, true)).toEqual([]) // not sampled again
    const [anon, rss] = watch.series()
    expect(anon).toMatchObject({ name: 'slapd', pid: 4242, metric: 'RssAnon', deciding: true, dirty: 1 })
    expect(anon!.points).toEqual([[0, 51200]])
    expect(anon!.gone).toEqual({ atIteration: 20, why: gone[0]!.message })
    expect(rss).toMatchObject({ metric: 'VmRSS', deciding: false, points: [[0, 102400]] })
    expect(rss!.note).toMatch(/informational/)
  })

  it("watches idtool's own heap first, and throws for a PID that does not exist", () => {
    const watch = MemoryWatch.open({ pids: [] })
    watch.sample(0, true)
    expect(watch.series().map((s) => [s.name, s.metric, s.points.length])).toEqual([
      ['idtool', 'heapUsed', 1],
      ['idtool', 'external', 1],
    ])
    expect(() => MemoryWatch.open({ pids: [2 ** 30] })).toThrow(ProcessGoneError)
  })
})
