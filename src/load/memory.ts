import { readFileSync } from 'node:fs'
import v8 from 'node:v8'
import vm from 'node:vm'
import type { MemorySeries } from '../metrics/memory-verdict.js'
import { SampleSeries } from '../metrics/series.js'

/**
 * Memory sampling: idtool's own heap after a forced garbage collection, and other processes' resident
 * memory from /proc/PID/status (Linux). {@link MemoryWatch} samples a set of subjects every K iterations
 * of any engine; `metrics/memory-verdict.ts` judges what it sampled (pure). The sampling is I/O (/proc,
 * forced GC), so it lives with the load engine, below every engine that watches memory (ldap/, bench/).
 */

export type GcMethod = 'exposed' | 'v8-flag' | 'unavailable'

export interface ForcedGc {
  /** Run a full, synchronous collection (no-op when unavailable). */
  collect(): void
  method: GcMethod
}

let cached: ForcedGc | undefined

/**
 * A function that forces a full GC. Node cannot expose `gc` after start-up through the command line, but
 * V8 reads `--expose-gc` again when a new context is created, so `vm.runInNewContext('gc')` right after
 * `v8.setFlagsFromString('--expose-gc')` returns a working `gc` (the flag is turned off again at once so
 * no other context sees it). `globalThis.gc` is used when node already runs with --expose-gc.
 */
export function forcedGc(): ForcedGc {
  if (cached) return cached
  const exposed = (globalThis as { gc?: unknown }).gc
  if (typeof exposed === 'function') {
    const fn = exposed as () => void
    cached = { collect: () => fn(), method: 'exposed' }
    return cached
  }
  let fn: unknown
  try {
    v8.setFlagsFromString('--expose-gc')
    fn = vm.runInNewContext('typeof gc === "function" ? gc : undefined')
  } catch {
    fn = undefined
  } finally {
    try {
      v8.setFlagsFromString('--no-expose-gc')
    } catch {
      /* best effort */
    }
  }
  if (typeof fn === 'function') {
    const gc = fn as () => void
    try {
      gc()
      cached = { collect: () => gc(), method: 'v8-flag' }
      return cached
    } catch {
      /* fall through */
    }
  }
  cached = { collect: () => {}, method: 'unavailable' }
  return cached
}

export interface OwnHeap {
  /** V8 heap in use, without compiled code (code_space and code_large_object_space) */
  heapUsed: number
  /** memory of C++ objects bound to JS objects, Buffers and ArrayBuffers included */
  external: number
}

/**
 * Full collections before the first sample: V8 flushes the bytecode of functions not run for a few
 * collections (start-up and argument parsing code), so without this the first samples sit a few hundred
 * KiB higher than the rest and fake a falling trend.
 */
export function settleHeap(gc: ForcedGc = forcedGc(), rounds = 10): void {
  for (let i = 0; i < rounds; i++) gc.collect()
}

const CODE_SPACES = new Set(['code_space', 'code_large_object_space'])

/**
 * idtool's own heap after forced GC. Two full collections: the first may only queue finalizers and
 * weak callbacks that free native memory (counted in `external`), the second collects what they freed.
 * Compiled code is left out of heapUsed: the JIT grows and shrinks it by hundreds of KiB as functions
 * tier up and get flushed, which is noise, not a leak.
 */
export function sampleOwnHeap(gc: ForcedGc = forcedGc()): OwnHeap {
  gc.collect()
  gc.collect()
  let heapUsed = 0
  for (const s of v8.getHeapSpaceStatistics())
    if (!CODE_SPACES.has(s.space_name)) heapUsed += s.space_used_size
  return { heapUsed, external: process.memoryUsage().external }
}

/** The process is gone (or became a zombie, or its PID was reused by another process). */
export class ProcessGoneError extends Error {
  readonly pid: number
  constructor(pid: number, why: string) {
    super(`process ${pid} ${why}`)
    this.name = 'ProcessGoneError'
    this.pid = pid
  }
}

export interface ProcMemory {
  /** resident anonymous memory (heap, stacks, private mappings), bytes; undefined on kernels < 4.5 */
  rssAnon?: number
  /** total resident set, including file-backed pages such as an mdb map, bytes */
  vmRss: number
}

export interface ProcIdentity {
  pid: number
  /** the command name (/proc/PID/comm) */
  name: string
  /** the start time in clock ticks since boot (/proc/PID/stat field 22), to notice PID reuse */
  startTicks: string
}

export type ReadFile = (path: string) => string

const readProcFile: ReadFile = (path) => readFileSync(path, 'utf8')

function readOrGone(pid: number, path: string, read: ReadFile, why = 'does not exist'): string {
  try {
    return read(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ESRCH') throw new ProcessGoneError(pid, why)
    throw err
  }
}

/** The start time field of /proc/PID/stat (after the parenthesised command, which may hold spaces). */
export function parseStartTicks(stat: string): string {
  const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // fields after "(comm)": state is field 3, starttime field 22 => index 22 - 3 = 19
  return after[19] ?? ''
}

/** Name and start time of a live process; throws ProcessGoneError when there is none. */
export function procIdentity(pid: number, read: ReadFile = readProcFile): ProcIdentity {
  if (!Number.isInteger(pid) || pid <= 0) throw new ProcessGoneError(pid, 'is not a valid PID')
  const stat = readOrGone(pid, `/proc/${pid}/stat`, read)
  const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]
  if (state === 'Z' || state === 'X') throw new ProcessGoneError(pid, 'has exited (zombie)')
  const name = readOrGone(pid, `/proc/${pid}/comm`, read).trim()
  return { pid, name, startTicks: parseStartTicks(stat) }
}

/** Parse the memory lines of /proc/PID/status (values in kB) into bytes. */
export function parseProcStatus(text: string): { rssAnon?: number; vmRss?: number; state?: string } {
  const out: { rssAnon?: number; vmRss?: number; state?: string } = {}
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s+(\S+)/.exec(line)
    if (!m) continue
    if (m[1] === 'RssAnon') out.rssAnon = Number(m[2]) * 1024
    else if (m[1] === 'VmRSS') out.vmRss = Number(m[2]) * 1024
    else if (m[1] === 'State') out.state = m[2]
  }
  return out
}

/**
 * Read the resident memory of `who` from /proc/PID/status. Throws ProcessGoneError when the process
 * exited, became a zombie, or the PID now belongs to another process.
 */
export function readProcMemory(who: ProcIdentity, read: ReadFile = readProcFile): ProcMemory {
  const { pid } = who
  const status = parseProcStatus(readOrGone(pid, `/proc/${pid}/status`, read, 'has exited'))
  if (status.state === 'Z' || status.state === 'X' || status.vmRss === undefined) {
    throw new ProcessGoneError(pid, 'has exited')
  }
  const now = parseStartTicks(readOrGone(pid, `/proc/${pid}/stat`, read, 'has exited'))
  if (now !== who.startTicks)
    throw new ProcessGoneError(pid, 'has exited (its PID now belongs to another process)')
  return { rssAnon: status.rssAnon, vmRss: status.vmRss }
}

/** Whether /proc-based sampling works on this system. */
export function procAvailable(read: ReadFile = readProcFile): boolean {
  try {
    return read('/proc/self/status').includes('VmRSS')
  } catch {
    return false
  }
}

/** One watched figure: its bounded sample store and what the verdict needs to know of it. */
interface Watched {
  name: string
  pid: number | null
  metric: string
  deciding: boolean
  series: SampleSeries
  note?: string
  gone?: { atIteration: number; why: string }
}

/** A watched process: its identity (to notice PID reuse), RssAnon (deciding) and VmRSS (informational). */
interface PidWatch {
  who: ProcIdentity
  anon: Watched
  rss: Watched
  hasAnon: boolean
}

export interface MemoryWatchOptions {
  /** processes whose /proc/PID/status to sample */
  pids: readonly number[]
  /** also sample idtool's own heap (heapUsed, external) after forced GC; default true */
  ownHeap?: boolean
  /** samples kept per subject before halving (default 256) */
  capacity?: number
  /** injected for tests */
  gc?: ForcedGc
  readProc?: ReadFile
}

/**
 * The memory subjects of one run, sampled together: idtool's own heap (heapUsed, external) and, for every
 * PID, RssAnon (deciding; VmRSS when the kernel has no RssAnon) and VmRSS (informational: file-backed pages
 * such as an mdb map count in it). Its stores never grow, so sampling does not itself look like a leak.
 */
export class MemoryWatch {
  readonly gc: ForcedGc
  private readonly watches: PidWatch[]
  private readonly own: Watched[]

  private constructor(
    gc: ForcedGc,
    watches: PidWatch[],
    own: Watched[],
    readonly readProc?: ReadFile,
  ) {
    this.gc = gc
    this.watches = watches
    this.own = own
  }

  /** Identify every PID and take its first reading; throws ProcessGoneError for a PID that is not there. */
  static open(opts: MemoryWatchOptions): MemoryWatch {
    const capacity = opts.capacity ?? 256
    const watches: PidWatch[] = []
    for (const pid of opts.pids) {
      const who = procIdentity(pid, opts.readProc)
      const hasAnon = readProcMemory(who, opts.readProc).rssAnon !== undefined
      const subject = (metric: string, deciding: boolean, note?: string): Watched => ({
        name: who.name,
        pid,
        metric,
        deciding,
        series: new SampleSeries(capacity),
        note,
      })
      watches.push({
        who,
        hasAnon,
        anon: subject(
          hasAnon ? 'RssAnon' : 'VmRSS',
          true,
          hasAnon ? undefined : 'this kernel has no RssAnon: judged on VmRSS',
        ),
        rss: subject(
          'VmRSS',
          false,
          'informational (file-backed pages such as an mdb map count here): the verdict uses RssAnon',
        ),
      })
    }
    const gc = opts.gc ?? forcedGc()
    const gcNote =
      gc.method === 'unavailable' ? 'sampled without forced GC (run node with --expose-gc)' : undefined
    const own =
      (opts.ownHeap ?? true)
        ? (['heapUsed', 'external'] as const).map(
            (metric): Watched => ({
              name: 'idtool',
              pid: null,
              metric,
              deciding: true,
              series: new SampleSeries(capacity),
              note: gcNote,
            }),
          )
        : []
    return new MemoryWatch(gc, watches, own, opts.readProc)
  }

  /** Whether the stores are full: the next sample halves them, so the caller should double its interval. */
  get full(): boolean {
    return this.subjects().some((s) => s.series.full)
  }

  /** Full collections before the first sample (see {@link settleHeap}). */
  settle(): void {
    if (this.own.length) settleHeap(this.gc)
  }

  /**
   * Sample every subject at iteration `x`; `clean` is false when errors happened since the last sample
   * (such samples are kept but left out of the verdict). Returns the processes found gone at this sample:
   * they are not sampled again and are judged on their samples before.
   */
  sample(x: number, clean: boolean): ProcessGoneError[] {
    if (this.own.length) {
      const own = sampleOwnHeap(this.gc)
      this.own[0]?.series.add(x, own.heapUsed, clean)
      this.own[1]?.series.add(x, own.external, clean)
    }
    const gone: ProcessGoneError[] = []
    for (const w of this.watches) {
      if (w.anon.gone) continue
      try {
        const m = readProcMemory(w.who, this.readProc)
        w.anon.series.add(x, (w.hasAnon ? m.rssAnon : m.vmRss) ?? m.vmRss, clean)
        w.rss.series.add(x, m.vmRss, clean)
      } catch (err) {
        if (!(err instanceof ProcessGoneError)) throw err
        w.anon.gone = w.rss.gone = { atIteration: x, why: err.message }
        gone.push(err)
      }
    }
    return gone
  }

  /** What was sampled, in a stable order (own heap first, then every PID's RssAnon and VmRSS), for the verdict. */
  series(): MemorySeries[] {
    return this.subjects().map((s) => ({
      name: s.name,
      pid: s.pid,
      metric: s.metric,
      deciding: s.deciding,
      points: s.series.cleanPoints(),
      dirty: s.series.dirtyCount(),
      ...(s.note ? { note: s.note } : {}),
      ...(s.gone ? { gone: s.gone } : {}),
    }))
  }

  private subjects(): Watched[] {
    return [...this.own, ...this.watches.flatMap((w) => [w.anon, w.rss])]
  }
}
