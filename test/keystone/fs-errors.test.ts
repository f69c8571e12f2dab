import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { readLedger } from '../../src/keystone/ledger.js'
import { readPool } from '../../src/keystone/pool.js'
import { runCli } from '../helpers/cli.js'
import { type FakeKeystone, startFakeKeystone } from './fake-keystone.js'
import { fakeCliEnv, tempDir } from './helpers.js'

// Issue 12 item 9: a full disk under the pool or the ledger is named as a file-system error with the path
// and the fix (it was "Error: network error: ENOSPC" with no hint), leaves no torn line, and revoke-bulk
// --resume finishes the job once space is freed. A real 512 KiB tmpfs, nearly full (root only; skipped
// otherwise). The built CLI against a local stand-in Keystone on port 0.
let fk: FakeKeystone
const tmp = tempDir('idtool-fs-errors-')
const disk = tmp.path('disk')
let mounted = false
const env = () => fakeCliEnv(fk, tmp.path('state'))

beforeAll(async () => {
  fk = await startFakeKeystone()
  mkdirSync(disk)
  if (process.getuid?.() !== 0) return
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', disk], { stdio: 'ignore' })
    mounted = true
  } catch {
    /* no mount: skipped */
  }
})
afterAll(async () => {
  if (mounted) execFileSync('umount', [disk], { stdio: 'ignore' })
  await fk.close()
  tmp.rm()
})
beforeEach(() => {
  fk.reset()
  // about 8 KiB left: room for a few dozen records, not for 300
  if (mounted) writeFileSync(`${disk}/fill`, Buffer.alloc(504 * 1024))
})
afterEach(() => {
  if (!mounted) return
  for (const f of ['fill', 'pool.jsonl', 'l.jsonl', 'l.jsonl.lock']) rmSync(`${disk}/${f}`, { force: true })
})

describe('file-system errors of tokens issue and revoke-bulk (issue 12 item 9)', () => {
  it('tokens issue on a full disk: the pool and the fix are named, exit 1, every line of the pool whole', async (ctx) => {
    if (!mounted) return ctx.skip()
    const pool = `${disk}/pool.jsonl`
    const r = await runCli(['tokens', 'issue', '--count', '300', '--out', pool], {
      env: env(),
      timeoutMs: 60_000,
    })
    expect(r.code, r.stderr).toBe(1)
    expect(r.stderr).toMatch(
      new RegExp(`^Error: cannot write token pool ${pool}: no space left on device \\(ENOSPC\\)$`, 'm'),
    )
    expect(r.stderr).toMatch(
      new RegExp(`^Hint: free space on the file system of ${disk} \\(df -h ${disk}\\)`, 'm'),
    )
    expect(r.stderr).not.toMatch(/network error/)
    const text = readFileSync(pool, 'utf8')
    expect(text.endsWith('\n')).toBe(true) // no torn last line
    const lines = text.trim().split('\n')
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow()
    expect(readPool(pool).length).toBe(lines.length)
    expect(lines.length).toBeGreaterThan(0)
    expect(lines.length).toBeLessThan(300)
  })

  it('revoke-bulk on a full disk: the ledger and the fix are named, exit 1; --resume after freeing space revokes every recorded token', async (ctx) => {
    if (!mounted) return ctx.skip()
    const ledger = `${disk}/l.jsonl`
    const r = await runCli(['revoke-bulk', '--count', '300', '--ledger', ledger, '--concurrency', '4'], {
      env: env(),
      timeoutMs: 60_000,
    })
    expect(r.code, r.stderr).toBe(1)
    expect(r.stderr).toMatch(
      new RegExp(`^Error: cannot write ledger ${ledger}: no space left on device \\(ENOSPC\\)$`, 'm'),
    )
    expect(r.stderr).toMatch(/^Hint: free space on the file system of .*df -h.*--resume --ledger/m)
    expect(r.stderr).not.toMatch(/network error/)
    // no torn line: the ledger replays without dropping anything
    const before = readLedger(ledger)
    expect(before.torn).toBe(false)
    expect(before.complete).toBe(false)

    rmSync(`${disk}/fill`)
    const resumed = await runCli(['revoke-bulk', '--resume', '--ledger', ledger, '--json'], {
      env: env(),
      timeoutMs: 60_000,
    })
    expect(resumed.code, resumed.stderr).toBe(0)
    const after = readLedger(ledger)
    expect(after.complete).toBe(true)
    const recorded = [...after.entries.values()].filter((e) => e.token)
    expect(recorded.length).toBe(300)
    for (const e of recorded) expect(fk.revoked.has(e.token!)).toBe(true)
  })
})
