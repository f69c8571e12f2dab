import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { prepareValidateTokens } from '../../src/bench/token-pool.js'
import { runValidateBench } from '../../src/bench/validate.js'
import { type KeystoneSession, openSession } from '../../src/keystone/session.js'
import { resolveAuthOrLab } from '../../src/lab/target.js'
import { decodeHistogram } from '../../src/metrics/histogram.js'
import type { GateResult } from '../../src/results/types.js'
import { parseJson, runCli } from '../helpers/cli.js'
import { LAB_ENV } from '../integration/lab-env.js'

// Issue 12 item 5 on the real lab (haproxy + Keystone): half the pool is garbage that Keystone answers
// 404 although the pool calls the tokens valid. Those answers come back fast and must count neither in
// throughput nor in latency; the gate's default failure-rate check fails the run although the usual
// thresholds pass. Bounded: 120 requests at concurrency 4.

let session: KeystoneSession
const dir = mkdtempSync(join(tmpdir(), 'idtool-failures-it-'))

beforeAll(async () => {
  session = await openSession(resolveAuthOrLab({ flags: {}, env: { ...process.env, ...LAB_ENV } }))
})
afterAll(async () => {
  await session?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('a run where half the answers are unexpected, on the lab', () => {
  it('reports them apart and the default gate check fails it (exit 3)', async () => {
    const p = await prepareValidateTokens(session, { count: 4 })
    // garbage subject tokens, said to be valid: Keystone answers 404, unexpected
    const garbage = Array.from({ length: 4 }, (_, i) => ({ token: `gAAAAABnot-a-fernet-token-${i}` }))
    const r = await runValidateBench({
      url: `${session.client.base}/auth/tokens`,
      callerToken: session.caller.token,
      tokens: [...p.tokens, ...garbage],
      model: 'closed',
      concurrency: 4,
      rate: null,
      connections: 4,
      requests: 120,
      method: 'GET',
      nocatalog: true,
      keepalive: true,
      timeoutMs: 30_000,
      warmupMs: 0,
      backendHeader: 'x-backend',
    })
    expect(r.requests.total).toBe(120)
    expect(r.requests.ok).toBe(60)
    expect(r.requests.unexpectedStatus).toBe(60)
    expect(r.statusCodes['404']).toBe(60)
    const seconds = r.durationMs / 1000
    expect(r.throughput.rps).toBeCloseTo(60 / seconds, 0)
    expect(decodeHistogram(r.histogram).totalCount).toBe(60)
    expect(r.failures).toMatchObject({ count: 60, rate: 0.5 })
    expect(decodeHistogram(r.failures!.histogram!).totalCount).toBe(60)
    for (const b of Object.values(r.backends))
      expect(decodeHistogram(b.histogram!).totalCount).toBe(b.count - b.errors)

    const file = join(dir, 'half.json')
    writeFileSync(file, JSON.stringify(r))
    const junit = join(dir, 'half.xml')
    const g = await runCli(['gate', file, '-t', 'rps >= 1', '-t', 'p50 < 30s', '--junit', junit])
    expect(g.code, g.stderr).toBe(3)
    expect(g.stdout).toMatch(/pass .*rps >= 1/)
    expect(g.stdout).toMatch(/pass .*p50 < 30s/)
    expect(g.stdout).toMatch(/FAIL .*failures\.rate < 1% \(default\).*50%/)
    expect(g.stdout).toContain('60 of 120 requests failed (60 unexpected answers, 0 transport errors)')
    expect(readFileSync(junit, 'utf8')).toMatch(
      /<testcase name="failures.rate &lt; 1% \(default\)"[^>]*>\s*<failure /,
    )
    // an explicit threshold replaces the default
    const lax = await runCli(['gate', file, '-t', 'rps >= 1', '-t', 'failures.rate <= 60%', '--json'])
    expect(lax.code, lax.stderr).toBe(0)
    expect(parseJson<GateResult>(lax).checks.map((c) => c.name)).toEqual(['rps >= 1', 'failures.rate <= 60%'])
    // the table shows the failures apart
    const rep = await runCli(['report', file])
    expect(rep.code, rep.stderr).toBe(0)
    expect(rep.stdout).toMatch(/expected answers\/s/)
    expect(rep.stdout).toMatch(/failures\s*│\s*60 \(50% of requests/)
  })
})
