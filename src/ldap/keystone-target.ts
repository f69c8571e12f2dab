import { readFileSync } from 'node:fs'
import type { AuthSettings } from '../config/settings.js'
import { AuthError, HttpError, IdtoolError, networkErrorClass, UsageError } from '../errors.js'
import { ExitCode } from '../exit-codes.js'
import { type KeystoneSession, openSession } from '../keystone/session.js'
import { IterationError, type IterationOutcome, type LeakTarget } from './page-leak-check.js'

/**
 * The Keystone target: one iteration lists the users of an LDAP-backed domain
 * (`GET /v3/users?domain_id=...`), which makes Keystone page through LDAP with its own pooled
 * connections. The pages are not visible from here; the listing is timed as the "search".
 */

export interface KeystoneTargetOptions {
  settings: AuthSettings
  domain: string
  /** Keystone's [ldap] page_size, for the record (0: unknown) */
  pageSize: number
  timeoutMs: number
  concurrency: number
  /** told once when TLS verification is off */
  warn?: (message: string) => void
}

function toIterationError(err: unknown): IterationError {
  if (err instanceof IterationError) return err
  if (err instanceof AuthError) {
    return new IterationError('auth', err.message, {
      reconnect: true,
      hint: err.hint,
      exitCode: ExitCode.Usage,
      cause: err,
    })
  }
  if (err instanceof HttpError) {
    return new IterationError(`http-${err.status}`, err.message, {
      reconnect: err.status >= 500,
      hint: err.hint,
      cause: err,
    })
  }
  if (err instanceof IdtoolError) {
    const cls = networkErrorClass(err.cause ?? err)
    return new IterationError(cls === 'other' ? err.code.toLowerCase() : cls, err.message, {
      reconnect: true,
      hint: err.hint,
      exitCode: err.exitCode,
      cause: err,
    })
  }
  if ((err as Error)?.name === 'AbortError') return new IterationError('aborted', 'aborted', { cause: err })
  const msg = ((err as Error)?.message ?? String(err)).split('\n')[0] ?? 'error'
  return new IterationError('other', msg, { reconnect: true, cause: err })
}

/** Read `page_size` from a Keystone domain config file (`keystone.<domain>.conf`); 0 when absent. */
export function pageSizeFromDomainConfig(path: string): number {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    return 0
  }
  let section = ''
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    const sec = /^\[(.+)\]$/.exec(line)
    if (sec) section = sec[1] ?? ''
    const kv = /^page_size\s*=\s*(\d+)/.exec(line)
    if (kv && section === 'ldap') return Number(kv[1])
  }
  return 0
}

/**
 * Open a session, find the domain, and return the target. Throws (AuthError, ConnectionError,
 * UsageError for an unknown domain) before any measuring.
 */
export async function keystoneTarget(opts: KeystoneTargetOptions): Promise<LeakTarget> {
  const sessionOpts = {
    timeoutMs: opts.timeoutMs,
    connections: Math.max(2, opts.concurrency),
    warn: opts.warn,
  }
  let session: KeystoneSession = await openSession(opts.settings, sessionOpts)
  let domainId: string
  try {
    const d = await session.client.findDomain(session.caller.token, opts.domain)
    if (!d) {
      throw new UsageError(`Keystone has no domain named "${opts.domain}"`, {
        hint: 'name an LDAP-backed domain with --domain (the lab: ldapdom).',
      })
    }
    domainId = d.id
  } catch (err) {
    await session.close()
    throw err
  }
  let stale = false
  let refreshing: Promise<void> | undefined
  const refresh = async () => {
    refreshing ??= (async () => {
      const old = session
      session = await openSession(opts.settings, sessionOpts)
      stale = false
      await old.close().catch(() => {})
    })().finally(() => {
      refreshing = undefined
    })
    await refreshing
  }

  return {
    mode: 'keystone',
    description: `${opts.settings.authUrl} domain ${opts.domain} (${domainId})`,
    pageSize: opts.pageSize,
    async open() {
      if (stale) {
        try {
          await refresh()
        } catch (err) {
          throw toIterationError(err)
        }
      }
      return {
        async iterate(): Promise<IterationOutcome> {
          const start = performance.now()
          try {
            const users = await session.client.listUsers(session.caller.token, domainId)
            const searchMs = performance.now() - start
            const seen = new Set<string>()
            let duplicates = 0
            for (const u of users) {
              if (seen.has(u.id)) duplicates++
              else seen.add(u.id)
            }
            return { entries: users.length, pages: 0, pageMs: [], searchMs, duplicates }
          } catch (err) {
            const e = toIterationError(err)
            if (e.kind === 'auth') stale = true
            throw e
          }
        },
        async close() {},
      }
    },
    async close() {
      await session.close()
    },
  }
}
