import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createHistogram, decodeHistogram, summarizeMs } from '../../../src/metrics/histogram.js'
import type { BenchValidateResult } from '../../../src/results/types.js'
import { parseJson, runCli } from '../../helpers/cli.js'
import { LAB_ENV } from '../../integration/lab-env.js'

// Real lab, small and bounded: two shards of a 20 req/s open load for 2 s, run at the same time from a
// common start, then merged. The machine and the lab are shared.

const dir = mkdtempSync(join(tmpdir(), 'idtool-shard-it-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('bench validate --shard --start-at, then report merge (lab)', () => {
  it('two shards started together merge into the whole load', async () => {
    // room for two CLI starts and the token issue on a busy lab
    const startAt = new Date(Date.now() + 25_000).toISOString()
    const outs = [0, 1].map((i) => join(dir, `shard-${i}.json`))
    const runs = await Promise.all(
      [0, 1].map((i) =>
        runCli(
          [
            'bench',
            'validate',
            '--token-count',
            '10',
            '--rate',
            '20',
            '--duration',
            '2s',
            '--warmup',
            '1s',
            '--shard',
            `${i}/2`,
            '--start-at',
            startAt,
            '--out',
            outs[i]!,
          ],
          { env: LAB_ENV, timeoutMs: 120_000 },
        ),
      ),
    )
    for (const r of runs) expect(r.code, r.stderr).toBe(0)
    const shards = outs.map((f) => JSON.parse(readFileSync(f, 'utf8')) as BenchValidateResult)
    expect(shards.map((s) => [s.shard?.index, s.shard?.count])).toEqual([
      [0, 2],
      [1, 2],
    ])
    expect(shards[0]!.shard!.configHash).toBe(shards[1]!.shard!.configHash)
    for (const s of shards) {
      expect(s.rate).toBe(10)
      expect(s.requests.total).toBe(20)
      expect(s.startedAt).toBe(startAt)
      expect(s.shard!.startSkewMs).toBeGreaterThanOrEqual(0)
      expect(s.shard!.startSkewMs).toBeLessThan(1000)
    }

    const merged = parseJson<BenchValidateResult>(await runCli(['report', 'merge', ...outs, '--json']))
    expect(merged.requests.total).toBe(shards[0]!.requests.total + shards[1]!.requests.total)
    expect(merged.rate).toBe(20)
    expect(merged.shards).toEqual({ count: 2, configHash: shards[0]!.shard!.configHash, indices: [0, 1] })
    // the merged percentiles are those of one histogram holding every shard's values
    const one = createHistogram()
    for (const s of shards) one.add(decodeHistogram(s.histogram))
    const all = summarizeMs(one)
    // (a percentile is its bucket's top, clamped to the largest value recorded, as in every result)
    const max = Math.max(...shards.map((s) => s.latencyMs.max))
    expect(merged.latencyMs.max).toBe(max)
    expect(decodeHistogram(merged.histogram).totalCount).toBe(one.totalCount)
    expect([merged.latencyMs.p50, merged.latencyMs.p90, merged.latencyMs.p99]).toEqual(
      [all.p50, all.p90, all.p99].map((p) => Math.min(p, max)),
    )

    // one shard alone is refused (exit 2), and accepted as partial with --allow-partial
    const alone = await runCli(['report', 'merge', outs[0]!])
    expect(alone.code).toBe(2)
    expect(alone.stderr).toMatch(/incomplete shard set: 1 of 2 shards missing \(1\/2\)/)
    const partial = parseJson<BenchValidateResult>(
      await runCli(['report', 'merge', outs[0]!, '--allow-partial', '--json']),
    )
    expect(partial.partial).toBe(true)
  }, 180_000)
})
