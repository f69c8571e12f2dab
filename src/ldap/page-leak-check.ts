import { IdtoolError, UsageError } from '../errors.js'
import { ExitCode } from '../exit-codes.js'
import { type ForcedGc, MemoryWatch, ProcessGoneError, type ReadFile } from '../load/memory.js'
import {
  createHistogram,
  encodeHistogram,
  type LatencyHistogram,
  recordMs,
  summarizeMs,
} from '../metrics/histogram.js'
import { judgeMemory } from '../metrics/memory-verdict.js'
import type { LeakConsistency, LeakWrites, PageLeakCheckResult } from '../results/types.js'

/**
 * The page-leak-check engine: runs one "iteration" (a full paged LDAP search, or one Keystone user
 * listing) again and again on a target, times it, samples memory every K iterations after the warm-up
 * and judges each memory series. It never prints: progress and warnings go to callbacks.
 *
 * The pieces: the subjects ({@link MemoryWatch}, load/memory.ts), the workers and their failures
 * ({@link Workers}), the phases (probe, warm-up, measure), the sampling interval
 * ({@link chooseSampleEvery}) and the verdict ({@link judgeMemory}, metrics/memory-verdict.ts).
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
  /** expected DNs the search did not return (only when the target knows the expected set) */
  missing?: number
  /** DNs returned that are not in the expected set (only when the target knows it) */
  unexpected?: number
}

/**
 * Writes to the directory alongside the searches (--writers): a baseline phase of writes alone before the
 * measured searches, then writes during them. The engine only drives the phases; ldap/writers.ts writes.
 */
export interface WriteLoad {
  /** Write alone for the baseline phase; resolves when it is over or `signal` aborts. */
  baseline(signal?: AbortSignal, onWrite?: (done: number, elapsedMs: number) => void): Promise<void>
  /** Start writing alongside the measured searches. */
  startDuring(): void
  /** Stop writing, waiting for the writes in flight. */
  stopDuring(): Promise<void>
  /** Put the directory back as it was and close the connections (always called, once). */
  finish(): Promise<void>
  /** The figures (after finish). */
  result(): LeakWrites
  /** planned length of the baseline phase, ms */
  readonly baselineMs: number
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
  /** the size of the set of DNs every search is compared with, when the target has one */
  expectedEntries?: number
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

/** The one progress event of this engine (formatted for the terminal by cli/progress.ts). */
export interface LeakProgress {
  phase: 'probe' | 'warmup' | 'write-baseline' | 'measure'
  mode: LeakTarget['mode']
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
  /** writes alongside the measured searches, after a baseline of writes alone (--writers) */
  writes?: WriteLoad
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

// --- subjects -------------------------------------------------------------------------------------

/** The memory subjects of the run; a PID that is not there is a usage error (exit 2). */
function openSubjects(opts: LeakCheckOptions, warn: (m: string) => void): MemoryWatch {
  let watch: MemoryWatch
  try {
    watch = MemoryWatch.open({
      pids: opts.pids,
      capacity: opts.seriesCapacity,
      gc: opts.gc,
      readProc: opts.readProc,
    })
  } catch (err) {
    if (err instanceof ProcessGoneError) {
      throw new UsageError(`--pid ${err.pid}: no such process (${err.message})`, {
        hint: 'for the lab, `idtool lab status --json` lists ldap.pid and keystone.workers[].workerPid.',
      })
    }
    throw err
  }
  if (watch.gc.method === 'unavailable') {
    warn('cannot force garbage collection: own-heap samples are noisier (run node with --expose-gc)')
  }
  return watch
}

// --- counting -------------------------------------------------------------------------------------

/** What the run counted: errors by kind, clean iterations, pages, entries and both latency histograms. */
class Tally {
  readonly errors: Record<string, number> = {}
  errorsTotal = 0
  /** errors since the last memory sample: a sample after errors is left out of the verdict */
  windowErrors = 0
  searches = 0
  pages = 0
  entries = 0
  lastSearchMs?: number
  readonly pageHist: LatencyHistogram = createHistogram()
  readonly searchHist: LatencyHistogram = createHistogram()
  /** paging consistency of the measured searches, when the target compares against an expected set */
  consistency?: Omit<LeakConsistency, 'expectedEntries'>

  countError(kind: string, inWindow = true): void {
    this.errors[kind] = (this.errors[kind] ?? 0) + 1
    this.errorsTotal++
    if (inWindow) this.windowErrors++
  }

  record(out: IterationOutcome): void {
    this.searches++
    this.pages += out.pages
    this.entries += out.entries
    this.lastSearchMs = out.searchMs
    recordMs(this.searchHist, out.searchMs)
    for (const ms of out.pageMs) recordMs(this.pageHist, ms)
  }

  /** Count one measured search's consistency (a search without an expected set is not counted). */
  check(out: IterationOutcome): void {
    if (out.missing === undefined) return
    this.consistency ??= { searches: 0, consistent: 0, missing: 0, duplicates: 0, unexpected: 0 }
    const c = this.consistency
    const unexpected = out.unexpected ?? 0
    c.searches++
    c.missing += out.missing
    c.duplicates += out.duplicates
    c.unexpected += unexpected
    if (out.missing === 0 && out.duplicates === 0 && unexpected === 0) c.consistent++
  }

  /** Whether no error happened since the last call (and start a new window). */
  takeWindowClean(): boolean {
    const clean = this.windowErrors === 0
    this.windowErrors = 0
    return clean
  }
}

// --- workers --------------------------------------------------------------------------------------

/**
 * One worker slot per connection. `attempt(slot)` runs one iteration, (re)opening the slot's worker when
 * needed; a failure is counted, warned once per message, backed off, and after too many in a row sets
 * `stopReason`. Every worker is closed by `closeAll()`, whatever happens.
 */
class Workers {
  readonly slots: Array<LeakWorker | undefined>
  stopReason?: string
  expectedEntries: number | null = null
  /** count the consistency of every completed search (the measured phase) */
  checking = false
  private consecutiveFailures = 0
  private lastWarned = ''

  constructor(
    private readonly opts: LeakCheckOptions,
    private readonly tally: Tally,
    private readonly warn: (m: string) => void,
  ) {
    this.slots = Array.from({ length: Math.max(1, Math.floor(opts.concurrency)) }, () => undefined)
  }

  /** Open the first worker and run one iteration alone, which must work (bind, base, filter, size limit). */
  async probe(): Promise<{ searchMs: number }> {
    const worker = await this.opts.target.open().catch((err) => {
      throw asIterationError(err).toIdtoolError()
    })
    this.slots[0] = worker
    this.opts.onProgress?.({
      phase: 'probe',
      mode: this.opts.target.mode,
      done: 0,
      total: 1,
      elapsedMs: 0,
      errors: 0,
      sampleEvery: 0,
    })
    try {
      const out = await worker.iterate()
      this.expectedEntries = out.entries
      if (out.duplicates > 0) this.tally.countError('duplicate-dn')
      return { searchMs: out.searchMs }
    } catch (err) {
      throw asIterationError(err).toIdtoolError()
    }
  }

  /** Run one iteration on `slot`. Returns the outcome when clean. */
  async attempt(slot: number): Promise<IterationOutcome | undefined> {
    let worker = this.slots[slot]
    try {
      if (!worker) {
        worker = await this.opts.target.open()
        this.slots[slot] = worker
      }
      const out = await worker.iterate()
      if (this.checking) this.tally.check(out)
      const wrong = this.wrongOutcome(out)
      if (wrong) {
        this.tally.countError(wrong.kind)
        this.noteFailure(wrong)
        return undefined
      }
      this.consecutiveFailures = 0
      return out
    } catch (err) {
      const e = asIterationError(err)
      this.tally.countError(e.kind)
      if (e.reconnect || !this.slots[slot]) {
        const w = this.slots[slot]
        this.slots[slot] = undefined
        await w?.close().catch(() => {})
      }
      this.noteFailure(e)
      if (!this.stopReason) {
        const delay = (this.opts.retryDelayMs ?? 100) * 2 ** Math.min(this.consecutiveFailures - 1, 5)
        await sleep(Math.min(2000, delay), this.opts.signal)
      }
      return undefined
    }
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.slots.map((w) => w?.close().catch(() => {})))
    this.slots.fill(undefined)
  }

  /** A search that returned duplicates or another number of entries than the probe did. */
  private wrongOutcome(out: IterationOutcome): IterationError | undefined {
    if (out.duplicates > 0) {
      return new IterationError('duplicate-dn', `a search returned ${out.duplicates} duplicate entries`)
    }
    if (out.missing) {
      return new IterationError(
        'missing-dn',
        `a search did not return ${out.missing} of the expected entries`,
      )
    }
    if (out.unexpected) {
      return new IterationError('unexpected-dn', `a search returned ${out.unexpected} entries not expected`)
    }
    if (this.expectedEntries !== null && out.entries !== this.expectedEntries) {
      return new IterationError(
        'entry-count-mismatch',
        `a search returned ${out.entries} entries instead of ${this.expectedEntries}`,
      )
    }
    return undefined
  }

  private noteFailure(e: IterationError): void {
    this.consecutiveFailures++
    if (e.message !== this.lastWarned) {
      this.warn(`${e.message} (counted as ${e.kind}; the run continues)`)
      this.lastWarned = e.message
    }
    if (this.consecutiveFailures >= (this.opts.maxConsecutiveFailures ?? 10) && !this.stopReason) {
      this.stopReason = `stopped after ${this.consecutiveFailures} failures in a row; the last: ${e.message}`
    }
  }
}

// --- sampling interval ----------------------------------------------------------------------------

/**
 * Sample memory every K iterations: --sample-every as given, else about {@link TARGET_SAMPLES} samples over
 * the planned iterations, or over the iterations a duration should hold at the warm-up's pace (the probe's
 * when there was no warm-up).
 */
export function chooseSampleEvery(
  opts: Pick<LeakCheckOptions, 'sampleEvery' | 'iterations' | 'durationMs'>,
  pace: { warmDone: number; warmMs: number; probeMs: number; concurrency: number },
): number {
  if (opts.sampleEvery !== undefined) return Math.max(1, Math.floor(opts.sampleEvery))
  if (opts.iterations !== undefined) return Math.max(1, Math.ceil(opts.iterations / TARGET_SAMPLES))
  const perIterMs =
    pace.warmDone > 0 ? pace.warmMs / pace.warmDone : Math.max(pace.probeMs, 0.001) / pace.concurrency
  const estimated = (opts.durationMs ?? 0) / Math.max(perIterMs, 0.001)
  return Math.max(1, Math.ceil(estimated / TARGET_SAMPLES))
}

// --- phases ---------------------------------------------------------------------------------------

interface Phase {
  opts: LeakCheckOptions
  workers: Workers
  tally: Tally
  now: () => number
  aborted: () => boolean
}

/** --warmup iterations over every slot, not measured. */
async function warmUp({
  opts,
  workers,
  tally,
  now,
  aborted,
}: Phase): Promise<{ warmDone: number; warmMs: number }> {
  const warmStart = now()
  let warmStarted = 0
  let warmDone = 0
  await Promise.all(
    workers.slots.map(async (_, slot) => {
      while (warmStarted < opts.warmup && !aborted() && !workers.stopReason) {
        warmStarted++
        await workers.attempt(slot)
        warmDone++
        opts.onProgress?.({
          phase: 'warmup',
          mode: opts.target.mode,
          done: warmDone,
          total: opts.warmup,
          elapsedMs: now() - warmStart,
          errors: tally.errorsTotal,
          sampleEvery: 0,
        })
      }
    }),
  )
  return { warmDone, warmMs: now() - warmStart }
}

/**
 * The measured phase: iterations over every slot until the count or the duration is reached, memory
 * sampled at iteration 0, every `sampleEvery` completed iterations (doubled when the stores are full) and
 * at the end. Returns the measured time and the final interval.
 */
async function measure(
  { opts, workers, tally, now, aborted }: Phase,
  watch: MemoryWatch,
  firstSampleEvery: number,
  warn: (m: string) => void,
): Promise<{ durationMs: number; sampleEvery: number }> {
  let sampleEvery = firstSampleEvery
  const sample = (iteration: number) => {
    for (const gone of watch.sample(iteration, tally.takeWindowClean())) {
      tally.countError('pid-exited', false)
      warn(`${gone.message} at iteration ${iteration}: its verdict uses the samples taken before`)
    }
  }
  tally.windowErrors = 0
  watch.settle()
  sample(0)
  workers.checking = true
  opts.writes?.startDuring()
  const measureStart = now()
  let started = 0
  let completed = 0
  const more = () => {
    if (aborted() || workers.stopReason) return false
    if (opts.iterations !== undefined) return started < opts.iterations
    return now() - measureStart < (opts.durationMs ?? 0)
  }
  await Promise.all(
    workers.slots.map(async (_, slot) => {
      while (more()) {
        started++
        const out = await workers.attempt(slot)
        if (out) tally.record(out)
        completed++
        if (completed % sampleEvery === 0) {
          if (watch.full) sampleEvery *= 2
          sample(completed)
        }
        opts.onProgress?.({
          phase: 'measure',
          mode: opts.target.mode,
          done: completed,
          total: opts.iterations,
          durationMs: opts.durationMs,
          elapsedMs: now() - measureStart,
          errors: tally.errorsTotal,
          lastSearchMs: tally.lastSearchMs,
          sampleEvery,
        })
      }
    }),
  )
  const durationMs = now() - measureStart
  workers.checking = false
  await opts.writes?.stopDuring()
  if (completed % sampleEvery !== 0 && completed > 0) sample(completed)
  return { durationMs, sampleEvery }
}

// --- result ---------------------------------------------------------------------------------------

function buildResult(
  opts: LeakCheckOptions,
  tally: Tally,
  watch: MemoryWatch,
  run: {
    expectedEntries: number | null
    durationMs: number
    interrupted: boolean
    writes?: LeakWrites
    /** the size of the expected set the searches were compared with */
    expectedSet?: number
  },
): PageLeakCheckResult {
  const memory = judgeMemory(watch.series(), opts.leakThresholdBytesPerIteration)
  const page = summarizeMs(tally.pageHist)
  const search = summarizeMs(tally.searchHist)
  const consistency: LeakConsistency | undefined =
    run.expectedSet === undefined
      ? undefined
      : {
          expectedEntries: run.expectedSet,
          ...(tally.consistency ?? { searches: 0, consistent: 0, missing: 0, duplicates: 0, unexpected: 0 }),
        }
  return {
    version: 2,
    kind: 'ldap.page-leak-check',
    mode: opts.target.mode,
    target: opts.target.description,
    verdict: memory.verdict,
    leakThresholdBytesPerIteration: opts.leakThresholdBytesPerIteration,
    searches: tally.searches,
    pages: tally.pages,
    entries: tally.entries,
    entriesPerSearch: run.expectedEntries,
    pageSize: opts.target.pageSize,
    durationMs: Math.round(run.durationMs),
    subjects: memory.subjects,
    latencyMs: {
      page: { p50: page.p50, p90: page.p90, p99: page.p99, max: page.max },
      search: { p50: search.p50, p90: search.p90, p99: search.p99, max: search.max },
    },
    histograms: { page: encodeHistogram(tally.pageHist), search: encodeHistogram(tally.searchHist) },
    errors: tally.errors,
    ...(run.writes ? { writes: run.writes } : {}),
    ...(consistency ? { consistency } : {}),
    interrupted: run.interrupted,
  }
}

/** The baseline phase of --writers: writes alone, after the warm-up and before the measured searches. */
async function writeBaseline({ opts, tally }: Phase, writes: WriteLoad): Promise<void> {
  await writes.baseline(opts.signal, (done, elapsedMs) =>
    opts.onProgress?.({
      phase: 'write-baseline',
      mode: opts.target.mode,
      done,
      elapsedMs,
      durationMs: writes.baselineMs,
      errors: tally.errorsTotal,
      sampleEvery: 0,
    }),
  )
}

/** Run the check. Throws (before measuring) when the target or a PID is unusable. */
export async function runPageLeakCheck(opts: LeakCheckOptions): Promise<LeakCheckRun> {
  const warn = opts.onWarn ?? (() => {})
  if ((opts.iterations === undefined) === (opts.durationMs === undefined)) {
    throw new UsageError('give either a number of iterations or a duration', {
      hint: 'use --iterations N or --duration 2m.',
    })
  }
  if (!(opts.leakThresholdBytesPerIteration > 0))
    throw new UsageError('the leak threshold must be above 0 bytes per iteration')

  const watch = openSubjects(opts, warn)
  const tally = new Tally()
  const workers = new Workers(opts, tally, warn)
  const phase: Phase = {
    opts,
    workers,
    tally,
    now: opts.now ?? (() => performance.now()),
    aborted: () => Boolean(opts.signal?.aborted),
  }
  let measured = { durationMs: 0, sampleEvery: 1 }
  try {
    const probe = await workers.probe()
    const warm = await warmUp(phase)
    const sampleEvery = chooseSampleEvery(opts, {
      ...warm,
      probeMs: probe.searchMs,
      concurrency: workers.slots.length,
    })
    if (opts.writes && !phase.aborted()) await writeBaseline(phase, opts.writes)
    measured = await measure(phase, watch, sampleEvery, warn)
  } finally {
    await workers.closeAll()
    await opts.target.close?.().catch(() => {})
    await opts.writes?.finish()
  }
  const result = buildResult(opts, tally, watch, {
    expectedEntries: workers.expectedEntries,
    durationMs: measured.durationMs,
    interrupted: phase.aborted(),
    writes: opts.writes?.result(),
    expectedSet: opts.target.expectedEntries,
  })
  return {
    result,
    stopReason: workers.stopReason,
    gcMethod: watch.gc.method,
    sampleEvery: measured.sampleEvery,
  }
}
