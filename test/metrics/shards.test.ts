import * as hdr from 'hdr-histogram-js'
import { describe, expect, it } from 'vitest'
import { UsageError } from '../../src/errors.js'
import { gate, mergeBenchResults, parseThreshold } from '../../src/metrics/gate.js'
import { decodeHistogram, summarizeMs } from '../../src/metrics/histogram.js'
import { mergeSweepShards } from '../../src/metrics/merge.js'
import type { BenchSweepResult, BenchValidateResult } from '../../src/results/types.js'
import { benchResultFrom, histogramOf } from '../fixtures/results.js'

const HASH = 'a'.repeat(64)

/** Shard `index` of `count` holding exactly `values` (ms). */
function shard(index: number, count: number, values: number[], hash = HASH): BenchValidateResult {
  return {
    ...benchResultFrom(values, { startedAt: '2026-11-30T10:00:00.000Z' }),
    shard: {
      index,
      count,
      configHash: hash,
      host: `gen${index}`,
      sourceAddress: `10.0.0.${index + 1}`,
      startSkewMs: 0.4,
    },
  }
}

const values = (n: number, ms: number) => Array.from({ length: n }, (_, k) => ms + (k % 10) / 10)

function refusal(f: () => unknown): UsageError {
  try {
    f()
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError)
    expect((err as UsageError).exitCode).toBe(2)
    return err as UsageError
  }
  throw new Error('not refused')
}

describe('shard sets: merge', () => {
  const set = [shard(0, 3, values(100, 5)), shard(1, 3, values(90, 6)), shard(2, 3, values(80, 7))]
  const labels = ['s0.json', 's1.json', 's2.json']

  it('merges a complete set: counts summed, the set recorded', () => {
    const m = mergeBenchResults(set, { labels })
    expect(m.requests.total).toBe(270)
    expect(m.shards).toEqual({ count: 3, configHash: HASH, indices: [0, 1, 2] })
    expect(m.partial).toBeUndefined()
    expect(m.shard).toBeUndefined()
  })

  it('refuses an incomplete set, naming the missing shards; --allow-partial marks it partial', () => {
    const e = refusal(() => mergeBenchResults([set[0]!, set[2]!], { labels: ['s0.json', 's2.json'] }))
    expect(e.message).toBe('incomplete shard set: 1 of 3 shards missing (1/3)')
    expect(e.hint).toMatch(/--allow-partial/)
    const m = mergeBenchResults([set[0]!, set[2]!], { allowPartial: true })
    expect(m.partial).toBe(true)
    expect(m.shards?.indices).toEqual([0, 2])
    // one shard alone is a set too
    refusal(() => mergeBenchResults([set[1]!]))
    expect(mergeBenchResults([set[1]!], { allowPartial: true }).partial).toBe(true)
  })

  it('refuses duplicates, naming both files, even with --allow-partial', () => {
    const e = refusal(() =>
      mergeBenchResults([set[0]!, set[1]!, set[1]!, set[2]!], {
        allowPartial: true,
        labels: ['s0.json', 's1.json', 'copy.json', 's2.json'],
      }),
    )
    expect(e.message).toBe('duplicate shards: shard 1/3 in s1.json and copy.json')
  })

  it('refuses mixed config hashes and shard counts, naming the shards', () => {
    const other = shard(1, 3, values(90, 6), 'b'.repeat(64))
    const e = refusal(() => mergeBenchResults([set[0]!, other, set[2]!], { labels }))
    expect(e.message).toMatch(
      /configurations differ: s0.json \(shard 0\/3, config aaaaaaaaaaaa\), s1.json \(shard 1\/3, config bbbbbbbbbbbb\)/,
    )
    refusal(() => mergeBenchResults([set[0]!, shard(1, 2, values(5, 5))]))
    // a shard and a whole run
    expect(
      refusal(() => mergeBenchResults([set[0]!, benchResultFrom(values(5, 5))], { labels })).message,
    ).toMatch(/no shard \(s1.json\)/)
  })

  it('refuses mixed histogram settings', () => {
    const h = hdr.build({ bitBucketSize: 64, numberOfSignificantValueDigits: 2, useWebAssembly: false })
    for (const v of values(90, 6)) h.recordValue(Math.round(v * 1000))
    const coarse = { ...set[1]!, histogram: hdr.encodeIntoCompressedBase64(h) }
    const e = refusal(() => mergeBenchResults([set[0]!, coarse, set[2]!], { labels }))
    expect(e.message).toMatch(/s1.json \(2 digits, lowest 1\)/)
  })
})

describe('shard sets: one verdict, on the whole', () => {
  // shard 0: 1,000 fast answers, 15 slow ones (1.5%: its p99 is slow); shard 1: 1,000 fast answers only.
  // Alone, shard 0 fails "p99 < 100ms" and shard 1 passes; the whole load (15 slow of 2,015, 0.74%) passes.
  const fast = values(1000, 10)
  const slow = Array.from({ length: 15 }, () => 500)
  const s0 = shard(0, 2, [...fast, ...slow])
  const s1 = shard(1, 2, fast)
  const threshold = parseThreshold('p99 < 100ms')
  const judge = (files: Array<[string, BenchValidateResult]>) =>
    gate({ inputs: files.map(([file, result]) => ({ file, result })), thresholds: [threshold] })

  it('differs from judging each shard alone, and idtool gives the whole', () => {
    // each shard alone (what a per-instance gate such as k6-operator's does)
    expect(summarizeMs(decodeHistogram(s0.histogram)).p99).toBeGreaterThan(100)
    expect(summarizeMs(decodeHistogram(s1.histogram)).p99).toBeLessThan(100)
    // the whole: one histogram holding every value of both shards
    const whole = summarizeMs(histogramOf([...fast, ...slow, ...fast]))
    expect(whole.p99).toBeLessThan(100)
    const verdict = judge([
      ['s0.json', s0],
      ['s1.json', s1],
    ])
    expect(verdict.passed).toBe(true)
    const p99 = verdict.checks.find((c) => c.metric === 'p99')
    expect(p99?.actual).toBe(whole.p99)
    // the gate refuses to judge a shard alone, or shards one by one
    expect(() => judge([['s0.json', s0]])).toThrow(/incomplete shard set/)
    expect(() =>
      gate({
        inputs: [
          { file: 's0.json', result: s0 },
          { file: 's1.json', result: s1 },
        ],
        thresholds: [threshold],
        merge: 'none',
      }),
    ).toThrow(/each shard alone/)
  })

  it('judges shards as one load even when their time windows do not overlap', () => {
    const late = { ...s1, startedAt: '2026-11-30T11:00:00.000Z' }
    const verdict = judge([
      ['s0.json', s0],
      ['s1.json', late],
    ])
    expect(verdict.checks.filter((c) => c.metric === 'p99')).toHaveLength(1)
    expect(verdict.passed).toBe(true)
  })
})

describe('shard sets: a sweep', () => {
  /** shard `index` of 2 of a two-level sweep, holding `values` at each level */
  const sweepShard = (index: number, ms: number[]): BenchSweepResult => {
    const points = ms.map((m, level) => {
      const result = shard(index, 2, values(100, m))
      return {
        revocationEvents: level * 1000 + index,
        rps: 10,
        latencyMs: { p50: m, p99: m },
        errors: 0,
        result,
      }
    })
    return {
      version: 3,
      kind: 'bench.sweep',
      startedAt: '2026-11-30T10:00:00.000Z',
      durationMs: 20_000,
      points,
      interrupted: false,
      shard: points[0]!.result.shard!,
    }
  }

  it('merges level by level, and the gate judges the merged sweep once', () => {
    const a = sweepShard(0, [5, 50])
    const b = sweepShard(1, [6, 60])
    const m = mergeSweepShards([a, b])
    expect(m.points.map((p) => p.result.requests.total)).toEqual([200, 200])
    expect(m.points.map((p) => p.revocationEvents)).toEqual([1, 1001])
    const verdict = gate({
      inputs: [
        { file: 'a.json', result: a },
        { file: 'b.json', result: b },
      ],
      thresholds: [parseThreshold('p99 < 1s')],
    })
    expect(verdict.passed).toBe(true)
    expect(() =>
      gate({ inputs: [{ file: 'a.json', result: a }], thresholds: [parseThreshold('p99 < 1s')] }),
    ).toThrow(/incomplete shard set/)
    expect(() => mergeSweepShards([a, { ...b, points: b.points.slice(0, 1) }])).toThrow(
      /different numbers of levels/,
    )
  })
})
