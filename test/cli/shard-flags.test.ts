import { describe, expect, it } from 'vitest'
import { parseStartAt, parseWorkers, shardPlanFromFlags } from '../../src/cli/shard-flags.js'
import { UsageError } from '../../src/errors.js'

const refused = (f: () => unknown, message: RegExp) => {
  try {
    f()
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError)
    expect((err as UsageError).exitCode).toBe(2)
    expect((err as Error).message).toMatch(message)
    expect((err as UsageError).hint).toBeTruthy()
    return
  }
  throw new Error('not refused')
}

describe('--shard, --shard-count, --start-at', () => {
  it('reads --shard I/N (0-based)', () => {
    expect(shardPlanFromFlags({ shard: '1/3' }, {}).shard).toEqual({ index: 1, count: 3 })
    expect(shardPlanFromFlags({}, {}).shard).toBeUndefined()
  })

  it('takes the index from JOB_COMPLETION_INDEX with --shard-count', () => {
    expect(shardPlanFromFlags({ 'shard-count': 4 }, { JOB_COMPLETION_INDEX: '2' }).shard).toEqual({
      index: 2,
      count: 4,
    })
    refused(() => shardPlanFromFlags({ 'shard-count': 4 }, {}), /JOB_COMPLETION_INDEX \(not set\)/)
    refused(
      () => shardPlanFromFlags({ 'shard-count': 4 }, { JOB_COMPLETION_INDEX: '4' }),
      /not one of 0 to 3/,
    )
  })

  it('refuses nonsense with exit 2 and a hint', () => {
    refused(() => shardPlanFromFlags({ shard: '3/3' }, {}), /shard index 3 is not one of 0 to 2/)
    refused(() => shardPlanFromFlags({ shard: '0/0' }, {}), /count must be/)
    refused(() => shardPlanFromFlags({ shard: '1-3' }, {}), /not INDEX\/COUNT/)
    refused(() => shardPlanFromFlags({ shard: '0/2', 'shard-count': 2 }, {}), /exclude each other/)
  })

  it('reads --start-at as RFC 3339 or epoch ms', () => {
    expect(parseStartAt('2026-11-30T10:00:00Z')).toBe(Date.UTC(2026, 10, 30, 10))
    expect(parseStartAt('2026-11-30T11:00:00.500+01:00')).toBe(Date.UTC(2026, 10, 30, 10, 0, 0, 500))
    expect(parseStartAt('1795945200000')).toBe(1795945200000)
    refused(() => parseStartAt('2026-11-30T10:00:00'), /not a time/)
    refused(() => parseStartAt('tomorrow'), /not a time/)
    expect(shardPlanFromFlags({ 'start-at': '1795945200000' }, {})).toEqual({
      startAtEpochMs: 1795945200000,
      startToleranceMs: 1000,
    })
  })
})

describe('parseWorkers', () => {
  it('takes a positive count, or auto as the available cores', () => {
    expect(parseWorkers(undefined)).toBe(1)
    expect(parseWorkers('3')).toBe(3)
    expect(parseWorkers('auto', () => 6)).toBe(6)
  })
  it('refuses nonsense with exit 2', () => {
    for (const bad of ['0', '-1', 'two', '1.5']) expect(() => parseWorkers(bad)).toThrow(UsageError)
  })
})
