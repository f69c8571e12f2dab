import { IdtoolError, UsageError } from '../errors.js'
import { ExitCode } from '../exit-codes.js'
import { createHistogram, encodeHistogram, recordMs, summarizeMs } from '../metrics/histogram.js'
import { SampleSeries } from '../metrics/series.js'
import { combineVerdicts, judgeSeries } from '../metrics/stats.js'
import type { LeakSubject, LeakVerdict, PageLeakCheckResult } from '../results/types.js'
import {
  type ForcedGc,
  forcedGc,
  ProcessGoneError,
  type ProcIdentity,
  procIdentity,
  type ReadFile,
  readProcMemory,
  sampleOwnHeap,
  settleHeap,
} from './memory.js'

/**
 * The page-leak-check engine: runs one "iteration" (a full paged LDAP search, or one Keystone user
 * listing) again and again on a target, times it, samples memory every K iterations after the warm-up
 * and judges each memory series. It never prints: progress and warnings go to callbacks.
 */

/** What one iteration did. */
export interface IterationOutcome {
  entries: number
  /** pages fetched (0 when the pages are not visible, as through Keystone) */
  pages: number
  /** the latency of every page, ms */
  pageMs: readonly number[]
  /** the latency of the whole search or listing, ms */
  searchMs: number
  /** entries whose DN (or id) was already seen in the same search */
  duplicates: number
}

/** One connection (or session) that runs iterations one at a time. */
export interface LeakWorker {
  iterate(): Promise<IterationOutcome>
  close(): Promise<void>
}

/** What the engine runs against: direct LDAP or Keystone. */
export interface LeakTarget {
  mode: 'direct' | 'keystone'
  /** shown in the result: URL + base, or Keystone URL + domain */
  description: string
  pageSize: number
  /** Open a worker (connect and bind, or authenticate). Throws IterationError or IdtoolError. */
  open(): Promise<LeakWorker>
  close?(): Promise<void>
}

/**
 * A failed iteration or open. `kind` is the key counted in `errors`; `reconnect` means the worker must
 * be dropped and a new one opened; `message` is one clear line; `exitCode` applies when this is fatal.
 */
export class IterationError extends Error {
  readonly kind: string
  readonly reconnect: boolean
  readonly hint?: string
  readonly exitCode: (typeof ExitCode)[keyof typeof ExitCode]

  constructor(
    kind: string,
    message: string,
    opts: {
      reconnect?: boolean
      hint?: string
      cause?: unknown
      exitCode?: (typeof ExitCode)[keyof typeof ExitCode]
    } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'IterationError'
    this.kind = kind
    this.reconnect = opts.reconnect ?? false
    this.hint = opts.hint
    this.exitCode = opts.exitCode ?? ExitCode.Runtime
  }

  toIdtoolError(): IdtoolError {
    return new IdtoolError(this.message, {
      code: this.kind.toUpperCase().replace(/-/g, '_'),
      exitCode: this.exitCode,
      hint: this.hint,
      cause: this,
    })
  }
}

export interface LeakProgress {
  phase: 'probe' | 'warmup' | 'measure'
  done: number
  /** planned iterations of this phase (undefined with a duration) */
  total?: number
  elapsedMs: number
  /** planned duration of the measured phase, ms */
  durationMs?: number
  errors: number
  lastSearchMs?: number
  sampleEvery: number
}

export interface LeakCheckOptions {
  target: LeakTarget
  /** measured iterations (exclusive with durationMs) */
  iterations?: number
  /** measured duration, ms */
  durationMs?: number
  warmup: number
  concurrency: number
  /** sample memory every K iterations; default: about 40 samples over the run */
  sampleEvery?: number
  leakThresholdBytesPerIteration: number
  pids: readonly number[]
  signal?: AbortSignal
  /** stop after this many failures in a row (default 10) */
  maxConsecutiveFailures?: number
  /** first back-off delay after a failure, ms (doubles up to 2 s; default 100) */
  retryDelayMs?: number
  /** memory samples kept per subject before halving (default 256) */
  seriesCapacity?: number
  onProgress?: (p: LeakProgress) => void
  onWarn?: (message: string) => void
  /** injected for tests */
  gc?: ForcedGc
  readProc?: ReadFile
  now?: () => number
}

export interface LeakCheckRun {
  result: PageLeakCheckResult
  /** why the run stopped early (not by the user), if it did */
  stopReason?: string
  gcMethod: ForcedGc['method']
  /** the sampling interval used at the end (it doubles when the sample store halves) */
  sampleEvery: number
}

/** Samples kept per subject are aimed at this count when --sample-every is not given. */
export const TARGET_SAMPLES = 40

interface Subject {
  name: string
  pid: number | null
  metric: string
  /** counts toward the overall verdict (VmRSS is informational) */
  deciding: boolean
  series: SampleSeries
  note?: string
  gone?: { atIteration: number; why: string }
}

interface PidWatch {
  who: ProcIdentity
  anon: Subject
  rss: Subject
  hasAnon: boolean
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve()
    const t = setTimeout(done, ms)
    function done() {
      clearTimeout(t)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })

const round1 = (n: number) => Math.round(n * 10) / 10

function asIterationError(err: unknown): IterationError {
  if (err instanceof IterationError) return err
  if (err instanceof IdtoolError) {
    return new IterationError(err.code.toLowerCase(), err.message, {
      hint: err.hint,
      exitCode: err.exitCode,
      cause: err,
    })
  }
  const msg = ((err as Error)?.message ?? String(err)).split('\n')[0] ?? 'error'
  return new IterationError('other', msg, { cause: err })
}

/** Run the check. Throws (before measuring) when the target or a PID is unusable. */
export async function runPageLeakCheck(opts: LeakCheckOptions): Promise<LeakCheckRun> {
  const now = opts.now ?? (() => performance.now())
  const warn = opts.onWarn ?? (() => {})
  const maxFailures = opts.maxConsecutiveFailures ?? 10
  const retryBase = opts.retryDelayMs ?? 100
  const capacity = opts.seriesCapacity ?? 256
  const concurrency = Math.max(1, Math.floor(opts.concurrency))
  const threshold = opts.leakThresholdBytesPerIteration
  if ((opts.iterations === undefined) === (opts.durationMs === undefined)) {
    throw new UsageError('give either a number of iterations or a duration', {
      hint: 'use --iterations N or --duration 2m.',
    })
  }
  if (!(threshold > 0)) throw new UsageError('the leak threshold must be above 0 bytes per iteration')

  // --- subjects -------------------------------------------------------------------------------------
  const watches: PidWatch[] = []
  for (const pid of opts.pids) {
    let who: ProcIdentity
    try {
      who = procIdentity(pid, opts.readProc)
    } catch (err) {
      if (err instanceof ProcessGoneError) {
        throw new UsageError(`--pid ${pid}: no such process (${err.message})`, {
          hint: 'for the lab, `idtool lab status --json` lists ldap.pid and keystone.workers[].workerPid.',
        })
      }
      throw err
    }
    const first = readProcMemory(who, opts.readProc)
    const hasAnon = first.rssAnon !== undefined
    watches.push({
      who,
      hasAnon,
      anon: {
        name: who.name,
        pid,
        metric: hasAnon ? 'RssAnon' : 'VmRSS',
        deciding: true,
        series: new SampleSeries(capacity),
        note: hasAnon ? undefined : 'this kernel has no RssAnon: judged on VmRSS',
      },
      rss: {
        name: who.name,
        pid,
        metric: 'VmRSS',
        deciding: false,
        series: new SampleSeries(capacity),
        note: 'informational (file-backed pages such as an mdb map count here): the verdict uses RssAnon',
      },
    })
  }
  const gc = opts.gc ?? forcedGc()
  if (gc.method === 'unavailable') {
    warn('cannot force garbage collection: own-heap samples are noisier (run node with --expose-gc)')
  }
  const gcNote =
    gc.method === 'unavailable' ? 'sampled without forced GC (run node with --expose-gc)' : undefined
  const heapUsed: Subject = {
    name: 'idtool',
    pid: null,
    metric: 'heapUsed',
    deciding: true,
    series: new SampleSeries(capacity),
    note: gcNote,
  }
  const external: Subject = {
    name: 'idtool',
    pid: null,
    metric: 'external',
    deciding: true,
    series: new SampleSeries(capacity),
    note: gcNote,
  }
  const subjects: Subject[] = [heapUsed, external]
  for (const w of watches) subjects.push(w.anon, w.rss)

  // --- state ----------------------------------------------------------------------------------------
  const errors: Record<string, number> = {}
  let errorsTotal = 0
  let windowErrors = 0
  let consecutiveFailures = 0
  let stopReason: string | undefined
  let expectedEntries: number | null = null
  const pageHist = createHistogram()
  const searchHist = createHistogram()
  let searches = 0
  let pages = 0
  let entries = 0
  let lastSearchMs: number | undefined

  const countError = (kind: string) => {
    errors[kind] = (errors[kind] ?? 0) + 1
    errorsTotal++
    windowErrors++
  }

  const sample = (iteration: number) => {
    const clean = windowErrors === 0
    windowErrors = 0
    const own = sampleOwnHeap(gc)
    heapUsed.series.add(iteration, own.heapUsed, clean)
    external.series.add(iteration, own.external, clean)
    for (const w of watches) {
      if (w.anon.gone) continue
      try {
        const m = readProcMemory(w.who, opts.readProc)
        w.anon.series.add(iteration, (w.hasAnon ? m.rssAnon : m.vmRss) ?? m.vmRss, clean)
        w.rss.series.add(iteration, m.vmRss, clean)
      } catch (err) {
        if (!(err instanceof ProcessGoneError)) throw err
        const gone = { atIteration: iteration, why: err.message }
        w.anon.gone = gone
        w.rss.gone = gone
        errors['pid-exited'] = (errors['pid-exited'] ?? 0) + 1
        errorsTotal++
        warn(`${err.message} at iteration ${iteration}: its verdict uses the samples taken before`)
      }
    }
  }

  // --- workers (closed in the finally, whatever happens) ---------------------------------------
  const aborted = () => Boolean(opts.signal?.aborted)
  const slots: Array<LeakWorker | undefined> = Array.from({ length: concurrency }, () => undefined)
  const closeAll = async () => {
    await Promise.all(slots.map((w) => w?.close().catch(() => {})))
    slots.fill(undefined)
  }
  let durationMs = 0
  let sampleEvery = 1
  try {
    const probeWorker = await opts.target.open().catch((err) => {
      throw asIterationError(err).toIdtoolError()
    })
    slots[0] = probeWorker

    // the probe: one search alone, which must work (bind, base, filter, size limit)
    opts.onProgress?.({ phase: 'probe', done: 0, total: 1, elapsedMs: 0, errors: 0, sampleEvery: 0 })
    let probeMs: number
    try {
      const out = await probeWorker.iterate()
      probeMs = out.searchMs
      expectedEntries = out.entries
      if (out.duplicates > 0) countError('duplicate-dn')
    } catch (err) {
      throw asIterationError(err).toIdtoolError()
    }

    /** Run one iteration on `slot`, (re)opening its worker if needed. Returns the outcome when clean. */
    async function attempt(slot: number): Promise<IterationOutcome | undefined> {
      let worker = slots[slot]
      try {
        if (!worker) {
          worker = await opts.target.open()
          slots[slot] = worker
        }
        const out = await worker.iterate()
        if (out.duplicates > 0) {
          countError('duplicate-dn')
          noteFailure(
            new IterationError('duplicate-dn', `a search returned ${out.duplicates} duplicate entries`),
          )
          return undefined
        }
        if (expectedEntries !== null && out.entries !== expectedEntries) {
          countError('entry-count-mismatch')
          noteFailure(
            new IterationError(
              'entry-count-mismatch',
              `a search returned ${out.entries} entries instead of ${expectedEntries}`,
            ),
          )
          return undefined
        }
        consecutiveFailures = 0
        return out
      } catch (err) {
        const e = asIterationError(err)
        countError(e.kind)
        if (e.reconnect || !slots[slot]) {
          const w = slots[slot]
          slots[slot] = undefined
          await w?.close().catch(() => {})
        }
        noteFailure(e)
        if (!stopReason)
          await sleep(Math.min(2000, retryBase * 2 ** Math.min(consecutiveFailures - 1, 5)), opts.signal)
        return undefined
      }
    }

    let lastWarned = ''
    function noteFailure(e: IterationError) {
      consecutiveFailures++
      if (e.message !== lastWarned) {
        warn(`${e.message} (counted as ${e.kind}; the run continues)`)
        lastWarned = e.message
      }
      if (consecutiveFailures >= maxFailures && !stopReason) {
        stopReason = `stopped after ${consecutiveFailures} failures in a row; the last: ${e.message}`
      }
    }

    // --- warm-up --------------------------------------------------------------------------------------
    const warmStart = now()
    let warmStarted = 0
    let warmDone = 0
    await Promise.all(
      slots.map(async (_, slot) => {
        while (warmStarted < opts.warmup && !aborted() && !stopReason) {
          warmStarted++
          await attempt(slot)
          warmDone++
          opts.onProgress?.({
            phase: 'warmup',
            done: warmDone,
            total: opts.warmup,
            elapsedMs: now() - warmStart,
            errors: errorsTotal,
            sampleEvery: 0,
          })
        }
      }),
    )
    const warmMs = now() - warmStart

    // --- sampling interval ----------------------------------------------------------------------------
    if (opts.sampleEvery !== undefined) sampleEvery = Math.max(1, Math.floor(opts.sampleEvery))
    else if (opts.iterations !== undefined)
      sampleEvery = Math.max(1, Math.ceil(opts.iterations / TARGET_SAMPLES))
    else {
      const perIterMs = warmDone > 0 ? warmMs / warmDone : Math.max(probeMs, 0.001) / concurrency
      const estimated = (opts.durationMs ?? 0) / Math.max(perIterMs, 0.001)
      sampleEvery = Math.max(1, Math.ceil(estimated / TARGET_SAMPLES))
    }

    // --- measured phase ---------------------------------------------------------------------------------
    windowErrors = 0
    settleHeap(gc)
    sample(0)
    const measureStart = now()
    let started = 0
    let completed = 0
    const more = () => {
      if (aborted() || stopReason) return false
      if (opts.iterations !== undefined) return started < opts.iterations
      return now() - measureStart < (opts.durationMs ?? 0)
    }
    await Promise.all(
      slots.map(async (_, slot) => {
        while (more()) {
          started++
          const out = await attempt(slot)
          if (out) {
            searches++
            pages += out.pages
            entries += out.entries
            lastSearchMs = out.searchMs
            recordMs(searchHist, out.searchMs)
            for (const ms of out.pageMs) recordMs(pageHist, ms)
          }
          completed++
          if (completed % sampleEvery === 0) {
            if (heapUsed.series.full) sampleEvery *= 2
            sample(completed)
          }
          opts.onProgress?.({
            phase: 'measure',
            done: completed,
            total: opts.iterations,
            durationMs: opts.durationMs,
            elapsedMs: now() - measureStart,
            errors: errorsTotal,
            lastSearchMs,
            sampleEvery,
          })
        }
      }),
    )
    durationMs = now() - measureStart
    if (completed % sampleEvery !== 0 && completed > 0) sample(completed)
  } finally {
    await closeAll()
    await opts.target.close?.().catch(() => {})
  }

  // --- verdicts -------------------------------------------------------------------------------------
  const out: LeakSubject[] = []
  const deciding: LeakVerdict[] = []
  for (const s of subjects) {
    const points = s.series.cleanPoints()
    const judged = judgeSeries(points, threshold)
    // a process that exited mid-run is not judged a leak from its last samples (its end is not the run's)
    const j =
      s.gone && judged.verdict === 'leak'
        ? {
            ...judged,
            verdict: 'inconclusive' as const,
            note: 'its memory grew, but it exited before the end',
          }
        : judged
    const notes: string[] = []
    if (s.gone) notes.push(`${s.gone.why} at iteration ${s.gone.atIteration}; judged on the samples before`)
    const dirty = s.series.dirtyCount()
    if (dirty > 0) notes.push(`${dirty} sample${dirty === 1 ? '' : 's'} taken after errors left out`)
    if (j.note) notes.push(j.note)
    if (s.note) notes.push(s.note)
    const first = points[0]
    const last = points[points.length - 1]
    out.push({
      name: s.name,
      pid: s.pid,
      metric: s.metric,
      slopeBytesPerIteration: round1(j.slope),
      ci95: [round1(j.ci95[0]), round1(j.ci95[1])],
      startBytes: first ? first[1] : 0,
      endBytes: last ? last[1] : 0,
      samples: j.samples,
      verdict: j.verdict,
      series: points.map(([x, y]) => [x, y] as [number, number]),
      ...(notes.length ? { note: notes.join('; ') } : {}),
    })
    if (s.deciding) deciding.push(j.verdict)
  }

  const page = summarizeMs(pageHist)
  const search = summarizeMs(searchHist)
  const result: PageLeakCheckResult = {
    version: 1,
    kind: 'ldap.page-leak-check',
    mode: opts.target.mode,
    target: opts.target.description,
    verdict: combineVerdicts(deciding),
    leakThresholdBytesPerIteration: threshold,
    searches,
    pages,
    entries,
    entriesPerSearch: expectedEntries,
    pageSize: opts.target.pageSize,
    durationMs: Math.round(durationMs),
    subjects: out,
    latencyMs: {
      page: { p50: page.p50, p90: page.p90, p99: page.p99, max: page.max },
      search: { p50: search.p50, p90: search.p90, p99: search.p99, max: search.max },
    },
    histograms: { page: encodeHistogram(pageHist), search: encodeHistogram(searchHist) },
    errors,
    interrupted: aborted(),
  }
  return { result, stopReason, gcMethod: gc.method, sampleEvery }
}
