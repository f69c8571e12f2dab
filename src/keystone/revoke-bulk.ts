import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import type { AuthSettings } from '../config/settings.js'
import { keystoneV3Base } from '../config/urls.js'
import { UsageError } from '../errors.js'
import type { RevokeBulkResult } from '../results/types.js'
import { type BulkRun, type BulkRunCallbacks, type BulkRunSettings, withBulkSession } from './bulk-run.js'
import { defaultLedgerDir, findResumableLedger, newLedgerPath } from './ledger.js'
import { revokeBulk } from './revoke.js'

export interface RevokeBulkRunOptions {
  /** issue this many tokens, then revoke them (exclusive with `from`) */
  count?: number
  /** revoke the tokens of this pool file (exclusive with `count`) */
  from?: string
  /**
   * the ledger file; none: a new one in the default ledger directory (`defaultLedgerDir`), or with `resume` the
   * newest unfinished one there
   */
  ledger?: string
  /** continue the run recorded in the ledger */
  resume: boolean
  /** with `resume`: leave out damaged ledger lines instead of refusing the ledger */
  skipBadLines: boolean
  /** count revocation events before and after */
  countEvents: boolean
  settings: BulkRunSettings
  /**
   * Resolves the connection (flags, environment, clouds.yaml; the caller decides the default target, e.g. the
   * local lab): called once, after the input checks and before any request.
   */
  resolveAuth: () => AuthSettings
}

export interface RevokeBulkRunCallbacks extends BulkRunCallbacks {
  /** told the ledger's path before the work starts */
  info(message: string): void
  /** Asked before anything is revoked on the target (its v3 base URL); throws to refuse. */
  confirm(keystoneUrl: string, what: string): Promise<void>
}

/** What a run will do: its ledger (resolved) and, for the confirmation, what it revokes. */
export interface RevokeBulkPlan {
  ledger: string
  what: string
}

/**
 * The inputs' rules, before any request: something to revoke (--count, --from or --resume), a pool that
 * exists, and the ledger: a given one must exist to resume and must not exist to start; none given, resuming
 * takes the newest unfinished ledger in `dir` and a new run a new file there.
 */
export function planRevokeBulk(
  o: Pick<RevokeBulkRunOptions, 'count' | 'from' | 'ledger' | 'resume'>,
  dir: string,
): RevokeBulkPlan {
  if (!o.resume && o.count === undefined && o.from === undefined) {
    throw new UsageError('nothing to revoke: give --count N or --from POOL.jsonl', {
      hint: 'or --resume to continue an interrupted run.',
    })
  }
  if (o.from !== undefined && !existsSync(o.from)) {
    throw new UsageError(`token pool ${o.from} does not exist`, {
      hint: 'create one with `idtool tokens issue --count N --out POOL.jsonl`.',
    })
  }
  const what = `revoke ${o.count !== undefined ? `${o.count} new tokens` : o.from ? `the tokens of ${o.from}` : 'the tokens of the resumed run'}`
  return { ledger: ledgerOf(o, dir), what }
}

function ledgerOf(o: Pick<RevokeBulkRunOptions, 'ledger' | 'resume'>, dir: string): string {
  if (o.ledger) {
    const ledger = resolve(o.ledger)
    if (o.resume && !existsSync(ledger)) {
      throw new UsageError(`ledger ${o.ledger} does not exist`, {
        hint: 'pass the ledger of the run to resume.',
      })
    }
    if (!o.resume && existsSync(ledger)) {
      throw new UsageError(`ledger ${o.ledger} already exists`, {
        hint: 'continue it with --resume, or pass another --ledger.',
      })
    }
    return ledger
  }
  if (!o.resume) return newLedgerPath(dir)
  const found = findResumableLedger(dir)
  if (!found) {
    throw new UsageError(`no unfinished ledger in ${dir}`, {
      hint: 'pass the ledger of the run to resume with --ledger.',
    })
  }
  return found
}

/**
 * `revoke-bulk` from start to end: check the inputs and find the ledger ({@link planRevokeBulk}), resolve the
 * target (the lab by default), have the change confirmed (`confirm`), open a session, revoke. Never prints:
 * the ledger's path goes to `info`, progress to `onProgress`, warnings to `warn`. The exit code says 130 when
 * interrupted, 4 when some tokens failed.
 */
export async function revokeBulkRun(
  o: RevokeBulkRunOptions,
  cb: RevokeBulkRunCallbacks,
): Promise<BulkRun<RevokeBulkResult>> {
  const { ledger, what } = planRevokeBulk(o, defaultLedgerDir())
  const auth = o.resolveAuth()
  await cb.confirm(keystoneV3Base(auth.authUrl), what)
  return withBulkSession(auth, o.settings, cb, (engine) => {
    cb.info(`ledger ${ledger} (0600; continue an interrupted run with --resume --ledger <it>)`)
    return revokeBulk({
      ...engine,
      count: o.count,
      pool: o.from,
      ledger,
      resume: o.resume,
      skipBadLines: o.skipBadLines,
      countEvents: o.countEvents,
      onWarning: cb.warn,
    })
  })
}
