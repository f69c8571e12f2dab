import { Client, type Dispatcher } from 'undici'
import { type H1TlsOptions, h1Tls } from './h1.js'
import { H1Lane } from './h1-lane.js'
import type { Lane, LaneHandler } from './lane.js'

export type { Lane, LaneHandler } from './lane.js'

/** Which client the engine's own connections use: 'h1' (lean HTTP/1.1, http and https) or undici. */
export type LaneClient = 'h1' | 'undici'

/**
 * The connections a run sends over. Each lane is one undici `Client` (one socket, no pipelining) and
 * a request goes to the free lane that has been idle longest, so traffic spreads evenly over the sockets
 * (undici's `Pool` reuses the first free socket, which skews load behind an L4 load balancer). When
 * every lane is busy, the runner queues the request and hands it to the first lane that frees up.
 *
 * An injected dispatcher (tests, callers with their own connection policy) becomes a single lane with
 * unlimited capacity: it manages its own sockets and queue.
 */
export class Lanes {
  private readonly busy: Uint32Array
  /** free lanes, least recently used first (a ring buffer): acquire and release are O(1) */
  private readonly free: Int32Array
  private head = 0
  private freeCount = 0

  constructor(
    readonly dispatchers: Lane[],
    /** 'exclusive': one request at a time per lane (a Client); 'shared': one lane that queues itself */
    readonly mode: 'exclusive' | 'shared',
    /** whether close() should close the dispatchers (false for an injected one) */
    private readonly owned: boolean,
  ) {
    if (dispatchers.length === 0) throw new RangeError('at least one connection is needed')
    this.busy = new Uint32Array(dispatchers.length)
    this.free = new Int32Array(dispatchers.length)
    if (mode === 'exclusive') {
      for (let i = 0; i < dispatchers.length; i++) this.free[i] = i
      this.freeCount = dispatchers.length
    }
  }

  /** The free lane that has been idle longest (round robin over the sockets), or -1 when all are busy. */
  acquire(): number {
    if (this.mode === 'shared') {
      this.busy[0]!++
      return 0
    }
    if (this.freeCount === 0) return -1
    const i = this.free[this.head]!
    this.head = this.head + 1 === this.free.length ? 0 : this.head + 1
    this.freeCount--
    this.busy[i] = 1
    return i
  }

  /** Mark a request on lane `i` as finished (a no-op for -1, a request that never got a lane). */
  release(i: number): void {
    if (i < 0 || i >= this.busy.length || this.busy[i] === 0) return
    this.busy[i]!--
    if (this.mode === 'exclusive') {
      this.free[(this.head + this.freeCount) % this.free.length] = i
      this.freeCount++
    }
  }

  get size(): number {
    return this.dispatchers.length
  }

  /** Requests in flight on lane `i`. */
  inFlight(i: number): number {
    return this.busy[i] ?? 0
  }

  dispatch(i: number, opts: Dispatcher.DispatchOptions, handler: LaneHandler): void {
    this.dispatchers[i]!.dispatch(opts, handler)
  }

  /** Close owned connections gracefully (after in-flight requests), or destroy them at once. */
  async close(opts: { force?: boolean } = {}): Promise<void> {
    if (!this.owned) return
    await Promise.all(
      this.dispatchers.map((d) => (opts.force ? d.destroy() : d.close()).catch(() => undefined)),
    )
  }
}

/** TLS connect options of an https target (what `tlsConnectOptions()` in tls.ts gives). */
export type LaneTlsOptions = H1TlsOptions

export interface LaneOptions {
  /** number of sockets */
  connections: number
  /** per-request timeout for connecting, headers and body, ms */
  timeoutMs: number
  /** https targets: CA, client certificate, verification, SNI name (both clients) */
  tls?: LaneTlsOptions
  /**
   * https, lean lanes: resume TLS sessions on new connections (default true, as undici does); false: a
   * full handshake for every connection (for measurement)
   */
  tlsResume?: boolean
  /** 'h1' (the default, http and https): the lean HTTP/1.1 lane; 'undici': undici Clients */
  client?: LaneClient
}

/**
 * The client a target gets: the lean lane unless undici is asked for, for http and https alike (measured
 * on one core against a TLS load balancer: bench/validate-https.mjs, results in bench/results/).
 */
export function laneClientFor(origin: string, wanted?: LaneClient): LaneClient {
  const p = new URL(origin).protocol
  return (p === 'http:' || p === 'https:') && wanted !== 'undici' ? 'h1' : 'undici'
}

/** `connections` lanes to `origin`, one socket each, no pipelining (lean lanes or undici Clients). */
export function createLanes(origin: string, opts: LaneOptions): Lanes {
  const clients: Lane[] = []
  const lean = laneClientFor(origin, opts.client) === 'h1'
  const u = new URL(origin)
  // one TLS side for every lean lane: the CA and certificate parsed once, one session to resume
  const tls =
    lean && u.protocol === 'https:'
      ? h1Tls(u.hostname.replace(/^\[|\]$/g, ''), opts.tls, opts.tlsResume !== false)
      : undefined
  // one origin, one Host header: the lanes share the bytes of each request
  const payloads = new WeakMap<object, Buffer>()
  for (let i = 0; i < opts.connections; i++) {
    if (lean) {
      clients.push(new H1Lane(origin, opts.timeoutMs, tls, payloads))
      continue
    }
    clients.push(
      new Client(origin, {
        pipelining: 1,
        connectTimeout: opts.timeoutMs,
        headersTimeout: opts.timeoutMs,
        bodyTimeout: opts.timeoutMs,
        connect: opts.tls && u.protocol === 'https:' ? { ...opts.tls } : undefined,
      }),
    )
  }
  return new Lanes(clients, 'exclusive', true)
}

/** Wrap an injected dispatcher as one shared lane (the caller keeps ownership). */
export function lanesFrom(dispatcher: Dispatcher): Lanes {
  return new Lanes([dispatcher as unknown as Lane], 'shared', false)
}
