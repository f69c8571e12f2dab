import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { UsageError } from '../../src/errors.js'
import { pidAlive, readPidFile, sleep, stopPid } from '../../src/lab/proc.js'
import {
  analyzeRevocationDb,
  keystoneTimestamp,
  MariadbRevocationStore,
  parseConnection,
  SEED_AUDIT_PREFIX,
  seedRevocations,
  setRevocationLevel,
} from '../../src/lab/revocations.js'

/**
 * The MariaDB variant of the lab's revocation seeding, against a private mariadbd (unix socket only, in a
 * temporary directory): the shared lab stays on SQLite and is not touched.
 */
const MARIADBD = '/usr/sbin/mariadbd'
const available =
  existsSync(MARIADBD) && existsSync('/usr/bin/mariadb-install-db') && process.getuid?.() === 0

// Keystone 22's revocation_event on MySQL/MariaDB
const SCHEMA = `
CREATE DATABASE IF NOT EXISTS keystone;
USE keystone;
CREATE TABLE revocation_event (
  id INT NOT NULL AUTO_INCREMENT, domain_id VARCHAR(64), project_id VARCHAR(64), user_id VARCHAR(64),
  role_id VARCHAR(64), trust_id VARCHAR(64), consumer_id VARCHAR(64), access_token_id VARCHAR(64),
  issued_before DATETIME NOT NULL, expires_at DATETIME, revoked_at DATETIME NOT NULL, audit_id VARCHAR(32),
  audit_chain_id VARCHAR(32), PRIMARY KEY (id),
  INDEX ix_revocation_event_project_id_issued_before (project_id, issued_before),
  INDEX ix_revocation_event_issued_before (issued_before),
  INDEX ix_revocation_event_audit_id_issued_before (audit_id, issued_before),
  INDEX ix_revocation_event_new_revoked_at (revoked_at),
  INDEX ix_revocation_event_user_id_issued_before (user_id, issued_before)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE USER 'keystone'@'localhost' IDENTIFIED BY 'kspw-test';
GRANT ALL PRIVILEGES ON keystone.* TO 'keystone'@'localhost';
`

describe.skipIf(!available)('revocation seeding on MariaDB (private server)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idtool-mariadb-'))
  const data = join(dir, 'data')
  const socket = join(dir, 'm.sock')
  const pidFile = join(dir, 'm.pid')
  const passwordFile = join(dir, 'pw')
  const mysql = (sql: string) =>
    execFileSync(
      '/usr/bin/mariadb',
      [`--socket=${socket}`, '--user=root', '--batch', '--skip-column-names'],
      {
        input: sql,
        encoding: 'utf8',
      },
    ).trim()

  beforeAll(async () => {
    execFileSync(
      '/usr/bin/mariadb-install-db',
      [
        '--no-defaults',
        `--datadir=${data}`,
        '--user=root',
        '--skip-test-db',
        '--auth-root-authentication-method=socket',
      ],
      { stdio: 'ignore', timeout: 120_000 },
    )
    const child = spawn(
      MARIADBD,
      [
        '--no-defaults',
        `--datadir=${data}`,
        `--socket=${socket}`,
        `--pid-file=${pidFile}`,
        '--skip-networking',
        '--user=root',
      ],
      { detached: true, stdio: 'ignore' },
    )
    child.unref()
    for (let i = 0; i < 300 && !existsSync(socket); i++) await sleep(100)
    if (!existsSync(socket)) throw new Error('private mariadbd did not start')
    mysql(SCHEMA)
    writeFileSync(passwordFile, 'kspw-test\n', { mode: 0o600 })
  }, 180_000)

  afterAll(async () => {
    const pid = readPidFile(pidFile)
    if (pid && pidAlive(pid)) await stopPid(pid, 20_000)
    rmSync(dir, { recursive: true, force: true })
  }, 60_000)

  it('finds the socket and database in a keystone.conf connection', () => {
    const t = parseConnection(`mysql+pymysql://keystone:kspw-test@localhost/keystone?unix_socket=${socket}`, {
      passwordFile,
    })
    expect(t).toEqual({ kind: 'mariadb', socket, database: 'keystone', user: 'keystone', passwordFile })
  })

  it('seeds API-shaped rows, brings the count to a level and clears seeded rows only (as the keystone user)', async () => {
    const store = new MariadbRevocationStore({
      kind: 'mariadb',
      socket,
      database: 'keystone',
      user: 'keystone',
      passwordFile,
    })
    const ts = keystoneTimestamp(new Date())
    // an API-made row whose audit id only looks like a seeded one in another case
    mysql(
      `INSERT INTO keystone.revocation_event (issued_before, revoked_at, audit_id) VALUES ('${ts}', '${ts}', 'IDTOOLSEEDxxxxxxxxxxxx');`,
    )
    const r = await seedRevocations(store, 1500)
    expect(r).toMatchObject({ db: 'mariadb', before: 1, after: 1501, seededAfter: 1500 })
    const row = mysql(
      `SELECT audit_id, issued_before = revoked_at, domain_id IS NULL AND user_id IS NULL AND project_id IS NULL FROM keystone.revocation_event WHERE id = (SELECT max(id) FROM keystone.revocation_event);`,
    ).split('\t')
    expect(row[0]).toMatch(new RegExp(`^${SEED_AUDIT_PREFIX}[A-Za-z0-9_-]{12}$`))
    expect(row.slice(1)).toEqual(['1', '1'])
    expect(await setRevocationLevel(store, 400)).toMatchObject({ after: 400, deleted: 1101 })
    expect(await setRevocationLevel(store, 0)).toMatchObject({ after: 1, seededAfter: 0 })
    expect(mysql('SELECT audit_id FROM keystone.revocation_event;')).toBe('IDTOOLSEEDxxxxxxxxxxxx')
  })

  it('ANALYZE TABLE runs and the plan of Keystone’s query names the indexes; there is nothing to drop', async () => {
    const store = new MariadbRevocationStore({ kind: 'mariadb', socket, database: 'keystone' })
    await seedRevocations(store, 3000)
    const a = await analyzeRevocationDb(store)
    expect(a.events).toBe(3001)
    expect(a.statisticsAfter).toBe(true)
    expect(a.planAfter.indexes.some((i) => i.startsWith('ix_revocation_event_'))).toBe(true)
    await expect(analyzeRevocationDb(store, { drop: true })).rejects.toThrow(UsageError)
  })
})
