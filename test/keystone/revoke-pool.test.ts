import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { UsageError } from '../../src/errors.js'
import { PoolWriter, readPool } from '../../src/keystone/pool.js'
import { revokeBulk } from '../../src/keystone/revoke.js'
import type { KeystoneSession } from '../../src/keystone/session.js'
import { runCli } from '../helpers/cli.js'
import { type FakeKeystone, fakeKeystoneEnv } from './fake-keystone.js'
import { tempDir, withFakeKeystone } from './helpers.js'

// Issue 12 item 17: `revoke-bulk --from` an empty pool exited 0 silently; `--from POOL` left the pool's tokens
// "valid", so a later `bench validate --tokens POOL` counted every 404 as unexpected.

describe('revoke-bulk --from POOL', () => {
  let fk: FakeKeystone
  let session: KeystoneSession
  const tmp = tempDir()

  withFakeKeystone((k, s) => {
    fk = k
    session = s
  }, tmp.rm)

  async function pool(name: string, n: number): Promise<{ path: string; tokens: string[] }> {
    const path = tmp.path(name)
    const w = new PoolWriter(path)
    const tokens: string[] = []
    for (let i = 0; i < n; i++) {
      const t = await session.client.issueTokenFromToken(session.caller.token)
      tokens.push(t.token)
      w.append({ token: t.token, state: 'valid', expiresAt: t.expiresAt, auditId: t.auditId })
    }
    w.close()
    return { path, tokens }
  }

  it('an empty pool (or one holding only a torn line) is refused with exit 2 before any ledger is made', async () => {
    for (const [name, text] of [
      ['empty.jsonl', ''],
      ['torn.jsonl', '{"token":"abc'],
    ] as const) {
      const p = tmp.path(name)
      writeFileSync(p, text, { mode: 0o600 })
      const ledger = tmp.path(`ledger-${name}`)
      const before = fk.requests
      const e = await revokeBulk({ session, pool: p, ledger }).catch((err: unknown) => err)
      expect(e).toBeInstanceOf(UsageError)
      expect(e).toMatchObject({ exitCode: 2, message: `pool ${p} holds no tokens` })
      expect((e as UsageError).hint).toMatch(/tokens issue --count N --out/)
      expect(existsSync(ledger)).toBe(false)
      expect(existsSync(`${ledger}.lock`)).toBe(false)
      expect(fk.requests).toBe(before)
    }
  })

  it('CLI: `revoke-bulk --from EMPTY` exits 2 with Error and Hint lines, no ledger', async () => {
    const p = tmp.path('empty-cli.jsonl')
    writeFileSync(p, '', { mode: 0o600 })
    const state = tmp.path('state-cli')
    const r = await runCli(['revoke-bulk', '--from', p], {
      env: { ...fakeKeystoneEnv(fk.authUrl), XDG_STATE_HOME: state },
      timeoutMs: 30_000,
    })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`Error: pool ${p} holds no tokens`)
    expect(r.stderr).toMatch(/Hint: /)
    const dir = `${state}/idtool/revoke-bulk`
    expect(existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.jsonl')) : []).toEqual([])
  }, 40_000)

  it('marks every token it revoked (204) or found invalid (404) as revoked in the pool, which stays 0600', async () => {
    const { path, tokens } = await pool('mark.jsonl', 6)
    // one token was already revoked behind idtool's back: Keystone answers 404
    fk.revoked.add(tokens[1]!)
    const r = await revokeBulk({ session, pool: path, ledger: tmp.path('mark-ledger.jsonl'), concurrency: 2 })
    expect(r).toMatchObject({ revoked: 5, skipped: 1, failed: 0 })
    const after = readPool(path)
    expect(after.map((e) => e.token)).toEqual(tokens)
    // what bench validate reads: state revoked -> expects 404; the other fields of each token are kept
    expect(after.map((e) => e.state)).toEqual(Array(6).fill('revoked'))
    expect(after.every((e) => e.auditId && e.expiresAt)).toBe(true)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    // a second run has nothing left to send
    const again = await revokeBulk({ session, pool: path, ledger: tmp.path('mark-again.jsonl') })
    expect(again).toMatchObject({ revoked: 0, skipped: 6, failed: 0 })
    expect([...fk.deletes.values()].every((n) => n === 1)).toBe(true)
  })

  it('an interrupted run marks only what it revoked; the resume marks the rest; a failed token stays valid', async () => {
    const { path, tokens } = await pool('partial.jsonl', 8)
    fk.faults.forbidden.add(tokens[7]!)
    const ledger = tmp.path('partial-ledger.jsonl')
    const ac = new AbortController()
    const r1 = await revokeBulk({
      session,
      pool: path,
      ledger,
      concurrency: 1,
      progressIntervalMs: 0,
      onProgress: (p) => {
        if (p.revoked >= 3) ac.abort()
      },
      signal: ac.signal,
    })
    expect(r1.interrupted).toBe(true)
    const mid = readPool(path)
    const marked = mid.filter((e) => e.state === 'revoked').map((e) => e.token)
    expect(marked.length).toBe(r1.revoked)
    for (const t of marked) expect(fk.revoked.has(t)).toBe(true)
    const r2 = await revokeBulk({ session, ledger, resume: true, concurrency: 1 })
    expect(r2.failed).toBe(1)
    const end = readPool(path)
    expect(end.filter((e) => e.state === 'revoked').map((e) => e.token)).toEqual(tokens.slice(0, 7))
    expect(end[7]!.state).toBe('valid')
    // the pool is still one JSON record a line
    for (const line of readFileSync(path, 'utf8').trimEnd().split('\n'))
      expect(() => JSON.parse(line)).not.toThrow()
  })
})
