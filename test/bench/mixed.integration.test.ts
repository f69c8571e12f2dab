import { describe, expect, it } from 'vitest'
import type { BenchMixedResult } from '../../src/results/types.js'
import { parseJson, runCli } from '../helpers/cli.js'
import { LAB_ENV } from '../integration/lab-env.js'

// Real lab, low rates, 2 s phases: the machine and the lab are shared.

describe('bench mixed on the lab', () => {
  it('validates before, during and after revocations, and Keystone prunes the seeded expired events', async () => {
    const r = await runCli(
      [
        'bench',
        'mixed',
        '--rate',
        '20',
        '--revoke-rate',
        '5',
        '--before',
        '2s',
        '--during',
        '2s',
        '--after',
        '2s',
        '--token-count',
        '10',
        '--expired-events',
        '50',
        '--json',
      ],
      { env: LAB_ENV, timeoutMs: 120_000 },
    )
    expect([0, 4], r.stderr).toContain(r.code)
    const res = parseJson<BenchMixedResult>(r)
    expect(res.kind).toBe('bench.mixed')
    expect(res.expiredEvents).toBe(50)
    expect(res.phases.map((p) => p.name)).toEqual(['before', 'during', 'after'])
    for (const p of res.phases) {
      expect(p.requests.total).toBe(40)
      expect(p.latencyMs.p99).toBeGreaterThan(0)
    }
    expect(res.tokens).toEqual({ validate: 10, revoke: 10 })
    const v = res.revocations
    expect(v.sent).toBe(10)
    expect(v.revoked + v.failed).toBe(10)
    expect(Object.values(v.failures).reduce((a, b) => a + b, 0)).toBe(v.failed)
    // the first revocation deletes the expired events: the count rises by less than the revocations made
    const during = res.phases[1]!.revocationEvents
    expect(during.start).toBeGreaterThanOrEqual(50)
    expect(
      during.end! - during.start!,
      JSON.stringify(res.phases.map((p) => p.revocationEvents)),
    ).toBeLessThan(v.revoked)
    expect(r.stderr).toContain('seeded 50 expired revocation events')
  }, 150_000)
})
