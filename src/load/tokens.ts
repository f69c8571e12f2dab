import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { InterruptedError, UsageError } from '../errors.js'
import { isTransient } from '../keystone/client.js'
import type { KeystoneSession } from '../keystone/session.js'
import { type PoolEntry, PoolWriter, readPool } from '../tokens/pool.js'
import type { ValidateToken } from './validate.js'
import type { TokenSource } from './validate-flags.js'

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

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/**
 * Issue `count` tokens with the token method (fast: no bcrypt), bounded concurrency, retrying transient
 * failures, appending each one as it arrives to a 0600 pool file.
 */
async function issueInto(
  session: KeystoneSession,
  writer: PoolWriter,
  count: number,
  opts: PrepareTokensOptions,
): Promise<ValidateToken[]> {
  const tokens: ValidateToken[] = []
  let nextIndex = 0
  let failure: unknown
  const worker = async () => {
    while (nextIndex < count && !failure && !opts.signal?.aborted) {
      nextIndex++
      for (let attempt = 1; ; attempt++) {
        try {
          const t = await session.client.issueTokenFromToken(session.caller.token, session.scope)
          const entry: PoolEntry = {
            token: t.token,
            auditId: t.auditId,
            issuedAt: t.issuedAt,
            expiresAt: t.expiresAt,
            user: t.user?.name,
            project: t.project?.name,
            state: 'valid',
          }
          writer.append(entry)
          tokens.push({ token: t.token, state: 'valid' })
          opts.onProgress?.(tokens.length, count)
          break
        } catch (err) {
          if (opts.signal?.aborted) return
          if (attempt < 3 && isTransient(err)) {
            await sleep(200 * attempt)
            continue
          }
          failure ??= err
          return
        }
      }
    }
  }
  const n = Math.max(1, Math.min(opts.concurrency ?? 8, count))
  await Promise.all(Array.from({ length: n }, worker))
  if (failure) throw failure
  if (opts.signal?.aborted) throw new InterruptedError('interrupted while issuing tokens')
  return tokens
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
  const writer = new PoolWriter(file, { truncate: true })
  try {
    const tokens = await issueInto(session, writer, source.count, opts)
    return { tokens, file, temporary: Boolean(dir), issued: tokens.length, cleanup }
  } catch (err) {
    cleanup()
    throw err
  } finally {
    writer.close()
  }
}
