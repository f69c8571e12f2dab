import { existsSync, readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { range, runBounded } from '../../src/keystone/bulk.js'
import type { RevocationEvent } from '../../src/keystone/client.js'
import { readLedger } from '../../src/keystone/ledger.js'
import { type KeystoneSession, openSession } from '../../src/keystone/session.js'
import { resolveAuthOrLab } from '../../src/lab/target.js'
import type { RevokeBulkResult } from '../../src/results/types.js'
import { parseJson, runCli } from '../helpers/cli.js'
import { LAB_ENV } from '../integration/lab-env.js'
import { tempDir } from './helpers.js'

// Against the real lab (Keystone behind haproxy). Each run here adds 200 revocation events; Keystone prunes
// them on its own after the token lifetime plus the expiration buffer (about 1.5 h).
const N = 200
let session: KeystoneSession
const tmp = tempDir('idtool-revoke-it-')

beforeAll(async () => {
  session = await openSession(resolveAuthOrLab({ flags: {}, env: { ...process.env, ...LAB_ENV } }))
})
afterAll(async () => {
  await session?.close()
  tmp.rm()
})

const events = () => session.client.listRevocationEvents(session.caller.token)
const eventKey = (e: RevocationEvent) => `${e.audit_id}|${e.revoked_at}|${e.user_id}|${e.project_id}`

/** The tokens and audit ids the ledger recorded as issued, and how many "revoked" lines each has. */
function ledgerTokens(path: string) {
  const r = readLedger(path)
  return [...r.entries.values()]
}

/** Validate every token (4 at a time) and return the statuses seen. */
async function statuses(tokens: string[]): Promise<Record<string, number>> {
  const seen: Record<string, number> = {}
  await runBounded(range(0, tokens.length), { concurrency: 4 }, async (i) => {
    const v = await session.client.validate(session.caller.token, tokens[i]!, { nocatalog: true })
    seen[v.status] = (seen[v.status] ?? 0) + 1
  })
  return seen
}

/** Our audit ids must each appear exactly once among the events. */
function countOurs(all: RevocationEvent[], auditIds: Set<string>): { ours: number; duplicates: number } {
  const seen = new Map<string, number>()
  for (const e of all)
    if (e.audit_id && auditIds.has(e.audit_id)) seen.set(e.audit_id, (seen.get(e.audit_id) ?? 0) + 1)
  return { ours: seen.size, duplicates: [...seen.values()].filter((n) => n > 1).length }
}

describe('revoke-bulk on the lab', () => {
  it(`--count ${N} raises the revocation event count by exactly ${N}; every revoked token then validates 404`, async () => {
    const ledger = tmp.path('count.jsonl')
    const before = await events()
    const r = await runCli(['revoke-bulk', '--count', String(N), '--ledger', ledger, '--json'], {
      env: LAB_ENV,
      timeoutMs: 240_000,
    })
    expect(r.code, r.stderr).toBe(0)
    const res = parseJson<RevokeBulkResult>(r)
    expect(res).toMatchObject({
      kind: 'revoke-bulk',
      issued: N,
      revoked: N,
      failed: 0,
      skipped: 0,
      interrupted: false,
    })
    expect(res.revocationEventsBefore).not.toBeNull()
    const after = await events()

    const entries = ledgerTokens(ledger)
    expect(entries).toHaveLength(N)
    const auditIds = new Set(entries.map((e) => e.auditId!))
    expect(auditIds.size).toBe(N)
    // exactly one new event per token we revoked, none twice
    expect(countOurs(after, auditIds)).toEqual({ ours: N, duplicates: 0 })
    expect(countOurs(before, auditIds).ours).toBe(0)
    // the total moved by exactly N unless someone else revoked (or Keystone pruned) in the meantime
    const beforeKeys = new Set(before.map(eventKey))
    const afterKeys = new Set(after.map(eventKey))
    const foreign = after.filter(
      (e) => !beforeKeys.has(eventKey(e)) && !auditIds.has(e.audit_id ?? ''),
    ).length
    const pruned = before.filter((e) => !afterKeys.has(eventKey(e))).length
    if (foreign === 0 && pruned === 0) {
      expect(after.length - before.length).toBe(N)
      expect(res.revocationEventsAfter! - res.revocationEventsBefore!).toBe(N)
    } else {
      process.stderr.write(
        `[revoke-bulk] shared lab: ${foreign} foreign and ${pruned} pruned events meanwhile\n`,
      )
      expect(after.length - before.length).toBe(N + foreign - pruned)
    }

    expect(await statuses(entries.map((e) => e.token!))).toEqual({ 404: N })
  })

  it.each([
    ['issuing', '"s":"issued"'],
    ['revoking', '"s":"revoked"'],
  ])(
    'a run SIGKILLed halfway through %s, then --resume, ends with every issued token revoked once',
    async (what, marker) => {
      const ledger = tmp.path(`killed-${what}.jsonl`)
      let pid = 0
      let killedAt = -1
      const run = runCli(['revoke-bulk', '--count', String(N), '--ledger', ledger, '--json'], {
        env: LAB_ENV,
        timeoutMs: 240_000,
        onSpawn: (p) => {
          pid = p
        },
      })
      const poll = setInterval(() => {
        if (killedAt >= 0 || !existsSync(ledger)) return
        const text = readFileSync(ledger, 'utf8')
        const n = text.split(marker).length - 1
        if (n >= N / 2) {
          killedAt = n
          process.kill(pid, 'SIGKILL')
        }
      }, 10)
      const killed = await run
      clearInterval(poll)
      expect(killed.signal).toBe('SIGKILL')
      expect(killedAt).toBeGreaterThanOrEqual(N / 2)
      const mid = readLedger(ledger)
      expect(mid.complete).toBe(false)
      const midRevoked = [...mid.entries.values()].filter((e) => e.state === 'revoked').length
      expect(midRevoked).toBeLessThan(N)

      const resumed = await runCli(['revoke-bulk', '--resume', '--ledger', ledger, '--json'], {
        env: LAB_ENV,
        timeoutMs: 240_000,
      })
      expect(resumed.code, resumed.stderr).toBe(0)
      const res = parseJson<RevokeBulkResult>(resumed)
      expect(res.failed).toBe(0)
      expect(res.revoked + res.skipped).toBe(N)

      const entries = ledgerTokens(ledger)
      expect(entries).toHaveLength(N)
      for (const e of entries) {
        expect(e.state).toBe('revoked')
        expect(e.revokedLines).toBe(1)
      }
      const auditIds = new Set(entries.map((e) => e.auditId!))
      expect(countOurs(await events(), auditIds)).toEqual({ ours: N, duplicates: 0 })
      expect(await statuses(entries.map((e) => e.token!))).toEqual({ 404: N })
    },
  )

  it('a wrong password exits 2 with a clear message and writes no pool and no ledger', async () => {
    const env = {
      OS_CLOUD: '',
      OS_CLIENT_CONFIG_FILE: '',
      OS_AUTH_URL: session.client.base,
      OS_USERNAME: 'admin',
      OS_PASSWORD: 'definitely-not-the-password',
      OS_PROJECT_NAME: 'admin',
      OS_USER_DOMAIN_NAME: 'Default',
      OS_PROJECT_DOMAIN_NAME: 'Default',
    }
    const pool = tmp.path('wrong.jsonl')
    const r = await runCli(['tokens', 'issue', '--count', '5', '--out', pool], { env })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^Error: Keystone rejected the credentials of user "admin"[^\n]* \(401/m)
    expect(r.stderr).toMatch(/^Hint: /m)
    expect(r.stderr).not.toContain('definitely-not-the-password')
    expect(existsSync(pool)).toBe(false)
    const ledger = tmp.path('wrong-ledger.jsonl')
    const rb = await runCli(['revoke-bulk', '--count', '5', '--ledger', ledger], { env })
    expect(rb.code).toBe(2)
    expect(rb.stderr).toMatch(/rejected the credentials/)
    expect(existsSync(ledger)).toBe(false)
  })
})
