import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { BulkRunSettings } from '../../src/keystone/bulk-run.js'
import { type TokensIssueRunOptions, tokensIssueRun } from '../../src/keystone/tokens-issue.js'
import { resolveAuthOrLab } from '../../src/lab/target.js'
import type { FakeKeystone } from './fake-keystone.js'
import { fakeCliEnv, tempDir, withFakeKeystone } from './helpers.js'

const tmp = tempDir('idtool-issue-run-')
let fk: FakeKeystone
withFakeKeystone(
  (f) => {
    fk = f
  },
  () => tmp.rm(),
)

const settings: BulkRunSettings = { method: 'token', concurrency: 2, retries: 0, timeoutMs: 5_000 }
const options = (o: Partial<TokensIssueRunOptions>): TokensIssueRunOptions => ({
  count: 3,
  out: tmp.path('pool.jsonl'),
  settings,
  resolveAuth: () =>
    resolveAuthOrLab({ flags: {}, env: fakeCliEnv(fk, tmp.path('state')), home: tmp.dir, cwd: tmp.dir }),
  ...o,
})
const callbacks = (ac = new AbortController()) => ({
  warn: () => {},
  onProgress: () => {},
  interruptSignal: () => ac.signal,
})

describe('tokensIssueRun against the fake Keystone', () => {
  it('appends the tokens to the pool and exits 0', async () => {
    const out = tmp.path('ok.jsonl')
    const run = await tokensIssueRun(options({ out, count: 5 }), callbacks())
    expect(run.exitCode).toBeUndefined()
    expect(run.result).toMatchObject({ kind: 'tokens.issue', issued: 5, failed: 0, file: out })
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(5)
  })

  it('checks --out before authenticating: a missing directory or a damaged pool is exit 2, no request', async () => {
    await expect(
      tokensIssueRun(options({ out: tmp.path('no/dir/p.jsonl') }), callbacks()),
    ).rejects.toMatchObject({
      exitCode: 2,
      message: `the directory of --out ${tmp.path('no/dir/p.jsonl')} does not exist`,
    })
    const bad = tmp.path('bad.jsonl')
    writeFileSync(bad, 'not json\n{"token":"t"}\n')
    await expect(tokensIssueRun(options({ out: bad }), callbacks())).rejects.toMatchObject({ exitCode: 2 })
    expect(fk.requests).toBe(0)
  })

  it('exits 130 when interrupted before the tokens are all issued', async () => {
    const ac = new AbortController()
    ac.abort()
    const out = tmp.path('stopped.jsonl')
    const run = await tokensIssueRun(options({ out, count: 50 }), callbacks(ac))
    expect(run.exitCode).toBe(130)
    expect(run.result.interrupted).toBe(true)
    expect(run.result.issued).toBeLessThan(50)
    expect(existsSync(out) ? readFileSync(out, 'utf8').trim().split('\n').length : 0).toBe(run.result.issued)
  })
})
