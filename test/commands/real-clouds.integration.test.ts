import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveAuth } from '../../src/config/auth.js'
import type { SmokeResult } from '../../src/lab/smoke.js'
import type {
  BenchSweepResult,
  BenchValidateResult,
  PageLeakCheckResult,
  RevokeBulkResult,
  TokensIssueResult,
} from '../../src/results/types.js'
import { parseJson, runCli } from '../helpers/cli.js'
import { LAB, LAB_ENV } from '../integration/lab-env.js'

// Issue 11 "Real clouds": the main paths of idtool against the real lab the way operators' clouds are set up:
// TLS at the load balancer with a private CA (idtool-lab-https), a client certificate required
// (idtool-lab-mtls), an application credential caller (idtool-lab-appcred), and a bare token caller
// (auth_type token, OS_TOKEN). Every run must get only expected answers.

const tmp = mkdtempSync(join(tmpdir(), 'idtool-clouds-it-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const cloudEnv = (cloud: string) => ({ ...LAB_ENV, OS_CLOUD: cloud })

function expectClean(r: BenchValidateResult, url: RegExp): void {
  expect(r.target).toMatch(url)
  expect(r.requests.total).toBeGreaterThan(0)
  expect(r.requests.ok).toBe(r.requests.total)
  expect(r.requests.errors).toBe(0)
  expect(r.requests.unexpectedStatus).toBe(0)
  expect(Object.keys(r.backends).sort()).toEqual(['ks1', 'ks2'])
}

const HTTPS = /^https:\/\/127\.0\.0\.1:5443\//
const MTLS = /^https:\/\/127\.0\.0\.1:5444\//

// Validation with an application credential is several times slower in Keystone 22 (its caller token and its
// subject tokens both cost more to validate: measured 2.5-3x each on the lab), so its runs are smaller.
describe.each([
  { cloud: 'idtool-lab-https', url: HTTPS, caller: 'password', requests: 200, rate: 40 },
  { cloud: 'idtool-lab-mtls', url: MTLS, caller: 'password', requests: 200, rate: 40 },
  {
    cloud: 'idtool-lab-appcred',
    url: /^http:\/\/127\.0\.0\.1:5000\//,
    caller: 'v3applicationcredential',
    requests: 40,
    rate: 4,
  },
])('the lab as $cloud', ({ cloud, url, caller, requests, rate }) => {
  const env = cloudEnv(cloud)

  it('lab smoke: issue, validate on every backend, revoke, 404', async () => {
    const r = await runCli(['lab', 'smoke', '--json', '--expect-backends', '2'], { env })
    expect(r.code, r.stderr).toBe(0)
    const s = parseJson<SmokeResult>(r)
    expect(s.ok).toBe(true)
    expect(s.authUrl).toMatch(url)
  })

  it('bench validate, closed and open model, 0 unexpected answers', async () => {
    const closed = await runCli(
      [
        'bench',
        'validate',
        '--token-count',
        '10',
        '--concurrency',
        '4',
        '--requests',
        String(requests),
        '--json',
      ],
      { env, timeoutMs: 120_000 },
    )
    expect(closed.code, closed.stderr).toBe(0)
    expectClean(parseJson<BenchValidateResult>(closed), url)
    const open = await runCli(
      ['bench', 'validate', '--token-count', '10', '--rate', String(rate), '--duration', '2s', '--json'],
      { env, timeoutMs: 120_000 },
    )
    expect(open.code, open.stderr).toBe(0)
    const o = parseJson<BenchValidateResult>(open)
    expectClean(o, url)
    expect(o.model).toBe('open')
  })

  it('revoke-bulk: every token issued and revoked; the result names the caller and the method', async () => {
    const ledger = join(tmp, `${cloud}.ledger`)
    const r = await runCli(
      ['revoke-bulk', '--count', '12', '--concurrency', '3', '--ledger', ledger, '--json'],
      {
        env,
        timeoutMs: 120_000,
      },
    )
    expect(r.code, r.stderr).toBe(0)
    const res = parseJson<RevokeBulkResult>(r)
    expect(res).toMatchObject({ issued: 12, revoked: 12, failed: 0, caller })
    if (caller === 'v3applicationcredential') {
      // Keystone refuses the token method for tokens from an application credential: idtool says so
      expect(res.method).toBe('credential')
      expect(res.methodNote).toMatch(/application credential/)
    } else {
      expect(res.method).toBe('token')
    }
  })

  it('bench sweep through the API: the count rises by the difference', async () => {
    const ev = await runCli(
      ['revoke-bulk', '--count', '1', '--ledger', join(tmp, `${cloud}-n.ledger`), '--json'],
      {
        env,
      },
    )
    const now = parseJson<RevokeBulkResult>(ev).revocationEventsAfter!
    const r = await runCli(
      [
        'bench',
        'sweep',
        '--revocations',
        `${now},${now + 5}`,
        '--token-count',
        '10',
        '--concurrency',
        '2',
        '--requests',
        String(Math.min(60, requests)),
        '--json',
      ],
      { env, timeoutMs: 240_000 },
    )
    expect(r.code, r.stderr).toBe(0)
    const res = parseJson<BenchSweepResult>(r)
    expect(res.points).toHaveLength(2)
    for (const p of res.points) expectClean(p.result, url)
    expect(res.points[1]!.revocationEvents).toBeGreaterThanOrEqual(now + 5)
  })

  it('ldap page-leak-check --keystone lists the LDAP domain through this cloud', async () => {
    const r = await runCli(
      [
        'ldap',
        'page-leak-check',
        '--keystone',
        '--iterations',
        '6',
        '--warmup',
        '1',
        '--allow-inconclusive',
        '--json',
      ],
      { env, timeoutMs: 180_000 },
    )
    expect([0, 1, 5], r.stderr).toContain(r.code)
    const res = parseJson<PageLeakCheckResult>(r)
    expect(res.mode).toBe('keystone')
    expect(res.target).toMatch(url)
    expect(res.searches).toBeGreaterThanOrEqual(6)
    expect(res.entriesPerSearch).toBe(1000)
    expect(Object.keys(res.errors)).toEqual([])
  })
})

describe('run + gate over https with a client certificate', () => {
  it('runs the ci-smoke scenario against idtool-lab-mtls and passes', async () => {
    const out = join(tmp, 'mtls-run.json')
    const r = await runCli(['run', 'scenarios/ci-smoke.yaml', '--out', out], {
      env: cloudEnv('idtool-lab-mtls'),
      timeoutMs: 180_000,
    })
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0)
    expect(r.stdout).toContain('gate: PASSED')
    const res = JSON.parse(readFileSync(out, 'utf8')) as BenchValidateResult
    expectClean(res, MTLS)
    const g = await runCli(['gate', out, '--threshold', 'unexpectedStatus == 0', '--threshold', 'rps >= 1'])
    expect(g.code, g.stderr).toBe(0)
  })
})

describe('a token caller (auth_type token, OS_TOKEN)', () => {
  let env: Record<string, string>
  beforeAll(async () => {
    const { openSession } = await import('../../src/keystone/session.js')
    const session = await openSession(resolveAuth({ flags: {}, env: { ...process.env, ...LAB_ENV } }))
    const token = session.caller.token
    await session.close()
    const clouds = join(tmp, 'token-clouds.yaml')
    writeFileSync(
      clouds,
      `clouds:\n  lab-token:\n    auth_type: token\n    auth:\n      auth_url: http://127.0.0.1:5000/v3\n      project_name: admin\n      project_domain_name: Default\n`,
      { mode: 0o600 },
    )
    env = { OS_CLIENT_CONFIG_FILE: clouds, OS_CLOUD: 'lab-token', OS_TOKEN: token, IDTOOL_LAB_DIR: LAB.dir }
  })

  it('tokens issue uses the token method from it; bench validate and revoke-bulk run clean', async () => {
    const pool = join(tmp, 'token-pool.jsonl')
    const t = await runCli(['tokens', 'issue', '--count', '10', '--out', pool, '--json'], { env })
    expect(t.code, t.stderr).toBe(0)
    expect(parseJson<TokensIssueResult>(t)).toMatchObject({
      issued: 10,
      failed: 0,
      method: 'token',
      caller: 'token',
    })
    expect(t.stdout + t.stderr).not.toContain(env.OS_TOKEN)
    const v = await runCli(
      ['bench', 'validate', '--tokens', pool, '--concurrency', '2', '--requests', '100', '--json'],
      {
        env,
      },
    )
    expect(v.code, v.stderr).toBe(0)
    expectClean(parseJson<BenchValidateResult>(v), /^http:\/\/127\.0\.0\.1:5000\//)
    const rb = await runCli(
      ['revoke-bulk', '--from', pool, '--ledger', join(tmp, 'token.ledger'), '--json'],
      { env },
    )
    expect(rb.code, rb.stderr).toBe(0)
    expect(parseJson<RevokeBulkResult>(rb)).toMatchObject({ revoked: 10, failed: 0, caller: 'token' })
  })

  it('--method credential is refused for a token caller with one clear line', async () => {
    const r = await runCli(
      ['tokens', 'issue', '--count', '2', '--method', 'credential', '--out', join(tmp, 'x.jsonl')],
      {
        env,
      },
    )
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^Error: --method credential needs a password or an application credential/m)
    expect(r.stderr).toMatch(/^Hint: /m)
  })
})

describe('TLS settings and mistakes against the real haproxy frontends', () => {
  it('--os-insecure connects without the CA and warns exactly once on stderr', async () => {
    const r = await runCli(['lab', 'smoke', '--os-cloud', 'idtool-lab-https', '--os-insecure', '--json'], {
      env: LAB_ENV,
    })
    expect(r.code, r.stderr).toBe(0)
    expect(parseJson<SmokeResult>(r).ok).toBe(true)
    expect(r.stderr.match(/^Warning: TLS certificate verification is off/gm)).toHaveLength(1)
  })

  it('names the fix: unknown CA, http:// to the TLS port, https:// to the plain port, no client certificate', async () => {
    const pw = readFileSync(LAB.adminPasswordFile, 'utf8').trim()
    const base = {
      OS_CLOUD: '',
      OS_CLIENT_CONFIG_FILE: '',
      OS_CLIENT_SECURE_FILE: '',
      OS_USERNAME: 'admin',
      OS_PASSWORD: pw,
      OS_USER_DOMAIN_NAME: 'Default',
      OS_PROJECT_NAME: 'admin',
      OS_PROJECT_DOMAIN_NAME: 'Default',
    }
    const cases: Array<[Record<string, string>, RegExp, RegExp]> = [
      [{ OS_AUTH_URL: 'https://127.0.0.1:5443/v3' }, /signed by a CA this machine does not trust/, /cacert/],
      [{ OS_AUTH_URL: 'http://127.0.0.1:5443/v3' }, /speaks TLS, not plain HTTP/, /use https:\/\//],
      [{ OS_AUTH_URL: 'https://127.0.0.1:5000/v3' }, /TLS|plain HTTP/, /http:\/\//],
      [{ OS_AUTH_URL: 'https://127.0.0.1:5444/v3', OS_CACERT: LAB.caCert }, /client certificate/, /cert/],
    ]
    for (const [env, what, fix] of cases) {
      const r = await runCli(['lab', 'smoke'], { env: { ...base, ...env } })
      const ctx = `${env.OS_AUTH_URL}: ${r.stderr}`
      expect(r.code, ctx).toBe(2)
      const lines = r.stderr.trim().split('\n')
      expect(lines, ctx).toHaveLength(2)
      expect(lines[0], ctx).toMatch(/^Error: /)
      expect(lines[0], ctx).toMatch(what)
      expect(lines[1], ctx).toMatch(/^Hint: /)
      expect(lines[1], ctx).toMatch(fix)
      expect(r.stderr, ctx).not.toContain(pw)
    }
  })
})
