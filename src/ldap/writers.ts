import { existsSync } from 'node:fs'
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { Attribute, Change, ResultCodeError } from 'ldapts'
import { IdtoolError, UsageError } from '../errors.js'
import type { ExitCodeValue } from '../exit-codes.js'
import { type Clock, ConstantRateSchedule, systemClock } from '../load/pacer.js'
import {
  createHistogram,
  encodeHistogram,
  type LatencyHistogram,
  recordMs,
  summarizeMs,
} from '../metrics/histogram.js'
import type { LeakWritePhase, LeakWrites } from '../results/types.js'
import type { WriteLoad } from './page-leak-check.js'
import {
  classifyLdapError,
  type LdapConnection,
  ldapResultName,
  openLdap,
  type PagedSearchSpec,
} from './paged-search.js'

/**
 * The directory writes of `ldap page-leak-check --writers N --write-rate R`: N connections modify the
 * `description` of the entries being paged, together R writes a second on one open-model schedule (write i
 * intended at start + i/R, load/pacer.ts's ConstantRateSchedule), first alone (the baseline phase), then
 * while the measured searches run. A write's latency runs from its intended time to the server's answer,
 * so a writer held up by a slow answer shows in the tail instead of lowering the rate. In the built CLI the
 * writers run in a worker thread of their own ({@link openWriteLoad}): in the searches' thread, parsing pages
 * of 500 entries delayed the writes by tens of milliseconds (lab, 2 cores: write p50 79 ms in one thread,
 * 9 ms in their own, 11 ms from another process).
 *
 * Afterwards every entry written gets its `description` back as it was before the run (removed where it
 * had none): the values come from the plain search taken before the run ({@link snapshotEntries}).
 */

export const WRITE_ATTRIBUTE = 'description'

/** --write-rate and --write-baseline when not given. */
export const WRITE_DEFAULTS = { ratePerSec: 50, baselineMs: 5000 } as const

/** One entry of the search, as it was before the run. */
export interface DirectoryEntry {
  dn: string
  /** its description values before the run ([] when it had none) */
  description: string[]
}

/** What a writer needs of an ldapts Client (tests inject their own). */
export interface WriterClient {
  modify(dn: string, changes: Change): Promise<void>
  unbind(): Promise<void>
}

export interface DirectoryWritersOptions {
  /** who writes (ldap/targets.ts resolveWriterConnection) */
  conn: LdapConnection
  /** the entries to write, in turn (the users being paged) */
  entries: readonly DirectoryEntry[]
  writers: number
  /** writes per second across all writers */
  ratePerSec: number
  /** length of the baseline phase, ms */
  baselineMs: number
  onWarn?: (message: string) => void
  clock?: Clock
  /** opens one writer's connection (default: connect and bind with ldapts) */
  connect?: (conn: LdapConnection) => Promise<WriterClient>
}

const asStrings = (v: unknown): string[] =>
  (Array.isArray(v) ? v : v === undefined ? [] : [v]).map((x) =>
    Buffer.isBuffer(x) ? x.toString('utf8') : String(x),
  )

/**
 * The entries of the search (base, scope, filter) with their description, from one plain (non-paged)
 * search: the set every paged search is compared with, and the values restored afterwards.
 */
export async function snapshotEntries(
  conn: LdapConnection,
  spec: PagedSearchSpec,
): Promise<DirectoryEntry[]> {
  const ctx = { url: conn.url, bindDn: conn.bindDn, base: spec.base }
  const client = await openLdap(conn).catch((err) => {
    throw classifyLdapError(err, ctx).toIdtoolError()
  })
  try {
    const { searchEntries } = await client.search(spec.base, {
      scope: spec.scope,
      filter: spec.filter,
      attributes: [WRITE_ATTRIBUTE],
    })
    return searchEntries.map((e) => ({ dn: e.dn, description: asStrings(e[WRITE_ATTRIBUTE]) }))
  } catch (err) {
    throw classifyLdapError(err, ctx).toIdtoolError()
  } finally {
    await client.unbind().catch(() => {})
  }
}

/** The key a failed write is counted under: the LDAP result by name and code, else the transport failure. */
export function writeErrorKey(err: unknown, url: string): { key: string; reconnect: boolean } {
  if (err instanceof ResultCodeError) {
    return {
      key: `${ldapResultName(err.code) ?? 'result'} (${err.code})`,
      reconnect: err.code === 51 || err.code === 52,
    }
  }
  const e = classifyLdapError(err, { url })
  return { key: e.kind, reconnect: e.reconnect }
}

const replace = (values: string[]) =>
  new Change({ operation: 'replace', modification: new Attribute({ type: WRITE_ATTRIBUTE, values }) })

/** The counts and latencies of one phase, and how late the writers' event loop ran meanwhile. */
class PhaseTally {
  writes = 0
  ok = 0
  readonly errors: Record<string, number> = {}
  readonly hist: LatencyHistogram = createHistogram()
  startMs = 0
  stopMs = 0
  private readonly loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 })

  start(ms: number): void {
    this.startMs = ms
    this.stopMs = ms
    this.loop.enable()
  }

  stop(ms: number): void {
    this.stopMs = ms
    this.loop.disable()
  }

  summary(): LeakWritePhase {
    const s = summarizeMs(this.hist)
    const durationMs = Math.max(0, this.stopMs - this.startMs)
    return {
      writes: this.writes,
      ok: this.ok,
      errors: { ...this.errors },
      durationMs: Math.round(durationMs),
      achievedRatePerSec: durationMs > 0 ? Math.round((this.ok * 1e4) / durationMs) / 10 : 0,
      latencyMs: { p50: s.p50, p90: s.p90, p99: s.p99, max: s.max },
      eventLoopDelayMs: loopDelayMs(this.loop),
      histogram: encodeHistogram(this.hist),
    }
  }
}

/** The event-loop delay percentiles in ms (monitorEventLoopDelay samples every 10 ms, in ns). */
function loopDelayMs(h: IntervalHistogram): { p50: number; p99: number; max: number } {
  if (h.count === 0) return { p50: 0, p99: 0, max: 0 }
  const ms = (ns: number) => Math.round(ns / 1e3) / 1e3
  return { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) }
}

/** N writer connections on one constant-rate schedule; see the module comment. */
export class DirectoryWriters implements WriteLoad {
  readonly baselineMs: number
  private readonly clients: Array<WriterClient | undefined>
  private readonly clock: Clock
  private readonly connect: (conn: LdapConnection) => Promise<WriterClient>
  private readonly base = new PhaseTally()
  private readonly during = new PhaseTally()
  /** which entries were written (restored at the end): fixed size, so the writers' own state does not grow */
  private readonly touched: Uint8Array
  private touchedCount = 0
  private written = 0
  private duringStop?: AbortController
  private duringRun?: Promise<void>
  private finishing?: Promise<void>
  private restored = 0
  private restoreErrors = 0
  private readonly warned = new Set<string>()

  private constructor(private readonly opts: DirectoryWritersOptions) {
    this.baselineMs = opts.baselineMs
    this.clock = opts.clock ?? systemClock
    this.connect = opts.connect ?? openLdap
    this.clients = Array.from({ length: Math.max(1, Math.floor(opts.writers)) }, () => undefined)
    this.touched = new Uint8Array(opts.entries.length)
  }

  private touch(k: number): void {
    if (this.touched[k]) return
    this.touched[k] = 1
    this.touchedCount++
  }

  /**
   * Open every writer's connection and write once (the first entry), which must work: a bind DN the ACLs
   * do not let write is a usage error (exit 2), before anything is measured.
   */
  static async open(opts: DirectoryWritersOptions): Promise<DirectoryWriters> {
    if (opts.entries.length === 0) {
      throw new UsageError('--writers: the search returns no entries to write', {
        hint: 'point --base/--filter at the users being paged.',
      })
    }
    const w = new DirectoryWriters(opts)
    const ctx = { url: opts.conn.url, bindDn: opts.conn.bindDn }
    try {
      for (let i = 0; i < w.clients.length; i++) w.clients[i] = await w.connect(opts.conn)
      const first = opts.entries[0] as DirectoryEntry
      await (w.clients[0] as WriterClient).modify(first.dn, replace(['idtool page-leak-check probe write']))
      w.touch(0)
    } catch (err) {
      await w.finish()
      if (err instanceof ResultCodeError && err.code === 50) {
        throw new UsageError(
          `the writers, bound as ${opts.conn.bindDn ?? '(anonymous)'}, may not write ${WRITE_ATTRIBUTE} (LDAP result 50)`,
          {
            hint: 'pass --write-bind-dn DN --write-password-file FILE: a DN the ACLs let write it (the lab: its root DN, the default).',
            cause: err,
          },
        )
      }
      throw classifyLdapError(err, ctx).toIdtoolError()
    }
    return w
  }

  async baseline(signal?: AbortSignal, onWrite?: (done: number, elapsedMs: number) => void): Promise<void> {
    const stop = new AbortController()
    const onAbort = () => stop.abort()
    signal?.addEventListener('abort', onAbort, { once: true })
    if (signal?.aborted) stop.abort()
    const timer = this.clock.sleep(this.baselineMs, stop.signal).then(() => stop.abort())
    try {
      await this.runPhase(this.base, stop.signal, onWrite)
    } finally {
      stop.abort()
      await timer
      signal?.removeEventListener('abort', onAbort)
    }
  }

  startDuring(): void {
    if (this.duringRun) return
    this.duringStop = new AbortController()
    this.duringRun = this.runPhase(this.during, this.duringStop.signal)
  }

  async stopDuring(): Promise<void> {
    this.duringStop?.abort()
    await this.duringRun
  }

  finish(): Promise<void> {
    this.finishing ??= (async () => {
      await this.stopDuring()
      await this.restore()
      await Promise.all(this.clients.map((c) => c?.unbind().catch(() => {})))
      this.clients.fill(undefined)
    })()
    return this.finishing
  }

  result(): LeakWrites {
    return {
      writers: this.clients.length,
      ratePerSec: this.opts.ratePerSec,
      attribute: WRITE_ATTRIBUTE,
      bindDn: this.opts.conn.bindDn ?? null,
      baselinePlannedMs: this.baselineMs,
      baseline: this.base.summary(),
      during: this.during.summary(),
      entriesWritten: this.touchedCount,
      restored: this.restored,
      restoreErrors: this.restoreErrors,
    }
  }

  /** Write on the schedule until `stop` aborts; a write not yet started when it does is not counted. */
  private async runPhase(
    tally: PhaseTally,
    stop: AbortSignal,
    onWrite?: (done: number, elapsedMs: number) => void,
  ): Promise<void> {
    const schedule = new ConstantRateSchedule(this.opts.ratePerSec, this.clock.now())
    tally.start(schedule.startMs)
    const markStop = () => tally.stop(this.clock.now())
    stop.addEventListener('abort', markStop, { once: true })
    if (stop.aborted) markStop()
    let next = 0
    await Promise.all(
      this.clients.map(async (_, slot) => {
        for (;;) {
          if (stop.aborted) return
          const i = next++
          await this.clock.sleep(schedule.waitFor(i, this.clock.now()), stop)
          if (stop.aborted) return
          await this.writeOne(slot, tally, schedule.intendedAt(i))
          onWrite?.(tally.writes, this.clock.now() - schedule.startMs)
        }
      }),
    )
    stop.removeEventListener('abort', markStop)
  }

  /** One write on `slot`'s connection (reopened when needed), timed from its intended time. */
  private async writeOne(slot: number, tally: PhaseTally, intendedMs: number): Promise<void> {
    const k = this.written++ % this.opts.entries.length
    const entry = this.opts.entries[k] as DirectoryEntry
    tally.writes++
    // counted before the answer: a write that times out may still have been applied
    this.touch(k)
    try {
      const client = await this.clientOf(slot)
      await client.modify(entry.dn, replace([`idtool page-leak-check write ${this.written}`]))
      tally.ok++
      recordMs(tally.hist, this.clock.now() - intendedMs)
    } catch (err) {
      const { key, reconnect } = writeErrorKey(err, this.opts.conn.url)
      tally.errors[key] = (tally.errors[key] ?? 0) + 1
      if (!this.warned.has(key)) {
        this.warned.add(key)
        this.opts.onWarn?.(
          `a write failed (${key}): ${((err as Error)?.message ?? String(err)).split('\n')[0]} (counted; the run continues)`,
        )
      }
      if (reconnect) await this.drop(slot)
    }
  }

  /** The slot's connection, opened again when it was dropped. */
  private async clientOf(slot: number): Promise<WriterClient> {
    let client = this.clients[slot]
    if (!client) {
      client = await this.connect(this.opts.conn)
      this.clients[slot] = client
    }
    return client
  }

  /** Close the slot's connection: the next write opens a new one. */
  private async drop(slot: number): Promise<void> {
    const c = this.clients[slot]
    this.clients[slot] = undefined
    await c?.unbind().catch(() => {})
  }

  /** Put back the description of every entry written, over the writers' connections. */
  private async restore(): Promise<void> {
    const queue: number[] = []
    this.touched.forEach((t, k) => {
      if (t) queue.push(k)
    })
    const failed: string[] = []
    await Promise.all(
      this.clients.map(async (_, slot) => {
        for (let k = queue.shift(); k !== undefined; k = queue.shift()) {
          const entry = this.opts.entries[k] as DirectoryEntry
          try {
            const client = await this.clientOf(slot)
            await client.modify(entry.dn, replace(entry.description))
            this.restored++
          } catch (err) {
            this.restoreErrors++
            if (failed.length < 3) failed.push(entry.dn)
            if (writeErrorKey(err, this.opts.conn.url).reconnect) await this.drop(slot)
          }
        }
      }),
    )
    if (this.restoreErrors) {
      this.opts.onWarn?.(
        `${this.restoreErrors} entries keep the ${WRITE_ATTRIBUTE} this run wrote (restore failed), e.g. ${failed.join('; ')}`,
      )
    }
  }
}

// --- the writers' own thread ----------------------------------------------------------------------

/** What the main thread asks the writer thread (ldap/writer-thread.ts). */
export interface WriterRequest {
  id: number
  op: 'open' | 'baseline' | 'abortBaseline' | 'startDuring' | 'stopDuring' | 'finish'
}

/** What the writer thread answers: a request's outcome, a baseline write's progress, or a warning. */
export type WriterReply =
  | {
      id: number
      error?: { message: string; code?: string; exitCode?: ExitCodeValue; hint?: string }
      result?: LeakWrites
    }
  | { progress: { done: number; elapsedMs: number } }
  | { warn: string }

/** The compiled writer thread next to this module (absent when running from the TypeScript sources). */
const THREAD_URL = new URL('./writer-thread.js', import.meta.url)

/**
 * The writers in a worker thread of their own: the searches' page parsing in the main thread then does not
 * hold up the writes (at page size 500 it delayed them by tens of milliseconds in one thread). Same
 * interface as {@link DirectoryWriters}, which runs inside the thread.
 */
class ThreadWriters implements WriteLoad {
  private nextId = 1
  private readonly pending = new Map<
    number,
    { resolve: (r?: LeakWrites) => void; reject: (e: Error) => void }
  >()
  private onWrite?: (done: number, elapsedMs: number) => void
  private final?: LeakWrites
  private finishing?: Promise<void>
  private dead?: Error

  private constructor(
    private readonly worker: Worker,
    readonly baselineMs: number,
    private readonly onWarn?: (message: string) => void,
  ) {
    worker.on('message', (m: WriterReply) => this.onMessage(m))
    worker.on('error', (err) => this.fail(err))
    worker.on('exit', () => this.fail(new Error('the writer thread exited')))
  }

  static async open(opts: DirectoryWritersOptions): Promise<ThreadWriters> {
    const { conn, entries, writers, ratePerSec, baselineMs } = opts
    const worker = new Worker(THREAD_URL, { workerData: { conn, entries, writers, ratePerSec, baselineMs } })
    const w = new ThreadWriters(worker, baselineMs, opts.onWarn)
    try {
      await w.ask('open')
    } catch (err) {
      await worker.terminate()
      throw err
    }
    return w
  }

  async baseline(signal?: AbortSignal, onWrite?: (done: number, elapsedMs: number) => void): Promise<void> {
    this.onWrite = onWrite
    const abort = () => this.worker.postMessage({ id: 0, op: 'abortBaseline' } satisfies WriterRequest)
    signal?.addEventListener('abort', abort, { once: true })
    if (signal?.aborted) abort()
    try {
      await this.ask('baseline')
    } finally {
      signal?.removeEventListener('abort', abort)
      this.onWrite = undefined
    }
  }

  startDuring(): void {
    this.ask('startDuring').catch(() => {})
  }

  async stopDuring(): Promise<void> {
    await this.ask('stopDuring')
  }

  finish(): Promise<void> {
    this.finishing ??= (async () => {
      try {
        this.final = await this.ask('finish')
      } finally {
        await this.worker.terminate()
      }
    })()
    return this.finishing
  }

  result(): LeakWrites {
    if (!this.final) throw new IdtoolError('the writer thread gave no result')
    return this.final
  }

  private ask(op: WriterRequest['op']): Promise<LeakWrites | undefined> {
    if (this.dead) return Promise.reject(this.dead)
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.worker.postMessage({ id, op } satisfies WriterRequest)
    })
  }

  private onMessage(m: WriterReply): void {
    if ('warn' in m) {
      this.onWarn?.(m.warn)
      return
    }
    if ('progress' in m) {
      this.onWrite?.(m.progress.done, m.progress.elapsedMs)
      return
    }
    const p = this.pending.get(m.id)
    if (!p) return
    this.pending.delete(m.id)
    if (m.error) {
      const { message, ...rest } = m.error
      p.reject(new IdtoolError(message, rest))
    } else p.resolve(m.result)
  }

  private fail(err: Error): void {
    this.dead ??= err
    for (const p of this.pending.values()) p.reject(err)
    this.pending.clear()
  }
}

/**
 * Open the writers: in a worker thread of their own when the compiled thread module is there (the built
 * CLI), else in this thread (running from the TypeScript sources, as the unit tests do).
 */
export async function openWriteLoad(opts: DirectoryWritersOptions): Promise<WriteLoad> {
  if (!opts.connect && !opts.clock && existsSync(fileURLToPath(THREAD_URL))) return ThreadWriters.open(opts)
  return DirectoryWriters.open(opts)
}
