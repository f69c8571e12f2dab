import { describe, expect, it } from 'vitest'
import {
  blockWindowMs,
  ConstantRateSchedule,
  isLate,
  MIN_BLOCK_INTERVAL_MS,
  plannedRequests,
  shouldBlock,
  timerDelayMs,
} from '../../src/load/pacer.js'

describe('plannedRequests', () => {
  it('an open timed run plans one request per intended time inside the duration', () => {
    expect(plannedRequests({ model: 'open', rate: 10 }, { durationMs: 1000 })).toBe(10)
    expect(plannedRequests({ model: 'open', rate: 10 }, { durationMs: 1050 })).toBe(11)
    expect(plannedRequests({ model: 'open', rate: 3 }, { durationMs: 1000 })).toBe(3)
    expect(plannedRequests({ model: 'open', rate: 1000 }, { durationMs: 2500 })).toBe(2500)
  })

  it('a request count caps the plan, whichever comes first', () => {
    expect(plannedRequests({ model: 'open', rate: 100 }, { requests: 50, durationMs: 10_000 })).toBe(50)
    expect(plannedRequests({ model: 'open', rate: 100 }, { requests: 5000, durationMs: 1000 })).toBe(100)
    expect(plannedRequests({ model: 'open', rate: 100 }, { requests: 7 })).toBe(7)
  })

  it('a closed timed run has no fixed count', () => {
    expect(plannedRequests({ model: 'closed', concurrency: 4 }, { durationMs: 1000 })).toBe(
      Number.POSITIVE_INFINITY,
    )
    expect(plannedRequests({ model: 'closed', concurrency: 4 }, { requests: 12 })).toBe(12)
  })
})

describe('ConstantRateSchedule', () => {
  it('intends request i at start + i/rate', () => {
    const s = new ConstantRateSchedule(200, 1000)
    expect(s.intervalMs).toBe(5)
    expect(s.intendedAt(0)).toBe(1000)
    expect(s.intendedAt(1)).toBe(1005)
    expect(s.intendedAt(200)).toBe(2000)
  })

  it('does not drift over a long schedule (no summed intervals)', () => {
    const s = new ConstantRateSchedule(3, 0)
    // 1/3 s is not representable: summing it 3 million times would drift, the product does not
    expect(s.intendedAt(3_000_000)).toBe(1_000_000_000)
    expect(s.dueBy(1_000_000_000)).toBe(3_000_001)
  })

  it('counts the requests due at a time, boundaries included', () => {
    const s = new ConstantRateSchedule(1000, 100, 50)
    expect(s.dueBy(99.999)).toBe(0)
    expect(s.dueBy(100)).toBe(1) // request 0 is due exactly at start
    expect(s.dueBy(100.999)).toBe(1)
    expect(s.dueBy(101)).toBe(2)
    expect(s.dueBy(110.5)).toBe(11)
    expect(s.dueBy(1e9)).toBe(50) // capped at the limit
  })

  it('treats a time computed as intendedAt(i) as due despite float rounding', () => {
    const s = new ConstantRateSchedule(7, 0.1)
    for (let i = 0; i < 1000; i++) expect(s.dueBy(s.intendedAt(i))).toBe(i + 1)
  })

  it('says how long to wait for a request, never negative', () => {
    const s = new ConstantRateSchedule(100, 0)
    expect(s.waitFor(3, 10)).toBe(20)
    expect(s.waitFor(3, 30)).toBe(0)
    expect(s.waitFor(3, 45)).toBe(0)
  })

  it('ends one interval after its last request', () => {
    expect(new ConstantRateSchedule(10, 0, 10).endMs).toBe(1000)
    expect(new ConstantRateSchedule(10, 0).endMs).toBe(Number.POSITIVE_INFINITY)
  })

  it('rejects a rate that is not positive', () => {
    expect(() => new ConstantRateSchedule(0, 0)).toThrow(/rate/)
    expect(() => new ConstantRateSchedule(Number.NaN, 0)).toThrow(/rate/)
  })
})

describe('isLate', () => {
  it('is late only beyond the threshold', () => {
    expect(isLate(100, 102, 2)).toBe(false)
    expect(isLate(100, 102.01, 2)).toBe(true)
    expect(isLate(100, 99, 2)).toBe(false)
  })
})

describe('precise waits of the open model', () => {
  it('blocks only when idle and the next send is due within the window', () => {
    expect(shouldBlock(0.4, true, 1)).toBe(true)
    expect(shouldBlock(1, true, 1)).toBe(true)
    expect(shouldBlock(1.01, true, 1)).toBe(false) // too far: sleep on a timer
    expect(shouldBlock(0.4, false, 1)).toBe(false) // answers pending: never distort their timing
    expect(shouldBlock(0, true, 1)).toBe(false) // already due: send, do not wait
    expect(shouldBlock(0.4, true, 0)).toBe(false) // disabled
  })

  it('batches per timer tick instead at high rates', () => {
    expect(blockWindowMs(0.5, 1)).toBe(1) // 2,000 req/s
    expect(blockWindowMs(MIN_BLOCK_INTERVAL_MS, 1)).toBe(1)
    expect(blockWindowMs(0.1, 1)).toBe(0) // 10,000 req/s
    expect(blockWindowMs(10, -1)).toBe(0)
  })

  it('arms the timer to wake up to the window early, never under 1 ms', () => {
    expect(timerDelayMs(10, 1)).toBe(9)
    expect(timerDelayMs(10.2, 1)).toBe(10)
    expect(timerDelayMs(0.4, 1)).toBe(1)
    expect(timerDelayMs(0.4, 0)).toBe(1)
    expect(timerDelayMs(3.5, 0)).toBe(4) // no window: the first tick at or after the due time
  })
})
