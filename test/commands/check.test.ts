import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { CheckResult } from '../../src/results/check.js'
import { parseJson, runCli } from '../helpers/cli.js'
import { type FakeKeystone, startFakeKeystone } from '../keystone/fake-keystone.js'
import { fakeCliEnv } from '../keystone/helpers.js'

// `idtool check ...` against a loopback fake Keystone: the Monitoring Plugins contract (one status line with
// perfdata, exit 0/1/2/3, UNKNOWN for anything that prevented a measurement).
let fk: FakeKeystone
let env: Record<string, string>

beforeAll(async () => {
  fk = await startFakeKeystone()
  env = fakeCliEnv(fk, mkdtempSync(join(tmpdir(), 'idtool-check-')))
})
afterAll(async () => {
  await fk.close()
})
beforeEach(() => fk.reset())

const STATUS_LINE = /^IDTOOL (REVOCATIONS|VALIDATE) (OK|WARNING|CRITICAL|UNKNOWN) - [^|\n]+( \| .+)?$/

describe('idtool check revocations', () => {
  it('counts the events and judges them: OK, WARNING, CRITICAL by the ranges', async () => {
    fk.events.push('a', 'b', 'c')
    const ok = await runCli(['check', 'revocations', '-w', '5', '-c', '10'], { env })
    const lines = ok.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(STATUS_LINE)
    expect(lines[0]).toBe('IDTOOL REVOCATIONS OK - 3 revocation events | events=3;5;10;0;')
    expect(ok.code).toBe(0)
    const warn = await runCli(['check', 'revocations', '-w', '2', '-c', '10'], { env })
    expect([warn.code, warn.stdout.split('\n')[0]]).toEqual([
      1,
      'IDTOOL REVOCATIONS WARNING - 3 revocation events | events=3;2;10;0;',
    ])
    const crit = await runCli(['check', 'revocations', '--warning', '1', '--critical', '@3:5'], { env })
    expect(crit.code).toBe(2)
    expect(crit.stdout).toMatch(/^IDTOOL REVOCATIONS CRITICAL - 3 revocation events \| events=3;1;@3:5;0;/)
  })

  it('--json prints the CheckResult and still exits with the plugin code', async () => {
    fk.events.push('a')
    const r = await runCli(['check', 'revocations', '-c', '0', '--json'], { env })
    expect(r.code).toBe(2)
    const j = parseJson<CheckResult>(r)
    expect(j).toMatchObject({
      kind: 'check.revocations',
      status: 'CRITICAL',
      exitCode: 2,
      summary: '1 revocation event',
    })
    expect(j.perfdata).toEqual([{ label: 'events', value: 1, critical: '0', min: 0 }])
  })

  it('a bad range, an unknown flag: UNKNOWN (3), one line, nothing measured', async () => {
    const bad = await runCli(['check', 'revocations', '-w', '20:10'], { env })
    expect(bad.code).toBe(3)
    expect(bad.stdout.split('\n')[0]).toBe(
      'IDTOOL REVOCATIONS UNKNOWN - --warning "20:10" is not a threshold range',
    )
    expect(fk.requests).toBe(0)
    const flag = await runCli(['check', 'revocations', '--bogus'], { env })
    expect(flag.code).toBe(3)
    expect(flag.stdout).toMatch(/^IDTOOL REVOCATIONS UNKNOWN - Nonexistent flag: --bogus/)
    expect(flag.stderr).not.toMatch(/at .*\.js:\d+/) // no stack trace
  })
})

describe('idtool check validate', () => {
  it('validates one token N times; perfdata carries the latencies in ms and the failures', async () => {
    const r = await runCli(['check', 'validate', '-n', '5', '-w', '10000', '-c', '20000'], { env })
    expect(r.code).toBe(0)
    const [first, ...details] = r.stdout.trimEnd().split('\n')
    expect(first).toMatch(STATUS_LINE)
    expect(first).toMatch(
      /^IDTOOL VALIDATE OK - 5\/5 validations, p50 [\d.]+ ms \(max [\d.]+ ms\) \| p50=[\d.]+ms;10000;20000;0; /,
    )
    expect(first).toMatch(/ failures=0;;;0;5$/)
    expect(details.join('\n')).toMatch(/validation times \(ms\): ([\d.]+ ){4}[\d.]+$/)
    expect(fk.validations).toBe(5)
  })

  it('a refused validation is CRITICAL whatever the ranges say', async () => {
    fk.faults.forbidValidate = true
    const r = await runCli(['check', 'validate', '-n', '3', '-w', '100000'], { env })
    expect(r.code).toBe(2)
    expect(r.stdout).toMatch(/^IDTOOL VALIDATE CRITICAL - 3 of 3 validations refused \(3× 403\) \|/)
  })

  it('rejected credentials are UNKNOWN, not CRITICAL', async () => {
    fk.faults.wrongPassword = true
    const r = await runCli(['check', 'validate'], { env })
    expect(r.code).toBe(3)
    expect(r.stdout).toMatch(/^IDTOOL VALIDATE UNKNOWN - Keystone rejected the credentials/)
    expect(r.stdout).not.toContain(env.OS_PASSWORD)
  })

  it('an unreachable Keystone is UNKNOWN', async () => {
    const r = await runCli(['check', 'validate'], { env: { ...env, OS_AUTH_URL: 'http://127.0.0.1:1/v3' } })
    expect(r.code).toBe(3)
    expect(r.stdout).toMatch(/^IDTOOL VALIDATE UNKNOWN - /)
  })

  it('--timeout gives UNKNOWN when Keystone does not answer in time', async () => {
    fk.faults.stallNext = 1
    const t0 = Date.now()
    const r = await runCli(['check', 'validate', '--timeout', '1'], { env, timeoutMs: 20_000 })
    expect(r.code).toBe(3)
    expect(r.stdout.split('\n')[0]).toBe('IDTOOL VALIDATE UNKNOWN - timed out after 1 s')
    expect(Date.now() - t0).toBeLessThan(10_000)
  })

  it('--help says the exit codes follow the Monitoring Plugins table', async () => {
    const r = await runCli(['check', 'validate', '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/Monitoring Plugins, not idtool's own table/)
    expect(r.stdout).toMatch(/3\s+UNKNOWN/)
  })
})
