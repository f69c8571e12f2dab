import { existsSync, writeFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { ExitCode } from '../../src/exit-codes.js'
import type { BulkRunSettings } from '../../src/keystone/bulk-run.js'
import { readLedger } from '../../src/keystone/ledger.js'
import type { BulkProgress } from '../../src/keystone/progress.js'
import {
  planRevokeBulk,
  type RevokeBulkRunCallbacks,
  type RevokeBulkRunOptions,
  revokeBulkRun,
} from '../../src/keystone/revoke-bulk.js'
import { resolveAuthOrLab } from '../../src/lab/target.js'
import { thrown } from '../helpers/thrown.js'
import type { FakeKeystone } from './fake-keystone.js'
import { fakeCliEnv, tempDir, withFakeKeystone } from './helpers.js'

const tmp = tempDir('idtool-revoke-run-')
afterAll(() => tmp.rm())

describe('planRevokeBulk: the inputs and the ledger, before any request', () => {
  const dir = tmp.path('plan-state')
  it('refuses a run with nothing to revoke, and a pool that does not exist (exit 2)', () => {
    expect(() => planRevokeBulk({ resume: false }, dir)).toThrow(
      /nothing to revoke: give --count N or --from/,
    )
    const missing = tmp.path('no-pool.jsonl')
    const err = thrown(() => planRevokeBulk({ resume: false, from: missing }, dir)) as { hint?: string }
    expect(err).toMatchObject({ exitCode: 2, message: `token pool ${missing} does not exist` })
    expect(err.hint).toMatch(/idtool tokens issue --count N --out POOL.jsonl/)
  })

  it('a new run takes a new ledger in the directory; a given one must not exist yet', () => {
    const plan = planRevokeBulk({ resume: false, count: 5 }, dir)
    expect(plan.ledger.startsWith(`${dir}/revoke-bulk-`)).toBe(true)
    expect(plan.what).toBe('revoke 5 new tokens')
    const taken = tmp.path('taken.jsonl')
    writeFileSync(taken, '')
    expect(() => planRevokeBulk({ resume: false, count: 5, ledger: taken }, dir)).toThrow(
      `ledger ${taken} already exists`,
    )
    expect(planRevokeBulk({ resume: false, from: taken }, dir).what).toBe(`revoke the tokens of ${taken}`)
  })

  it('a resume needs its ledger: a given one must exist; none given, an unfinished one in the directory', () => {
    const gone = tmp.path('gone.jsonl')
    expect(() => planRevokeBulk({ resume: true, ledger: gone }, dir)).toThrow(`ledger ${gone} does not exist`)
    expect(() => planRevokeBulk({ resume: true }, dir)).toThrow(`no unfinished ledger in ${dir}`)
    const taken = tmp.path('taken.jsonl')
    expect(planRevokeBulk({ resume: true, ledger: taken }, dir)).toEqual({
      ledger: taken,
      what: 'revoke the tokens of the resumed run',
    })
  })
})

describe('revokeBulkRun against the fake Keystone', () => {
  let fk: FakeKeystone
  withFakeKeystone((f) => {
    fk = f
  })
  // the default ledger directory (the ledger writer creates only that one) under the test's state directory
  beforeAll(() => {
    vi.stubEnv('XDG_STATE_HOME', tmp.path('state'))
  })
  afterAll(() => {
    vi.unstubAllEnvs()
  })

  const settings: BulkRunSettings = { method: 'token', concurrency: 1, retries: 0, timeoutMs: 5_000 }
  const options = (o: Partial<RevokeBulkRunOptions>): RevokeBulkRunOptions => ({
    resume: false,
    skipBadLines: false,
    countEvents: true,
    settings,
    resolveAuth: () =>
      resolveAuthOrLab({ flags: {}, env: fakeCliEnv(fk, tmp.path('state')), home: tmp.dir, cwd: tmp.dir }),
    ...o,
  })
  const callbacks = (ac = new AbortController()) => {
    const seen = {
      info: [] as string[],
      warn: [] as string[],
      confirm: [] as string[],
      progress: [] as BulkProgress[],
    }
    const cb: RevokeBulkRunCallbacks = {
      info: (m) => {
        seen.info.push(m)
      },
      warn: (m) => {
        seen.warn.push(m)
      },
      confirm: async (url, what) => {
        seen.confirm.push(`${what} at ${url}`)
      },
      interruptSignal: () => ac.signal,
      onProgress: (p) => {
        seen.progress.push(p)
      },
    }
    return { seen, cb }
  }

  it('asks to confirm, tells the ledger, exits 0 when every token is revoked', async () => {
    const { seen, cb } = callbacks()
    const ledger = tmp.path('ok.jsonl')
    const run = await revokeBulkRun(options({ count: 4, ledger }), cb)
    expect(run.exitCode).toBeUndefined()
    expect(run.result).toMatchObject({ kind: 'revoke-bulk', issued: 4, revoked: 4, failed: 0, ledger })
    expect(seen.confirm).toEqual([`revoke 4 new tokens at ${fk.url}/v3`])
    expect(seen.info).toEqual([
      `ledger ${ledger} (0600; continue an interrupted run with --resume --ledger <it>)`,
    ])
    expect(seen.progress.some((p) => p.final)).toBe(false)
    expect(fk.events).toHaveLength(4)
  })

  it('a refused confirmation stops before any token is issued or any ledger written', async () => {
    const { cb } = callbacks()
    const ledger = tmp.path('refused.jsonl')
    cb.confirm = async () => {
      throw new Error('not confirmed')
    }
    await expect(revokeBulkRun(options({ count: 3, ledger }), cb)).rejects.toThrow('not confirmed')
    expect(fk.requests).toBe(0)
    expect(existsSync(ledger)).toBe(false)
  })

  it('exits 4 when some tokens failed; --resume of the newest unfinished ledger then exits 0', async () => {
    fk.faults.forbidEvery = 3
    const first = await revokeBulkRun(options({ count: 6 }), callbacks().cb)
    expect(first.exitCode).toBe(ExitCode.Partial)
    expect(first.result).toMatchObject({ failed: 2, revoked: 4 })
    fk.faults.forbidEvery = 0
    const again = await revokeBulkRun(options({ resume: true }), callbacks().cb)
    expect(again.exitCode).toBeUndefined()
    expect(again.result).toMatchObject({ ledger: first.result.ledger, revoked: 2, skipped: 4, failed: 0 })
    expect(readLedger(first.result.ledger).complete).toBe(true)
  })

  it('exits 130 when interrupted, with the partial result', async () => {
    fk.faults.delayMs = 5
    const ac = new AbortController()
    const { cb } = callbacks(ac)
    cb.onProgress = (p) => {
      if (p.issued >= 3) ac.abort()
    }
    const run = await revokeBulkRun(options({ count: 200, ledger: tmp.path('stop.jsonl') }), cb)
    expect(run.exitCode).toBe(ExitCode.Interrupted)
    expect(run.result.interrupted).toBe(true)
    expect(run.result.issued).toBeLessThan(200)
  })
})
