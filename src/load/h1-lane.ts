import type { Dispatcher } from 'undici'
import {
  H1Connection,
  type H1Exchange,
  type H1Owner,
  type H1Tls,
  h1Tls,
  hostHeader,
  type ResponseHead,
  requestBytes,
  sweepIntervalMs,
  transportError,
} from './h1.js'
import type { Lane, LaneHandler } from './lane.js'

/** One read buffer for every lane: JavaScript runs one read callback at a time. */
const READ_BUFFER = Buffer.alloc(64 * 1024)

/**
 * One lane of the load engine over the lean HTTP/1.1 core (h1.ts), http or https: one
 * socket, one request at a time, the request bytes built once per distinct dispatch options object (the
 * engine reuses one per token; the lanes of a set share these bytes), the response read for its status (the engine looks up the backend header
 * in the raw head). A closed connection (server keep-alive timeout, `reset` = `Connection: close`, an
 * error) is replaced by a new one on the next request. Per-request deadline, checked by one sweep timer
 * per lane.
 *
 * https: the same socket reuse over `tls.connect`; the lanes of a run share one `H1Tls` (one secure context,
 * the latest TLS session), so a replaced connection resumes the session instead of a full handshake.
 *
 * Why not undici here: on one core against a fast target undici's client costs more per request than the
 * rest of the engine together (see bench/validate-vs-wrk.mjs, bench/validate-https.mjs and the closing
 * notes of issues 4 and 11). Injected dispatchers and `--http-client undici` still go through undici.
 */
export class H1Lane implements Lane, H1Owner, H1Exchange {
  private conn: H1Connection | undefined
  private handler: LaneHandler | undefined
  private readonly host: string
  private readonly port: number
  private readonly hostHeader: string
  private readonly sweeper: NodeJS.Timeout
  private closed = false
  private readonly tls: H1Tls | undefined
  method = 'GET'
  payload: Buffer = Buffer.alloc(0)
  closeAfter = false

  constructor(
    origin: string,
    private readonly timeoutMs: number,
    /** https: the TLS side shared by the lanes of a run (default: one of its own, verifying with the system CAs) */
    tls?: H1Tls,
    /**
     * the request bytes of each dispatch options object: share one among the lanes of one origin, so
     * each request is built once per run instead of once per lane (default: one of its own)
     */
    private readonly payloads: WeakMap<object, Buffer> = new WeakMap(),
  ) {
    const u = new URL(origin)
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw new RangeError(`the lean HTTP/1.1 lane speaks http and https only (got ${origin})`)
    this.host = u.hostname.replace(/^\[|\]$/g, '')
    const secure = u.protocol === 'https:'
    this.port = Number(u.port || (secure ? 443 : 80))
    this.tls = secure ? (tls ?? h1Tls(this.host)) : undefined
    this.hostHeader = hostHeader(this.host, this.port)
    this.sweeper = setInterval(
      () => this.conn?.expire(performance.now(), this.timeoutMs),
      sweepIntervalMs(timeoutMs),
    )
    this.sweeper.unref()
  }

  private bytesOf(opts: Dispatcher.DispatchOptions): Buffer {
    let b = this.payloads.get(opts)
    if (!b) {
      const h = opts.headers
      const headers: string[] = []
      if (Array.isArray(h)) headers.push(...(h as string[]))
      else if (h && typeof h === 'object') {
        for (const [k, v] of Object.entries(h as Record<string, unknown>)) {
          if (v !== undefined) headers.push(k, String(v))
        }
      }
      if (opts.reset) headers.push('connection', 'close')
      if (opts.body !== undefined && opts.body !== null && typeof opts.body !== 'string') {
        throw new RangeError('the lean HTTP/1.1 lane sends string bodies only')
      }
      b = requestBytes(opts.method, this.hostHeader, opts.path, headers, opts.body ?? undefined)
      this.payloads.set(opts, b)
    }
    return b
  }

  dispatch(opts: Dispatcher.DispatchOptions, handler: LaneHandler): boolean {
    if (this.handler) throw new Error('H1Lane carries one request at a time')
    if (this.closed) {
      handler.onError(transportError('UND_ERR_CLOSED', 'client closed'))
      return false
    }
    this.method = opts.method
    this.payload = this.bytesOf(opts)
    this.closeAfter = opts.reset === true
    this.handler = handler
    if (!this.conn) this.conn = new H1Connection(this.host, this.port, this, false, READ_BUFFER, this.tls)
    this.conn.send(this, this.timeoutMs)
    // sent: the request bytes are in the kernel's socket buffer (a new connection: queued behind the
    // connect, so the connect is part of the latency, as with undici)
    handler.onConnect()
    return true
  }

  onAnswer(head: ResponseHead, _body: Buffer, raw: Buffer, headEnd: number, receivedAt: number): void {
    const h = this.handler!
    this.handler = undefined
    h.onHead(head.status, raw, headEnd, receivedAt)
    h.onComplete()
  }

  onFailure(err: Error): void {
    const h = this.handler
    this.handler = undefined
    h?.onError(err)
  }

  released(): void {}

  dropped(c: H1Connection): void {
    if (this.conn === c) this.conn = undefined
  }

  /** Close the connection; a request still in flight fails with UND_ERR_CLOSED. */
  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.sweeper)
    this.conn?.fail(transportError('UND_ERR_CLOSED', 'client closed'))
  }

  destroy(): Promise<void> {
    return this.close()
  }
}
