import { describe, expect, it } from 'vitest'
import { labStatus } from '../../../src/lab/status.js'
import type { BenchValidateResult } from '../../../src/results/types.js'
import { parseJson, runCli } from '../../helpers/cli.js'
import { LAB_DIR, LAB_ENV } from '../../integration/lab-env.js'

// Real lab, small and bounded: 4 s at 40 req/s with the memory of both Keystone workers watched. Whether
// they leak in 4 s is not asserted (too short to tell); that both are watched, sampled and judged is.

describe('bench validate --watch-lab (lab)', () => {
  it('samples the memory of every lab worker against requests and judges each', async () => {
    const status = await labStatus(LAB_DIR)
    expect(status.healthy).toBe(true)
    const workers = status.keystone.workers
    const r = await runCli(
      [
        'bench',
        'validate',
        '--watch-lab',
        '--token-count',
        '10',
        '--rate',
        '40',
        '--duration',
        '4s',
        '--json',
      ],
      { env: LAB_ENV, timeoutMs: 120_000 },
    )
    expect(r.code, r.stderr).toBe(0)
    const result = parseJson<BenchValidateResult>(r)
    expect(result.version).toBe(3)
    const m = result.memory!
    expect(m.x).toBe('requests')
    expect(['leak', 'no-leak', 'inconclusive']).toContain(m.verdict)
    expect(Object.keys(m.processes).sort()).toEqual(workers.map((w) => w.name).sort())
    for (const w of workers) {
      const p = m.processes[w.name]!
      expect(p.pid).toBe(w.workerPid)
      expect(['leak', 'no-leak', 'inconclusive']).toContain(p.verdict)
      // a sample per progress tick (every 500 ms) and one at the end, the same for RssAnon and VmRSS
      expect(p.rssAnon.samples).toBeGreaterThanOrEqual(5)
      expect(p.rssAnon.series).toHaveLength(p.rssAnon.samples)
      expect(p.vmRss.samples).toBe(p.rssAnon.samples)
      expect(p.rssAnon.startBytes).toBeGreaterThan(1024 * 1024)
      expect(p.vmRss.startBytes).toBeGreaterThanOrEqual(p.rssAnon.startBytes)
      // x is requests answered: increasing, and the last sample is the run's total
      const xs = p.rssAnon.series!.map((s) => s[0])
      expect(xs).toEqual([...xs].sort((a, b) => a - b))
      expect(xs.at(-1)).toBe(result.requests.total)
    }
  }, 150_000)

  it('a --pid that is not there is a usage error before any work', async () => {
    const r = await runCli(['bench', 'validate', '--pid', '999999999', '--token-count', '5', '--json'], {
      env: LAB_ENV,
      timeoutMs: 60_000,
    })
    expect(r.code).toBe(2)
    expect(parseJson<{ error: { message: string } }>(r).error.message).toMatch(
      /--pid 999999999: no such process/,
    )
  }, 90_000)
})
