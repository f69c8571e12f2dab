import { existsSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import type { AuthSettings } from '../config/settings.js'
import { UsageError } from '../errors.js'
import type { TokensIssueResult } from '../results/types.js'
import { type BulkRun, type BulkRunCallbacks, type BulkRunSettings, withBulkSession } from './bulk-run.js'
import { issueTokens } from './issue.js'
import { readPool } from './pool.js'

export interface TokensIssueRunOptions {
  count: number
  /** the pool file to append to (created 0600); its directory must exist */
  out: string
  /** project name to scope the tokens to (default: the caller's project) */
  project?: string
  settings: BulkRunSettings
  /**
   * Resolves the connection (flags, environment, clouds.yaml; the caller decides the default target, e.g. the
   * local lab): called once, after the input checks and before any request.
   */
  resolveAuth: () => AuthSettings
}

/**
 * `tokens issue` from start to end: check the pool file before authenticating (a bad --out fails fast and
 * writes nothing; an existing pool must read), resolve the target (the lab by default), open a session, issue.
 * Never prints: progress goes to `onProgress`, warnings to `warn`.
 */
export async function tokensIssueRun(
  o: TokensIssueRunOptions,
  cb: BulkRunCallbacks,
): Promise<BulkRun<TokensIssueResult>> {
  const out = resolve(o.out)
  if (!existsSync(dirname(out)) || !statSync(dirname(out)).isDirectory()) {
    throw new UsageError(`the directory of --out ${o.out} does not exist`, {
      hint: 'create it first or pass another path.',
    })
  }
  if (existsSync(out)) readPool(out)
  const auth = o.resolveAuth()
  return withBulkSession(auth, o.settings, cb, (engine) =>
    issueTokens({ ...engine, count: o.count, out, project: o.project }),
  )
}
