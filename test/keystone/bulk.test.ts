import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { AuthError, ConnectionError, HttpError } from '../../src/errors.js'
import { backoffDelayMs, DEFAULT_RETRY, isRetryable, range, runBounded } from '../../src/keystone/bulk.js'
import { CallerAuth } from '../../src/keystone/caller.js'
import { issueTokens } from '../../src/keystone/issue.js'
import { readLedger } from '../../src/keystone/ledger.js'
import type { BulkProgress } from '../../src/keystone/progress.js'
import { type RevokeBulkOptions, revokeBulk } from '../../src/keystone/revoke.js'
import type { KeystoneSession } from '../../src/keystone/session.js'
import { Pacer } from '../../src/load/pacer.js'
import { FAKE_PASSWORD, type FakeKeystone } from './fake-keystone.js'
import { recordingClock, tempDir, withFakeKeystone } from './helpers.js'

describe('backoff, pacing and bounded concurrency (pure)', () => {
  it('backoff doubles per retry within [step/2, step], capped', () => {
    const p = { retries: 5, baseDelayMs: 100, maxDelayMs: 1000 }
    expect([0, 1, 2, 3, 4].map((r) => backoffDelayMs(r, p, () => 0))).toEqual([50, 100, 200, 400, 500])
    expect([0, 1, 2, 3, 4].map((r) => backoffDelayMs(r, p, () => 1))).toEqual([100, 200, 400, 800, 1000])
    const mid = backoffDelayMs(2, p, () => 0.5)
    expect(mid).toBe(300)
  })

  it('one retry rule: 5xx and 429 answers and lost connections, typed or raw; nothing else', () => {
    expect(isRetryable(new HttpError(503, 'x'))).toBe(true)
    expect(isRetryable(new HttpError(429, 'x'))).toBe(true)
    expect(isRetryable(new HttpError(404, 'x'))).toBe(false)
    expect(isRetryable(new AuthError('x'))).toBe(false)
    expect(isRetryable(new ConnectionError('x', { code: 'ECONNRESET' }))).toBe(true)
    expect(isRetryable(new ConnectionError('x', { code: 'TLS_UNKNOWN_CA' }))).toBe(false)
    const raw = (code: string) => Object.assign(new Error(code), { code })
    expect(isRetryable(raw('UND_ERR_SOCKET'))).toBe(true)
    expect(isRetryable(raw('UND_ERR_HEADERS_TIMEOUT'))).toBe(true)
    expect(isRetryable(raw('ECONNREFUSED'))).toBe(true)
    expect(isRetryable(raw('DEPTH_ZERO_SELF_SIGNED_CERT'))).toBe(false)
    expect(isRetryable(new Error('no code'))).toBe(false)
  })

  it('the pacer spaces starts 1/rate apart and does not save up a burst after idling', async () => {
    const clock = recordingClock()
    const pacer = new Pacer(10, clock)
    for (let i = 0; i < 5; i++) await pacer.acquire()
    expect(clock.sleeps).toEqual([100, 100, 100, 100])
    await clock.sleep(1000)
    clock.sleeps.length = 0
    await pacer.acquire()
    await pacer.acquire()
    expect(clock.sleeps).toEqual([100])
    const free = recordingClock()
    const none = new Pacer(undefined, free)
    for (let i = 0; i < 5; i++) await none.acquire()
    expect(free.sleeps).toEqual([])
  })

  it('runBounded never has more than `concurrency` calls in flight and pulls items lazily', async () => {
    let inFlight = 0
    let max = 0
    let pulled = 0
    function* items() {
      for (let i = 0; i < 50; i++) {
        pulled++
        yield i
      }
    }
    const done: number[] = []
    await runBounded(items(), { concurrency: 3 }, async (i) => {
      inFlight++
      max = Math.max(max, inFlight)
      expect(pulled - done.length).toBeLessThanOrEqual(3)
      await new Promise((r) => setTimeout(r, 1 + (i % 3)))
      inFlight--
      done.push(i)
    })
    expect(max).toBe(3)
    expect(done.sort((a, b) => a - b)).toEqual([...range(0, 50)])
  })

  it('runBounded stops pulling on abort and rethrows the first error after the calls in flight end', async () => {
    const ac = new AbortController()
    const seen: number[] = []
    await runBounded(range(0, 100), { concurrency: 2, signal: ac.signal }, async (i) => {
      seen.push(i)
      if (i === 5) ac.abort()
      await new Promise((r) => setTimeout(r, 1))
    })
    expect(seen.length).toBeLessThanOrEqual(7)
    let finished = 0
    await expect(
      runBounded(range(0, 100), { concurrency: 4 }, async (i) => {
        await new Promise((r) => setTimeout(r, 2))
        if (i === 3) throw new Error('boom')
        finished++
      }),
    ).rejects.toThrow('boom')
    expect(finished).toBeLessThan(20)
  })
})

describe('caller token renewal', () => {
  const iso = (ms: number) => new Date(Date.now() + ms).toISOString()
  it('renews ahead of expiry (within 10 min, at most a quarter of the lifetime), once for many callers', async () => {
    let calls = 0
    const reauth = async () => {
      calls++
      await new Promise((r) => setTimeout(r, 5))
      return { token: `new-${calls}`, issuedAt: iso(0), expiresAt: iso(3_600_000) }
    }
    const auth = new CallerAuth(
      { token: 'old', issuedAt: iso(-3_300_000), expiresAt: iso(300_000) },
      reauth,
      recordingClock(),
    )
    await Promise.all([auth.renewIfExpiring(), auth.renewIfExpiring(), auth.refresh(0, new Error('401'))])
    expect(calls).toBe(1)
    expect(auth.current).toEqual({ token: 'new-1', gen: 1 })
    await auth.renewIfExpiring()
    expect(calls).toBe(1)
    // a stale generation does not trigger another re-authentication
    await auth.refresh(0, new Error('401'))
    expect(calls).toBe(1)
    // a 2-minute token is renewed only in its last 30 s, not on every call
    const short = new CallerAuth(
      { token: 's', issuedAt: iso(0), expiresAt: iso(120_000) },
      reauth,
      recordingClock(),
    )
    await short.renewIfExpiring()
    expect(short.current.token).toBe('s')
  })

  it('without a password, a rejected caller token ends the run with a clear error', async () => {
    const auth = new CallerAuth({ token: 'x' }, undefined, recordingClock())
    const err = await auth.refresh(0, new Error('401 on revoke')).catch((e) => e)
    expect(err.name).toBe('FatalRunError')
    expect(err.error.exitCode).toBe(2)
    expect(err.message).toMatch(/no credential to renew it: 401 on revoke/)
  })
})

describe('revoke-bulk against a local server with faults', () => {
  let fk: FakeKeystone
  let session: KeystoneSession
  const tmp = tempDir()
  let n = 0
  const ledger = () => tmp.path(`l${n++}.jsonl`)
  withFakeKeystone(
    (k, s) => {
      fk = k
      session = s
    },
    tmp.rm,
    { timeoutMs: 300 },
  )
  /** revokeBulk on the suite's session, one request at a time, no event counting, progress on every change. */
  const serial = (opts: Omit<RevokeBulkOptions, 'session'>) =>
    revokeBulk({ session, concurrency: 1, countEvents: false, progressIntervalMs: 0, ...opts })

  it('never has more than --concurrency requests in flight at the server', async () => {
    fk.faults.delayMs = 10
    const r = await revokeBulk({ session, count: 40, ledger: ledger(), concurrency: 4 })
    expect(r).toMatchObject({ issued: 40, revoked: 40, failed: 0 })
    expect(fk.maxInFlight).toBeLessThanOrEqual(4)
    expect(fk.maxInFlight).toBe(4)
  })

  it('--rate bounds request starts per second', async () => {
    const t0 = Date.now()
    const r = await revokeBulk({
      session,
      count: 10,
      ledger: ledger(),
      concurrency: 8,
      rate: 100,
      countEvents: false,
    })
    // 20 requests (10 issue + 10 revoke) at 100/s take at least ~190 ms
    expect(Date.now() - t0).toBeGreaterThanOrEqual(170)
    expect(r.revoked).toBe(10)
  })

  it('retries 5xx and reset connections with growing backoff, counts them, and records nothing twice', async () => {
    const clock = recordingClock()
    fk.faults.failNext = 0
    const progress: BulkProgress[] = []
    // the first token alone, then faults: 2 x 503 and 1 reset
    const p = ledger()
    const r = await serial({
      count: 6,
      ledger: p,
      clock,
      random: () => 0,
      onProgress: (x) => {
        progress.push(x)
        if (x.issued === 1 && x.phase === 'issue' && fk.faults.failNext === 0 && x.retries === 0) {
          fk.faults.failNext = 2
          fk.faults.resetNext = 1
        }
      },
    })
    expect(r).toMatchObject({ issued: 6, revoked: 6, failed: 0 })
    const final = progress.at(-1)!
    expect(final.final).toBe(true)
    expect(final.retries).toBe(3)
    // exponential: 50, 100, 200 ms with random() = 0 (equal jitter keeps half of each step)
    expect(clock.sleeps).toEqual([50, 100, 200])
    const replay = readLedger(p)
    expect([...replay.entries.values()].every((e) => e.state === 'revoked' && e.revokedLines === 1)).toBe(
      true,
    )
    expect(fk.events.length).toBe(6)
  })

  it('gives up after --retries and records the failure with its reason; exit code material: failed > 0', async () => {
    const clock = recordingClock()
    const p = ledger()
    let armed = false
    const r = await serial({
      count: 3,
      ledger: p,
      clock,
      retry: { retries: 2 },
      onProgress: (x) => {
        if (!armed && x.phase === 'revoke') {
          armed = true
          fk.faults.failNext = 3
        }
      },
      chunkSize: 3,
    })
    expect(r.failed).toBe(1)
    expect(r.revoked).toBe(2)
    expect(r.failures).toEqual([
      {
        index: expect.any(Number),
        stage: 'revoke',
        reason: expect.stringMatching(/\(503\).*\(after 2 retries\)$/),
      },
    ])
    expect(clock.sleeps).toHaveLength(2)
    const replay = readLedger(p)
    const failed = [...replay.entries.values()].filter((e) => e.state === 'failed')
    expect(failed).toHaveLength(1)
    expect(failed[0]?.stage).toBe('revoke')
    // a resume retries exactly the failed one
    fk.deletes.clear()
    const r2 = await revokeBulk({ session, ledger: p, resume: true, countEvents: false })
    expect(r2).toMatchObject({ revoked: 1, skipped: 2, failed: 0, issued: 0 })
    expect(fk.deletes.size).toBe(1)
  })

  it('a stalled server times out per request and is retried instead of hanging', async () => {
    fk.faults.stallNext = 0
    const p = ledger()
    let armed = false
    const t0 = Date.now()
    const r = await serial({
      count: 2,
      ledger: p,
      requestTimeoutMs: 300,
      onProgress: () => {
        if (!armed) {
          armed = true
          fk.faults.stallNext = 1
        }
      },
    })
    expect(r).toMatchObject({ issued: 2, revoked: 2, failed: 0 })
    expect(Date.now() - t0).toBeLessThan(3000)
  })

  it('re-authenticates once when the caller token expires mid-run, with many requests in flight', async () => {
    fk.faults.expireCallersAfter = 10
    fk.faults.delayMs = 5
    const progress: BulkProgress[] = []
    const callerBefore = session.caller.token
    const r = await revokeBulk({
      session,
      count: 30,
      ledger: ledger(),
      concurrency: 4,
      progressIntervalMs: 0,
      onProgress: (x) => progress.push(x),
    })
    expect(r).toMatchObject({ issued: 30, revoked: 30, failed: 0 })
    expect(progress.at(-1)?.reauthentications).toBe(1)
    expect(fk.passwordAuths).toBe(1)
    expect(fk.rejectedCallers.has(callerBefore)).toBe(true)
    // the session keeps the renewed caller token for whoever uses it next
    expect(session.caller.token).not.toBe(callerBefore)
    expect(fk.rejectedCallers.has(session.caller.token)).toBe(false)
  })

  it('a password rejected on re-authentication ends the run with exit 2, the ledger closed and resumable', async () => {
    fk.faults.expireCallersAfter = 8
    const p = ledger()
    let flipped = false
    const err = await revokeBulk({
      session,
      count: 20,
      ledger: p,
      concurrency: 2,
      progressIntervalMs: 0,
      reauthenticate: () => {
        flipped = true
        return session.client.issueTokenPassword(
          { username: 'admin', password: `${FAKE_PASSWORD}-changed`, userDomainName: 'Default' },
          session.scope,
        )
      },
    }).catch((e) => e)
    expect(flipped).toBe(true)
    expect(err.exitCode).toBe(2)
    expect(err.message).toMatch(/re-authentication failed mid-run: .*rejected the credentials/)
    expect(err.hint).toContain(`--resume --ledger ${p}`)
    const replay = readLedger(p)
    expect(replay.complete).toBe(false)
    expect(readFileSync(p, 'utf8')).not.toContain(FAKE_PASSWORD)
    // resume with a working session finishes the job
    fk.rejectedCallers.clear()
    fk.faults.expireCallersAfter = 0
    const r = await revokeBulk({ session, ledger: p, resume: true })
    expect(r.failed).toBe(0)
    const after = readLedger(p)
    expect(after.entries.size).toBe(20)
    expect([...after.entries.values()].every((e) => e.state === 'revoked' && e.revokedLines === 1)).toBe(true)
  })

  it('an abort stops new work, keeps the ledger true and returns a partial result; resume completes it', async () => {
    fk.faults.delayMs = 3
    const ac = new AbortController()
    const p = ledger()
    const r = await revokeBulk({
      session,
      count: 40,
      ledger: p,
      concurrency: 3,
      signal: ac.signal,
      progressIntervalMs: 0,
      onProgress: (x) => {
        if (x.revoked >= 5) ac.abort()
      },
    })
    expect(r.interrupted).toBe(true)
    expect(r.revoked).toBeLessThan(40)
    expect(r.revocationEventsAfter).toBeNull()
    const mid = readLedger(p)
    expect(mid.complete).toBe(false)
    const revokedSoFar = [...mid.entries.values()].filter((e) => e.state === 'revoked').length
    expect(revokedSoFar).toBe(r.revoked)
    const r2 = await revokeBulk({ session, ledger: p, resume: true, concurrency: 3 })
    expect(r2.interrupted).toBe(false)
    expect(r2.revoked + r.revoked).toBe(40)
    expect(fk.events.length).toBe(40)
    expect(readLedger(p).complete).toBe(true)
  })

  it('stops after too many tokens in a row fail (e.g. 403 on every revoke) instead of hammering', async () => {
    const p = ledger()
    const err = await revokeBulk({
      session,
      count: 30,
      ledger: p,
      concurrency: 1,
      chunkSize: 30,
      maxConsecutiveFailures: 5,
      progressIntervalMs: 0,
      onProgress: (x) => {
        if (x.phase === 'issue') for (const t of fk.issued) fk.faults.forbidden.add(t)
      },
    }).catch((e) => e)
    // every answer a 403: the policy is named (issue 12 item 14), exit 2, not "fix the cause and resume"
    expect(err.message).toMatch(
      /^Keystone answered 403 to all 5 revocation requests: .*identity:revoke_token/,
    )
    expect(err.exitCode).toBe(2)
    expect(err.hint).toMatch(/admin role .*a resume with the same caller gets the same 403s/)
    expect(fk.deletes.size).toBe(5)
  })

  it('the first token failing for good ends the run at once with its own message (wrong settings fail fast)', async () => {
    fk.faults.failNext = 1
    fk.faults.failStatus = 400
    const p = ledger()
    const err = await revokeBulk({ session, count: 50, ledger: p, concurrency: 4 }).catch((e) => e)
    expect(err.message).toMatch(/Keystone could not issue a token \(400\): injected failure/)
    expect(err.hint).toContain(`--resume --ledger ${p}`)
    expect(fk.requests).toBeLessThanOrEqual(3)
    expect(readLedger(p).entries.size).toBe(0)
  })

  it('works without the dispatcher too (the plain KeystoneClient path)', async () => {
    const plain = {
      client: session.client,
      caller: session.caller,
      scope: session.scope,
      reauthenticate: session.reauthenticate,
    }
    fk.faults.failNext = 1
    const r = await revokeBulk({
      session: plain,
      count: 8,
      ledger: ledger(),
      concurrency: 2,
      random: () => 0,
    })
    expect(r).toMatchObject({ issued: 8, revoked: 8, failed: 0 })
    expect(fk.events).toHaveLength(8)
  })

  it('tokens issue: only --concurrency in flight, reauth on an expired caller, retries on 5xx', async () => {
    fk.faults.delayMs = 5
    fk.faults.expireCallersAfter = 6
    fk.faults.failNext = 2
    let last: BulkProgress | undefined
    const r = await issueTokens({
      session,
      count: 20,
      out: tmp.path('pool.jsonl'),
      concurrency: 3,
      retry: { ...DEFAULT_RETRY, baseDelayMs: 1 },
      onProgress: (x) => {
        last = x
      },
    })
    expect(r).toMatchObject({ issued: 20, failed: 0 })
    expect(fk.maxInFlight).toBeLessThanOrEqual(3)
    expect(fk.maxInFlight).toBe(3)
    expect(last).toMatchObject({ final: true, retries: 2, reauthentications: 1 })
    // one password authentication for the re-authentication (the session's own was before the reset)
    expect(fk.passwordAuths).toBe(1)
  })
})
