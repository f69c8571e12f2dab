import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { UsageError } from '../../src/errors.js'
import { readLedger, replayLedger } from '../../src/keystone/ledger.js'
import { revokeBulk } from '../../src/keystone/revoke.js'
import type { KeystoneSession } from '../../src/keystone/session.js'
import type { RevokeBulkResult } from '../../src/results/types.js'
import { parseJson, runCli } from '../helpers/cli.js'
import { thrown } from '../helpers/thrown.js'
import { type FakeKeystone, fakeKeystoneEnv } from './fake-keystone.js'
import { abortedRun, ledgerHeader, tempDir, withFakeKeystone } from './helpers.js'

// Issue 12 item 11: one damaged line in the middle of a ledger blocked --resume for good.

const header = ledgerHeader(4)

describe('ledger replay with damaged lines', () => {
  const text = [
    JSON.stringify(header),
    '{"i":0,"s":"issued","token":"token-zero-0"}',
    '{"i":1,"s":"issued","token":"token-one-11","at":"2026-11-21T00:00:01.000Z"', // no closing brace
    '\u0000\u0000\u0000garbage',
    '{"i":3,"s":"issued","token":"token-three-3"}',
    '{"i":0,"s":"revoked","status":204}',
    '',
  ].join('\n')

  it('refuses by default, naming the first damaged line, how many more, and --skip-bad-lines (exit 2)', () => {
    const e = thrown(() => replayLedger(text, 'L'))
    expect(e).toBeInstanceOf(UsageError)
    expect(e).toMatchObject({ exitCode: 2, code: 'LEDGER_DAMAGED' })
    expect((e as Error).message).toBe('L:3: not a JSON record (and 1 more damaged line)')
    expect((e as UsageError).hint).toMatch(/--resume --skip-bad-lines/)
  })

  it('skipBadLines keeps every readable record, lists the dropped lines, reads the token of a damaged "issued" line', () => {
    const r = replayLedger(text, 'L', { skipBadLines: true })
    expect(r.dropped).toEqual([3, 4])
    expect(r.salvaged).toBe(1)
    expect(r.entries.get('0')).toMatchObject({ state: 'revoked', token: 'token-zero-0' })
    expect(r.entries.get('1')).toMatchObject({ state: 'issued', token: 'token-one-11' })
    expect(r.entries.get('2')).toBeUndefined()
    expect(r.entries.get('3')).toMatchObject({ state: 'issued', token: 'token-three-3' })
  })

  it('a "dropped" record acknowledges its lines: later replays skip them without the flag; new damage still stops', () => {
    const acked = `${text}{"type":"resume","at":"x"}\n{"type":"dropped","lines":[3,4],"at":"x"}\n`
    const r = replayLedger(acked, 'L')
    expect(r.dropped).toEqual([])
    expect(r.entries.get('3')?.token).toBe('token-three-3')
    expect(() => replayLedger(`${acked}{"i":9,"s":"nonsense"}\n`, 'L')).toThrow(
      /^L:9: unknown state "nonsense"$/,
    )
  })

  it('a damaged header is still refused, with or without the flag', () => {
    expect(() => replayLedger(`{"type":"run",,\n${text}`, 'L', { skipBadLines: true })).toThrow(
      /L:1: not a JSON record/,
    )
  })
})

describe('revoke-bulk --resume --skip-bad-lines', () => {
  let fk: FakeKeystone
  let session: KeystoneSession
  const tmp = tempDir()
  const N = 10

  withFakeKeystone((k, s) => {
    fk = k
    session = s
  }, tmp.rm)

  /** A count-mode run stopped after issuing every token and before revoking any, like a killed one; its lines. */
  async function interruptedRun(p: string): Promise<string[]> {
    await abortedRun(session, p, { count: N, concurrency: 1, stop: (pr) => pr.issued >= N })
    return readFileSync(p, 'utf8').split('\n')
  }

  /** Damage line `n` (1-based) two ways: a torn JSON record whose token is readable, or garbage. */
  function damage(lines: string[], n: number, how: 'tear' | 'garble'): void {
    lines[n - 1] = how === 'tear' ? lines[n - 1]!.slice(0, -1) : 'x'.repeat(lines[n - 1]!.length)
  }

  it('keeps the readable records, revokes every token it can identify, reports and records the dropped lines', async () => {
    const p = tmp.path('damaged.jsonl')
    const lines = await interruptedRun(p)
    const issuedLines = lines
      .map((l, idx) => ({ l, n: idx + 1 }))
      .filter(({ l }) => l.includes('"s":"issued"'))
    expect(issuedLines.length).toBe(N)
    expect(fk.events).toHaveLength(0)
    const torn = issuedLines[2]!
    const garbled = issuedLines[5]!
    const lostToken = (JSON.parse(garbled.l) as { token: string }).token
    const allTokens = issuedLines.map(({ l }) => (JSON.parse(l) as { token: string }).token)
    damage(lines, torn.n, 'tear')
    damage(lines, garbled.n, 'garble')
    writeFileSync(p, lines.join('\n'), { mode: 0o600 })

    // without the flag: refused, naming the line, the hint pointing at the way out; nothing sent, lock released
    const before = fk.requests
    await expect(revokeBulk({ session, ledger: p, resume: true })).rejects.toMatchObject({
      code: 'LEDGER_DAMAGED',
      exitCode: 2,
      message: `${p}:${torn.n}: not a JSON record (and 1 more damaged line)`,
    })
    expect(fk.requests).toBe(before)
    expect(existsSync(`${p}.lock`)).toBe(false)

    const warnings: string[] = []
    const r = await revokeBulk({
      session,
      ledger: p,
      resume: true,
      skipBadLines: true,
      onWarning: (m) => warnings.push(m),
    })
    expect(r.droppedLines).toEqual([torn.n, garbled.n])
    expect(r.salvagedTokens).toBe(1)
    expect(warnings.join('\n')).toContain(
      `dropped 2 damaged lines (lines ${torn.n}, ${garbled.n}); 1 token read from them will be revoked`,
    )
    expect(warnings.join('\n')).toMatch(/cannot be identified: it stays valid until it expires/)
    // every token it could identify is revoked: all but the garbled one, the torn one included
    for (const t of allTokens) expect(fk.revoked.has(t), t).toBe(t !== lostToken)
    // the garbled index got a new token, revoked too: N events, no token revoked twice
    expect(r).toMatchObject({ issued: 1, revoked: N, failed: 0, interrupted: false })
    expect(fk.events).toHaveLength(N)
    expect(new Set(fk.events).size).toBe(N)
    // the ledger records the dropped lines: it now reads without the flag, complete, every index revoked once
    const after = readLedger(p)
    expect(after.complete).toBe(true)
    expect(after.dropped).toEqual([])
    expect([...after.entries.values()].map((e) => e.state)).toEqual(Array(N).fill('revoked'))
  })

  it('CLI: exit 2 with the hint without the flag; with it, the dropped lines on stderr and in --json', async () => {
    const p = tmp.path('cli.jsonl')
    const lines = await interruptedRun(p)
    const n = lines.findIndex((l) => l.includes('"s":"issued"')) + 1 + 3
    damage(lines, n, 'garble')
    writeFileSync(p, lines.join('\n'), { mode: 0o600 })
    const env = { ...fakeKeystoneEnv(fk.authUrl), XDG_STATE_HOME: tmp.path('state') }
    const refused = await runCli(['revoke-bulk', '--resume', '--ledger', p], { env, timeoutMs: 30_000 })
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain(`Error: ${p}:${n}: not a JSON record`)
    expect(refused.stderr).toMatch(/Hint: .*--resume --skip-bad-lines/)

    const ok = await runCli(['revoke-bulk', '--resume', '--ledger', p, '--skip-bad-lines', '--json'], {
      env,
      timeoutMs: 30_000,
    })
    expect(ok.code, ok.stderr).toBe(0)
    expect(ok.stderr).toContain(`dropped 1 damaged line (line ${n})`)
    expect(parseJson<RevokeBulkResult>(ok)).toMatchObject({ droppedLines: [n], salvagedTokens: 0, failed: 0 })
    expect(fk.events).toHaveLength(N)
  }, 60_000)
})
