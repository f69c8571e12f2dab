import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { parseJson, runCli } from '../../helpers/cli.js'

// Bad input and an unreachable server, through the built CLI (`npm run build` first). No LDAP server
// needed: every case fails before a search.

let pwFile: string
let closedPort: number
const cmd = ['ldap', 'page-leak-check']

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'idtool-leak-'))
  pwFile = join(dir, 'pw')
  writeFileSync(pwFile, 'not-the-password\n')
  chmodSync(pwFile, 0o600)
  // a port that was free a moment ago: connecting to it is refused
  const srv = createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  closedPort = (srv.address() as { port: number }).port
  await new Promise((r) => srv.close(r))
})

/** The direct-mode flags, with some replaced: { '--url': 'x' } */
const direct = (over: Record<string, string> = {}) => {
  const flags: Record<string, string> = {
    '--url': `ldap://127.0.0.1:${closedPort}`,
    '--bind-dn': 'cn=x,dc=example,dc=org',
    '--password-file': pwFile,
    '--base': 'dc=example,dc=org',
    ...over,
  }
  return [...cmd, ...Object.entries(flags).flat()]
}

describe('idtool ldap page-leak-check: bad input', () => {
  it('refuses --iterations together with --duration', async () => {
    const r = await runCli(direct({ '--iterations': '5', '--duration': '1s' }))
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/use either --iterations or --duration, not both/)
    const mixed = await runCli([...direct(), '--keystone'])
    expect(mixed.code).toBe(2)
    expect(mixed.stderr).toMatch(
      /--keystone lists users through Keystone: --url, --bind-dn, --password-file, --base do not apply/,
    )
  })

  it('refuses a non-LDAP URL, a bad filter, a bad threshold and a missing password', async () => {
    const url = await runCli(direct({ '--url': 'http://127.0.0.1:1' }))
    expect(url.code).toBe(2)
    expect(url.stderr).toMatch(/only ldap:\/\/ and ldaps:\/\/ are supported/)
    const filter = await runCli(direct({ '--filter': '(uid=x' }))
    expect(filter.code).toBe(2)
    expect(filter.stderr).toMatch(/--filter \(uid=x:/)
    const thr = await runCli(direct({ '--leak-threshold': 'lots' }))
    expect(thr.code).toBe(2)
    expect(thr.stderr).toMatch(/--leak-threshold: invalid size "lots"/)
    const nopw = await runCli(
      [...cmd, '--url', 'ldap://127.0.0.1:1', '--bind-dn', 'cn=x', '--base', 'dc=x'],
      {
        env: { LDAP_PASSWORD: '' },
      },
    )
    expect(nopw.code).toBe(2)
    expect(nopw.stderr).toMatch(/LDAP_PASSWORD is empty|no password for cn=x/)
    const unset = await runCli([...cmd, '--url', 'ldap://127.0.0.1:1', '--bind-dn', 'cn=x', '--base', 'dc=x'])
    expect(unset.code).toBe(2)
    expect(unset.stderr).toMatch(/no password for cn=x/)
    expect(unset.stderr).toMatch(/never takes a password as a flag value/)
  })

  it('refuses a password file that does not exist, and a PID that does not exist', async () => {
    const nofile = await runCli(direct({ '--password-file': '/nonexistent/pw' }))
    expect(nofile.code).toBe(2)
    expect(nofile.stderr).toMatch(/cannot read --password-file \/nonexistent\/pw: ENOENT/)
    const nopid = await runCli(direct({ '--pid': '1073741824' }))
    expect(nopid.code).toBe(2)
    expect(nopid.stderr).toMatch(/--pid 1073741824: no such process/)
    expect(nopid.stderr).toMatch(/lab status --json/)
  })

  it('says clearly that the server is unreachable (exit 2), also as JSON', async () => {
    const r = await runCli(direct({ '--iterations': '3' }))
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(new RegExp(`cannot reach ldap://127.0.0.1:${closedPort}`))
    expect(r.stderr).toMatch(/Hint: is the LDAP server running/)
    expect(r.stderr).not.toMatch(/\n\s+at /) // no stack trace
    const j = await runCli([...direct({ '--iterations': '3' }), '--json'])
    expect(j.code).toBe(2)
    const body = parseJson<{ error: { code: string; message: string; exitCode: number } }>(j)
    expect(body.error.code).toBe('CONNECT')
    expect(body.error.exitCode).toBe(2)
  })

  it('refuses bad --writers, --write-rate and --write-baseline values, each in one line with a hint (exit 2)', async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ '--writers': '65' }, /--writers 65: expected a whole number from 0 to 64/],
      [{ '--writers': '-1' }, /--writers -1: expected a whole number from 0 to 64/],
      [{ '--writers': '2', '--write-rate': 'fast' }, /--write-rate fast: expected writes per second/],
      [{ '--writers': '2', '--write-rate': '0' }, /--write-rate 0: expected writes per second above 0/],
      [{ '--writers': '2', '--write-rate': '20000' }, /--write-rate 20000: .*at most 10000/],
      [{ '--write-rate': '10' }, /--write-rate needs --writers N/],
      [{ '--write-rate': '10', '--write-baseline': '2s' }, /--write-rate, --write-baseline need --writers N/],
      [{ '--writers': '1', '--write-baseline': '500ms' }, /--write-baseline must be at least 1s/],
      [{ '--writers': '1', '--write-bind-dn': 'cn=w,dc=x' }, /no password for --write-bind-dn cn=w,dc=x/],
      [{ '--writers': '1', '--write-password-file': pwFile }, /--write-password-file needs --write-bind-dn/],
    ]
    for (const [flags, message] of cases) {
      const r = await runCli(direct(flags))
      const what = `${Object.entries(flags).flat().join(' ')}\n${r.stderr}`
      expect(r.code, what).toBe(2)
      expect(r.stderr, what).toMatch(message)
      expect(r.stderr, what).toMatch(/Hint: /)
      expect(r.stderr, what).not.toMatch(/cannot reach/) // refused before any connection
    }
    const ks = await runCli([...cmd, '--keystone', '--writers', '1'])
    expect(ks.code).toBe(2)
    expect(ks.stderr).toMatch(/--writers applies to direct LDAP searches, not to --keystone/)
  }, 180_000)

  it('documents the writes in --help', async () => {
    const r = await runCli([...cmd, '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/WRITES FLAGS/)
    expect(r.stdout).toMatch(/--write-rate=<value>\s+writes per second across all writers \(default\s+50\)/)
    expect(r.stdout).toMatch(/its\s+description\s+back\s+as\s+it\s+was\s+before\s+the\s+run/)
  })

  it('documents the method and the exit codes in --help', async () => {
    const r = await runCli([...cmd, '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/least-squares/)
    expect(r.stdout).toMatch(/95% confidence interval/)
    expect(r.stdout).toMatch(/sizelimit 500/)
    expect(r.stdout).toMatch(/5\s+leak detected/)
  })
})
