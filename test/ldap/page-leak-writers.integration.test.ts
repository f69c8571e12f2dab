import { readFileSync } from 'node:fs'
import { Client } from 'ldapts'
import { beforeAll, describe, expect, it } from 'vitest'
import { LAB_BIND_DN, LAB_ROOT_DN, LAB_USERS_DN } from '../../src/lab/layout.js'
import { LDAP_URL } from '../../src/lab/slapd.js'
import { labStatus } from '../../src/lab/status.js'
import type { LabStatus, PageLeakCheckResult } from '../../src/results/types.js'
import { type CliResult, parseJson, runCli } from '../helpers/cli.js'
import { LAB, LAB_DIR, LAB_ENV } from '../integration/lab-env.js'

// `ldap page-leak-check --writers` on the lab's slapd: writes to the users' description while paging them,
// a baseline of writes alone first; every search must still return every user exactly once, and the
// descriptions are put back afterwards. Short runs (about 10 s each).

let status: LabStatus
const cmd = ['ldap', 'page-leak-check']
const explain = (r: CliResult) => `exit ${r.code}\n${r.stderr}`

/** dn -> description values of every lab user, read as the service account (a plain search). */
async function descriptions(): Promise<Map<string, string[]>> {
  const client = new Client({ url: LDAP_URL })
  try {
    await client.bind(LAB_BIND_DN, readFileSync(LAB.ldapBindPasswordFile, 'utf8').trim())
    const { searchEntries } = await client.search(LAB_USERS_DN, {
      scope: 'one',
      filter: '(objectClass=*)',
      attributes: ['description'],
    })
    const list = (v: unknown) => (Array.isArray(v) ? v : v === undefined ? [] : [v]).map(String)
    return new Map(searchEntries.map((e) => [e.dn, list(e.description)]))
  } finally {
    await client.unbind().catch(() => {})
  }
}

beforeAll(async () => {
  status = await labStatus(LAB_DIR)
  expect(status.ldap.healthy).toBe(true)
})

describe('idtool ldap page-leak-check --writers on the lab', () => {
  it('writes during paging, times both phases, keeps paging consistent and restores the descriptions', async () => {
    const users = status.ldap.users ?? 1000
    const before = await descriptions()
    expect(before.size).toBe(users)
    const r = await runCli(
      [
        ...cmd,
        '--page-size',
        '5',
        '--iterations',
        '10',
        '--warmup',
        '2',
        '--writers',
        '2',
        '--write-rate',
        '40',
        '--write-baseline',
        '2s',
        '--allow-inconclusive',
        '--json',
      ],
      { env: LAB_ENV, timeoutMs: 60_000 },
    )
    expect(r.code, explain(r)).toBe(0)
    expect(r.stderr).toMatch(/Writing as the lab's LDAP root DN/)
    const res = parseJson<PageLeakCheckResult>(r)
    expect(res.version).toBe(2)
    expect(res.searches).toBe(10)
    expect(res.errors).toEqual({})
    const w = res.writes!
    expect(w).toMatchObject({ writers: 2, ratePerSec: 40, attribute: 'description', bindDn: LAB_ROOT_DN })
    // about 80 writes in the 2 s baseline; the measured searches take seconds at page size 5
    expect(w.baseline.ok).toBeGreaterThan(40)
    expect(w.during.ok).toBeGreaterThan(10)
    // the during phase spans the measured searches
    expect(Math.abs(w.during.durationMs - res.durationMs)).toBeLessThan(250)
    for (const phase of [w.baseline, w.during]) {
      expect(phase.errors).toEqual({})
      expect(phase.ok).toBe(phase.writes)
      expect(phase.latencyMs.p50).toBeGreaterThan(0)
      expect(phase.latencyMs.p99).toBeGreaterThanOrEqual(phase.latencyMs.p50)
      expect(phase.latencyMs.max).toBeGreaterThanOrEqual(phase.latencyMs.p99)
      expect(phase.achievedRatePerSec).toBeGreaterThan(0)
      expect(phase.histogram).toBeTruthy()
      expect(phase.eventLoopDelayMs!.p99).toBeGreaterThan(0)
    }
    expect(res.consistency).toEqual({
      expectedEntries: users,
      searches: 10,
      consistent: 10,
      missing: 0,
      duplicates: 0,
      unexpected: 0,
    })
    expect(w.entriesWritten).toBeGreaterThan(w.baseline.ok)
    expect(w.restored).toBe(w.entriesWritten)
    expect(w.restoreErrors).toBe(0)
    // the directory is as it was: no description written by the run is left
    expect(await descriptions()).toEqual(before)
  }, 90_000)

  it('refuses writers bound as a DN the ACLs let read only (exit 2), before measuring', async () => {
    const r = await runCli(
      [
        ...cmd,
        '--iterations',
        '5',
        '--writers',
        '1',
        '--write-bind-dn',
        LAB_BIND_DN,
        '--write-password-file',
        LAB.ldapBindPasswordFile,
      ],
      { env: LAB_ENV, timeoutMs: 30_000 },
    )
    expect(r.code, explain(r)).toBe(2)
    expect(r.stderr).toMatch(
      /the writers, bound as cn=keystone,dc=example,dc=org, may not write description \(LDAP result 50\)/,
    )
    expect(r.stderr).toMatch(/--write-bind-dn DN --write-password-file FILE/)
    expect(r.stdout).toBe('')
  }, 40_000)
})
