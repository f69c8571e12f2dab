import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { prepareValidateTokens } from '../../src/bench/token-pool.js'
import { runValidateBench, type ValidateBenchOptions } from '../../src/bench/validate.js'
import { type KeystoneSession, openSession } from '../../src/keystone/session.js'
import type { ValidateToken } from '../../src/keystone/validation.js'
import { labStatus } from '../../src/lab/status.js'
import { resolveAuthOrLab } from '../../src/lab/target.js'
import { decodeHistogram } from '../../src/metrics/histogram.js'
import type { BenchValidateResult, WorkerStatus } from '../../src/results/types.js'
import { parseJson, runCli } from '../helpers/cli.js'
import { LAB_DIR, LAB_ENV } from '../integration/lab-env.js'

// Real lab: Keystone workers behind haproxy (127.0.0.1:5000), which names the worker in X-Backend.
// Loads are small and bounded (count and time): the machine and the lab are shared.

let session: KeystoneSession
let workers: WorkerStatus[]
let url: string
const dir = mkdtempSync(join(tmpdir(), 'idtool-bench-it-'))

beforeAll(async () => {
  const status = await labStatus(LAB_DIR)
  expect(status.healthy).toBe(true)
  workers = status.keystone.workers
  session = await openSession(resolveAuthOrLab({ flags: {}, env: { ...process.env, ...LAB_ENV } }))
  url = `${session.client.base}/auth/tokens`
})

afterAll(async () => {
  await session?.close()
  rmSync(dir, { recursive: true, force: true })
})

async function freshTokens(count: number): Promise<ValidateToken[]> {
  return (await prepareValidateTokens(session, { count })).tokens
}

function options(tokens: ValidateToken[], over: Partial<ValidateBenchOptions>): ValidateBenchOptions {
  return {
    url,
    callerToken: session.caller.token,
    tokens,
    model: 'closed',
    concurrency: 4,
    rate: null,
    connections: 4,
    method: 'GET',
    nocatalog: true,
    keepalive: true,
    timeoutMs: 30_000,
    warmupMs: 0,
    backendHeader: 'x-backend',
    ...over,
  }
}

function expectEveryBackend(r: BenchValidateResult) {
  const names = workers.map((w) => w.name).sort()
  expect(Object.keys(r.backends).sort()).toEqual(names)
  for (const name of names) expect(r.backends[name]!.count).toBeGreaterThan(0)
}

describe('idtool bench validate on the lab, through haproxy', () => {
  it('closed model (CLI): every request answers 200 and every backend shows up', async () => {
    const out = join(dir, 'closed.json')
    const hgrm = join(dir, 'closed.hgrm')
    const r = await runCli(
      [
        'bench',
        'validate',
        '--token-count',
        '20',
        '--concurrency',
        '4',
        '--requests',
        '200',
        '--nocatalog',
        '--out',
        out,
        '--hgrm',
        hgrm,
        '--json',
      ],
      { env: LAB_ENV, timeoutMs: 180_000 },
    )
    expect(r.code, r.stderr).toBe(0)
    const res = parseJson<BenchValidateResult>(r)
    expect(res).toMatchObject({
      kind: 'bench.validate',
      target: 'http://127.0.0.1:5000/v3/auth/tokens',
      model: 'closed',
      concurrency: 4,
      connections: 4,
      requests: { total: 200, ok: 200, errors: 0, unexpectedStatus: 0 },
      statusCodes: { '200': 200 },
      errors: {},
      interrupted: false,
    })
    expectEveryBackend(res)
    expect(res.cold?.count).toBe(20)
    expect(res.warm?.count).toBe(180)
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(res)
    expect(readFileSync(hgrm, 'utf8')).toMatch(/Value\s+Percentile\s+TotalCount/)
    // no token on stdout or in the saved result
    expect(r.stdout).not.toContain(session.caller.token)
  })

  it('open model: the schedule is kept, every request answers 200, every backend shows up', async () => {
    const tokens = await freshTokens(10)
    const r = await runValidateBench(
      options(tokens, {
        model: 'open',
        concurrency: null,
        rate: 30,
        connections: 6,
        durationMs: 3000,
        method: 'HEAD',
      }),
    )
    expect(r.requests).toMatchObject({ total: 90, ok: 90, errors: 0, unexpectedStatus: 0 })
    expect(r.requests.late).toEqual(expect.any(Number))
    expect(r.statusCodes).toEqual({ '200': 90 })
    expect(r.method).toBe('HEAD')
    expect(r.latencyUncorrectedMs).not.toBeNull()
    // corrected latency is never below the uncorrected one
    expect(r.latencyMs.max).toBeGreaterThanOrEqual(r.latencyUncorrectedMs!.max)
    expectEveryBackend(r)
  })

  it('revoked tokens answer 404 and count as expected, not as errors', async () => {
    const tokens = await freshTokens(8)
    for (const t of tokens.slice(0, 3)) {
      const rv = await session.client.revoke(session.caller.token, t.token)
      expect(rv.status).toBe(204)
      t.state = 'revoked'
    }
    const r = await runValidateBench(options(tokens, { concurrency: 2, connections: 2, requests: 80 }))
    expect(r.requests).toEqual({ total: 80, ok: 80, errors: 0, unexpectedStatus: 0 })
    expect(r.statusCodes).toEqual({ '200': 50, '404': 30 })
    expect(r.errors).toEqual({})
    for (const b of Object.values(r.backends)) expect(b.errors).toBe(0)
  })

  it('a backend stopped mid-run produces counted errors and a complete report', async () => {
    const tokens = await freshTokens(10)
    const victim = workers.at(-1)!
    const pids = [victim.pid, victim.workerPid].filter((p): p is number => typeof p === 'number')
    expect(pids.length).toBeGreaterThan(0)
    let stopped = false
    const stop = setTimeout(() => {
      for (const pid of pids) process.kill(pid, 'SIGSTOP')
      stopped = true
    }, 1000)
    const resume = setTimeout(() => {
      for (const pid of pids) process.kill(pid, 'SIGCONT')
    }, 3500)
    let r: BenchValidateResult
    try {
      r = await runValidateBench(
        options(tokens, { concurrency: 4, connections: 4, durationMs: 5000, timeoutMs: 1000 }),
      )
    } finally {
      clearTimeout(stop)
      clearTimeout(resume)
      // always resume the worker, whatever happened
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGCONT')
        } catch {
          /* gone */
        }
      }
      await waitHealthy(victim.url)
    }
    expect(stopped).toBe(true)
    expect(r.interrupted).toBe(false)
    expect(r.errors.timeout).toBeGreaterThan(0)
    expect(r.requests.errors).toBeGreaterThan(0)
    expect(r.requests.ok).toBeGreaterThan(0)
    expect(r.requests.total).toBe(r.requests.ok + r.requests.errors + r.requests.unexpectedStatus)
    // the other backend(s) kept answering
    for (const w of workers.slice(0, -1)) expect(r.backends[w.name]?.count).toBeGreaterThan(0)
    expect(decodeHistogram(r.histogram).totalCount).toBe(r.requests.ok + r.requests.unexpectedStatus)
  })

  it('Ctrl-C stops the run, prints and saves the partial result, exits 130', async () => {
    const pool = join(dir, 'ctrlc-pool.jsonl')
    const p = await prepareValidateTokens(session, { count: 5, file: pool })
    expect(p.tokens.length).toBe(5)
    const out = join(dir, 'ctrlc.json')
    let timer: NodeJS.Timeout | undefined
    const r = await runCli(
      ['bench', 'validate', '--tokens', pool, '-c', '2', '-d', '60s', '--out', out, '--json'],
      {
        env: LAB_ENV,
        timeoutMs: 60_000,
        onSpawn: (pid) => {
          timer = setTimeout(() => process.kill(pid, 'SIGINT'), 5000)
        },
      },
    )
    clearTimeout(timer)
    expect(r.code, r.stderr).toBe(130)
    const res = parseJson<BenchValidateResult>(r)
    expect(res.interrupted).toBe(true)
    expect(res.requests.total).toBeGreaterThan(0)
    expect(res.durationMs).toBeLessThan(30_000)
    expect(existsSync(out)).toBe(true)
    expect(JSON.parse(readFileSync(out, 'utf8')).interrupted).toBe(true)
  })
})

async function waitHealthy(workerUrl: string): Promise<void> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    try {
      const res = await request(`${workerUrl}/v3`, { headersTimeout: 2000, bodyTimeout: 2000 })
      await res.body.dump()
      if (res.statusCode === 200) return
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 200))
  }
}
