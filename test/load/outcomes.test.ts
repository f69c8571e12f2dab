import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runValidateBench } from '../../src/bench/validate.js'
import type { RequestOutcome, TransportErrorClass } from '../../src/load/events.js'
import { OutcomeRecorder, UNKNOWN_BACKEND } from '../../src/load/recorder.js'
import { decodeHistogram, summarizeMs } from '../../src/metrics/histogram.js'
import { validateOptions } from '../fixtures/validate-options.js'
import { startServer, type TestServer } from '../helpers/server.js'

// Issue 12 item 5: an outage (haproxy answering 503 in 0.2 ms with no backend left) must not make a run
// look fast. Throughput and latency are those of the expected answers; failures are counted apart.

let seq = 0
function outcome(
  ms: number,
  status: number,
  backend: string | undefined,
  errorClass?: TransportErrorClass,
): RequestOutcome {
  const t = 1000 + seq * 10
  return {
    seq: seq++,
    tag: 0,
    intendedAt: t,
    queuedAt: t,
    sentAt: t,
    endAt: t + ms,
    status: errorClass ? 0 : status,
    backend,
    errorClass,
    error: errorClass ? new Error(errorClass) : undefined,
  }
}

describe('OutcomeRecorder with a mix of 200, 404 and 503 answers', () => {
  const rec = new OutcomeRecorder(true)
  // 60 valid tokens answering 200 in 20 ms, 20 revoked ones answering 404 in 30 ms (both expected),
  // 900 valid tokens answered 503 by the load balancer in 0.25 ms, 10 refused connections in 1 ms
  for (let i = 0; i < 60; i++) rec.record(outcome(20, 200, i % 2 ? 'ks1' : 'ks2'), 200, i < 5)
  for (let i = 0; i < 20; i++) rec.record(outcome(30, 404, i % 2 ? 'ks1' : 'ks2'), 404, false)
  for (let i = 0; i < 900; i++) rec.record(outcome(0.25, 503, undefined), 200, false)
  for (let i = 0; i < 10; i++) rec.record(outcome(1, 0, undefined, 'connect'), 200, false)
  rec.abandon(2)

  it('counts expected answers, unexpected answers and transport errors apart', () => {
    expect(rec.ok).toBe(80)
    expect(rec.unexpectedStatus).toBe(900)
    expect(rec.transportErrors).toBe(12)
    expect(rec.failures).toBe(912)
    expect(rec.total).toBe(992)
    expect(rec.statusCodes()).toEqual({ '200': 60, '404': 20, '503': 900 })
    expect(rec.errors()).toEqual({ connect: 10, http_503: 900, timeout: 2 })
  })

  it('takes percentiles from the expected answers only', () => {
    for (const h of [rec.latency, rec.uncorrected!]) {
      const s = summarizeMs(h)
      expect(s.count).toBe(80)
      expect(s.p50).toBeGreaterThanOrEqual(19.9) // not the 503s' 0.25 ms
      expect(s.p50).toBeLessThanOrEqual(20.1)
      expect(s.p99).toBeCloseTo(30, 0)
      expect(s.max).toBeCloseTo(30, 0)
    }
    expect(rec.cold.totalCount + rec.warm.totalCount).toBe(80)
    expect(rec.cold.totalCount).toBe(5)
  })

  it('keeps the failures latency in its own histogram', () => {
    // the 900 answers and the 10 errors that ended; the 2 abandoned have no time
    expect(rec.failureLatency.totalCount).toBe(910)
    const f = summarizeMs(rec.failureLatency)
    expect(f.p50).toBeCloseTo(0.25, 2)
    expect(f.max).toBeCloseTo(1, 2)
  })

  it('per backend: every answer counted, latency of the expected ones only', () => {
    const b = rec.backends()
    expect(b.ks1).toMatchObject({ count: 40, errors: 0 })
    expect(b.ks1!.latencyMs.p50).toBeGreaterThanOrEqual(19.9)
    expect(b[UNKNOWN_BACKEND]).toMatchObject({ count: 900, errors: 900 })
    expect(decodeHistogram(b[UNKNOWN_BACKEND]!.histogram!).totalCount).toBe(0)
  })
})

// The same through the engine: a stand-in load balancer whose expected answers take 15 ms and whose
// 503s (no backend header, as haproxy's own) are immediate.
let srv: TestServer
beforeAll(async () => {
  srv = await startServer(async (req, res) => {
    const subject = String(req.headers['x-subject-token'])
    if (subject.startsWith('down')) {
      res.writeHead(503, { 'content-type': 'text/html' })
      res.end('<html><body><h1>503 Service Unavailable</h1></body></html>')
      return
    }
    await new Promise((r) => setTimeout(r, 15))
    const status = subject.startsWith('rev') ? 404 : 200
    res.writeHead(status, { 'x-backend': 'ks1', 'content-type': 'application/json' })
    res.end('{}')
  })
})
afterAll(async () => {
  await srv.close()
})

describe('bench validate result of a run with 200, 404 and 503 answers', () => {
  it('throughput and latency are those of the expected answers; failures have their own', async () => {
    const tokens = [
      { token: 'good' },
      { token: 'rev1', state: 'revoked' as const },
      ...Array.from({ length: 8 }, (_, i) => ({ token: `down${i}` })),
    ]
    const r = await runValidateBench(validateOptions(`${srv.url}/v3/auth/tokens`, { tokens, requests: 100 }))
    expect(r.requests).toEqual({ total: 100, ok: 20, errors: 0, unexpectedStatus: 80 })
    expect(r.statusCodes).toEqual({ '200': 10, '404': 10, '503': 80 })
    const seconds = r.durationMs / 1000
    // rps counts the 20 expected answers, not the 100
    expect(r.throughput.rps).toBeCloseTo(20 / seconds, 0)
    // 80% of the answers were instant 503s: with them, p50 would be well under 1 ms
    expect(r.latencyMs.p50).toBeGreaterThanOrEqual(14)
    expect(decodeHistogram(r.histogram).totalCount).toBe(20)
    expect(r.cold!.count + r.warm!.count).toBe(20)
    expect(r.backends.ks1).toMatchObject({ count: 20, errors: 0 })
    expect(r.backends.unknown).toMatchObject({ count: 80, errors: 80 })
    expect(r.failures).toMatchObject({ count: 80, rate: 0.8 })
    expect(r.failures!.rps).toBeCloseTo(80 / seconds, 0)
    expect(r.failures!.latencyMs!.p50).toBeLessThan(14)
    expect(decodeHistogram(r.failures!.histogram!).totalCount).toBe(80)
  })
})
