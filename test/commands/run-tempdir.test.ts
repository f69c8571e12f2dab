import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'
import { type FakeKeystone, fakeKeystoneEnv, startFakeKeystone } from '../keystone/fake-keystone.js'

// Issue 12 item 17: `idtool run` without --out saved the result in a /tmp/idtool-run-* directory and left
// it there after every run. Since issue 13 it judges the result in memory and makes no such directory.
// TMPDIR points the CLI at a private temporary directory, so what it leaves behind can be listed. The
// built CLI against a local stand-in Keystone on port 0.
let fk: FakeKeystone
const root = mkdtempSync(join(tmpdir(), 'idtool-run-tempdir-test-'))
const scenario = join(root, 'five.yaml')
const env = (tmp: string, authUrl = fk.authUrl) => ({
  TMPDIR: tmp,
  ...fakeKeystoneEnv(authUrl),
  XDG_STATE_HOME: join(root, 'state'),
})
const freshTmp = (name: string) => mkdtempSync(join(root, `${name}-`))
const leftOver = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('idtool-run-'))

beforeAll(async () => {
  fk = await startFakeKeystone()
  writeFileSync(scenario, 'command: revoke-bulk\nsettings:\n  count: 5\nthresholds:\n  - failed == 0\n')
})
afterAll(async () => {
  await fk.close()
  rmSync(root, { recursive: true, force: true })
})

describe('idtool run leaves no temporary result directory (issue 12 item 17)', () => {
  it('after a run that passes', async () => {
    const tmp = freshTmp('pass')
    const r = await runCli(['run', scenario], { env: env(tmp), timeoutMs: 60_000 })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/failed == 0/)
    expect(r.stderr).toMatch(/result not kept \(pass --out FILE to keep it\)/)
    expect(leftOver(tmp)).toEqual([])
  })

  it('after a run that fails (Keystone unreachable)', async () => {
    const tmp = freshTmp('fail')
    const r = await runCli(['run', scenario], { env: env(tmp, 'http://127.0.0.1:9/v3'), timeoutMs: 60_000 })
    expect(r.code, r.stderr).toBe(2)
    expect(leftOver(tmp)).toEqual([])
  })

  it('with --out the result is kept where asked and no temporary directory is made', async () => {
    const tmp = freshTmp('out')
    const out = join(root, 'kept.json')
    const r = await runCli(['run', scenario, '--out', out], { env: env(tmp), timeoutMs: 60_000 })
    expect(r.code, r.stderr).toBe(0)
    expect(readdirSync(root)).toContain('kept.json')
    expect(leftOver(tmp)).toEqual([])
  })
})
