import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { IdtoolError, UsageError } from '../errors.js'
import { labPaths } from './layout.js'
import { run } from './proc.js'
import { labIsSetUp } from './target.js'

/**
 * LAB ONLY: direct access to the revocation_event table of the lab's Keystone database.
 *
 * Reaching 10,000-100,000 revocation events through the API takes minutes to hours; inserting them with
 * SQL takes seconds. Seeded rows have the shape of the rows `DELETE /v3/auth/tokens` writes: only
 * `audit_id`, `issued_before` and `revoked_at` are set, timestamps in UTC at second precision
 * (`issued_before` = `revoked_at` = the time of seeding), every other column NULL. The only difference is
 * the audit id: 22 characters of the base64url alphabet like a real one, but starting with
 * {@link SEED_AUDIT_PREFIX}, so seeded rows can be removed without touching API-made ones.
 *
 * Only tokens issued before the events are affected by them (Keystone walks the events whose
 * issued_before >= the token's issued_at), and Keystone prunes events ~1.5 h after revoked_at.
 *
 * This module refuses any database that is not the one named in an idtool lab's keystone.conf.
 */

/** Prefix of the audit ids of seeded rows (10 of the 22 characters; the other 12 are random). */
export const SEED_AUDIT_PREFIX = 'idtoolSeed'

/** Keystone's Zed query for the events that could revoke one token (revoke/backends/sql.py). */
function keystoneEventQuery(issuedAt: string): string {
  return (
    'SELECT * FROM revocation_event WHERE issued_before >= ' +
    `'${issuedAt}' AND (user_id IS NULL OR user_id = 'u') AND (audit_id IS NULL OR audit_id = 'a') ` +
    "AND (project_id IS NULL OR project_id = 'p') AND (trust_id IS NULL)"
  )
}

/** A timestamp in Keystone's stored form: UTC, `YYYY-MM-DD HH:MM:SS.000000` (seconds precision). */
export function keystoneTimestamp(d: Date): string {
  return `${d.toISOString().slice(0, 19).replace('T', ' ')}.000000`
}

/** A fresh audit id for a seeded row: the marker prefix and 12 random base64url characters. */
export function seededAuditId(): string {
  return SEED_AUDIT_PREFIX + randomBytes(9).toString('base64url')
}

export type RevocationDbKind = 'sqlite' | 'mariadb'

/** Where the lab's Keystone keeps its data (no secrets: a password is referenced by file only). */
export type RevocationDbTarget =
  | { kind: 'sqlite'; path: string }
  | { kind: 'mariadb'; socket: string; database: string; user?: string; passwordFile?: string }

/** The database named in a keystone.conf `[database] connection` line. */
export function parseConnection(
  connection: string,
  opts: { passwordFile?: string } = {},
): RevocationDbTarget {
  const sqlite = /^sqlite:\/\/\/(.+)$/.exec(connection)
  if (sqlite) return { kind: 'sqlite', path: sqlite[1]! }
  const my = /^mysql(?:\+\w+)?:\/\/([^:@/]+)(?::[^@]*)?@[^/]*\/([A-Za-z0-9_]+)(?:\?(.*))?$/.exec(connection)
  if (my) {
    const socket = new URLSearchParams(my[3] ?? '').get('unix_socket')
    if (!socket) throw new UsageError('the lab database is MariaDB without a unix socket: not a lab setup')
    return { kind: 'mariadb', socket, database: my[2]!, user: my[1], passwordFile: opts.passwordFile }
  }
  throw new UsageError(`unsupported database connection "${connection.split(':')[0]}"`, {
    hint: 'the lab uses sqlite:/// or mysql+pymysql:// with a unix socket.',
  })
}

/**
 * The revocation database of the idtool lab in `dir`. Refuses a directory that is not an idtool lab
 * (no state.json), so these lab-only operations never touch another Keystone.
 */
export function labRevocationTarget(dir: string): RevocationDbTarget {
  const p = labPaths(dir)
  if (!labIsSetUp(dir)) {
    throw new UsageError(`${dir} is not an idtool lab (no state.json or keystone.conf)`, {
      hint: 'start the lab with `idtool lab up`, or pass its directory with --dir. These commands are lab-only.',
    })
  }
  const conf = readFileSync(p.keystoneConf, 'utf8')
  const m = /^\s*connection\s*=\s*(\S+)\s*$/m.exec(conf)
  if (!m) throw new UsageError(`no [database] connection in ${p.keystoneConf}`)
  return parseConnection(m[1]!, { passwordFile: p.dbPasswordFile })
}

/** Direct SQL access to one Keystone revocation_event table. */
export interface RevocationStore {
  readonly kind: RevocationDbKind
  /** The file or socket (never a password). */
  readonly location: string
  /** All rows of revocation_event. */
  count(): Promise<number>
  /** Rows written by {@link RevocationStore.seed}. */
  countSeeded(): Promise<number>
  /** Insert `n` rows shaped like API-made events, revoked at `at` (default now). */
  seed(n: number, opts?: { at?: Date; onProgress?: (inserted: number) => void }): Promise<void>
  /** Delete rows (all, or only seeded ones, newest first, at most `limit`); returns how many. */
  clear(opts?: { seededOnly?: boolean; limit?: number }): Promise<number>
  /** Update the planner statistics (SQLite ANALYZE, MariaDB ANALYZE TABLE). */
  analyze(): Promise<void>
  /** SQLite: drop sqlite_stat1/stat4, back to the state `db_sync` leaves. */
  dropStatistics(): Promise<void>
  /** Whether planner statistics exist (SQLite: sqlite_stat1 has rows; MariaDB: always true). */
  hasStatistics(): Promise<boolean>
  /** The plan of Keystone's revocation-check query, and the indexes it uses. */
  explain(): Promise<{ plan: string; indexes: string[] }>
}

const ROWS_PER_STATEMENT = 1000
const ROWS_PER_CALL = 20_000

function insertStatements(n: number, at: Date, rowsPerTx: number): string {
  const ts = keystoneTimestamp(at)
  const out: string[] = []
  let left = n
  while (left > 0) {
    const tx = Math.min(rowsPerTx, left)
    out.push('BEGIN;')
    for (let done = 0; done < tx; done += ROWS_PER_STATEMENT) {
      const k = Math.min(ROWS_PER_STATEMENT, tx - done)
      const values = Array.from({ length: k }, () => `('${ts}','${ts}','${seededAuditId()}')`)
      out.push(
        `INSERT INTO revocation_event (issued_before, revoked_at, audit_id) VALUES ${values.join(',')};`,
      )
    }
    out.push('COMMIT;')
    left -= tx
  }
  return out.join('\n')
}

function toCount(text: string, what: string): number {
  const n = Number.parseInt(text.trim().split('\n').at(-1) ?? '', 10)
  if (!Number.isFinite(n)) throw new IdtoolError(`could not read ${what} from the database: "${text.trim()}"`)
  return n
}

function checkCount(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${what} must be a non-negative integer, got ${n}`)
}

/** Insert `n` seeded events through `sql`, ROWS_PER_CALL rows a call (both stores speak the same SQL here). */
async function seedInBatches(
  sql: (statements: string) => Promise<unknown>,
  n: number,
  opts: { at?: Date; onProgress?: (inserted: number) => void },
): Promise<void> {
  checkCount(n, 'the number of events')
  const at = opts.at ?? new Date()
  for (let done = 0; done < n; ) {
    const k = Math.min(ROWS_PER_CALL, n - done)
    await sql(insertStatements(k, at, 5000))
    done += k
    opts.onProgress?.(done)
  }
}

/** The lab's SQLite database, through the `sqlite3` program (busy timeout 30 s; WAL is left as is). */
export class SqliteRevocationStore implements RevocationStore {
  readonly kind = 'sqlite' as const
  constructor(readonly location: string) {}

  private async sql(text: string, timeoutMs = 300_000): Promise<string> {
    if (!existsSync(this.location)) {
      throw new UsageError(`the lab database ${this.location} does not exist`, {
        hint: 'start the lab with `idtool lab up`.',
      })
    }
    const r = await run('/usr/bin/sqlite3', ['-batch', '-bail', '-noheader', '-list', this.location], {
      input: `.timeout 30000\n${text}\n`,
      timeoutMs,
    })
    return r.stdout
  }

  async count(): Promise<number> {
    return toCount(await this.sql('SELECT count(*) FROM revocation_event;'), 'the event count')
  }

  async countSeeded(): Promise<number> {
    return toCount(
      await this.sql(`SELECT count(*) FROM revocation_event WHERE audit_id GLOB '${SEED_AUDIT_PREFIX}*';`),
      'the seeded event count',
    )
  }

  seed(n: number, opts: { at?: Date; onProgress?: (inserted: number) => void } = {}): Promise<void> {
    return seedInBatches((statements) => this.sql(statements), n, opts)
  }

  async clear(opts: { seededOnly?: boolean; limit?: number } = {}): Promise<number> {
    const where = opts.seededOnly ? `WHERE audit_id GLOB '${SEED_AUDIT_PREFIX}*'` : ''
    const stmt =
      opts.limit === undefined
        ? `DELETE FROM revocation_event ${where};`
        : `DELETE FROM revocation_event WHERE id IN (SELECT id FROM revocation_event ${where} ORDER BY id DESC LIMIT ${Math.max(0, Math.floor(opts.limit))});`
    return toCount(await this.sql(`${stmt}\nSELECT changes();`), 'the deleted count')
  }

  async analyze(): Promise<void> {
    await this.sql('ANALYZE;')
  }

  async dropStatistics(): Promise<void> {
    await this.sql('DROP TABLE IF EXISTS sqlite_stat1;\nDROP TABLE IF EXISTS sqlite_stat4;')
  }

  async hasStatistics(): Promise<boolean> {
    const out = await this.sql(
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1';",
    )
    if (toCount(out, 'statistics') === 0) return false
    return toCount(await this.sql('SELECT count(*) FROM sqlite_stat1;'), 'statistics') > 0
  }

  async explain(): Promise<{ plan: string; indexes: string[] }> {
    const at = keystoneTimestamp(new Date(Date.now() - 3_600_000))
    const plan = (await this.sql(`EXPLAIN QUERY PLAN ${keystoneEventQuery(at)};`)).trim()
    const indexes = [...new Set([...plan.matchAll(/USING (?:COVERING )?INDEX (\w+)/g)].map((m) => m[1]!))]
    if (/SCAN revocation_event(?! USING)/.test(plan)) indexes.push('(full table scan)')
    return { plan, indexes }
  }
}

/** The lab's MariaDB (unix socket only), through the `mariadb` client. */
export class MariadbRevocationStore implements RevocationStore {
  readonly kind = 'mariadb' as const
  readonly location: string
  constructor(private readonly target: Extract<RevocationDbTarget, { kind: 'mariadb' }>) {
    this.location = `${target.socket} (database ${target.database})`
  }

  private async sql(text: string, timeoutMs = 300_000): Promise<string> {
    const t = this.target
    if (!existsSync(t.socket)) {
      throw new UsageError(`the lab's MariaDB socket ${t.socket} does not exist`, {
        hint: 'is the lab running with --db mariadb? See `idtool lab status`.',
      })
    }
    // the keystone user's password goes through a 0600 defaults file, never the command line;
    // without a password file (e.g. as root on the lab) socket authentication as root is used
    let dir: string | undefined
    const args: string[] = []
    if (t.passwordFile && existsSync(t.passwordFile) && t.user) {
      dir = mkdtempSync(join(tmpdir(), 'idtool-my-'))
      const cnf = join(dir, 'client.cnf')
      const pw = readFileSync(t.passwordFile, 'utf8').trim()
      writeFileSync(cnf, `[client]\nuser=${t.user}\npassword=${pw}\n`, { mode: 0o600 })
      args.push(`--defaults-extra-file=${cnf}`)
    } else {
      args.push('--user=root')
    }
    args.push(`--socket=${t.socket}`, '--batch', '--skip-column-names', t.database)
    try {
      const r = await run('/usr/bin/mariadb', args, { input: `${text}\n`, timeoutMs })
      return r.stdout
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true })
    }
  }

  async count(): Promise<number> {
    return toCount(await this.sql('SELECT COUNT(*) FROM revocation_event;'), 'the event count')
  }

  async countSeeded(): Promise<number> {
    return toCount(
      await this.sql(
        `SELECT COUNT(*) FROM revocation_event WHERE BINARY audit_id LIKE '${SEED_AUDIT_PREFIX}%';`,
      ),
      'the seeded event count',
    )
  }

  seed(n: number, opts: { at?: Date; onProgress?: (inserted: number) => void } = {}): Promise<void> {
    return seedInBatches((statements) => this.sql(statements), n, opts)
  }

  async clear(opts: { seededOnly?: boolean; limit?: number } = {}): Promise<number> {
    const where = opts.seededOnly ? `WHERE BINARY audit_id LIKE '${SEED_AUDIT_PREFIX}%'` : ''
    const limit =
      opts.limit === undefined ? '' : ` ORDER BY id DESC LIMIT ${Math.max(0, Math.floor(opts.limit))}`
    return toCount(
      await this.sql(`DELETE FROM revocation_event ${where}${limit};\nSELECT ROW_COUNT();`),
      'the deleted count',
    )
  }

  async analyze(): Promise<void> {
    const tables = (await this.sql('SHOW TABLES;'))
      .split('\n')
      .map((s) => s.trim())
      .filter((s) => /^\w+$/.test(s))
    if (tables.length) await this.sql(`ANALYZE TABLE ${tables.map((t) => `\`${t}\``).join(', ')};`)
  }

  async dropStatistics(): Promise<void> {
    throw new UsageError('MariaDB keeps index statistics by itself; there is nothing to drop', {
      hint: '--drop applies to the SQLite lab only.',
    })
  }

  async hasStatistics(): Promise<boolean> {
    return true
  }

  async explain(): Promise<{ plan: string; indexes: string[] }> {
    const at = keystoneTimestamp(new Date(Date.now() - 3_600_000))
    const raw = await this.sql(`EXPLAIN ${keystoneEventQuery(at)};`)
    // columns: id select_type table type possible_keys key key_len ref rows Extra
    const rows = raw
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t'))
    const indexes = rows.map((r) => (r[5] && r[5] !== 'NULL' ? r[5] : '(full table scan)'))
    const plan = rows.map((r) => `type=${r[3]} key=${r[5]} rows=${r[8]} ${r[9] ?? ''}`.trim()).join('\n')
    return { plan, indexes: [...new Set(indexes.flatMap((k) => k.split(',')))] }
  }
}

/** A store for a target. */
export function openRevocationStore(target: RevocationDbTarget): RevocationStore {
  return target.kind === 'sqlite'
    ? new SqliteRevocationStore(target.path)
    : new MariadbRevocationStore(target)
}

/** The store of the idtool lab in `dir` (lab only). */
export function labRevocationStore(dir: string): RevocationStore {
  return openRevocationStore(labRevocationTarget(dir))
}

/** `idtool lab seed-revocations --json` */
export interface SeedRevocationsResult {
  db: RevocationDbKind
  location: string
  requested: number
  inserted: number
  deleted: number
  before: number
  after: number
  seededAfter: number
  revokedAt: string
  durationMs: number
}

/**
 * Bring the event count to `level` with seeded rows: insert the difference, or, when above the level,
 * delete seeded rows (newest first). Rows made through the API are never deleted here: when they alone
 * exceed the level, `strict` throws, otherwise every seeded row is removed and the count stays above
 * the level (`after` tells where).
 */
export async function setRevocationLevel(
  store: RevocationStore,
  level: number,
  opts: { at?: Date; strict?: boolean; onProgress?: (inserted: number) => void } = {},
): Promise<SeedRevocationsResult> {
  checkCount(level, 'the revocation level')
  const t0 = Date.now()
  const at = opts.at ?? new Date()
  const before = await store.count()
  let inserted = 0
  let deleted = 0
  if (before < level) {
    inserted = level - before
    await store.seed(inserted, { at, onProgress: opts.onProgress })
  } else if (before > level) {
    const seeded = await store.countSeeded()
    const excess = before - level
    if (seeded < excess && opts.strict) {
      throw new UsageError(
        `the lab already has ${before} revocation events, ${before - seeded} of them made through the API: more than the level ${level}`,
        {
          hint: 'start at a higher level, or clear the events first with `idtool lab clear-revocations` (revoked tokens then validate again).',
        },
      )
    }
    if (seeded > 0) deleted = await store.clear({ seededOnly: true, limit: Math.min(seeded, excess) })
  }
  const after = await store.count()
  return {
    db: store.kind,
    location: store.location,
    requested: level,
    inserted,
    deleted,
    before,
    after,
    seededAfter: await store.countSeeded(),
    revokedAt: keystoneTimestamp(at),
    durationMs: Date.now() - t0,
  }
}

/** Insert `count` seeded events (adds to what is there). */
export async function seedRevocations(
  store: RevocationStore,
  count: number,
  opts: { at?: Date; onProgress?: (inserted: number) => void } = {},
): Promise<SeedRevocationsResult> {
  checkCount(count, 'the number of events')
  const t0 = Date.now()
  const at = opts.at ?? new Date()
  const before = await store.count()
  await store.seed(count, { at, onProgress: opts.onProgress })
  const after = await store.count()
  return {
    db: store.kind,
    location: store.location,
    requested: count,
    inserted: count,
    deleted: 0,
    before,
    after,
    seededAfter: await store.countSeeded(),
    revokedAt: keystoneTimestamp(at),
    durationMs: Date.now() - t0,
  }
}

/** `idtool lab analyze --json` */
export interface AnalyzeResult {
  db: RevocationDbKind
  location: string
  action: 'analyze' | 'drop'
  events: number
  statisticsBefore: boolean
  statisticsAfter: boolean
  planBefore: { plan: string; indexes: string[] }
  planAfter: { plan: string; indexes: string[] }
  durationMs: number
}

/** Update (or, SQLite only, drop) the planner statistics and show the plan of Keystone's query around it. */
export async function analyzeRevocationDb(
  store: RevocationStore,
  opts: { drop?: boolean } = {},
): Promise<AnalyzeResult> {
  const t0 = Date.now()
  const statisticsBefore = await store.hasStatistics()
  const planBefore = await store.explain()
  if (opts.drop) await store.dropStatistics()
  else await store.analyze()
  return {
    db: store.kind,
    location: store.location,
    action: opts.drop ? 'drop' : 'analyze',
    events: await store.count(),
    statisticsBefore,
    statisticsAfter: await store.hasStatistics(),
    planBefore,
    planAfter: await store.explain(),
    durationMs: Date.now() - t0,
  }
}

/** `idtool lab clear-revocations --json` */
export interface ClearRevocationsResult {
  db: RevocationDbKind
  location: string
  seededOnly: boolean
  before: number
  deleted: number
  after: number
}

export async function clearRevocations(
  store: RevocationStore,
  opts: { seededOnly?: boolean } = {},
): Promise<ClearRevocationsResult> {
  const before = await store.count()
  const deleted = await store.clear({ seededOnly: opts.seededOnly })
  return {
    db: store.kind,
    location: store.location,
    seededOnly: Boolean(opts.seededOnly),
    before,
    deleted,
    after: await store.count(),
  }
}
