import {
  closeSync,
  existsSync,
  fchmodSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  readSync,
} from 'node:fs'
import { FileSystemError, fsErrorHint, fsErrorText, UsageError } from '../errors.js'
import { appendWhole } from '../results/output-file.js'
import { FatalRunError } from './bulk.js'

/**
 * A token pool file: JSON Lines, one token a line, created 0600 and appended as tokens arrive, so a crash
 * loses nothing already written. Later lines for the same token (e.g. state changes) win on read.
 */
export interface PoolEntry {
  token: string
  auditId?: string
  issuedAt?: string
  expiresAt?: string
  user?: string
  project?: string
  /** valid: issued and not known to be revoked; revoked: revoked (expect 404 on validation). */
  state: 'valid' | 'revoked' | 'failed'
  reason?: string
}

/** Read a pool file. Malformed lines are a usage error naming file and line. */
export function readPool(path: string): PoolEntry[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new UsageError(
      `cannot read token pool ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      {
        hint: 'create one with `idtool tokens issue --count N --out POOL.jsonl`.',
      },
    )
  }
  const byToken = new Map<string, PoolEntry>()
  const lines = text.split('\n')
  lines.forEach((line, i) => {
    if (!line.trim()) return
    // a crash can leave a torn last line: ignore it only if it is the last one
    let e: PoolEntry
    try {
      e = JSON.parse(line) as PoolEntry
    } catch {
      if (i >= lines.length - 2) return
      throw new UsageError(`${path}:${i + 1}: not a JSON object`, {
        hint: 'a pool file has one JSON token record a line.',
      })
    }
    if (!e || typeof e.token !== 'string' || !e.token) {
      throw new UsageError(`${path}:${i + 1}: record has no "token"`, {
        hint: 'a pool file has one JSON token record a line.',
      })
    }
    const prev = byToken.get(e.token)
    byToken.set(e.token, { ...prev, ...e, state: e.state ?? prev?.state ?? 'valid' })
  })
  return [...byToken.values()]
}

/** Appends records to a pool file, created with mode 0600; each append is one write() of a whole line. */
export class PoolWriter {
  private fd: number
  readonly path: string

  constructor(path: string, opts: { truncate?: boolean } = {}) {
    this.path = path
    if (!opts.truncate) dropTornTail(path)
    try {
      this.fd = openSync(path, opts.truncate ? 'w' : 'a', 0o600)
      fchmodSync(this.fd, 0o600)
    } catch (err) {
      throw new UsageError(`cannot write token pool ${path}: ${fsErrorText(err)}`, {
        hint: fsErrorHint(err, path),
      })
    }
  }

  /**
   * Append one record. A failed write (full or read-only disk) leaves no torn line and stops the run at once
   * (a FatalRunError holding a FileSystemError that names the pool and the fix): the records written so far
   * stay valid.
   */
  append(entry: PoolEntry): void {
    try {
      appendWhole(this.fd, Buffer.from(`${JSON.stringify(entry)}\n`))
    } catch (err) {
      throw new FatalRunError(
        new FileSystemError('cannot write token pool', this.path, err, {
          hint: `${fsErrorHint(err, this.path)} The tokens recorded before are kept in it.`,
        }),
      )
    }
  }

  close(): void {
    try {
      fsyncSync(this.fd)
    } catch {
      /* not a regular file */
    }
    closeSync(this.fd)
  }
}

/**
 * Before appending to an existing pool, cut off a torn last line (a crash mid-write leaves one without its
 * newline), so the next record starts on a line of its own instead of gluing onto the fragment.
 */
function dropTornTail(path: string): void {
  let fd: number
  try {
    fd = openSync(path, 'r+')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return
    throw new UsageError(`cannot write token pool ${path}: ${code ?? (err as Error).message}`, {
      hint: 'check the path and its permissions.',
    })
  }
  try {
    const size = fstatSync(fd).size
    if (size === 0) return
    // scan back from the end for the last newline, a block at a time
    const block = Buffer.alloc(4096)
    let end = size
    while (end > 0) {
      const start = Math.max(0, end - block.length)
      const n = readSync(fd, block, 0, end - start, start)
      const at = block.subarray(0, n).lastIndexOf(0x0a)
      if (at >= 0 || start === 0) {
        const cut = at >= 0 ? start + at + 1 : 0
        if (cut < size) {
          const first = Buffer.alloc(1)
          readSync(fd, first, 0, 1, cut)
          // only ever cut what looks like a torn pool record, never someone else's data
          if (first[0] !== 0x7b /* { */) {
            throw new UsageError(`${path} does not look like a token pool (its last line is not a record)`, {
              hint: 'pass a new file or an existing pool to --out.',
            })
          }
          ftruncateSync(fd, cut)
        }
        return
      }
      end = start
    }
  } finally {
    closeSync(fd)
  }
}

/**
 * Record that `tokens` of the pool at `path` are revoked: one state record each, appended (later lines win
 * on read), so validation expects 404 for them. Nothing is written for an empty list.
 */
export function markRevoked(path: string, tokens: readonly string[]): void {
  if (!tokens.length) return
  const w = new PoolWriter(path)
  try {
    for (const token of tokens) w.append({ token, state: 'revoked' })
  } finally {
    w.close()
  }
}

export function poolExists(path: string): boolean {
  return existsSync(path)
}
