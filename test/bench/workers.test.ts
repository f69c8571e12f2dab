import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ValidateBenchOptions } from '../../src/bench/validate.js'
import { runValidateWorkers, sumProgress, type WorkersOptions, workerJobs } from '../../src/bench/workers.js'
import type { EngineProgress } from '../../src/load/engine.js'
import { createHistogram, decodeHistogram, summarizeMs } from '../../src/metrics/histogram.js'
import { mergeBenchResults } from '../../src/metrics/merge.js'
import { startServer, type TestServer } from '../helpers/server.js'

// `bench validate --workers N` against a real local server (the worker threads run dist/bench/validate-worker.js:
// `npm run build` first, as `npm test` does). 200 for every token, 404 for revoked ones; X-Backend alternates.
interface RecordedValues {
  reset(): void
  hasNext(): boolean
  next(): { valueIteratedTo: number; countAtValueIteratedTo: number }
}

let srv: TestServer
let n = 0
const seen: string[] = []

beforeAll(async () => {
  srv = await startServer(async (req, res) => {
    const i = n++
    const subject = String(req.headers['x-subject-token'])
    seen.push(subject)
    const status = subject.startsWith('rev') ? 404 : 200
    res.writeHead(status, { 'X-Backend': `ks${(i % 2) + 1}`, 'content-type': 'application/json' })
    res.end(JSON.stringify({ token: { audit_ids: ['x'] } }))
  })
})

afterAll(async () => {
  await srv.close()
})

const TOKENS = Array.from({ length: 10 }, (_, k) =>
  k === 9 ? { token: `rev${k}`, state: 'revoked' as const } : { token: `t${k}` },
)

function options(over: Partial<WorkersOptions> = {}): WorkersOptions {
  const base: ValidateBenchOptions = {
    url: `${srv.url}/v3/auth/tokens`,
    callerToken: 'caller',
    tokens: TOKENS,
    model: 'closed',
    concurrency: 4,
    rate: null,
    connections: 4,
    requests: 401,
    method: 'GET',
    nocatalog: false,
    keepalive: true,
    timeoutMs: 5000,
    warmupMs: 0,
    backendHeader: 'x-backend',
  }
  return { ...base, workers: 2, source: {}, ...over }
}

describe('workerJobs', () => {
  it('splits the load as shards do: requests and concurrency by divmod, tokens k to worker k mod N', async () => {
    const jobs = await workerJobs(options({ workers: 3 }), Date.now() + 5000)
    expect(jobs.map((j) => j.requests)).toEqual([134, 134, 133])
    expect(jobs.map((j) => j.concurrency)).toEqual([2, 1, 1])
    expect(jobs.map((j) => j.shard?.index)).toEqual([0, 1, 2])
    expect(new Set(jobs.map((j) => j.shard?.configHash)).size).toBe(1)
    const all = jobs.flatMap((j) => j.tokens.map((t) => t.token))
    expect(all.sort()).toEqual(TOKENS.map((t) => t.token).sort())
    expect(jobs[1]?.tokens.map((t) => t.token)).toEqual(['t1', 't4', 't7'])
    expect(new Set(jobs.map((j) => j.startAtEpochMs)).size).toBe(1)
  })
})

describe('sumProgress', () => {
  it('sums counts and rates; the phase is measure only when every worker measures', () => {
    const p = (over: Partial<EngineProgress>): EngineProgress => ({
      phase: 'measure',
      elapsedMs: 100,
      plannedMs: 1000,
      plannedRequests: null,
      issued: 10,
      completed: 9,
      inFlight: 1,
      late: 0,
      ok: 9,
      errors: 0,
      unexpectedStatus: 0,
      rps: 90,
      p50Ms: 1,
      p99Ms: 2,
      ...over,
    })
    const s = sumProgress([p({}), p({ phase: 'warmup', elapsedMs: 120, rps: 10, p99Ms: 5 })])
    expect(s).toMatchObject({ phase: 'warmup', elapsedMs: 120, issued: 20, ok: 18, rps: 100, p99Ms: 5 })
    expect(sumProgress([p({}), p({})]).phase).toBe('measure')
  })
})

describe('runValidateWorkers', () => {
  it('merges the two workers exactly: counts and percentiles of one histogram of every value', async () => {
    seen.length = 0
    const { merged, shards } = await runValidateWorkers(options())
    expect(shards).toHaveLength(2)
    expect(shards.map((s) => s.requests.total)).toEqual([201, 200])
    expect(merged.requests.total).toBe(401)
    expect(merged.requests.ok).toBe(401)
    expect(merged.requests.total).toBe(shards[0]!.requests.total + shards[1]!.requests.total)
    expect(merged.statusCodes['200']! + merged.statusCodes['404']!).toBe(401)
    expect(merged.statusCodes['404']).toBe(shards.reduce((a, s) => a + (s.statusCodes['404'] ?? 0), 0))
    // one histogram holding every value the workers recorded (value by value, not add())
    const one = createHistogram()
    for (const s of shards) {
      const h = decodeHistogram(s.histogram)
      const values = (h as unknown as { recordedValuesIterator: RecordedValues }).recordedValuesIterator
      values.reset()
      for (let guard = 0; values.hasNext() && guard < 100_000; guard++) {
        const x = values.next()
        one.recordValueWithCount(x.valueIteratedTo, x.countAtValueIteratedTo)
      }
    }
    const whole = summarizeMs(one)
    expect(decodeHistogram(merged.histogram).totalCount).toBe(401)
    expect(one.totalCount).toBe(401)
    for (const k of ['p50', 'p90', 'p99', 'p999'] as const)
      expect(merged.latencyMs[k]).toBe(Math.min(whole[k], merged.latencyMs.max))
    // the same as `report merge` of the two shards
    expect(mergeBenchResults(shards)).toEqual({ ...merged })
    expect(merged.shards).toMatchObject({ count: 2 })
    expect(shards.map((s) => s.shard?.index)).toEqual([0, 1])
    // every token of the pool was validated (the workers' shares cover it)
    expect(new Set(seen)).toEqual(new Set(TOKENS.map((t) => t.token)))
  })

  it('stops every worker on abort and still returns the partial merged result', async () => {
    const ac = new AbortController()
    // abort once the workers measure (not after a fixed time: thread start-up is slow on a busy machine)
    const run = runValidateWorkers(options({ requests: undefined, durationMs: 30_000 }), {
      signal: ac.signal,
      onProgress: (p) => {
        if (p.phase === 'measure' && p.completed > 0 && !ac.signal.aborted) setTimeout(() => ac.abort(), 200)
      },
    })
    const { merged, shards } = await run
    expect(merged.interrupted).toBe(true)
    expect(shards.every((s) => s.interrupted)).toBe(true)
    expect(merged.requests.total).toBe(shards[0]!.requests.total + shards[1]!.requests.total)
    expect(merged.requests.total).toBeGreaterThan(0)
  }, 20_000)
})
