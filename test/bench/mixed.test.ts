import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { benchMixed, type MixedBenchSettings, type MixedEvent } from '../../src/bench/mixed.js'
import {
  classifyRevocationFailure,
  REVOCATION_FAILURE_KINDS,
  runRevocationLoad,
} from '../../src/bench/revoke-load.js'
import { ConnectionError, HttpError, IdtoolError, UsageError } from '../../src/errors.js'
import { compileMetric } from '../../src/metrics/catalogue.js'
import { renderMarkdown } from '../../src/report/markdown.js'
import { renderMixedTable } from '../../src/report/mixed.js'
import { checkResult } from '../../src/results/load.js'
import { type FakeKeystone, fakeKeystoneEnv, startFakeKeystone } from '../keystone/fake-keystone.js'

describe('classifyRevocationFailure', () => {
  const http = (status: number, detail: string) =>
    new HttpError(status, `Keystone failed to revoke a token (${status}): ${detail}`)
  it.each([
    [http(500, '(pymysql.err.OperationalError) (1213, Deadlock found when trying to get lock)'), 'deadlock'],
    [http(500, '(1205, Lock wait timeout exceeded; try restarting transaction)'), 'lock-wait-timeout'],
    [http(500, '(sqlite3.OperationalError) database is locked'), 'database-locked'],
    [http(409, 'Conflict occurred attempting to store revoke_event'), 'http-409'],
    [http(409, 'Deadlock found'), 'deadlock'],
    [http(503, 'Service Unavailable'), 'http-5xx'],
    [http(500, 'An unexpected error prevented the server from fulfilling your request.'), 'http-5xx'],
    [http(403, 'forbidden'), 'http-other'],
    [new IdtoolError('Keystone answered 401', { code: 'AUTH' }), 'http-other'],
    [
      new ConnectionError('timed out waiting for response headers', { code: 'UND_ERR_HEADERS_TIMEOUT' }),
      'timeout',
    ],
    [new ConnectionError('connection reset by peer', { code: 'ECONNRESET' }), 'transport'],
  ] as const)('%s -> %s', (err, kind) => {
    expect(classifyRevocationFailure(err)).toBe(kind)
  })
})

describe('runRevocationLoad', () => {
  it('sends the planned revocations on schedule, each token once, and sorts the failures', async () => {
    const tokens = Array.from({ length: 50 }, (_, i) => `t${i}`)
    const seen: string[] = []
    const tally = await runRevocationLoad({
      tokens,
      rate: 100,
      durationMs: 200,
      revoke: async (t) => {
        seen.push(t)
        if (t === 't3') throw new HttpError(500, 'Keystone failed (500): database is locked')
        if (t === 't5') throw new HttpError(409, 'Keystone could not revoke a token (409)')
        return t === 't7' ? 404 : 204
      },
    })
    expect(tally.planned).toBe(20)
    expect(seen).toEqual(tokens.slice(0, 20))
    expect(tally.sent).toBe(20)
    expect(tally.revoked).toBe(17)
    expect(tally.failed).toBe(3)
    expect(tally.failureRecord()).toMatchObject({ 'database-locked': 1, 'http-409': 1, 'http-other': 1 })
    expect(Object.keys(tally.failureRecord())).toEqual([...REVOCATION_FAILURE_KINDS])
    expect(tally.latency.totalCount).toBe(20)
    // 20 at 100/s: the last one intended 190 ms after the first
    expect(tally.endMs - tally.startMs).toBeGreaterThanOrEqual(185)
  })

  it('stops sending when the signal aborts', async () => {
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 120)
    const tally = await runRevocationLoad({
      tokens: Array.from({ length: 100 }, (_, i) => `t${i}`),
      rate: 50,
      durationMs: 2000,
      revoke: async () => 204,
      signal: ac.signal,
    })
    expect(tally.sent).toBeGreaterThan(3)
    expect(tally.sent).toBeLessThan(12)
  })
})

describe('benchMixed (fake Keystone)', () => {
  let fk: FakeKeystone
  beforeAll(async () => {
    fk = await startFakeKeystone()
  })
  afterAll(() => fk.close())
  beforeEach(() => fk.reset())

  const settings = (over: Partial<MixedBenchSettings> = {}): MixedBenchSettings => ({
    validate: {
      model: 'open',
      concurrency: null,
      rate: 100,
      connections: 4,
      durationMs: 300,
      method: 'GET',
      nocatalog: false,
      keepalive: true,
      timeoutMs: 2000,
      warmupMs: 0,
      backendHeader: 'x-backend',
    },
    phases: { before: 300, during: 300, after: 300 },
    revokeRate: 50,
    tokenCount: 5,
    expiredEvents: 0,
    ...over,
  })
  const run = (s: MixedBenchSettings, events: MixedEvent[] = [], confirmed: string[] = []) =>
    benchMixed(
      { settings: s, auth: { flags: {}, env: fakeKeystoneEnv(fk.authUrl) }, labDir: '/nonexistent-lab' },
      {
        confirm: async (url, what) => {
          confirmed.push(`${url}: ${what}`)
        },
        interruptSignal: () => new AbortController().signal,
        warn: () => {},
        onEvent: (e) => events.push(e),
      },
    )

  it('runs before, during and after, revokes only during, and counts the events at every boundary', async () => {
    const events: MixedEvent[] = []
    const confirmed: string[] = []
    const r = await run(settings(), events, confirmed)
    expect(confirmed).toEqual([
      `${fk.authUrl.replace(/\/$/, '')}: issue and revoke 15 tokens while validating`,
    ])
    expect(r.phases.map((p) => p.name)).toEqual(['before', 'during', 'after'])
    for (const p of r.phases) {
      expect(p.requests.total).toBe(30)
      expect(p.requests.ok).toBe(30)
    }
    expect(r.tokens).toEqual({ validate: 5, revoke: 15 })
    expect(r.revocations).toMatchObject({ planned: 15, sent: 15, revoked: 15, failed: 0 })
    expect(fk.events).toHaveLength(15)
    expect(r.phases.map((p) => p.revocationEvents)).toEqual([
      { start: 0, end: 0 },
      { start: 0, end: 15 },
      { start: 15, end: 15 },
    ])
    // the validation pool is never revoked: every validation answered 200
    expect(r.phases.every((p) => p.statusCodes['200'] === 30)).toBe(true)
    expect(events.filter((e) => e.type === 'phase-done')).toHaveLength(3)
    // the result is a valid bench.mixed result, rendered and gated per phase
    expect(() => checkResult(JSON.parse(JSON.stringify(r)), 'r.json')).not.toThrow()
    expect(renderMixedTable(r)).toContain('during')
    expect(renderMarkdown(r)).toContain('| during |')
    const p99 = compileMetric('bench.mixed', 'during.p99').resolve(r)
    expect(p99[0]!.value).toBe(r.phases[1]!.latencyMs.p99)
    expect(compileMetric('bench.mixed', 'revocations.failed').resolve(r)[0]!.value).toBe(0)
    expect(compileMetric('bench.mixed', 'validations.failed').resolve(r)[0]!.value).toBe(0)
  })

  it('watches server memory through every phase: validations and revocations are the requests', async () => {
    const r = await benchMixed(
      {
        settings: settings(),
        auth: { flags: {}, env: fakeKeystoneEnv(fk.authUrl) },
        labDir: '/nonexistent-lab',
        // the fake Keystone serves from this process: watch it
        memory: { pids: [process.pid], leakThresholdBytesPerRequest: 256 },
      },
      {
        confirm: async () => {},
        interruptSignal: () => new AbortController().signal,
        warn: () => {},
        onEvent: () => {},
      },
    )
    const p = r.memory!.processes[`pid-${process.pid}`]!
    expect(p.pid).toBe(process.pid)
    // sampled at least at the end, at 3 x 30 validations + 15 revocations
    expect(p.rssAnon.series!.at(-1)![0]).toBe(105)
    expect(p.vmRss.samples).toBe(p.rssAnon.samples)
    expect(['leak', 'no-leak', 'inconclusive']).toContain(r.memory!.verdict)
    expect(() => checkResult(JSON.parse(JSON.stringify(r)), 'r.json')).not.toThrow()
  })

  it('counts failed revocations by kind', async () => {
    fk.faults.forbidEvery = 5
    const r = await run(settings())
    expect(r.revocations.failed).toBe(3)
    expect(r.revocations.failures['http-other']).toBe(3)
    expect(r.revocations.statusCodes).toMatchObject({ '204': 12, '403': 3 })
  })

  it('refuses --expired-events when the target is not the lab (exit 2), before any request', async () => {
    const err = await run(settings({ expiredEvents: 10 })).catch((e) => e)
    expect(err).toBeInstanceOf(UsageError)
    expect((err as UsageError).message).toContain('--expired-events works on the idtool lab only')
    expect(fk.requests).toBe(0)
  })

  it('refuses a closed-model run', async () => {
    const s = settings()
    await expect(
      run({ ...s, validate: { ...s.validate, model: 'closed', rate: null, concurrency: 2 } }),
    ).rejects.toThrow(/--rate/)
  })
})
