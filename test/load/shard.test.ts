import { describe, expect, it } from 'vitest'
import type { EngineSettings } from '../../src/load/engine.js'
import { ConstantRateSchedule, plannedRequests } from '../../src/load/pacer.js'
import { partition, scheduleOffsetMs, shardSettings, shareOf } from '../../src/load/shard.js'

const base: EngineSettings = {
  model: 'closed',
  concurrency: 10,
  rate: null,
  connections: 10,
  requests: 1000,
  durationMs: undefined,
  method: 'GET',
  keepalive: true,
  timeoutMs: 30_000,
  warmupMs: 0,
  backendHeader: 'x-backend',
}

describe('shards: the split of a load', () => {
  it('splits counts by divmod, the remainder to the lowest indices', () => {
    expect([0, 1, 2].map((index) => shareOf(10, { index, count: 3 }))).toEqual([4, 3, 3])
    expect([0, 1, 2, 3].map((index) => shareOf(6, { index, count: 4 }))).toEqual([2, 2, 1, 1])
    expect([0, 1].map((index) => shareOf(8, { index, count: 2 }))).toEqual([4, 4])
    for (const total of [1, 7, 100, 1001])
      for (const count of [1, 2, 3, 7]) {
        const shares = Array.from({ length: count }, (_, index) => shareOf(total, { index, count }))
        expect(shares.reduce((a, b) => a + b, 0)).toBe(total)
        expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1)
      }
  })

  it('offsets shard i of n of rate R by i/(n·r) s, r = R/n its own rate: one interval of the whole per index', () => {
    expect(scheduleOffsetMs(100, { index: 0, count: 4 })).toBe(0)
    expect(scheduleOffsetMs(100, { index: 1, count: 4 })).toBeCloseTo(10, 9)
    expect(scheduleOffsetMs(300, { index: 2, count: 3 })).toBeCloseTo(6.6666667, 6)
  })

  it('interleaves the shards of an open load into the one evenly spaced stream, count for count', () => {
    const R = 300
    const n = 3
    const durationMs = 1000
    const whole = new ConstantRateSchedule(R, 0, plannedRequests({ model: 'open', rate: R }, { durationMs }))
    const times: number[] = []
    let total = 0
    for (let index = 0; index < n; index++) {
      const { settings, scheduleOffsetMs: off } = shardSettings(
        { ...base, model: 'open', rate: R, concurrency: null, requests: undefined, durationMs },
        { index, count: n },
      )
      expect(settings.rate).toBe(R / n)
      const planned = plannedRequests({ model: 'open', rate: settings.rate!, offsetMs: off }, { durationMs })
      const s = new ConstantRateSchedule(settings.rate!, off, planned)
      for (let k = 0; k < planned; k++) times.push(s.intendedAt(k))
      total += planned
    }
    expect(total).toBe(whole.limit)
    times.sort((a, b) => a - b)
    times.forEach((t, j) => {
      expect(t).toBeCloseTo(whole.intendedAt(j), 6)
    })
  })

  it('splits the closed model: concurrency, requests and connections', () => {
    const shards = [0, 1, 2].map((index) => shardSettings(base, { index, count: 3 }).settings)
    expect(shards.map((s) => s.concurrency)).toEqual([4, 3, 3])
    expect(shards.map((s) => s.requests)).toEqual([334, 333, 333])
    expect(shards.map((s) => s.connections)).toEqual([4, 3, 3])
    expect(shards.every((s) => s.durationMs === base.durationMs && s.rate === null)).toBe(true)
    expect(shardSettings(base, { index: 1, count: 3 }).scheduleOffsetMs).toBe(0)
  })

  it('gives every item used in turn to exactly one shard: item k to shard k mod n', () => {
    const items = Array.from({ length: 11 }, (_, k) => `t${k}`)
    const parts = [0, 1, 2].map((index) => partition(items, { index, count: 3 }))
    expect(parts[1]).toEqual(['t1', 't4', 't7', 't10'])
    expect(parts.flat().sort()).toEqual([...items].sort())
    expect(new Set(parts.flat()).size).toBe(items.length)
  })

  it('refuses nonsense: index out of range, no shards, more shards than units', () => {
    expect(() => shardSettings(base, { index: 3, count: 3 })).toThrow(/not one of 0 to 2/)
    expect(() => shardSettings(base, { index: 0, count: 0 })).toThrow(/>= 1/)
    expect(() => shardSettings({ ...base, connections: 2 }, { index: 0, count: 3 })).toThrow(
      /only 2 connections/,
    )
    expect(() => shardSettings({ ...base, requests: 2 }, { index: 0, count: 3 })).toThrow(/only 2 requests/)
    expect(() => shardSettings({ ...base, concurrency: 2, connections: 4 }, { index: 0, count: 3 })).toThrow(
      /concurrency/,
    )
  })
})
