import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AuthError } from '../errors.js'
import type { BulkProgress } from '../keystone/progress.js'
import { revokeBulk } from '../keystone/revoke.js'
import type { KeystoneSession } from '../keystone/session.js'
import { type RevocationStore, setRevocationLevel } from '../lab/revocations.js'

/** How the event count was changed for a level. */
export interface LevelChange {
  /** the count before */
  before: number
  /** the count after (what the point is measured at) */
  after: number
  added: number
  removed: number
  durationMs: number
  via: 'seed' | 'api' | 'none'
}

/** Brings the event count to a level; `close` removes whatever it kept on disk. */
export interface EventLeveler {
  readonly via: 'seed' | 'api'
  count(): Promise<number>
  bringTo(level: number, signal: AbortSignal | undefined): Promise<LevelChange>
  close(): Promise<void>
}

/**
 * LAB ONLY: seed rows straight into the lab database (adds rows, or removes seeded rows when above a level;
 * never API-made ones: when those alone exceed a level, the point is measured at their count).
 */
export function seedLeveler(
  store: RevocationStore,
  opts: { onProgress?: (inserted: number) => void; onWarning?: (message: string) => void } = {},
): EventLeveler {
  return {
    via: 'seed',
    count: () => store.count(),
    async bringTo(level) {
      const r = await setRevocationLevel(store, level, { onProgress: opts.onProgress })
      if (r.after > level)
        opts.onWarning?.(
          `${r.after} events made through the API, above the level ${level}: measuring at ${r.after}`,
        )
      return {
        before: r.before,
        after: r.after,
        added: r.inserted,
        removed: r.deleted,
        durationMs: r.durationMs,
        via: 'seed',
      }
    },
    async close() {},
  }
}

/**
 * Any Keystone: issue and revoke the difference with revoke-bulk (`DELETE /v3/auth/tokens`, one event each).
 * The count comes from `GET /v3/OS-REVOKE/events`. Events cannot be removed through the API: above a level,
 * the point is measured at the count there is. Ledgers (they hold tokens) go to a private temporary
 * directory that `close` removes.
 */
export function apiLeveler(
  session: KeystoneSession,
  opts: {
    concurrency?: number
    rate?: number
    onProgress?: (p: BulkProgress) => void
    onWarning?: (message: string) => void
  } = {},
): EventLeveler {
  const dir = mkdtempSync(join(tmpdir(), 'idtool-sweep-'))
  let seq = 0
  const count = async (): Promise<number> => {
    try {
      return (await session.client.listRevocationEvents(session.caller.token)).length
    } catch (err) {
      if (!(err instanceof AuthError) || !session.reauthenticate) throw err
      // the caller token expired during a long sweep: authenticate again once
      session.caller = await session.reauthenticate()
      return (await session.client.listRevocationEvents(session.caller.token)).length
    }
  }
  return {
    via: 'api',
    count,
    async bringTo(level, signal) {
      const t0 = Date.now()
      const before = await count()
      if (before >= level) {
        if (before > level)
          opts.onWarning?.(`${before} events already, above the level ${level}: measuring at ${before}`)
        return { before, after: before, added: 0, removed: 0, durationMs: Date.now() - t0, via: 'api' }
      }
      const r = await revokeBulk({
        session,
        count: level - before,
        ledger: join(dir, `level-${level}-${++seq}.jsonl`),
        concurrency: opts.concurrency ?? 4,
        rate: opts.rate,
        countEvents: false,
        signal,
        onProgress: opts.onProgress,
        onWarning: opts.onWarning,
      })
      if (r.failed > 0)
        opts.onWarning?.(`${r.failed} of ${level - before} revocations failed at level ${level}`)
      const after = await count()
      return { before, after, added: r.revoked, removed: 0, durationMs: Date.now() - t0, via: 'api' }
    },
    async close() {
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
