import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runValidateBench, type ValidateBenchOptions } from '../../src/bench/validate.js'
import { validationUrl } from '../../src/keystone/validation.js'
import { decodeHistogram } from '../../src/metrics/histogram.js'
import type { BenchValidateResult } from '../../src/results/types.js'
import { startServer, type TestServer } from '../helpers/server.js'

// A stand-in for haproxy + Keystone validation (unit test only): 200 for known tokens, 404 for
// revoked ones, X-Backend alternating between two names, and a switch to stall one request.
let srv: TestServer
let n = 0
let stallAt = -1
let stallMs = 0
let failToken = ''

beforeAll(async () => {
  srv = await startServer(async (req, res) => {
    const i = n++
    if (i === stallAt) await new Promise((r) => setTimeout(r, stallMs))
    const subject = String(req.headers['x-subject-token'])
    const backend = `ks${(i % 2) + 1}`
    if (req.headers['x-auth-token'] !== 'caller') {
      res.writeHead(401, { 'X-Backend': backend })
      res.end()
      return
    }
    if (subject === failToken) {
      res.writeHead(500, { 'X-Backend': backend })
      res.end('boom')
      return
    }
    const status = subject.startsWith('rev') ? 404 : 200
    res.writeHead(status, { 'X-Backend': backend, 'content-type': 'application/json' })
    res.end(req.method === 'HEAD' ? undefined : JSON.stringify({ token: { audit_ids: ['x'] } }))
  })
})

afterAll(async () => {
  await srv.close()
})

function options(over: Partial<ValidateBenchOptions> = {}): ValidateBenchOptions {
  return {
    url: `${srv.url}/v3/auth/tokens`,
    callerToken: 'caller',
    tokens: [{ token: 'a' }, { token: 'b' }, { token: 'c' }, { token: 'rev1', state: 'revoked' }],
    model: 'closed',
    concurrency: 2,
    rate: null,
    connections: 2,
    requests: 40,
    method: 'GET',
    nocatalog: false,
    keepalive: true,
    timeoutMs: 5000,
    warmupMs: 0,
    backendHeader: 'x-backend',
    ...over,
  }
}

function expectPercentiles(p: unknown) {
  expect(p).toEqual({
    p50: expect.any(Number),
    p90: expect.any(Number),
    p99: expect.any(Number),
    p999: expect.any(Number),
    max: expect.any(Number),
    mean: expect.any(Number),
  })
}

describe('runValidateBench', () => {
  it('produces the bench.validate result shape (closed model)', async () => {
    n = 0
    srv.requests.length = 0
    const r = await runValidateBench(options({ nocatalog: true }))
    expect(Object.keys(r).sort()).toEqual(
      [
        'version',
        'kind',
        'target',
        'model',
        'concurrency',
        'connections',
        'rate',
        'method',
        'httpClient',
        'startedAt',
        'durationMs',
        'requests',
        'throughput',
        'latencyMs',
        'latencyUncorrectedMs',
        'statusCodes',
        'errors',
        'failures',
        'backends',
        'cold',
        'warm',
        'warmup',
        'histogram',
        'histogramUncorrected',
        'interrupted',
      ].sort(),
    )
    expect(r).toMatchObject({
      version: 3,
      kind: 'bench.validate',
      target: `${srv.url}/v3/auth/tokens`,
      model: 'closed',
      concurrency: 2,
      connections: 2,
      rate: null,
      method: 'GET',
      requests: { total: 40, ok: 40, errors: 0, unexpectedStatus: 0 },
      latencyUncorrectedMs: null,
      histogramUncorrected: null,
      statusCodes: { '200': 30, '404': 10 },
      errors: {},
      warmup: null,
      interrupted: false,
      failures: { count: 0, rate: 0, rps: 0, latencyMs: null },
    })
    expect(r.requests.late).toBeUndefined()
    expect(new Date(r.startedAt).toString()).not.toBe('Invalid Date')
    expect(r.durationMs).toBeGreaterThan(0)
    expect(r.throughput.rps).toBeGreaterThan(0)
    expectPercentiles(r.latencyMs)
    // requests carry both tokens and ?nocatalog
    const req = srv.requests[0]!
    expect(req.url).toBe('/v3/auth/tokens?nocatalog')
    expect(req.headers['x-auth-token']).toBe('caller')
    expect(['a', 'b', 'c', 'rev1']).toContain(req.headers['x-subject-token'])
    // the JSON result never contains a token
    expect(JSON.stringify(r)).not.toMatch(/"caller"|rev1/)
  })

  it('attributes answers to backends, each with a decodable histogram', async () => {
    n = 0
    const r = await runValidateBench(options({ requests: 40 }))
    expect(Object.keys(r.backends).sort()).toEqual(['ks1', 'ks2'])
    const ks1 = r.backends.ks1!
    expect(ks1.count + r.backends.ks2!.count).toBe(40)
    expect(ks1.errors).toBe(0)
    expect(ks1.latencyMs).toEqual({
      p50: expect.any(Number),
      p90: expect.any(Number),
      p99: expect.any(Number),
      max: expect.any(Number),
    })
    expect(decodeHistogram(ks1.histogram!).totalCount).toBe(ks1.count)
    const all = decodeHistogram(r.histogram)
    expect(all.totalCount).toBe(40)
    expect(all.maxValue / 1000).toBeCloseTo(r.latencyMs.max, 0)
  })

  it('the lean client and undici report the same requests, statuses, backends and sent headers', async () => {
    const runWith = async (client: 'undici' | undefined) => {
      n = 0
      srv.requests.length = 0
      const r = await runValidateBench(options({ requests: 24, nocatalog: true, client }))
      return {
        requests: r.requests,
        statusCodes: r.statusCodes,
        backends: Object.fromEntries(Object.entries(r.backends).map(([k, b]) => [k, b.count])),
        sent: srv.requests.map((q) => [
          q.method,
          q.url,
          q.headers['x-auth-token'],
          q.headers['x-subject-token'],
        ]),
      }
    }
    const lean = await runWith(undefined)
    const undici = await runWith('undici')
    expect(lean).toEqual(undici)
    expect((await runValidateBench(options({ requests: 2 }))).httpClient).toBe('h1')
    expect((await runValidateBench(options({ requests: 2, client: 'undici' }))).httpClient).toBe('undici')
    expect(lean.requests).toEqual({ total: 24, ok: 24, errors: 0, unexpectedStatus: 0 })
    expect(lean.backends).toEqual({ ks1: 12, ks2: 12 })
    expect(lean.sent[0]).toEqual(['GET', '/v3/auth/tokens?nocatalog', 'caller', 'a'])
  })

  it('counts revoked tokens answering 404 as expected, anything else as unexpected', async () => {
    n = 0
    failToken = 'b'
    try {
      const r = await runValidateBench(
        options({
          tokens: [
            { token: 'a' },
            { token: 'b' },
            { token: 'rev1', state: 'revoked' },
            { token: 'c', state: 'revoked' }, // answers 200: a revocation that did not take
            { token: 'skipped', state: 'failed' },
          ],
          requests: 40,
        }),
      )
      expect(r.requests).toEqual({ total: 40, ok: 20, errors: 0, unexpectedStatus: 20 })
      expect(r.statusCodes).toEqual({ '200': 20, '404': 10, '500': 10 })
      expect(r.errors).toEqual({ http_200: 10, http_500: 10 })
      expect(r.backends.ks1!.errors + r.backends.ks2!.errors).toBe(20)
      expect(srv.requests.some((q) => q.headers['x-subject-token'] === 'skipped')).toBe(false)
    } finally {
      failToken = ''
    }
  })

  it('reports the first validation of each token as cold and repeats as warm', async () => {
    const r = await runValidateBench(options({ requests: 30 }))
    expect(r.cold?.count).toBe(4)
    expect(r.warm?.count).toBe(26)
    expectPercentiles(r.cold?.latencyMs)
  })

  it('keeps warm-up apart and counts its validations as first uses', async () => {
    const r = await runValidateBench(options({ requests: 20, warmupMs: 150 }))
    expect(r.warmup?.requests).toBeGreaterThan(4)
    expect(r.warmup?.durationMs).toBeGreaterThanOrEqual(145)
    expect(r.requests.total).toBe(20)
    expect(r.cold).toBeNull()
    expect(r.warm?.count).toBe(20)
  })

  it('sends HEAD when asked', async () => {
    srv.requests.length = 0
    const r = await runValidateBench(options({ method: 'HEAD', requests: 8 }))
    expect(r.method).toBe('HEAD')
    expect(r.requests.ok).toBe(8)
    expect(srv.requests.every((q) => q.method === 'HEAD')).toBe(true)
  })

  it('counts an unreachable target by error class and completes the report', async () => {
    const r = await runValidateBench(options({ url: 'http://127.0.0.1:1/v3/auth/tokens', requests: 6 }))
    expect(r.requests).toEqual({ total: 6, ok: 0, errors: 6, unexpectedStatus: 0 })
    expect(r.errors).toEqual({ connect: 6 })
    expect(r.backends).toEqual({})
    expect(r.latencyMs.p50).toBe(0)
  })

  it('returns a partial result marked interrupted on abort', async () => {
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 250)
    const r = await runValidateBench(options({ requests: undefined, durationMs: 30_000 }), {
      signal: ac.signal,
    })
    expect(r.interrupted).toBe(true)
    expect(r.requests.total).toBeGreaterThan(0)
    expect(r.requests.errors).toBe(0)
    expect(r.durationMs).toBeLessThan(5000)
  })

  it('emits progress with live counts', async () => {
    const seen: Array<{ phase: string; completed: number }> = []
    await runValidateBench(options({ requests: undefined, durationMs: 300, warmupMs: 100 }), {
      progressIntervalMs: 50,
      onProgress: (p) => seen.push({ phase: p.phase, completed: p.completed }),
    })
    expect(seen.some((p) => p.phase === 'warmup')).toBe(true)
    expect(seen.filter((p) => p.phase === 'measure').length).toBeGreaterThanOrEqual(3)
    expect(seen.at(-1)!.completed).toBeGreaterThan(0)
  })

  it('rejects a pool without usable tokens and impossible settings', async () => {
    await expect(runValidateBench(options({ tokens: [{ token: 'x', state: 'failed' }] }))).rejects.toThrow(
      /no usable token/,
    )
    await expect(runValidateBench(options({ concurrency: 0 }))).rejects.toThrow(/concurrency/)
    await expect(runValidateBench(options({ model: 'open', rate: null }))).rejects.toThrow(/rate/)
  })
})

describe('validationUrl', () => {
  it('appends /auth/tokens to a v3 base', () => {
    expect(validationUrl('http://127.0.0.1:5000/v3')).toBe('http://127.0.0.1:5000/v3/auth/tokens')
    expect(validationUrl('https://k.example/identity/v3/')).toBe('https://k.example/identity/v3/auth/tokens')
  })
})

describe('coordinated omission', () => {
  // One connection, 200 requests per second for 2 s, and the 100th request stalls 500 ms. Requests
  // scheduled during the stall wait for the connection. Measured from their intended send time they
  // show the stall; measured from the actual send (what a closed-loop tool sees) only one request does.
  let open: BenchValidateResult

  beforeAll(async () => {
    n = 0
    stallAt = 100
    stallMs = 500
    try {
      open = await runValidateBench(
        options({
          model: 'open',
          concurrency: null,
          rate: 200,
          connections: 1,
          requests: undefined,
          durationMs: 2000,
        }),
      )
    } finally {
      stallAt = -1
    }
  }, 20_000)

  it('the corrected p99 shows the stall', () => {
    expect(open.requests.total).toBe(400)
    expect(open.requests.ok).toBe(400)
    expect(open.latencyMs.p99).toBeGreaterThan(300)
    expect(open.latencyMs.max).toBeGreaterThan(450)
  })

  it('the uncorrected p99 hides it (only its max shows the one stalled request)', () => {
    expect(open.latencyUncorrectedMs).not.toBeNull()
    expect(open.latencyUncorrectedMs!.p99).toBeLessThan(100)
    expect(open.latencyUncorrectedMs!.max).toBeGreaterThan(450)
    expect(decodeHistogram(open.histogramUncorrected!).totalCount).toBe(400)
  })

  it('the requests held up by the stall are counted as late', () => {
    // about 100 requests were scheduled during the 500 ms stall
    expect(open.requests.late).toBeGreaterThanOrEqual(60)
  })

  it('reports the open model fields', () => {
    expect(open.model).toBe('open')
    expect(open.rate).toBe(200)
    expect(open.concurrency).toBeNull()
    expectPercentiles(open.latencyUncorrectedMs)
  })
})
