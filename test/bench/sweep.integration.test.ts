import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { labRevocationStore } from '../../src/lab/revocations.js'
import type { BenchSweepResult } from '../../src/results/types.js'
import { parseJson, runCli } from '../helpers/cli.js'
import { LAB_DIR, LAB_ENV } from '../integration/lab-env.js'

const dir = mkdtempSync(join(tmpdir(), 'idtool-sweep-it-'))
const store = labRevocationStore(LAB_DIR)

beforeAll(async () => {
  // integration files run one at a time, so no other test holds revoked tokens now: start from zero events
  // (a lab kept from earlier runs or benchmarks can hold tens of thousands, above this test's levels)
  await store.clear()
})

afterAll(async () => {
  // leave the shared lab with a low count: remove what this test seeded (only seeded rows: deleting the
  // events other tests made through the API would make their revoked tokens valid again)
  await store.clear({ seededOnly: true })
  rmSync(dir, { recursive: true, force: true })
})

function checkPoints(r: BenchSweepResult, levels: number[], requests: number) {
  expect(r.kind).toBe('bench.sweep')
  expect(r.version).toBe(3)
  expect(r.interrupted).toBe(false)
  expect(r.points).toHaveLength(levels.length)
  const events = r.points.map((p) => p.revocationEvents)
  expect([...events].sort((x, y) => x - y)).toEqual(events)
  r.points.forEach((p, i) => {
    expect(p.revocationEvents).toBeGreaterThanOrEqual(levels[i]!)
    expect(p.result.kind).toBe('bench.validate')
    expect(p.result.requests.total).toBe(requests)
    expect(p.errors).toBe(0)
    expect(p.result.requests.ok).toBe(requests)
    expect(p.rps).toBe(p.result.throughput.rps)
    expect(p.rps).toBeGreaterThan(0)
    expect(p.latencyMs.p99).toBeGreaterThanOrEqual(p.latencyMs.p50)
    expect(Object.keys(p.result.backends).sort()).toEqual(['ks1', 'ks2'])
  })
}

describe('idtool bench sweep on the lab', () => {
  it('--seed-direct: levels 0, 200, 2000 give ordered, complete rows, a table, JSON and HTML', async () => {
    const out = join(dir, 'sweep.json')
    const html = join(dir, 'sweep.html')
    const r = await runCli(
      [
        'bench',
        'sweep',
        '--revocations',
        '0,200,2000',
        '--seed-direct',
        '--token-count',
        '30',
        '--concurrency',
        '4',
        '--requests',
        '300',
        '--label',
        'integration',
        '--out',
        out,
        '--html',
        html,
      ],
      { env: LAB_ENV, timeoutMs: 240_000 },
    )
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/revocation events .* rps vs first/)
    expect(r.stdout).toContain('throughput (validations/s) by revocation events')
    expect(r.stderr).toMatch(/primed: every token validated once/)
    const saved = JSON.parse(readFileSync(out, 'utf8')) as BenchSweepResult
    checkPoints(saved, [0, 200, 2000], 300)
    expect(saved.label).toBe('integration')
    // seeded levels are exact unless API-made events alone exceed them
    expect(saved.points[2]!.revocationEvents).toBe(2000)
    expect(existsSync(html)).toBe(true)
    expect(readFileSync(html, 'utf8').match(/<svg /g)?.length).toBeGreaterThanOrEqual(3)
    expect(await store.count()).toBeGreaterThanOrEqual(2000)
  })

  it('through the API (revoke-bulk): the count rises by the difference', async () => {
    await store.clear({ seededOnly: true })
    const before = await store.count()
    const r = await runCli(
      [
        'bench',
        'sweep',
        '--revocations',
        `${before},${before + 25}`,
        '--token-count',
        '20',
        '--concurrency',
        '2',
        '--requests',
        '100',
        '--json',
      ],
      { env: LAB_ENV, timeoutMs: 240_000 },
    )
    expect(r.code, r.stderr).toBe(0)
    const res = parseJson<BenchSweepResult>(r)
    checkPoints(res, [before, before + 25], 100)
    expect(r.stderr).toMatch(/level [\d,]+: [\d,]+ -> [\d,]+ events \(\+25/)
    expect(await store.count()).toBeGreaterThanOrEqual(before + 25)
  })

  it('--workers 2 --watch-lab: every level on two threads, merged exactly, and the lab workers judged per level', async () => {
    const r = await runCli(
      [
        'bench',
        'sweep',
        '--revocations',
        '0,200',
        '--seed-direct',
        '--token-count',
        '20',
        '--concurrency',
        '4',
        '--requests',
        '400',
        '--workers',
        '2',
        '--watch-lab',
        '--json',
      ],
      { env: LAB_ENV, timeoutMs: 240_000 },
    )
    expect(r.code, r.stderr).toBe(0)
    const res = parseJson<BenchSweepResult>(r)
    checkPoints(res, [0, 200], 400)
    for (const p of res.points) {
      // two shards of one load, merged: their counts add up to the whole
      expect(p.result.shards?.count).toBe(2)
      const m = p.result.memory!
      expect(Object.keys(m.processes).sort()).toEqual(['ks1', 'ks2'])
      for (const proc of Object.values(m.processes)) {
        expect(proc.rssAnon.samples).toBeGreaterThanOrEqual(2)
        expect(proc.rssAnon.series!.at(-1)![0]).toBe(400)
      }
      expect(['leak', 'no-leak', 'inconclusive']).toContain(m.verdict)
    }
  })

  it('--seed-direct refuses a target that is not the lab', async () => {
    const r = await runCli(
      [
        'bench',
        'sweep',
        '--revocations',
        '0,10',
        '--seed-direct',
        '--token-count',
        '1',
        '--os-auth-url',
        'http://192.0.2.1:5000/v3',
      ],
      { env: { ...LAB_ENV, OS_USERNAME: 'admin', OS_PASSWORD: 'x' }, timeoutMs: 60_000 },
    )
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--seed-direct works on the idtool lab only/)
  })
})
