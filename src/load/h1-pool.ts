import {
  H1Connection,
  type H1Exchange,
  type H1Owner,
  headerRecord,
  hostHeader,
  type ResponseHead,
  requestBytes,
  sweepIntervalMs,
  transportError,
} from './h1.js'

/** One HTTP/1.1 answer: status, headers (lower-case names; a repeated header keeps its first value), body. */
export interface H1Answer {
  status: number
  headers: Record<string, string>
  body: Buffer
}

class Pending implements H1Exchange {
  /** when the request was made: its deadline counts from here (waiting for a connection and connecting included) */
  readonly startedAt = performance.now()

  constructor(
    readonly method: string,
    readonly payload: Buffer,
    private readonly resolve: (a: H1Answer) => void,
    private readonly reject: (e: Error) => void,
  ) {}

  onAnswer(head: ResponseHead, body: Buffer, raw: Buffer, headEnd: number): void {
    this.resolve({ status: head.status, headers: headerRecord(raw, headEnd), body })
  }

  onFailure(err: Error): void {
    this.reject(err)
  }
}

/**
 * A minimal HTTP/1.1 keep-alive client with a promise API (the two hot calls of the bulk token operations,
 * src/keystone/wire.ts, use it): at most `connections` sockets to one plain-HTTP origin, one request at a time
 * on each (no pipelining), over the lean connection core (h1.ts), like the load engine's lanes (h1-lane.ts).
 * It costs well under half of undici's client CPU per request (~250 vs ~600 us on the lab under load), which
 * matters when the client shares a small machine with the server.
 * Each request has a deadline `timeoutMs` after it was made, whatever it waited for (a free connection, the
 * connect, the answer), checked by one sweep timer, not a timer per request; an expired request fails with
 * UND_ERR_HEADERS_TIMEOUT, a dropped connection with ECONNRESET, both retryable.
 * Idle sockets do not keep the process alive and are closed after `idleMs` (before a server's keep-alive
 * timeout would close them under a request).
 */
export class H1Pool implements H1Owner {
  private readonly idle: H1Connection[] = []
  private readonly all = new Set<H1Connection>()
  private readonly queue: Pending[] = []
  private sweeper: NodeJS.Timeout | undefined
  private closed = false
  private readonly hostHeader: string

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly opts: { connections: number; timeoutMs: number; idleMs?: number },
  ) {
    this.hostHeader = hostHeader(host, port)
  }

  /** Send one request; `headers` values must be single-line. */
  request(method: string, path: string, headers: Record<string, string>, body?: string): Promise<H1Answer> {
    let payload: Buffer
    try {
      payload = requestBytes(method, this.hostHeader, path, headers, body)
    } catch (err) {
      return Promise.reject(err)
    }
    return new Promise<H1Answer>((resolve, reject) => {
      if (this.closed) {
        reject(transportError('UND_ERR_CLOSED', 'client closed'))
        return
      }
      this.queue.push(new Pending(method, payload, resolve, reject))
      this.startSweeper()
      this.pump()
    })
  }

  private pump(): void {
    while (this.queue.length) {
      let c = this.idle.pop()
      const now = performance.now()
      while (c && (c.dead || now - c.idleSince > (this.opts.idleMs ?? 4000))) {
        c.kill()
        c = this.idle.pop()
      }
      if (!c) {
        if (this.all.size >= this.opts.connections) return
        c = new H1Connection(this.host, this.port, this, true)
        this.all.add(c)
      }
      const p = this.queue.shift()!
      c.send(p, this.remainingMs(p, now))
    }
  }

  /** A connection finished its request and can take the next one. */
  released(c: H1Connection): void {
    this.idle.push(c)
    this.pump()
  }

  /** A connection is gone. */
  dropped(c: H1Connection): void {
    this.all.delete(c)
    const i = this.idle.indexOf(c)
    if (i >= 0) this.idle.splice(i, 1)
    if (!this.all.size && !this.queue.length) this.stopSweeper()
    if (!this.closed) queueMicrotask(() => this.pump())
  }

  /** What is left of a request's timeout (0: none at all; at least 1 ms for a request already due). */
  private remainingMs(p: Pending, now: number): number {
    const t = this.opts.timeoutMs
    return t > 0 ? Math.max(1, t - (now - p.startedAt)) : 0
  }

  private startSweeper(): void {
    if (this.sweeper || !(this.opts.timeoutMs > 0)) return
    this.sweeper = setInterval(() => {
      const now = performance.now()
      const t = this.opts.timeoutMs
      for (const c of this.all) c.expire(now, t)
      // a request still waiting for a connection has the same deadline
      while (this.queue.length && now - this.queue[0]!.startedAt > t) {
        this.queue.shift()!.onFailure(transportError('UND_ERR_HEADERS_TIMEOUT', `no answer within ${t} ms`))
      }
      if (!this.all.size && !this.queue.length) this.stopSweeper()
    }, sweepIntervalMs(this.opts.timeoutMs))
    this.sweeper.unref()
  }

  private stopSweeper(): void {
    if (this.sweeper) clearInterval(this.sweeper)
    this.sweeper = undefined
  }

  /** Close every connection; requests still queued or in flight fail with UND_ERR_CLOSED. */
  close(): void {
    this.closed = true
    for (const p of this.queue.splice(0)) p.onFailure(transportError('UND_ERR_CLOSED', 'client closed'))
    for (const c of [...this.all]) c.fail(transportError('UND_ERR_CLOSED', 'client closed'))
    this.stopSweeper()
  }
}
