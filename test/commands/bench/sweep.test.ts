import { describe, expect, it } from 'vitest'
import { runCli } from '../../helpers/cli.js'

// The shared guard of commands that change a Keystone (issue 12 item 2): a sweep through the API issues and
// revokes tokens, so on a non-loopback target it asks first, and refuses when stdin is not a terminal.
// 192.0.2.10 is TEST-NET-1: the refusal must come before any connection, so nothing is ever sent there.
describe('bench sweep on a non-loopback Keystone', () => {
  const args = ['bench', 'sweep', '--revocations', '0,10', '--token-count', '1', '--requests', '10']
  const env = { OS_CLOUD: '', OS_CLIENT_CONFIG_FILE: '', OS_AUTH_URL: 'http://192.0.2.10:5000/v3' }

  it('refuses without --yes when stdin is not a terminal, before any request', async () => {
    const t0 = Date.now()
    const r = await runCli(args, { env })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(
      'Error: refusing to issue and revoke tokens to raise the revocation event count at http://192.0.2.10:5000/v3 (not a loopback address) without --yes',
    )
    expect(r.stderr).toMatch(
      /^Hint: stdin is not a terminal, so idtool cannot ask: pass --yes to confirm\.$/m,
    )
    // no connection attempt: a connect to TEST-NET would take the whole connect timeout
    expect(Date.now() - t0).toBeLessThan(10_000)
  })

  it('--json carries the same refusal as a typed error', async () => {
    const r = await runCli([...args, '--json'], { env })
    expect(r.code).toBe(2)
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { exitCode: 2, code: 'USAGE' } })
  })
})

describe('bench sweep: --workers and the memory flags are checked before any work', () => {
  const base = ['bench', 'sweep', '--revocations', '0,10', '--token-count', '1', '--requests', '10']
  const env = { OS_CLOUD: '', OS_CLIENT_CONFIG_FILE: '', OS_AUTH_URL: 'http://192.0.2.10:5000/v3' }

  it('--workers with --shard is one usage line', async () => {
    const r = await runCli([...base, '--workers', '2', '--shard', '0/2', '--yes'], { env })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--workers and --shard exclude each other')
  })

  it('--fail-on-leak without a process to watch is one usage line', async () => {
    const r = await runCli([...base, '--fail-on-leak', '--yes'], { env })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--fail-on-leak needs --pid or --watch-lab')
  })

  it('a PID that is not there fails before any connection', async () => {
    const t0 = Date.now()
    const r = await runCli([...base, '--pid', '999999999', '--yes'], { env })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--pid 999999999: no such process')
    expect(Date.now() - t0).toBeLessThan(10_000)
  })
})
