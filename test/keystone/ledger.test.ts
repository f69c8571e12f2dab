import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { UsageError } from '../../src/errors.js'
import { LedgerLock, LedgerWriter, readLedger, replayLedger, tokenKey } from '../../src/keystone/ledger.js'
import { PoolWriter } from '../../src/keystone/pool.js'
import { revokeBulk } from '../../src/keystone/revoke.js'
import type { KeystoneSession } from '../../src/keystone/session.js'
import { thrown } from '../helpers/thrown.js'
import type { FakeKeystone } from './fake-keystone.js'
import { abortedRun, jsonLines, ledgerHeader, tempDir, withFakeKeystone } from './helpers.js'

const header = ledgerHeader(3)

describe('ledger replay', () => {
  it('rebuilds each token state; later lines win; a revoked token stays revoked', () => {
    const text = [
      JSON.stringify(header),
      '{"i":0,"s":"issued","token":"t0","auditId":"a0"}',
      '{"i":1,"s":"issued","token":"t1"}',
      '{"i":2,"s":"failed","stage":"issue","reason":"503"}',
      '{"i":0,"s":"revoked","status":204}',
      '{"i":1,"s":"failed","stage":"revoke","reason":"reset"}',
      '{"i":0,"s":"failed","stage":"revoke","reason":"late"}',
      '',
    ].join('\n')
    const r = replayLedger(text)
    expect(r.torn).toBe(false)
    expect(r.validBytes).toBe(Buffer.byteLength(text))
    expect(r.entries.get('0')).toMatchObject({
      state: 'revoked',
      token: 't0',
      auditId: 'a0',
      revokedLines: 1,
    })
    expect(r.entries.get('1')).toMatchObject({ state: 'failed', stage: 'revoke', token: 't1' })
    expect(r.entries.get('2')).toMatchObject({ state: 'failed', stage: 'issue' })
    expect(r.entries.get('2')?.token).toBeUndefined()
    expect(r.complete).toBe(false)
  })

  it('ignores a torn last line and reports where complete lines end', () => {
    const good = `${JSON.stringify(header)}\n{"i":0,"s":"issued","token":"t0"}\n`
    const r = replayLedger(`${good}{"i":0,"s":"rev`)
    expect(r.torn).toBe(true)
    expect(r.validBytes).toBe(Buffer.byteLength(good))
    expect(r.entries.get('0')?.state).toBe('issued')
  })

  it('rejects a ledger without a complete header, and a corrupt complete line, naming the line', () => {
    expect(() => replayLedger('{"type":"ru')).toThrow(/no complete run header/)
    expect(() => replayLedger('{"hello":1}\n')).toThrow(
      /:1: the first record is not a revoke-bulk run header/,
    )
    const e = thrown(() =>
      replayLedger(`${JSON.stringify(header)}\nnot json\n{"i":0,"s":"issued","token":"t"}\n`, 'L'),
    )
    expect(e).toBeInstanceOf(UsageError)
    expect((e as Error).message).toBe('L:2: not a JSON record')
  })

  it('tokenKey is stable, short and does not contain the token', () => {
    const k = tokenKey('gAAAAAsecret')
    expect(k).toMatch(/^[0-9a-f]{24}$/)
    expect(tokenKey('gAAAAAsecret')).toBe(k)
    expect(k).not.toContain('secret')
  })
})

describe('LedgerWriter', () => {
  const tmp = tempDir()
  afterAll(() => tmp.rm())

  it('creates the ledger 0600 with the header, and refuses to overwrite one', () => {
    const p = tmp.path('a.jsonl')
    const w = LedgerWriter.create(p, header)
    w.append({ i: 0, s: 'issued', token: 't0' })
    w.close()
    expect(statSync(p).mode & 0o777).toBe(0o600)
    expect(jsonLines(readFileSync(p, 'utf8'))).toEqual([header, { i: 0, s: 'issued', token: 't0' }])
    expect(() => LedgerWriter.create(p, header)).toThrow(/already exists/)
  })

  it('on resume cuts a torn tail before appending, so every line stays parseable', () => {
    const p = tmp.path('b.jsonl')
    writeFileSync(p, `${JSON.stringify(header)}\n{"i":0,"s":"issued","token":"t0"}\n{"i":0,"s":"rev`, {
      mode: 0o644,
    })
    const w = LedgerWriter.resume(p, readLedger(p), LedgerLock.acquire(p))
    w.append({ i: 0, s: 'revoked', status: 204 })
    w.close()
    const r = readLedger(p)
    expect(r.torn).toBe(false)
    expect(r.resumes).toBe(1)
    expect(r.entries.get('0')?.state).toBe('revoked')
    expect(statSync(p).mode & 0o777).toBe(0o600)
  })
})

describe('one writer per ledger', () => {
  const tmp = tempDir()
  afterAll(() => tmp.rm())

  it('a live holder refuses a second writer (exit 2, naming its PID); closing releases the lock', () => {
    const p = tmp.path('locked.jsonl')
    const w = LedgerWriter.create(p, header)
    expect(statSync(`${p}.lock`).mode & 0o777).toBe(0o600)
    const err = thrown(() => LedgerLock.acquire(p)) as UsageError
    expect(err).toBeInstanceOf(UsageError)
    expect(err.exitCode).toBe(2)
    expect(err.message).toBe(`ledger ${p} is in use by process ${process.pid}`)
    w.close()
    expect(existsSync(`${p}.lock`)).toBe(false)
    LedgerLock.acquire(p).release()
  })

  it('takes over a stale lock: a dead PID, a reused PID (other start time), a torn lock file', () => {
    const p = tmp.path('stale.jsonl')
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!
    for (const content of [
      JSON.stringify({ pid: dead, start: '1' }),
      JSON.stringify({ pid: process.pid, start: 'not-my-start-time' }),
      '{"pid":',
    ]) {
      writeFileSync(`${p}.lock`, content)
      const lock = LedgerLock.acquire(p)
      expect(JSON.parse(readFileSync(`${p}.lock`, 'utf8')).pid).toBe(process.pid)
      lock.release()
    }
  })
})

/**
 * Crash simulation: one complete run, then its ledger cut at every line boundary and in the middle of every
 * line (what a kill at any moment can leave), then --resume on each cut. Two server states per cut: the server
 * knows exactly what the ledger says, or the server got further than the ledger (the requests after the cut
 * were processed but their lines were lost).
 */
describe('crash at any point, then resume', () => {
  let fk: FakeKeystone
  let session: KeystoneSession
  const tmp = tempDir()
  const N = 12

  withFakeKeystone((k, s) => {
    fk = k
    session = s
  }, tmp.rm)

  function cutPoints(text: string): number[] {
    const cuts: number[] = []
    let start = 0
    for (;;) {
      const nl = text.indexOf('\n', start)
      if (nl < 0) break
      cuts.push(start + Math.floor((nl - start) / 2), nl + 1)
      start = nl + 1
    }
    return cuts
  }

  it('two resumes of one ledger at once: one runs, the other stops at once with exit 2 naming the holder', async () => {
    const p = tmp.path('twice.jsonl')
    // a run interrupted after its first tokens, like a killed one
    let seen = 0
    await abortedRun(session, p, { count: N, concurrency: 2, stop: () => ++seen === 4 })
    const runs = await Promise.allSettled([
      revokeBulk({ session, ledger: p, resume: true, concurrency: 2 }),
      revokeBulk({ session, ledger: p, resume: true, concurrency: 2 }),
    ])
    const ok = runs.filter((r) => r.status === 'fulfilled')
    const refused = runs.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    expect(ok).toHaveLength(1)
    expect(refused).toHaveLength(1)
    expect(refused[0]!.reason).toMatchObject({ exitCode: 2, code: 'LEDGER_LOCKED' })
    expect(refused[0]!.reason.message).toMatch(new RegExp(`is in use by process ${process.pid}$`))
    const after = readLedger(p)
    expect(after.complete).toBe(true)
    expect(after.entries.size).toBe(N)
    // Keystone got exactly one revocation event per index (the bug: both resumes issued and revoked the rest)
    expect(fk.events).toHaveLength(N)
    expect(new Set(fk.events).size).toBe(N)
    expect(existsSync(`${p}.lock`)).toBe(false)
  })

  it('count mode: every issued token ends revoked, none is revoked twice, events rise by exactly one per token', async () => {
    const full = tmp.path('full.jsonl')
    const r0 = await revokeBulk({ session, count: N, ledger: full, concurrency: 3, chunkSize: 5 })
    expect(r0).toMatchObject({ issued: N, revoked: N, failed: 0, skipped: 0, interrupted: false })
    expect(r0.revocationEventsAfter! - r0.revocationEventsBefore!).toBe(N)
    const text = readFileSync(full, 'utf8')
    const fullReplay = replayLedger(text)
    const fullTokens = [...fullReplay.entries.values()].map((e) => e.token!)
    expect(new Set(fullTokens).size).toBe(N)

    const headerEnd = text.indexOf('\n') + 1
    const cuts = cutPoints(text).filter((c) => c >= headerEnd)
    expect(cuts.length).toBeGreaterThan(2 * N)
    let cases = 0
    for (const cut of cuts) {
      for (const serverAhead of [false, true]) {
        fk.reset()
        const prefix = text.slice(0, cut)
        const before = replayLedger(prefix)
        const prefixRevoked = [...before.entries.values()]
          .filter((e) => e.state === 'revoked')
          .map((e) => e.token!)
        const prefixIssued = [...before.entries.values()].filter((e) => e.token).map((e) => e.token!)
        // the server knows every token of the complete run
        for (const t of fullTokens) fk.issued.add(t)
        for (const t of serverAhead ? fullTokens : prefixRevoked) fk.revoked.add(t)
        const p = tmp.path(`cut-${cut}-${serverAhead}.jsonl`)
        writeFileSync(p, prefix, { mode: 0o600 })

        const r = await revokeBulk({ session, ledger: p, resume: true, concurrency: 3, chunkSize: 5 })
        const ctx = `cut at byte ${cut}, server ${serverAhead ? 'ahead' : 'exact'}`
        expect(r.failed, ctx).toBe(0)
        expect(r.interrupted, ctx).toBe(false)
        const after = readLedger(p)
        expect(after.complete, ctx).toBe(true)
        expect(after.entries.size, ctx).toBe(N)
        for (const e of after.entries.values()) {
          expect(e.state, ctx).toBe('revoked')
          expect(e.revokedLines, ctx).toBe(1)
          expect(fk.revoked.has(e.token!), ctx).toBe(true)
        }
        // tokens the prefix already recorded keep their identity (not re-issued)
        for (const t of prefixIssued)
          expect(
            [...after.entries.values()].some((e) => e.token === t),
            ctx,
          ).toBe(true)
        // nothing recorded as revoked is sent again; everything else is sent exactly once
        for (const t of prefixRevoked) expect(fk.deletes.get(t), ctx).toBeUndefined()
        expect(
          [...fk.deletes.values()].every((n) => n === 1),
          ctx,
        ).toBe(true)
        expect(fk.deletes.size, ctx).toBe(N - prefixRevoked.length)
        // exactly one revocation event per token over the whole history, and `revoked` counts the new ones
        const newlyIssued = N - prefixIssued.length
        const expectedEvents = serverAhead ? newlyIssued : N - prefixRevoked.length
        expect(fk.events.length, ctx).toBe(expectedEvents)
        expect(new Set(fk.events).size, ctx).toBe(fk.events.length)
        expect(r.revoked, ctx).toBe(expectedEvents)
        expect(r.issued, ctx).toBe(newlyIssued)
        expect(r.revoked + r.skipped, ctx).toBe(N)
        cases++
      }
    }
    expect(cases).toBe(cuts.length * 2)
  })

  it('a ledger cut inside its header cannot be resumed (nothing was done yet)', async () => {
    const p = tmp.path('torn-header.jsonl')
    writeFileSync(p, '{"type":"run","v":1,"mo', { mode: 0o600 })
    await expect(revokeBulk({ session, ledger: p, resume: true })).rejects.toThrow(/no complete run header/)
  })

  it('pool mode: every listed token ends revoked, none twice', async () => {
    const poolPath = tmp.path('pool.jsonl')
    const pool = new PoolWriter(poolPath)
    const tokens: string[] = []
    for (let i = 0; i < 8; i++) {
      const t = await session.client.issueTokenFromToken(session.caller.token)
      tokens.push(t.token)
      pool.append({ token: t.token, state: 'valid', expiresAt: t.expiresAt })
    }
    pool.close()
    // as the pool was before the run: a run killed with -9 has not marked its tokens revoked in it yet
    const poolText = readFileSync(poolPath, 'utf8')
    const full = tmp.path('pool-full.jsonl')
    const r0 = await revokeBulk({ session, pool: poolPath, ledger: full, concurrency: 2 })
    expect(r0).toMatchObject({ issued: 0, revoked: 8, skipped: 0, failed: 0 })
    const text = readFileSync(full, 'utf8')
    expect(text).not.toContain(tokens[0]!)
    const headerEnd = text.indexOf('\n') + 1
    for (const cut of cutPoints(text).filter((c) => c >= headerEnd)) {
      fk.reset()
      for (const t of tokens) fk.issued.add(t)
      const before = replayLedger(text.slice(0, cut))
      const done = [...before.entries.values()].filter((e) => e.state === 'revoked').map((e) => e.k)
      const doneTokens = tokens.filter((t) => done.includes(tokenKey(t)))
      for (const t of doneTokens) fk.revoked.add(t)
      const p = tmp.path(`pool-cut-${cut}.jsonl`)
      writeFileSync(p, text.slice(0, cut), { mode: 0o600 })
      writeFileSync(poolPath, poolText, { mode: 0o600 })
      const r = await revokeBulk({ session, ledger: p, resume: true, concurrency: 2 })
      expect(r.failed).toBe(0)
      expect(r.skipped).toBe(doneTokens.length)
      expect(r.revoked).toBe(8 - doneTokens.length)
      for (const t of tokens) expect(fk.revoked.has(t)).toBe(true)
      for (const t of doneTokens) expect(fk.deletes.get(t)).toBeUndefined()
      expect([...fk.deletes.values()].every((n) => n === 1)).toBe(true)
      expect(readLedger(p).complete).toBe(true)
    }
  })

  it('resume refuses a ledger of another Keystone, and a --count that does not match', async () => {
    const p = tmp.path('other.jsonl')
    writeFileSync(p, `${JSON.stringify({ ...header, authUrl: 'http://127.0.0.1:9/v3' })}\n`)
    await expect(revokeBulk({ session, ledger: p, resume: true })).rejects.toThrow(
      /belongs to http:\/\/127\.0\.0\.1:9\/v3/,
    )
    const q = tmp.path('count.jsonl')
    writeFileSync(q, `${JSON.stringify({ ...header, authUrl: session.client.base })}\n`)
    await expect(revokeBulk({ session, ledger: q, resume: true, count: 4 })).rejects.toThrow(
      /--count 4 does not match/,
    )
    expect(fk.deletes.size).toBe(0)
  })
})
