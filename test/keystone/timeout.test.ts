import { createServer, type Server, type Socket } from 'node:net'
import { Agent } from 'undici'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { networkErrorClass } from '../../src/errors.js'
import { Pacer, systemClock } from '../../src/keystone/bulk.js'
import { type CallContext, CallerAuth, callWithRetry } from '../../src/keystone/caller.js'
import { openSession } from '../../src/keystone/session.js'
import { TokenWire } from '../../src/keystone/wire.js'
import { H1Pool } from '../../src/load/h1-pool.js'
import { parseJson, runCli } from '../helpers/cli.js'
import { type FakeKeystone, startFakeKeystone } from './fake-keystone.js'
import { fakeCliEnv, passwordSettings, tempDir } from './helpers.js'

// Issue 12 item 8: --timeout of the bulk calls' lean client, counted from the start of the request
// (connecting and waiting for a free connection included), and a timed-out request retried per --retries.

/** A TCP server on 127.0.0.1:0 that accepts connections and never answers; counts them. */
async function silentServer(): Promise<{ port: number; accepted: () => number; close: () => Promise<void> }> {
  const sockets: Socket[] = []
  const srv: Server = createServer((s) => {
    sockets.push(s)
    s.on('error', () => {})
  })
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  return {
    port: (srv.address() as { port: number }).port,
    accepted: () => sockets.length,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy()
        srv.close(() => r())
      }),
  }
}

describe('lean bulk client: per-request timeout on a server that accepts and never answers', () => {
  let silent: Awaited<ReturnType<typeof silentServer>>
  let pool: H1Pool | undefined
  beforeAll(async () => {
    silent = await silentServer()
  })
  afterEach(() => pool?.close())
  afterAll(() => silent.close())

  it('fails within the timeout plus one sweep, retryable; a request waiting for a connection counts from its start', async () => {
    pool = new H1Pool('127.0.0.1', silent.port, { connections: 1, timeoutMs: 300 })
    const t0 = performance.now()
    const settle = (p: Promise<unknown>) =>
      p.then(
        () => ({ at: performance.now() - t0, err: undefined as unknown }),
        (err: unknown) => ({ at: performance.now() - t0, err }),
      )
    // one connection: the second request waits for the first, but its 300 ms run from when it was made
    const [a, b] = await Promise.all([
      settle(pool.request('GET', '/a', {})),
      settle(pool.request('GET', '/b', {})),
    ])
    for (const r of [a, b]) {
      expect(networkErrorClass(r.err)).toBe('timeout')
      expect(r.at).toBeGreaterThanOrEqual(290)
      // timeout + one sweep interval (75 ms) + scheduling slack; before the fix b took 600+ ms
      expect(r.at).toBeLessThan(300 + 75 + 150)
    }
  })

  it('TokenWire + the bulk retry loop: --retries 2 makes exactly 3 attempts, each cut at the timeout', async () => {
    const before = silent.accepted()
    const wire = new TokenWire(new Agent(), `http://127.0.0.1:${silent.port}/v3`, 300, { connections: 1 })
    const retried: number[] = []
    const ctx: CallContext = {
      auth: new CallerAuth(
        { token: 'caller', expiresAt: new Date(Date.now() + 3_600_000).toISOString() } as never,
        undefined,
        systemClock,
      ),
      pacer: new Pacer(undefined, systemClock),
      clock: systemClock,
      retry: { retries: 2, baseDelayMs: 10, maxDelayMs: 20 },
      onRetry: (_e, n) => retried.push(n),
    }
    const t0 = performance.now()
    const err = await callWithRetry(ctx, (caller) => wire.revoke(caller, 'subject')).then(
      () => undefined,
      (e: unknown) => e,
    )
    const took = performance.now() - t0
    wire.close()
    expect(networkErrorClass(err)).toBe('timeout')
    expect((err as { retries?: number }).retries).toBe(2)
    expect(retried).toEqual([1, 2])
    // a timed-out connection is dropped: each attempt connected anew
    expect(silent.accepted() - before).toBe(3)
    expect(took).toBeGreaterThanOrEqual(3 * 290)
    expect(took).toBeLessThan(3 * (300 + 75) + 2 * 20 + 400)
  })
})

describe('https bulk calls (undici): the same deadline, the TLS handshake included', () => {
  it('a server that accepts and never answers the handshake fails at the timeout, not at the 10 s connect timeout', async () => {
    const silent = await silentServer()
    const agent = new Agent({ connect: { rejectUnauthorized: false } })
    const wire = new TokenWire(agent, `https://127.0.0.1:${silent.port}/v3`, 300)
    try {
      const t0 = performance.now()
      const err = await wire.revoke('caller', 'subject').then(
        () => undefined,
        (e: unknown) => e,
      )
      const took = performance.now() - t0
      expect(networkErrorClass(err)).toBe('timeout')
      expect(took).toBeGreaterThanOrEqual(290)
      expect(took).toBeLessThan(300 + 300)
    } finally {
      wire.close()
      await agent.destroy()
      await silent.close()
    }
  })
})

describe('the session (authentication, revocation events): connect and TLS handshake bounded by the timeout', () => {
  it('openSession against a silent https server fails within a second of the timeout, not after 10 s', async () => {
    const silent = await silentServer()
    try {
      const t0 = performance.now()
      const err = await openSession(passwordSettings(`https://127.0.0.1:${silent.port}/v3`, 'pw'), {
        timeoutMs: 300,
      }).then(
        (s) => s.close(),
        (e: unknown) => e,
      )
      const took = performance.now() - t0
      expect(networkErrorClass(err)).toBe('timeout')
      expect((err as Error).message).toMatch(/connect timed out/)
      // undici's connect timer ticks in ~0.5 s steps (its fast timers): within a second of the timeout
      expect(took).toBeLessThan(300 + 1000 + 300)
    } finally {
      await silent.close()
    }
  })
})

describe('tokens issue / revoke-bulk (CLI): --timeout and --retries reach the bulk calls', () => {
  let fk: FakeKeystone
  const tmp = tempDir()
  const env = () => fakeCliEnv(fk, tmp.path('state'))
  beforeAll(async () => {
    fk = await startFakeKeystone()
  })
  afterAll(async () => {
    await fk.close()
    tmp.rm()
  })

  /**
   * The CLI with `args` plus --timeout 500ms --retries `retries` --json while the token method stalls 4 times:
   * exit 2 with the transport error; its message, the attempts the server saw and how long the run took.
   */
  async function stalledRun(
    args: string[],
    retries: number,
  ): Promise<{ message: string; attempts: number; took: number }> {
    fk.reset()
    fk.faults.stallTokenMethod = 4
    const r = await runCli([...args, '--timeout', '500ms', '--retries', String(retries), '--json'], {
      env: env(),
      timeoutMs: 20_000,
    })
    // from the first stalled request to the end of the run: the CLI's start-up (seconds on a loaded machine)
    // is not what the timeout bounds
    const took = performance.now() - fk.stalledAt[0]!
    expect(r.code).toBe(2)
    const e = parseJson<{ error: { code: string; message: string } }>(r).error
    expect(e.code).toBe('UND_ERR_HEADERS_TIMEOUT')
    return { message: e.message, attempts: 4 - fk.faults.stallTokenMethod, took }
  }

  // the first token failing for good ends the run (exit 2, the transport error): it is tried 1 + --retries times
  it('tokens issue --timeout 500ms --retries 2: a stalled issue is tried 3 times and fails in ~1.5 s, not 30 s', async () => {
    const run = await stalledRun(['tokens', 'issue', '-n', '1', '--out', tmp.path('p1.jsonl')], 2)
    expect(run.message).toMatch(/\(after 2 retries\)$/)
    expect(run.attempts).toBe(3)
    // 3 x 500 ms (+ a sweep each) + backoff (<= 100 + 200 ms) + the CLI's exit; before the fix: 30 s+
    expect(run.took).toBeGreaterThanOrEqual(3 * 490)
    expect(run.took).toBeLessThan(5_000)
  }, 30_000)

  it('revoke-bulk --timeout 500ms --retries 1: a stalled issue is tried twice, in ~1 s', async () => {
    const run = await stalledRun(['revoke-bulk', '-n', '1', '--ledger', tmp.path('l1.jsonl')], 1)
    expect(run.message).toMatch(/\(after 1 retry\)$/)
    expect(run.attempts).toBe(2)
    expect(run.took).toBeGreaterThanOrEqual(2 * 490)
    expect(run.took).toBeLessThan(5_000)
  }, 30_000)
})
