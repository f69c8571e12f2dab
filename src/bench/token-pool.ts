import { existsSync } from 'node:fs'
import { IdtoolError, InterruptedError, UsageError } from '../errors.js'
import { issueTokens } from '../keystone/issue.js'
import { readPool } from '../keystone/pool.js'
import type { KeystoneSession } from '../keystone/session.js'
import type { ValidateToken } from '../keystone/validation.js'

/** Where the tokens of a validation run come from. */
export interface TokenSource {
  /** pool file to read (or, with `count`, to write) */
  file?: string
  /** issue this many fresh tokens first */
  count?: number
}

export interface PreparedTokens {
  tokens: ValidateToken[]
  /** the pool file read or written; undefined when fresh tokens were kept in memory only */
  file?: string
  /** how many tokens were issued for this run (0 when read from a file) */
  issued: number
}

export interface PrepareTokensOptions {
  /** parallel issue requests (default 8) */
  concurrency?: number
  signal?: AbortSignal
  onProgress?: (issued: number, total: number) => void
}

/**
 * Issue `count` tokens with the `tokens issue` library (token method, bounded concurrency, retries,
 * re-authentication) and return them; with `file`, they are also written to that new 0600 pool.
 */
async function issue(
  session: KeystoneSession,
  file: string | undefined,
  count: number,
  opts: PrepareTokensOptions,
): Promise<ValidateToken[]> {
  const tokens: ValidateToken[] = []
  const r = await issueTokens({
    session,
    count,
    out: file,
    onToken: (e) => tokens.push({ token: e.token, state: 'valid' }),
    concurrency: Math.max(1, Math.min(opts.concurrency ?? 8, count)),
    signal: opts.signal,
    onProgress: opts.onProgress ? (p) => opts.onProgress?.(p.issued, count) : undefined,
  })
  if (r.interrupted) throw new InterruptedError('interrupted while issuing tokens')
  if (r.issued < count) {
    throw new IdtoolError(`issued only ${r.issued} of ${count} tokens (${r.failed} failed)`, {
      hint: 'see the Keystone logs; `idtool tokens issue` shows each failure.',
    })
  }
  return tokens
}

/**
 * The tokens of a validation run: read from a pool file, or (with `count`) issued fresh, kept in memory
 * (tokens are secrets: nothing is left behind) or also written to the given file (which must not exist).
 */
export async function prepareValidateTokens(
  session: KeystoneSession,
  source: TokenSource,
  opts: PrepareTokensOptions = {},
): Promise<PreparedTokens> {
  if (source.count === undefined) {
    if (!source.file) throw new UsageError('no token pool given', { hint: 'pass --tokens or --token-count.' })
    const entries = readPool(source.file)
    const tokens = entries
      .filter((e) => e.state !== 'failed')
      .map((e) => ({ token: e.token, state: e.state }))
    if (tokens.length === 0) {
      throw new UsageError(`token pool ${source.file} holds no usable token`, {
        hint: 'issue some with `idtool tokens issue`, or use --token-count N.',
      })
    }
    return { tokens, file: source.file, issued: 0 }
  }
  if (source.file && existsSync(source.file)) {
    throw new UsageError(`${source.file} exists: --token-count writes a new pool`, {
      hint: 'drop --token-count to validate the tokens already in it, or name a new file.',
    })
  }
  const tokens = await issue(session, source.file, source.count, opts)
  return { tokens, file: source.file, issued: tokens.length }
}
