import { createHash } from 'node:crypto'
import {
  closeSync,
  existsSync,
  fchmodSync,
  fdatasync,
  fdatasyncSync,
  ftruncateSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { FileSystemError, fsErrorHint, fsErrorText, UsageError } from '../errors.js'
import { appendWhole, makeDirs } from '../results/output-file.js'
import { FatalRunError } from './bulk.js'

/**
 * The revoke-bulk ledger: an append-only JSON Lines file (mode 0600: it holds tokens) recording every state
 * change of every token as it happens, so an interrupted or killed run can be resumed exactly.
 *
 *   {"type":"run","v":1,"mode":"count","count":200,"authUrl":"…/v3","startedAt":"…"}    first line
 *   {"i":7,"s":"issued","token":"…","auditId":"…","expiresAt":"…","at":"…"}             count mode
 *   {"i":7,"s":"revoked","status":204,"at":"…"}       204: revoked now; 404: already invalid
 *   {"i":7,"s":"failed","stage":"revoke","reason":"…","at":"…"}
 *   {"type":"resume","at":"…"}  /  {"type":"end","at":"…","complete":true}
 *   {"type":"dropped","lines":[51],"at":"…"}   damaged lines a `--resume --skip-bad-lines` left out
 *
 * In pool mode ("mode":"pool","pool":"/abs/path") records name a token by `k`, a hash of it, and hold no token.
 *
 * Crash safety: each record is one write() of a whole line, made after the fact it records. A crash can only
 * (a) lose a token between Keystone issuing it and the "issued" line: nobody ever saw that token and Fernet
 * tokens are stateless, so nothing is left behind; (b) lose a "revoked" line: the resume revokes the token
 * again, Keystone answers 404 and no second revocation event is created; (c) tear the last line: replay
 * ignores it and the resume cuts it off before appending.
 *
 * A damaged complete line (a disk fault, an edit) stops a resume, naming the line; `--skip-bad-lines` replays
 * every readable record without it, recovers the token of an "issued" record from the damaged text when
 * one can be read there, and appends a "dropped" record naming the lines, so later resumes skip them too.
 */

export interface LedgerHeader {
  type: 'run'
  v: 1
  mode: 'count' | 'pool'
  count?: number
  pool?: string
  authUrl: string
  startedAt: string
}

export type LedgerState = 'issued' | 'revoked' | 'failed'

export type LedgerTokenRecord =
  | { i: number; k?: string; s: 'issued'; token: string; auditId?: string; expiresAt?: string; at?: string }
  | { i: number; k?: string; s: 'revoked'; status: number; at?: string }
  | { i: number; k?: string; s: 'failed'; stage: 'issue' | 'revoke'; reason: string; at?: string }

export type LedgerRecord =
  | LedgerHeader
  | { type: 'resume'; at: string }
  | { type: 'end'; at: string; complete: boolean; interrupted?: boolean }
  | { type: 'dropped'; lines: number[]; at: string }
  | LedgerTokenRecord

/** What the ledger says about one token. */
export interface LedgerEntry {
  i: number
  k?: string
  token?: string
  auditId?: string
  expiresAt?: string
  state: LedgerState
  /** For `failed`: the stage that failed and why. */
  stage?: 'issue' | 'revoke'
  reason?: string
  /** HTTP status of the revocation (204 now, 404 already invalid). */
  status?: number
  /** How many complete "revoked" lines the ledger has for this token (a correct run never has more than 1). */
  revokedLines: number
}

export interface LedgerReplay {
  header: LedgerHeader
  /** Keyed by `k` in pool mode, by the index in count mode. */
  entries: Map<string, LedgerEntry>
  /** Length in bytes of the complete lines (where a resume appends). */
  validBytes: number
  /** Whether a torn (incomplete) last line was found and ignored. */
  torn: boolean
  resumes: number
  /** The last "end" record says nothing was left to do. */
  complete: boolean
  /**
   * Damaged lines (1-based) left out by this replay (`skipBadLines`); lines a "dropped" record of an earlier
   * resume names are left out too, but not listed again.
   */
  dropped: number[]
  /** Tokens read from the text of dropped "issued" lines, whose index had no token otherwise. */
  salvaged: number
}

export interface ReplayOptions {
  /** Leave out damaged complete lines instead of refusing the ledger (the header must still be readable). */
  skipBadLines?: boolean
}

/** A short, stable, non-secret name for a token (pool-mode ledgers use it instead of the token). */
export function tokenKey(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 24)
}

/** The identity of a record within its ledger. */
export function entryId(r: { i: number; k?: string }): string {
  return r.k ?? String(r.i)
}

function isHeader(r: unknown): r is LedgerHeader {
  const h = r as LedgerHeader
  return Boolean(h) && h.type === 'run' && h.v === 1 && (h.mode === 'count' || h.mode === 'pool')
}

/** The index and token of a damaged "issued" line, when both can still be read in its text. */
function salvageIssued(line: string): { i: number; token: string } | undefined {
  if (!/"s"\s*:\s*"issued"/.test(line)) return undefined
  const i = /"i"\s*:\s*(\d+)\s*[,}]/.exec(line)
  const token = /"token"\s*:\s*"([A-Za-z0-9_-]{8,})"/.exec(line)
  return i && token ? { i: Number(i[1]), token: token[1]! } : undefined
}

/**
 * Rebuild every token's state from the ledger text. Pure. Complete lines that are not valid records are an
 * error naming the line (unless `skipBadLines`, or a "dropped" record names it); an incomplete last line (a
 * crash mid-write) is ignored and reported as `torn`.
 */
export function replayLedger(text: string, path = 'ledger', opts: ReplayOptions = {}): LedgerReplay {
  const lastNl = text.lastIndexOf('\n')
  const complete = lastNl < 0 ? '' : text.slice(0, lastNl + 1)
  const torn = complete.length < text.length
  const lines = complete.split('\n')
  lines.pop()
  let header: LedgerHeader | undefined
  const entries = new Map<string, LedgerEntry>()
  let resumes = 0
  let done = false
  const badHeader = (n: number, what: string) =>
    new UsageError(`${path}:${n}: ${what}`, {
      hint: 'this is not an idtool revoke-bulk ledger, or it was edited; pass another --ledger.',
    })
  // damaged lines after a good header: the first one is the error, unless skipped or acknowledged
  const damaged: Array<{ n: number; what: string; line: string }> = []
  const acknowledged = new Set<number>()
  class BadLine extends Error {}
  const bad = (_n: number, what: string) => new BadLine(what)
  lines.forEach((line, idx) => {
    const n = idx + 1
    if (!line.trim()) return
    let r: LedgerRecord
    try {
      r = JSON.parse(line) as LedgerRecord
    } catch {
      if (!header) throw badHeader(n, 'not a JSON record')
      damaged.push({ n, what: 'not a JSON record', line })
      return
    }
    if (!header) {
      if (!isHeader(r)) throw badHeader(n, 'the first record is not a revoke-bulk run header')
      header = r
      return
    }
    try {
      apply(r, n)
    } catch (err) {
      if (!(err instanceof BadLine)) throw err
      damaged.push({ n, what: err.message, line })
    }
  })
  function apply(r: LedgerRecord, n: number): void {
    if (r === null || typeof r !== 'object' || Array.isArray(r)) throw bad(n, 'not a JSON record')
    if ('type' in r) {
      if (r.type === 'dropped') {
        if (Array.isArray(r.lines)) for (const l of r.lines) if (typeof l === 'number') acknowledged.add(l)
        return
      }
      if (r.type === 'resume') resumes++
      if (r.type === 'end') done = r.complete
      else done = false
      return
    }
    if (typeof r.i !== 'number' || !('s' in r)) throw bad(n, 'record without "i" and "s"')
    done = false
    const id = entryId(r)
    const prev = entries.get(id)
    const base: LedgerEntry = prev ?? { i: r.i, k: r.k, state: 'issued', revokedLines: 0 }
    switch (r.s) {
      case 'issued':
        if (typeof r.token !== 'string' || !r.token) throw bad(n, '"issued" record without a token')
        entries.set(id, {
          ...base,
          token: r.token,
          auditId: r.auditId,
          expiresAt: r.expiresAt,
          state: 'issued',
          stage: undefined,
          reason: undefined,
        })
        break
      case 'revoked':
        entries.set(id, {
          ...base,
          state: 'revoked',
          status: r.status,
          stage: undefined,
          reason: undefined,
          revokedLines: base.revokedLines + 1,
        })
        break
      case 'failed':
        // a revoked token stays revoked whatever fails later
        if (prev?.state === 'revoked') break
        entries.set(id, { ...base, state: 'failed', stage: r.stage, reason: r.reason })
        break
      default:
        throw bad(n, `unknown state "${(r as { s: string }).s}"`)
    }
  }
  if (!header) {
    throw new UsageError(`${path} has no complete run header`, {
      hint: 'the run stopped before it started; start a new run instead of --resume.',
    })
  }
  const fresh = damaged.filter((d) => !acknowledged.has(d.n))
  if (fresh.length && !opts.skipBadLines) {
    const d = fresh[0]!
    const more =
      fresh.length > 1 ? ` (and ${fresh.length - 1} more damaged line${fresh.length > 2 ? 's' : ''})` : ''
    throw new UsageError(`${path}:${d.n}: ${d.what}${more}`, {
      code: 'LEDGER_DAMAGED',
      hint:
        'the ledger has a damaged line; --resume --skip-bad-lines continues without it (every readable ' +
        'record is kept and the dropped lines are reported).',
    })
  }
  // a token whose "issued" line is damaged is still revoked when its text can be read
  let salvaged = 0
  for (const d of damaged) {
    const s = salvageIssued(d.line)
    if (!s || header.mode !== 'count') continue
    const e = entries.get(String(s.i))
    if (e?.token || e?.state === 'revoked') continue
    entries.set(
      String(s.i),
      e ? { ...e, token: s.token } : { i: s.i, token: s.token, state: 'issued', revokedLines: 0 },
    )
    salvaged++
  }
  return {
    header,
    entries,
    validBytes: Buffer.byteLength(complete),
    torn,
    resumes,
    complete: done,
    dropped: fresh.map((d) => d.n),
    salvaged,
  }
}

/** Read and replay a ledger file. */
export function readLedger(path: string, opts: ReplayOptions = {}): LedgerReplay {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new UsageError(`cannot read ledger ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`, {
      hint: 'pass the --ledger of the run to resume.',
    })
  }
  return replayLedger(text, path, opts)
}

/** The start time of a process (field 22 of /proc/PID/stat), to tell a live holder from a reused PID. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

/**
 * One writer per ledger: an exclusive lock file beside it (`LEDGER.lock`, 0600, holding the owner's PID and
 * process start time), created with O_EXCL. A lock whose process is gone (killed, crashed) is stale and taken
 * over; a live one refuses with exit 2 naming the PID.
 */
export class LedgerLock {
  private constructor(readonly path: string) {}

  static acquire(ledger: string): LedgerLock {
    const path = `${ledger}.lock`
    const mine = JSON.stringify({ pid: process.pid, start: processStart(process.pid) })
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = openSync(path, 'wx', 0o600)
        writeSync(fd, mine)
        closeSync(fd)
        return new LedgerLock(path)
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if (code !== 'EEXIST') {
          throw new UsageError(`cannot lock ledger ${ledger}: ${fsErrorText(err)}`, {
            hint: fsErrorHint(err, path),
          })
        }
      }
      let holder: { pid?: number; start?: string } = {}
      try {
        holder = JSON.parse(readFileSync(path, 'utf8')) as typeof holder
      } catch {
        /* torn or empty: written by a process that died while writing it */
      }
      const alive = typeof holder.pid === 'number' && processStart(holder.pid) !== undefined
      if (alive && processStart(holder.pid!) === holder.start) {
        throw new UsageError(`ledger ${ledger} is in use by process ${holder.pid}`, {
          code: 'LEDGER_LOCKED',
          hint: `one run at a time per ledger: wait for process ${holder.pid} to finish (or stop it), then --resume.`,
        })
      }
      // stale: its process is gone (or the PID now belongs to another process)
      try {
        unlinkSync(path)
      } catch {
        /* another run took it over first: try again */
      }
    }
    throw new UsageError(`cannot lock ledger ${ledger}: another run keeps taking the lock`, {
      code: 'LEDGER_LOCKED',
      hint: 'one run at a time per ledger.',
    })
  }

  release(): void {
    try {
      unlinkSync(this.path)
    } catch {
      /* already gone */
    }
  }
}

/** Appends ledger records, one write() of a whole line each; the file is 0600. Holds the ledger's lock. */
export class LedgerWriter {
  private fd: number
  private lastSync = 0
  private syncing = false
  private closed = false

  private constructor(
    readonly path: string,
    fd: number,
    private readonly lock: LedgerLock,
  ) {
    this.fd = fd
  }

  /** Start a new ledger (refuses to overwrite one). */
  static create(path: string, header: LedgerHeader): LedgerWriter {
    const dir = dirname(path)
    if (!existsSync(dir)) {
      // idtool's own state directory is created (one level at a time: Node's recursive mkdir can loop
      // forever); a directory the user named must exist, as for every output file
      if (resolve(dir) !== resolve(defaultLedgerDir())) {
        throw new UsageError(`--ledger ${path}: the directory ${dir} does not exist`, {
          code: 'OUTPUT_PATH',
          hint: `idtool does not create output directories: create it first (mkdir -p ${dir}) or choose another path.`,
        })
      }
      makeDirs(dir, 0o700)
    }
    const lock = LedgerLock.acquire(path)
    let fd: number
    try {
      fd = openSync(path, 'wx', 0o600)
      fchmodSync(fd, 0o600)
    } catch (err) {
      lock.release()
      const code = (err as NodeJS.ErrnoException).code
      throw new UsageError(
        code === 'EEXIST'
          ? `ledger ${path} already exists`
          : `cannot create ledger ${path}: ${fsErrorText(err)}`,
        {
          hint:
            code === 'EEXIST'
              ? 'continue it with --resume, or pass another --ledger.'
              : fsErrorHint(err, path),
        },
      )
    }
    const w = new LedgerWriter(path, fd, lock)
    w.append(header)
    return w
  }

  /**
   * Reopen a ledger to continue it: cut off a torn last line first, so appends start on a line boundary.
   * `replay` must be read under the lock (`LedgerLock.acquire` first), so two resumes cannot both act on it.
   */
  static resume(path: string, replay: LedgerReplay, lock: LedgerLock): LedgerWriter {
    let fd: number
    try {
      fd = openSync(path, 'r+', 0o600)
      fchmodSync(fd, 0o600)
    } catch (err) {
      lock.release()
      throw new UsageError(`cannot open ledger ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`, {
        hint: 'check the path and its permissions.',
      })
    }
    if (replay.torn) ftruncateSync(fd, replay.validBytes)
    closeSync(fd)
    const w = new LedgerWriter(path, openSync(path, 'a', 0o600), lock)
    w.append({ type: 'resume', at: new Date().toISOString() })
    return w
  }

  /** The error of a failed write: no record is written after it (the ledger stays a clean prefix for --resume). */
  private failure?: FatalRunError

  append(r: LedgerRecord): void {
    if (this.closed || this.closing) return
    if (this.failure) {
      if ('type' in r) return // the closing record of a run that already failed: the resume does without it
      throw this.failure // a token issued meanwhile cannot be recorded either: the run stops
    }
    try {
      appendWhole(this.fd, Buffer.from(`${JSON.stringify(r)}\n`))
    } catch (err) {
      // a full or read-only disk: the run must stop at once (a token issued now could not be recorded), named
      // as a file-system error; the caller's message adds how to resume once fixed
      this.failure = new FatalRunError(new FileSystemError('cannot write ledger', this.path, err))
      throw this.failure
    }
    // a process crash at any point loses nothing (the line is in the page cache); for a machine crash, flush
    // about once a second, in the background so requests in flight are not held up
    const now = Date.now()
    if (now - this.lastSync > 1000 && !this.syncing) {
      this.lastSync = now
      this.syncing = true
      fdatasync(this.fd, () => {
        this.syncing = false
        if (this.closing) this.finishClose()
      })
    }
  }

  private sync(): void {
    try {
      fdatasyncSync(this.fd)
    } catch {
      /* not a regular file */
    }
  }

  private closing = false

  private finishClose(): void {
    if (this.closed) return
    this.closed = true
    this.sync()
    closeSync(this.fd)
  }

  /** Flush and close (after a background flush in progress, if any, so its descriptor stays valid). */
  close(): void {
    if (this.closed || this.closing) return
    this.closing = true
    // nothing is written after close, so another run may take the ledger while the last flush completes
    this.lock.release()
    if (!this.syncing) this.finishClose()
  }
}

/** Where ledgers go when --ledger is not given: $XDG_STATE_HOME/idtool/revoke-bulk (~/.local/state/...). */
export function defaultLedgerDir(env: Record<string, string | undefined> = process.env): string {
  const state = env.XDG_STATE_HOME || join(homedir(), '.local', 'state')
  return join(state, 'idtool', 'revoke-bulk')
}

/** A new ledger path in `dir`, named after the time and the process. */
export function newLedgerPath(dir: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[:.]/g, '-')
  return join(dir, `revoke-bulk-${stamp}-${process.pid}.jsonl`)
}

/** The most recently modified ledger in `dir` that did not end complete, if any. */
export function findResumableLedger(dir: string): string | undefined {
  if (!existsSync(dir)) return undefined
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .map((f) => join(dir, f))
    .map((p) => ({ p, m: statSync(p).mtimeMs }))
    .sort((a, b) => b.m - a.m)
  for (const { p } of files) {
    try {
      // a damaged ledger is found too: resuming it then says how to continue (--skip-bad-lines)
      if (!readLedger(p, { skipBadLines: true }).complete) return p
    } catch {
      /* not a ledger */
    }
  }
  return undefined
}
