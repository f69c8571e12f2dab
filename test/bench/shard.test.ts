import { describe, expect, it } from 'vitest'
import {
  configHash,
  planShard,
  type ShardConfig,
  shardTokenSource,
  shardTokens,
} from '../../src/bench/shard.js'
import type { ValidateBenchSettings } from '../../src/bench/validate.js'
import { UsageError } from '../../src/errors.js'

const settings: ValidateBenchSettings = {
  model: 'open',
  concurrency: null,
  rate: 300,
  connections: 12,
  durationMs: 30_000,
  method: 'GET',
  nocatalog: false,
  keepalive: true,
  timeoutMs: 30_000,
  warmupMs: 5000,
  backendHeader: 'x-backend',
}

const config: ShardConfig = {
  kind: 'bench.validate',
  url: 'http://127.0.0.1:5000/v3/auth/tokens',
  settings,
  source: { count: 300 },
  count: 3,
  startAtEpochMs: 1795945200000,
}

describe('bench shards', () => {
  it('hashes every setting the shards must share, and nothing else', () => {
    const h = configHash(config)
    expect(h).toMatch(/^[0-9a-f]{64}$/)
    // the same whatever the order of the fields
    expect(configHash({ ...config, settings: { ...settings } })).toBe(h)
    for (const changed of [
      { ...config, settings: { ...settings, rate: 301 } },
      { ...config, settings: { ...settings, durationMs: 31_000 } },
      { ...config, settings: { ...settings, method: 'HEAD' as const } },
      { ...config, settings: { ...settings, nocatalog: true } },
      { ...config, url: 'http://127.0.0.1:5001/v3/auth/tokens' },
      { ...config, count: 4 },
      { ...config, startAtEpochMs: 1795945200001 },
      { ...config, source: { count: 299 } },
    ])
      expect(configHash(changed)).not.toBe(h)
    // a pool: its tokens, not the file's name
    const pool = [{ token: 'a' }, { token: 'b' }, { token: 'c' }]
    const p = { ...config, source: { file: 'here.jsonl' }, poolTokens: pool }
    expect(configHash({ ...p, source: { file: '/elsewhere/pool.jsonl' } })).toBe(configHash(p))
    expect(configHash({ ...p, poolTokens: [...pool, { token: 'd' }] })).not.toBe(configHash(p))
  })

  it('gives each shard its own tokens: a pool partitioned k mod n, fresh tokens by divmod', () => {
    const pool = Array.from({ length: 10 }, (_, k) => ({ token: `t${k}` }))
    const parts = [0, 1, 2].map((index) => shardTokens(pool, { file: 'p' }, { index, count: 3 }))
    expect(parts.map((p) => p.length)).toEqual([4, 3, 3])
    expect(new Set(parts.flat().map((t) => t.token)).size).toBe(10)
    expect([0, 1, 2].map((index) => shardTokenSource({ count: 10 }, { index, count: 3 }).count)).toEqual([
      4, 3, 3,
    ])
    expect(() => shardTokens(pool.slice(0, 2), { file: 'p' }, { index: 0, count: 3 })).toThrow(UsageError)
    expect(() => shardTokenSource({ count: 2 }, { index: 0, count: 3 })).toThrow(/only 2 tokens/)
  })

  it('refuses a shard the load cannot feed, and a start time already past (exit 2)', () => {
    expect(() => planShard({ ...settings, connections: 2 }, { shard: { index: 0, count: 3 } })).toThrow(
      /--shard 0\/3: 3 shards but only 2 connections/,
    )
    const past = Date.now() - 5000
    try {
      planShard({ ...settings, warmupMs: 0 }, { startAtEpochMs: past, startToleranceMs: 1000 })
      throw new Error('not refused')
    } catch (err) {
      expect((err as UsageError).exitCode).toBe(2)
      expect((err as Error).message).toMatch(/start skew 5\.\d{3} s/)
    }
    // the warm-up must fit before the start
    expect(() =>
      planShard(
        { ...settings, warmupMs: 10_000 },
        { startAtEpochMs: Date.now() + 5000, startToleranceMs: 1000 },
      ),
    ).toThrow(/start skew/)
    const ok = planShard(settings, { shard: { index: 2, count: 3 }, startAtEpochMs: Date.now() + 60_000 })
    expect(ok.settings.rate).toBe(100)
    expect(ok.settings.connections).toBe(4)
    expect(ok.scheduleOffsetMs).toBeCloseTo(2000 / 300, 9)
  })
})
