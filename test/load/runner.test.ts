import { createServer } from 'node:net'
import { Agent } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RequestOutcome } from '../../src/load/events.js'
import { createLanes, type Lanes, lanesFrom } from '../../src/load/lanes.js'
import { type PhaseOptions, runPhase } from '../../src/load/runner.js'
import { startServer, type TestServer } from '../helpers/server.js'

let srv: TestServer
let active = 0
let maxActive = 0
const ports: number[] = []
const hangPaths = new Set(['/hang'])

beforeAll(async () => {
  srv = await startServer(async (req, res) => {
    active++
    maxActive = Math.max(maxActive, active)
    ports.push(req.socket.remotePort ?? 0)
    const url = new URL(req.url ?? '/', 'http://x')
    if (hangPaths.has(url.pathname)) return // never answers
    const delay = Number(url.searchParams.get('delay') ?? 0)
    if (delay) await new Promise((r) => setTimeout(r, delay))
    active--
    res.writeHead(url.pathname === '/teapot' ? 418 : 200, { 'X-Backend': `b${ports.length % 3}` })
    res.end('ok')
  })
})

afterAll(async () => {
  await srv.close()
})

function reset() {
  active = 0
  maxActive = 0
  ports.length = 0
  srv.requests.length = 0
}

function phase(lanes: Lanes, path: string, extra: Partial<PhaseOptions>) {
  const outcomes: RequestOutcome[] = []
  const origin = srv.url
  const opts = { origin, path, method: 'GET' as const, headers: ['x-test', '1'] }
  return {
    outcomes,
    run: () =>
      runPhase({
        pacing: { model: 'closed', concurrency: 1 },
        lanes,
        drainMs: 2000,
        lateThresholdMs: 2,
        backendHeader: 'x-backend',
        next: (seq) => ({ opts, tag: seq }),
        onOutcome: (o) => outcomes.push(o),
        ...extra,
      }),
  }
}

describe('runPhase, closed model', () => {
  it('keeps exactly C requests in flight and sends exactly N', async () => {
    reset()
    const lanes = createLanes(srv.url, { connections: 4, timeoutMs: 5000 })
    const p = phase(lanes, '/x?delay=5', { pacing: { model: 'closed', concurrency: 4 }, requests: 40 })
    const s = await p.run()
    await lanes.close()
    expect(s.issued).toBe(40)
    expect(s.completed).toBe(40)
    expect(s.abandoned).toBe(0)
    expect(srv.requests.length).toBe(40)
    expect(maxActive).toBe(4)
    expect(p.outcomes.every((o) => o.status === 200 && o.errorClass === undefined)).toBe(true)
    expect(p.outcomes.map((o) => o.seq).sort((a, b) => a - b)).toEqual([...Array(40).keys()])
    // headers reach the server; the backend header is read from the answer
    expect(srv.requests[0]?.headers['x-test']).toBe('1')
    expect(p.outcomes.every((o) => /^b[012]$/.test(o.backend ?? ''))).toBe(true)
    // timestamps are ordered
    for (const o of p.outcomes) {
      expect(o.sentAt).toBeGreaterThanOrEqual(o.queuedAt)
      expect(o.endAt).toBeGreaterThanOrEqual(o.sentAt)
    }
  })

  it('spreads requests evenly over its connections, round robin', async () => {
    reset()
    const lanes = createLanes(srv.url, { connections: 5, timeoutMs: 5000 })
    await phase(lanes, '/x', { pacing: { model: 'closed', concurrency: 5 }, requests: 100 }).run()
    await lanes.close()
    const perSocket = new Map<number, number>()
    for (const port of ports) perSocket.set(port, (perSocket.get(port) ?? 0) + 1)
    expect(perSocket.size).toBe(5)
    // each socket runs its own request loop: none is starved, none carries most of the load
    for (const n of perSocket.values()) {
      expect(n).toBeGreaterThanOrEqual(8)
      expect(n).toBeLessThanOrEqual(40)
    }
  })

  it('uses every connection even when concurrency is lower', async () => {
    reset()
    const lanes = createLanes(srv.url, { connections: 4, timeoutMs: 5000 })
    await phase(lanes, '/x', { pacing: { model: 'closed', concurrency: 1 }, requests: 8 }).run()
    await lanes.close()
    expect(new Set(ports).size).toBe(4)
  })

  it('queues when concurrency exceeds connections', async () => {
    reset()
    const lanes = createLanes(srv.url, { connections: 2, timeoutMs: 5000 })
    const p = phase(lanes, '/x?delay=5', { pacing: { model: 'closed', concurrency: 6 }, requests: 30 })
    const s = await p.run()
    await lanes.close()
    expect(s.completed).toBe(30)
    expect(maxActive).toBe(2)
    expect(new Set(ports).size).toBe(2)
  })

  it('opens a new connection per request without keep-alive (reset)', async () => {
    reset()
    const lanes = createLanes(srv.url, { connections: 2, timeoutMs: 5000 })
    const outcomes: RequestOutcome[] = []
    const opts = { origin: srv.url, path: '/x', method: 'GET' as const, reset: true }
    await runPhase({
      pacing: { model: 'closed', concurrency: 2 },
      lanes,
      requests: 12,
      drainMs: 2000,
      lateThresholdMs: 2,
      backendHeader: '',
      next: (seq) => ({ opts, tag: seq }),
      onOutcome: (o) => outcomes.push(o),
    })
    await lanes.close()
    expect(outcomes.length).toBe(12)
    expect(new Set(ports).size).toBe(12)
    expect(outcomes.every((o) => o.backend === undefined)).toBe(true)
  })

  it('stops after the duration and reports the elapsed time', async () => {
    reset()
    const lanes = createLanes(srv.url, { connections: 2, timeoutMs: 5000 })
    const p = phase(lanes, '/x?delay=2', { pacing: { model: 'closed', concurrency: 2 }, durationMs: 300 })
    const s = await p.run()
    await lanes.close()
    expect(s.completed).toBeGreaterThan(10)
    expect(s.durationMs).toBeGreaterThanOrEqual(295)
    expect(s.durationMs).toBeLessThan(2000)
  })

  it('counts a server that never answers as timeouts and still finishes', async () => {
    reset()
    const lanes = createLanes(srv.url, { connections: 2, timeoutMs: 300 })
    const p = phase(lanes, '/hang', { pacing: { model: 'closed', concurrency: 2 }, requests: 4 })
    const t0 = Date.now()
    const s = await p.run()
    await lanes.close({ force: true })
    expect(Date.now() - t0).toBeLessThan(5000)
    expect(s.completed).toBe(4)
    expect(p.outcomes.every((o) => o.errorClass === 'timeout' && o.status === 0)).toBe(true)
  })

  it('counts refused connections as connect errors without hanging', async () => {
    // a port that was open a moment ago and is closed now
    const tmp = createServer()
    await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r))
    const port = (tmp.address() as { port: number }).port
    await new Promise<void>((r) => tmp.close(() => r()))
    const origin = `http://127.0.0.1:${port}`
    const lanes = createLanes(origin, { connections: 2, timeoutMs: 1000 })
    const outcomes: RequestOutcome[] = []
    const s = await runPhase({
      pacing: { model: 'closed', concurrency: 2 },
      lanes,
      requests: 10,
      drainMs: 2000,
      lateThresholdMs: 2,
      backendHeader: 'x-backend',
      next: (seq) => ({ opts: { origin, path: '/', method: 'GET' }, tag: seq }),
      onOutcome: (o) => outcomes.push(o),
    })
    await lanes.close({ force: true })
    expect(s.completed).toBe(10)
    expect(outcomes.every((o) => o.errorClass === 'connect')).toBe(true)
  })

  it('abandons what is still out at the drain deadline', async () => {
    reset()
    // the per-request timeout is long; the drain deadline cuts the wait
    const lanes = createLanes(srv.url, { connections: 2, timeoutMs: 30_000 })
    const p = phase(lanes, '/hang', {
      pacing: { model: 'closed', concurrency: 2 },
      requests: 2,
      drainMs: 300,
    })
    const s = await p.run()
    await lanes.close({ force: true })
    expect(s.abandoned).toBe(2)
    expect(s.completed).toBe(0)
    expect(p.outcomes.length).toBe(0)
  })

  it('stops on abort and returns a partial, interrupted summary', async () => {
    reset()
    const lanes = createLanes(srv.url, { connections: 2, timeoutMs: 5000 })
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 200)
    const p = phase(lanes, '/x?delay=2', {
      pacing: { model: 'closed', concurrency: 2 },
      durationMs: 30_000,
      signal: ac.signal,
    })
    const t0 = Date.now()
    const s = await p.run()
    await lanes.close({ force: true })
    expect(s.interrupted).toBe(true)
    expect(Date.now() - t0).toBeLessThan(3000)
    expect(s.completed).toBeGreaterThan(0)
    expect(s.abandoned).toBe(0)
  })

  it('works over an injected dispatcher', async () => {
    reset()
    const agent = new Agent({ connections: 3 })
    const p = phase(lanesFrom(agent), '/teapot', { pacing: { model: 'closed', concurrency: 3 }, requests: 9 })
    const s = await p.run()
    await agent.close()
    expect(s.completed).toBe(9)
    expect(p.outcomes.every((o) => o.status === 418)).toBe(true)
  })
})

describe('runPhase, open model', () => {
  it('sends the planned number of requests on schedule, each with its intended time', async () => {
    reset()
    const lanes = createLanes(srv.url, { connections: 4, timeoutMs: 5000 })
    const progress: number[] = []
    const p = phase(lanes, '/x', {
      pacing: { model: 'open', rate: 100 },
      durationMs: 500,
      progressIntervalMs: 100,
      onProgress: (x) => progress.push(x.issued),
    })
    const s = await p.run()
    await lanes.close()
    expect(s.issued).toBe(50)
    expect(s.completed).toBe(50)
    const sorted = [...p.outcomes].sort((a, b) => a.seq - b.seq)
    const t0 = sorted[0]!.intendedAt
    sorted.forEach((o, i) => {
      expect(o.intendedAt - t0).toBeCloseTo(i * 10, 6)
      // never sent before its time
      expect(o.sentAt).toBeGreaterThanOrEqual(o.intendedAt)
    })
    // progress went up over time, and the final event shows everything
    expect(progress.length).toBeGreaterThanOrEqual(2)
    expect(progress.at(-1)).toBe(50)
    // the run spans the schedule (0.49 s for 50 requests at 100/s)
    expect(s.durationMs).toBeGreaterThanOrEqual(490)
  })

  it('counts scheduled requests it could not send on time as late', async () => {
    reset()
    // one connection, 20 ms answers, 200 requests per second: the schedule outruns the connection
    const lanes = createLanes(srv.url, { connections: 1, timeoutMs: 5000 })
    const p = phase(lanes, '/x?delay=20', { pacing: { model: 'open', rate: 200 }, requests: 20 })
    const s = await p.run()
    await lanes.close()
    expect(s.completed).toBe(20)
    expect(s.late).toBeGreaterThanOrEqual(15)
    expect(maxActive).toBe(1)
  })

  it('respects the in-flight cap and still measures from the intended time', async () => {
    reset()
    const lanes = createLanes(srv.url, { connections: 2, timeoutMs: 5000 })
    const p = phase(lanes, '/x?delay=30', {
      pacing: { model: 'open', rate: 500 },
      requests: 20,
      maxInFlight: 2,
    })
    const s = await p.run()
    await lanes.close()
    expect(s.completed).toBe(20)
    const last = p.outcomes.reduce((a, b) => (a.seq > b.seq ? a : b))
    // the last request was intended at 38 ms but could only go out after ~9 rounds of 30 ms
    expect(last.sentAt - last.intendedAt).toBeGreaterThan(100)
  })
})
