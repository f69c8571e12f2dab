import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { decodeHistogram } from '../../../src/metrics/histogram.js'
import type { BenchValidateResult } from '../../../src/results/types.js'
import { parseJson, runCli } from '../../helpers/cli.js'
import { LAB_ENV } from '../../integration/lab-env.js'

// Real lab, small and bounded: `bench validate --workers 2` from the built CLI (bin/run.js, the worker entry
// in dist/), 300 validations over two worker threads, merged into one result.

const dir = mkdtempSync(join(tmpdir(), 'idtool-workers-it-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('bench validate --workers 2 (lab)', () => {
  it('runs two shards on worker threads and writes one exact merged result', async () => {
    const out = join(dir, 'workers.json')
    const r = await runCli(
      [
        'bench',
        'validate',
        '--token-count',
        '10',
        '--concurrency',
        '4',
        '--requests',
        '300',
        '--workers',
        '2',
        '--out',
        out,
        '--json',
      ],
      { env: LAB_ENV, timeoutMs: 120_000 },
    )
    expect(r.code, r.stderr).toBe(0)
    const result = parseJson<BenchValidateResult>(r)
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(result)
    expect(result.requests.total).toBe(300)
    expect(result.requests.ok).toBe(300)
    expect(result.mergedFrom).toBe(2)
    expect(result.shards).toMatchObject({ count: 2, indices: [0, 1] })
    expect(result.concurrency).toBe(4)
    expect(decodeHistogram(result.histogram).totalCount).toBe(300)
    const perBackend = Object.values(result.backends).reduce((a, b) => a + b.count, 0)
    expect(perBackend).toBe(300)
    expect(result.interrupted).toBe(false)
  }, 130_000)
})
