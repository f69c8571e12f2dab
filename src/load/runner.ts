import type { Dispatcher } from 'undici'
import { networkErrorClass } from '../errors.js'
import type { PhaseProgress, PhaseSummary, RequestOutcome, TransportErrorClass } from './events.js'
import { findHeader, headerName, nameIs } from './h1.js'
import type { LaneHandler, Lanes } from './lanes.js'
import {
  blockWindowMs,
  ConstantRateSchedule,
  isLate,
  type Pacing,
  plannedRequests,
  shouldBlock,
  timerDelayMs,
} from './pacer.js'

/** One request to send: prebuilt dispatch options (reuse them across requests) and a caller tag. */
export interface RequestSpec {
  opts: Dispatcher.DispatchOptions
  tag: number
}

export interface PhaseOptions {
  pacing: Pacing
  lanes: Lanes
  /** stop after this many requests */
  requests?: number
  /** stop sending after this long (ms) */
  durationMs?: number
  /** how long to wait for the last answers once sending has stopped (ms) */
  drainMs: number
  /** open model: a request reaching its socket later than this after its intended time is late */
  lateThresholdMs: number
  /** cap on requests in flight plus queued (open model; the closed model has `concurrency`) */
  maxInFlight?: number
  /** lower-case response header naming the backend, '' for none */
  backendHeader: string
  /** the request for sequence number `seq` (read at once, never kept: the caller may reuse spec objects) */
  next(seq: number): RequestSpec
  /** called once per finished request, synchronously (do not keep heavy references) */
  onOutcome(o: RequestOutcome): void
  onProgress?(p: PhaseProgress): void
  progressIntervalMs?: number
  signal?: AbortSignal
  /** how long to wait for in-flight requests after an interrupt (ms, default 1000) */
  interruptDrainMs?: number
  /**
   * open model: when nothing is in flight and the next send is due within this many ms, block the
   * thread for the exact remainder instead of sleeping on a millisecond timer (default 2; 0: never)
   */
  maxBlockMs?: number
  /**
   * when the phase starts, on the `performance.now()` clock (default: now). A common start of several
   * generators: a start a little in the past is caught up (open model: the requests due are sent at once)
   */
  startAt?: number
}

/** A futex to block on for sub-millisecond waits (`Atomics.wait` never sees a change: it times out). */
const SLEEPER = new Int32Array(new SharedArrayBuffer(4))

const now = () => performance.now()

/** Whether an undici raw header name (Buffer or string) is `lower`, ignoring ASCII case. */
function sameHeaderName(raw: Buffer | string, lower: Uint8Array): boolean {
  const b = typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw
  return nameIs(b, 0, b.length, lower)
}

/** The undici handler of one request; it is also the request's outcome record. */
class Req implements RequestOutcome, LaneHandler {
  lane = -1
  sentAt = 0
  endAt = 0
  status = 0
  backend: string | undefined = undefined
  errorClass: TransportErrorClass | undefined = undefined
  error: unknown = undefined

  constructor(
    private readonly run: PhaseRun,
    readonly seq: number,
    readonly tag: number,
    readonly opts: Dispatcher.DispatchOptions,
    readonly intendedAt: number,
    readonly queuedAt: number,
  ) {}

  // undici's native (v1) handler interface: no per-response header parsing
  onConnect(): void {
    if (this.sentAt === 0) this.sentAt = now()
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    if (statusCode < 200) return true
    this.status = statusCode
    const name = this.run.backendHeaderBytes
    if (name.length > 0) {
      for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
        if (sameHeaderName(rawHeaders[i]!, name)) {
          this.backend = String(rawHeaders[i + 1])
          break
        }
      }
    }
    return true
  }

  // the lean lane: status, the raw head to find the backend header in, and when the answer was read (the
  // latency ends there: parsing is the generator's time, not the server's)
  onHead(status: number, head: Buffer, headEnd: number, receivedAt: number): void {
    this.status = status
    this.endAt = receivedAt
    const name = this.run.backendHeaderBytes
    if (name.length > 0) this.backend = findHeader(head, headEnd, name)
  }

  onData(): boolean {
    return true
  }

  onComplete(): void {
    if (this.endAt === 0) this.endAt = now()
    this.run.complete(this)
  }

  onError(err: Error): void {
    this.endAt = now()
    this.error = err
    this.errorClass = networkErrorClass(err)
    this.run.complete(this)
  }
}

/** A ring buffer of requests waiting for a free connection (no per-operation allocation). */
class WaitQueue {
  private buf: Array<Req | undefined> = new Array(64)
  private head = 0
  size = 0

  push(r: Req): void {
    if (this.size === this.buf.length) {
      const bigger: Array<Req | undefined> = new Array(this.buf.length * 2)
      for (let i = 0; i < this.size; i++) bigger[i] = this.buf[(this.head + i) % this.buf.length]
      this.buf = bigger
      this.head = 0
    }
    this.buf[(this.head + this.size) % this.buf.length] = r
    this.size++
  }

  shift(): Req | undefined {
    if (this.size === 0) return undefined
    const r = this.buf[this.head]
    this.buf[this.head] = undefined
    this.head = (this.head + 1) % this.buf.length
    this.size--
    return r
  }
}

class PhaseRun {
  readonly backendHeaderBytes: Uint8Array
  private readonly planned: number
  private readonly schedule: ConstantRateSchedule | undefined
  private readonly queue = new WaitQueue()
  private readonly t0: number
  private readonly startEpoch: number
  private readonly endIssueAt: number
  private readonly maxInFlight: number
  private issued = 0
  private completed = 0
  private inFlight = 0
  private late = 0
  private lastEndAt: number
  private issuing = true
  private finished = false
  private interrupted = false
  private blocked = false
  private dispatching = false
  private timers: NodeJS.Timeout[] = []
  private tickTimer: NodeJS.Timeout | undefined
  /** the request the pending tick timer was armed for, and its delay (ms) */
  private timerFor = -1
  private timerDelay = 0
  private readonly maxBlockMs: number
  private drainTimer: NodeJS.Timeout | undefined
  private resolve!: (s: PhaseSummary) => void
  readonly done: Promise<PhaseSummary>

  constructor(private readonly o: PhaseOptions) {
    const t = now()
    this.t0 = o.startAt ?? t
    this.startEpoch = Date.now() + (this.t0 - t)
    this.lastEndAt = this.t0
    this.backendHeaderBytes = headerName(o.backendHeader)
    this.maxBlockMs = o.pacing.model === 'open' ? blockWindowMs(1000 / o.pacing.rate, o.maxBlockMs ?? 2) : 0
    this.planned = plannedRequests(o.pacing, o)
    this.endIssueAt = o.durationMs !== undefined ? this.t0 + o.durationMs : Number.POSITIVE_INFINITY
    this.maxInFlight =
      o.pacing.model === 'closed' ? o.pacing.concurrency : (o.maxInFlight ?? Number.POSITIVE_INFINITY)
    this.schedule =
      o.pacing.model === 'open'
        ? new ConstantRateSchedule(o.pacing.rate, this.t0 + (o.pacing.offsetMs ?? 0), this.planned)
        : undefined
    this.done = new Promise((r) => {
      this.resolve = r
    })
  }

  start(): void {
    const { signal } = this.o
    if (signal?.aborted) {
      this.interrupt()
      return
    }
    signal?.addEventListener('abort', this.onAbort, { once: true })
    if (this.o.onProgress) {
      const t = setInterval(() => this.emitProgress(), this.o.progressIntervalMs ?? 1000)
      t.unref?.()
      this.timers.push(t)
    }
    if (this.planned === 0) {
      this.stopIssuing()
      return
    }
    if (Number.isFinite(this.endIssueAt) && this.o.pacing.model === 'closed') {
      this.timers.push(setTimeout(() => this.stopIssuing(), Math.max(0, this.endIssueAt - now())))
    }
    if (this.o.pacing.model === 'closed') {
      for (let w = 0; w < this.o.pacing.concurrency && this.issuing; w++) this.issueNext(now())
    } else {
      this.tick()
    }
  }

  private readonly onAbort = () => this.interrupt()

  /** closed model: a virtual user issues its next request */
  private issueNext(t: number): void {
    if (!this.issuing) return
    if (this.issued >= this.planned || t >= this.endIssueAt) {
      this.stopIssuing()
      return
    }
    this.send(this.issued++, t, t)
    if (this.issued >= this.planned) this.stopIssuing()
  }

  private readonly onTimer = (): void => {
    this.tickTimer = undefined
    this.tick()
  }

  /**
   * open model: send every request that is due (one clock read per batch, all with their own intended
   * time), then wait for the next one: block for the exact remainder when idle and it is close,
   * otherwise sleep on one timer (kept when it already targets that request).
   */
  private tick(): void {
    if (!this.issuing) return
    const s = this.schedule!
    let t = now()
    for (;;) {
      const due = s.dueBy(t)
      while (this.issued < due) {
        if (this.inFlight >= this.maxInFlight) {
          this.blocked = true
          return
        }
        const seq = this.issued++
        this.send(seq, s.intendedAt(seq), t)
      }
      if (this.issued >= this.planned) {
        this.stopIssuing()
        return
      }
      const wait = s.intendedAt(this.issued) - t
      if (!shouldBlock(wait, this.inFlight === 0, this.maxBlockMs)) break
      Atomics.wait(SLEEPER, 0, 0, wait)
      t = now()
    }
    const delay = timerDelayMs(s.intendedAt(this.issued) - t, this.maxBlockMs)
    if (this.tickTimer !== undefined) {
      // keep a pending timer that targets this request or an earlier one; with precise waits, move a
      // stale one forward instead (it would wake for a request an answer already sent): with the same
      // delay, refresh() re-arms the same timer (no new timer object, no new timer list)
      if (this.maxBlockMs === 0 || this.timerFor >= this.issued) return
      this.timerFor = this.issued
      if (delay === this.timerDelay) {
        this.tickTimer.refresh()
        return
      }
      clearTimeout(this.tickTimer)
    }
    this.timerFor = this.issued
    this.timerDelay = delay
    this.tickTimer = setTimeout(this.onTimer, delay)
  }

  private send(seq: number, intendedAt: number, t: number): void {
    const spec = this.o.next(seq)
    const r = new Req(this, seq, spec.tag, spec.opts, intendedAt, t)
    this.inFlight++
    const lane = this.o.lanes.acquire()
    if (lane < 0) this.queue.push(r)
    else this.dispatchOn(lane, r)
  }

  private dispatchOn(lane: number, r: Req): void {
    r.lane = lane
    this.dispatching = true
    try {
      this.o.lanes.dispatch(lane, r.opts, r)
    } catch (err) {
      // undici reports most failures through onError; a throw here is a programming error
      r.onError(err as Error)
    } finally {
      this.dispatching = false
    }
  }

  complete(r: Req): void {
    // a request given up at the drain deadline still frees its connection for the next phase
    this.o.lanes.release(r.lane)
    if (this.finished) return
    this.inFlight--
    this.completed++
    this.lastEndAt = r.endAt
    if (this.schedule && r.sentAt > 0 && isLate(r.intendedAt, r.sentAt, this.o.lateThresholdMs)) this.late++
    this.o.onOutcome(r)
    // a waiting request takes the lane that just freed up
    if (this.queue.size > 0) {
      const lane = this.o.lanes.acquire()
      if (lane >= 0) this.dispatchOn(lane, this.queue.shift()!)
    }
    if (this.dispatching || r.errorClass) {
      // failed synchronously inside dispatch(), or a transport error: continue on a fresh stack
      setImmediate(() => this.afterComplete())
    } else {
      this.afterComplete()
    }
  }

  private afterComplete(): void {
    if (this.finished) return
    if (this.issuing) {
      if (this.o.pacing.model === 'closed') this.issueNext(now())
      else if (this.blocked) {
        this.blocked = false
        this.tick()
      } else if ((this.inFlight === 0 && this.maxBlockMs > 0) || this.schedule!.dueBy(now()) > this.issued) {
        // an answer woke the loop after the next send time: send now rather than at the (ms-grained)
        // timer; or the engine is idle now: it may wait precisely for a send that is close
        this.tick()
      }
    }
    if (!this.issuing && this.inFlight === 0) this.finish()
  }

  private stopIssuing(): void {
    if (!this.issuing) return
    this.issuing = false
    if (this.tickTimer) clearTimeout(this.tickTimer)
    if (this.inFlight === 0) {
      this.finish()
      return
    }
    const wait = this.interrupted ? (this.o.interruptDrainMs ?? 1000) : this.o.drainMs
    this.drainTimer = setTimeout(() => this.finish(), wait)
  }

  private interrupt(): void {
    if (this.finished || this.interrupted) return
    this.interrupted = true
    if (this.issuing) this.stopIssuing()
    else if (this.drainTimer) {
      // already draining: shorten the wait
      clearTimeout(this.drainTimer)
      this.drainTimer = setTimeout(() => this.finish(), this.o.interruptDrainMs ?? 1000)
    }
  }

  private finish(): void {
    if (this.finished) return
    this.finished = true
    for (const t of this.timers) clearTimeout(t)
    if (this.tickTimer) clearTimeout(this.tickTimer)
    if (this.drainTimer) clearTimeout(this.drainTimer)
    this.o.signal?.removeEventListener('abort', this.onAbort)
    const t = now()
    // not interrupted: what is still out, and what was scheduled but never sent, is given up on
    const unsent = this.interrupted || !Number.isFinite(this.planned) ? 0 : this.planned - this.issued
    const abandoned = this.interrupted ? 0 : this.inFlight + Math.max(0, unsent)
    const endAt = abandoned > 0 ? t : Math.max(this.lastEndAt, this.t0)
    if (this.schedule) this.late += this.interrupted ? 0 : Math.max(0, unsent)
    this.emitProgress()
    this.resolve({
      startedAtEpochMs: this.startEpoch,
      startMs: this.t0,
      durationMs: endAt - this.t0,
      issued: this.issued,
      completed: this.completed,
      late: this.late,
      abandoned,
      interrupted: this.interrupted,
    })
  }

  private emitProgress(): void {
    this.o.onProgress?.({
      elapsedMs: now() - this.t0,
      plannedMs: this.o.durationMs ?? null,
      plannedRequests: Number.isFinite(this.planned) ? this.planned : null,
      issued: this.issued,
      completed: this.completed,
      inFlight: this.inFlight,
      late: this.late,
    })
  }
}

/**
 * Run one phase of load: send requests by the pacing until the count or the duration is reached,
 * wait for the last answers (at most `drainMs`), and summarise. Each finished request goes to
 * `onOutcome`. An abort signal stops sending at once, waits briefly for in-flight answers and returns
 * a summary marked `interrupted` (requests still out are dropped, not counted as errors).
 */
export function runPhase(opts: PhaseOptions): Promise<PhaseSummary> {
  if (opts.pacing.model === 'closed' && !(opts.pacing.concurrency >= 1)) {
    throw new RangeError('concurrency must be at least 1')
  }
  if (opts.requests === undefined && opts.durationMs === undefined) {
    throw new RangeError('a phase needs a request count or a duration')
  }
  const run = new PhaseRun(opts)
  run.start()
  return run.done
}
