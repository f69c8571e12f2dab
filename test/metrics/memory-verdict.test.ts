import { describe, expect, it } from 'vitest'
import { judgeMemory, type MemorySeries } from '../../src/metrics/memory-verdict.js'

const line = (n: number, slope: number, noise = 0): Array<[number, number]> =>
  Array.from({ length: n }, (_, i) => [i * 10, 1_000_000 + slope * i * 10 + (i % 2 ? noise : -noise)])

const series = (over: Partial<MemorySeries>): MemorySeries => ({
  name: 'slapd',
  pid: 42,
  metric: 'RssAnon',
  deciding: true,
  points: line(30, 0, 100),
  dirty: 0,
  ...over,
})

describe('judgeMemory', () => {
  it('says leak when a deciding series grows steadily, and ignores informational ones', () => {
    const v = judgeMemory(
      [
        series({ points: line(30, 8192) }),
        series({ metric: 'VmRSS', deciding: false, points: line(30, 0, 100) }),
      ],
      1024,
    )
    expect(v.verdict).toBe('leak')
    expect(v.subjects.map((s) => s.verdict)).toEqual(['leak', 'no-leak'])
    expect(v.subjects[0]!.slopeBytesPerIteration).toBeCloseTo(8192, 0)
    expect(v.subjects[0]!.startBytes).toBe(1_000_000)
    expect(v.subjects[0]!.series).toHaveLength(30)
    const info = judgeMemory([series({ deciding: false, points: line(30, 8192) })], 1024)
    expect(info.verdict).toBe('inconclusive') // no deciding series
  })

  it('does not call a process that exited a leak, and notes dirty samples and the series note', () => {
    const v = judgeMemory(
      [
        series({
          points: line(30, 8192),
          gone: { atIteration: 290, why: 'process 42 has exited' },
          dirty: 2,
          note: 'this kernel has no RssAnon: judged on VmRSS',
        }),
      ],
      1024,
    )
    expect(v.verdict).toBe('inconclusive')
    expect(v.subjects[0]!.note).toBe(
      'process 42 has exited at iteration 290; judged on the samples before; 2 samples taken after errors left out; its memory grew, but it exited before the end; this kernel has no RssAnon: judged on VmRSS',
    )
  })

  it('says no-leak for a flat series and inconclusive with too few samples', () => {
    expect(judgeMemory([series({})], 1024).verdict).toBe('no-leak')
    const few = judgeMemory([series({ points: line(3, 0) })], 1024)
    expect(few.verdict).toBe('inconclusive')
    expect(few.subjects[0]!.note).toMatch(/only 3 clean samples/)
  })
})
