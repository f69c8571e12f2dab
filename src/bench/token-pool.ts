import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TokenSource } from '../cli/validate-flags.js'
import { IdtoolError, InterruptedError, UsageError } from '../errors.js'
import { issueTokens } from '../keystone/issue.js'
import { readPool } from '../keystone/pool.js'
import type { KeystoneSession } from '../keystone/session.js'
import type { ValidateToken } from './validate.js'

export interface PreparedTokens {
  tokens: ValidateToken[]
  /** the pool file read or written */
  file: string
  /** whether the file is temporary (removed by cleanup()) */
  temporary: boolean
  /** how many tokens were issued for this run (0 when read from a file) */
  issued: number
  /** remove a temporary pool (tokens are secrets: never leave them behind) */
  cleanup(): void
}

export interface PrepareTokensOptions {
  /** parallel issue requests (default 8) */
  concurrency?: number
  signal?: AbortSignal
  onProgress?: (issued: number, total: number) => void
}

/**
 * Issue `count` tokens into a new 0600 pool file with the `tokens issue` library (token method, bounded
 * concurrency, retries, re-authentication) and return them.
 */
async function issueInto(
  session: KeystoneSession,
  file: string,
  count: number,
  opts: PrepareTokensOptions,
): Promise<ValidateToken[]> {
  const r = await issueTokens({
    session,
    count,
    out: file,
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
  return readPool(file)
    .filter((e) => e.state === 'valid')
    .map((e) => ({ token: e.token, state: e.state }))
}

/**
 * The tokens of a validation run: read from a pool file, or (with `count`) issued fresh into the
 * given file (which must not exist) or into a temporary one.
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
    return { tokens, file: source.file, temporary: false, issued: 0, cleanup() {} }
  }
  let dir: string | undefined
  let file: string
  if (source.file) {
    if (existsSync(source.file)) {
      throw new UsageError(`${source.file} exists: --token-count writes a new pool`, {
        hint: 'drop --token-count to validate the tokens already in it, or name a new file.',
      })
    }
    file = source.file
  } else {
    dir = mkdtempSync(join(tmpdir(), 'idtool-bench-validate-'))
    file = join(dir, 'pool.jsonl')
  }
  const cleanup = () => {
    if (dir) rmSync(dir, { recursive: true, force: true })
  }
  try {
    const tokens = await issueInto(session, file, source.count, opts)
    return { tokens, file, temporary: Boolean(dir), issued: tokens.length, cleanup }
  } catch (err) {
    cleanup()
    throw err
  }
}
