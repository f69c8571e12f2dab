import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { UsageError } from '../../src/errors.js'
import { labPaths } from '../../src/lab/layout.js'
import {
  analyzeRevocationDb,
  clearRevocations,
  keystoneTimestamp,
  labRevocationTarget,
  parseConnection,
  SEED_AUDIT_PREFIX,
  SqliteRevocationStore,
  seedRevocations,
  setRevocationLevel,
} from '../../src/lab/revocations.js'
import { parseJson, runCli } from '../helpers/cli.js'

// The table as Keystone 22's db_sync creates it (from the lab's keystone.db).
const SCHEMA = `
CREATE TABLE revocation_event (
  id INTEGER NOT NULL, domain_id VARCHAR(64), project_id VARCHAR(64), user_id VARCHAR(64), role_id VARCHAR(64),
  trust_id VARCHAR(64), consumer_id VARCHAR(64), access_token_id VARCHAR(64), issued_before DATETIME NOT NULL,
  expires_at DATETIME, revoked_at DATETIME NOT NULL, audit_id VARCHAR(32), audit_chain_id VARCHAR(32), PRIMARY KEY (id));
CREATE INDEX ix_revocation_event_project_id_issued_before ON revocation_event (project_id, issued_before);
CREATE INDEX ix_revocation_event_issued_before ON revocation_event (issued_before);
CREATE INDEX ix_revocation_event_audit_id_issued_before ON revocation_event (audit_id, issued_before);
CREATE INDEX ix_revocation_event_new_revoked_at ON revocation_event (revoked_at);
CREATE INDEX ix_revocation_event_user_id_issued_before ON revocation_event (user_id, issued_before);
PRAGMA journal_mode=WAL;
`
const hasSqlite = existsSync('/usr/bin/sqlite3')
const root = mkdtempSync(join(tmpdir(), 'idtool-revocations-test-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const sql = (db: string, text: string) =>
  execFileSync('/usr/bin/sqlite3', ['-batch', db], { input: text, encoding: 'utf8' }).trim()

/** A fake lab directory: state.json and a keystone.conf naming a SQLite file with Keystone's table. */
function makeLab(name: string): { dir: string; db: string } {
  const dir = join(root, name)
  const p = labPaths(dir)
  mkdirSync(p.keystoneDir, { recursive: true })
  writeFileSync(p.state, JSON.stringify({ version: 1, spec: { db: 'sqlite' } }))
  writeFileSync(
    p.keystoneConf,
    `[DEFAULT]\ndebug = false\n\n[database]\nconnection = sqlite:///${p.keystoneDb}\n`,
  )
  sql(p.keystoneDb, SCHEMA)
  return { dir, db: p.keystoneDb }
}

/** One row as the API writes it (DELETE /v3/auth/tokens), as seen in the lab. */
function apiRow(db: string, auditId: string) {
  const ts = keystoneTimestamp(new Date())
  sql(
    db,
    `INSERT INTO revocation_event (issued_before, revoked_at, audit_id) VALUES ('${ts}', '${ts}', '${auditId}');`,
  )
}

describe('keystone.conf connections', () => {
  it('names the SQLite file or the MariaDB socket and database, never a password', () => {
    expect(parseConnection('sqlite:////var/lab/keystone.db')).toEqual({
      kind: 'sqlite',
      path: '/var/lab/keystone.db',
    })
    const my = parseConnection(
      'mysql+pymysql://keystone:s3cret@localhost/keystone?unix_socket=/lab/run/mariadb.sock',
      {
        passwordFile: '/lab/secrets/pw',
      },
    )
    expect(my).toEqual({
      kind: 'mariadb',
      socket: '/lab/run/mariadb.sock',
      database: 'keystone',
      user: 'keystone',
      passwordFile: '/lab/secrets/pw',
    })
    expect(JSON.stringify(my)).not.toContain('s3cret')
    expect(() => parseConnection('postgresql://x@h/k')).toThrow(UsageError)
  })

  it('refuses a directory that is not an idtool lab', () => {
    const dir = join(root, 'not-a-lab')
    mkdirSync(dir, { recursive: true })
    expect(() => labRevocationTarget(dir)).toThrow(/not an idtool lab/)
  })
})

describe.skipIf(!hasSqlite)('seeding the lab database (SQLite)', () => {
  let lab: { dir: string; db: string }
  let store: SqliteRevocationStore
  beforeEach((ctx) => {
    lab = makeLab(ctx.task.id)
    store = new SqliteRevocationStore(lab.db)
  })

  it('inserts rows shaped like API-made ones: audit_id, issued_before, revoked_at, nothing else', async () => {
    apiRow(lab.db, 'M1xGsl5WRGGJckRg2YioZQ')
    const at = new Date('2026-11-21T23:39:10.654Z')
    const r = await seedRevocations(store, 2500, { at })
    expect(r).toMatchObject({ before: 1, after: 2501, inserted: 2500, seededAfter: 2500, db: 'sqlite' })
    expect(await store.count()).toBe(2501)
    const nonNull = sql(
      lab.db,
      `SELECT count(*) FROM revocation_event WHERE coalesce(domain_id, project_id, user_id, role_id, trust_id,
        consumer_id, access_token_id, expires_at, audit_chain_id) IS NOT NULL;`,
    )
    expect(nonNull).toBe('0')
    const rows = sql(
      lab.db,
      'SELECT issued_before, revoked_at, audit_id FROM revocation_event ORDER BY id DESC LIMIT 3;',
    )
      .split('\n')
      .map((l) => l.split('|'))
    for (const [issuedBefore, revokedAt, auditId] of rows) {
      expect(issuedBefore).toBe('2026-11-21 23:39:10.000000')
      expect(revokedAt).toBe(issuedBefore)
      expect(auditId).toMatch(/^[A-Za-z0-9_-]{22}$/)
      expect(auditId!.startsWith(SEED_AUDIT_PREFIX)).toBe(true)
    }
    expect(sql(lab.db, 'SELECT count(DISTINCT audit_id) FROM revocation_event;')).toBe('2501')
  })

  it('brings the count to a level, removing only seeded rows when above it', async () => {
    for (const id of ['aaaaaaaaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbbbbbbbb', 'idtoolseedxxxxxxxxxxxx'])
      apiRow(lab.db, id)
    expect((await setRevocationLevel(store, 1000)).after).toBe(1000)
    const down = await setRevocationLevel(store, 200)
    expect(down).toMatchObject({ before: 1000, after: 200, deleted: 800, inserted: 0 })
    // below what the API made: every seeded row goes, API rows stay (one with a look-alike lower-case prefix)
    const floor = await setRevocationLevel(store, 0)
    expect(floor.after).toBe(3)
    expect(await store.countSeeded()).toBe(0)
    await expect(setRevocationLevel(store, 1, { strict: true })).rejects.toThrow(/made through the API/)
  })

  it('clears seeded rows only, or everything', async () => {
    apiRow(lab.db, 'cccccccccccccccccccccc')
    await seedRevocations(store, 50)
    expect(await clearRevocations(store, { seededOnly: true })).toMatchObject({
      before: 51,
      deleted: 50,
      after: 1,
    })
    await seedRevocations(store, 5)
    expect(await clearRevocations(store)).toMatchObject({ before: 6, deleted: 6, after: 0 })
  })

  it("ANALYZE moves Keystone's revocation query to the audit_id index; --drop moves it back", async () => {
    await seedRevocations(store, 3000)
    const a = await analyzeRevocationDb(store)
    expect(a.statisticsBefore).toBe(false)
    expect(a.statisticsAfter).toBe(true)
    expect(a.planBefore.indexes).toEqual(['ix_revocation_event_user_id_issued_before'])
    expect(a.planAfter.indexes).toEqual(['ix_revocation_event_audit_id_issued_before'])
    const d = await analyzeRevocationDb(store, { drop: true })
    expect(d.statisticsAfter).toBe(false)
    expect(d.planAfter.indexes).toEqual(['ix_revocation_event_user_id_issued_before'])
  })
})

describe.skipIf(!hasSqlite)(
  'lab seed-revocations / analyze / clear-revocations commands',
  { timeout: 90_000 },
  () => {
    it('seed, count, bring to a level, analyze and clear a lab directory', async () => {
      const lab = makeLab('cli')
      const seed = await runCli(['lab', 'seed-revocations', '1200', '--dir', lab.dir, '--json'])
      expect(seed.code, seed.stderr).toBe(0)
      expect(parseJson<{ after: number; inserted: number }>(seed)).toMatchObject({
        after: 1200,
        inserted: 1200,
      })
      const to = await runCli(['lab', 'seed-revocations', '--to', '300', '--dir', lab.dir])
      expect(to.code, to.stderr).toBe(0)
      expect(to.stdout).toMatch(/removed 900 seeded revocation events .*1200 -> 300 events/)
      const an = await runCli(['lab', 'analyze', '--dir', lab.dir])
      expect(an.code, an.stderr).toBe(0)
      expect(an.stdout).toMatch(/index after\s+ix_revocation_event_audit_id_issued_before/)
      const cl = await runCli(['lab', 'clear-revocations', '--seeded-only', '--dir', lab.dir, '--json'])
      expect(parseJson<{ deleted: number; after: number }>(cl)).toMatchObject({ deleted: 300, after: 0 })
    })

    it('bad input exits 2 with one line and a hint', async () => {
      const none = await runCli(['lab', 'seed-revocations', '--dir', join(root, 'cli')])
      expect(none.code).toBe(2)
      expect(none.stderr).toMatch(/^Error: give the number of events to add, or --to TOTAL\nHint: /)
      const notLab = await runCli(['lab', 'seed-revocations', '5', '--dir', root])
      expect(notLab.code).toBe(2)
      expect(notLab.stderr).toMatch(/is not an idtool lab/)
      expect(notLab.stderr).not.toMatch(/\n\s+at /)
    })
  },
)
