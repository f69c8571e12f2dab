import { connect, isIP, type Socket } from 'node:net'
import { createSecureContext, type SecureContext, connect as tlsConnect } from 'node:tls'

/**
 * A lean HTTP/1.1 client core: one keep-alive socket carrying one request at a time, the request written
 * in a single write, Nagle off, responses framed by Content-Length, chunked encoding or connection close.
 * It reads only what idtool's hot paths need (status, one chosen header without building a header object,
 * a small body). Everything in idtool that speaks raw HTTP/1.1 goes through it: `H1Pool` (h1-pool.ts,
 * promise API: the bulk token calls), the load engine's lanes (h1-lane.ts, callbacks, no allocation per
 * request beyond the response bytes) and the TLS probe (tls.ts, `requestBytes`).
 * Transport errors carry errno-style codes (ECONNREFUSED, ECONNRESET, UND_ERR_HEADERS_TIMEOUT, ...), so they
 * are classified and retried like undici's. For https origins the same connection runs over `tls.connect`
 * (see `H1Tls`); TLS errors keep Node's codes (DEPTH_ZERO_SELF_SIGNED_CERT, ERR_TLS_CERT_ALTNAME_INVALID,
 * ERR_SSL_...), which the error classification counts as 'tls'.
 */

/** A transport error with an errno-style code, so retries and reports classify it like any socket error. */
export function transportError(code: string, message: string, cause?: unknown): Error {
  return Object.assign(new Error(message, cause ? { cause } : undefined), { code })
}

const HEAD_END = Buffer.from('\r\n\r\n')
const MAX_HEAD = 64 * 1024
const MAX_BODY = 16 * 1024 * 1024
const CR = 13
const LF = 10
const COLON = 58

const CONTENT_LENGTH = Buffer.from('content-length')
const TRANSFER_ENCODING = Buffer.from('transfer-encoding')
const CONNECTION = Buffer.from('connection')

/** The parts of a response head that framing and the caller need. */
export interface ResponseHead {
  status: number
  /** the connection may carry another request after this answer */
  keepAlive: boolean
  /** 'length': `length` body bytes; 'chunked'; 'close': the body ends when the server closes */
  framing: 'length' | 'chunked' | 'close'
  length: number
  /** index of the first body byte */
  bodyStart: number
}

/** Lower-case ASCII bytes of a header name, for comparison with raw header bytes. */
export function headerName(name: string): Uint8Array {
  return Buffer.from(name.toLowerCase(), 'latin1')
}

/** Whether buf[from, from + name.length) equals `name` (lower-case bytes), ignoring ASCII case. */
export function nameIs(buf: Buffer, from: number, len: number, name: Uint8Array): boolean {
  if (len !== name.length) return false
  for (let i = 0; i < len; i++) {
    let c = buf[from + i]!
    if (c >= 65 && c <= 90) c += 32
    if (c !== name[i]) return false
  }
  return true
}

const malformed = (what: string) => transportError('UND_ERR_SOCKET', `malformed HTTP response: ${what}`)

/** Where the header line found by `nextHeader` lies: its name and its value without surrounding blanks. */
interface HeaderLine {
  at: number
  n: number
  vs: number
  ve: number
}

/** One scratch line for the scans below (JavaScript runs one at a time; no closure or object per call). */
const LINE: HeaderLine = { at: 0, n: 0, vs: 0, ve: 0 }

/**
 * Finds the next header line of a head ending at `end`, from `from` (a line start; the first line after the
 * status line: `buf.indexOf(LF) + 1`): fills `LINE` and returns where the line after it starts, or -1 when
 * no header line is left. Lines without a colon or with an empty name are skipped.
 */
function nextHeader(buf: Buffer, from: number, end: number): number {
  let at = from
  while (at > 0 && at < end + 2) {
    let eol = buf.indexOf(CR, at)
    if (eol < 0 || eol > end) eol = end
    let colon = at
    while (colon < eol && buf[colon] !== COLON) colon++
    if (colon < eol && colon > at) {
      let vs = colon + 1
      while (vs < eol && (buf[vs] === 32 || buf[vs] === 9)) vs++
      let ve = eol
      while (ve > vs && (buf[ve - 1] === 32 || buf[ve - 1] === 9)) ve--
      LINE.at = at
      LINE.n = colon - at
      LINE.vs = vs
      LINE.ve = ve
      return eol + 2
    }
    at = eol + 2
  }
  return -1
}

/** The value of header `name` (lower-case bytes; first occurrence) in a head ending at `end`, if present. */
export function findHeader(buf: Buffer, end: number, name: Uint8Array): string | undefined {
  for (let at = nextHeader(buf, buf.indexOf(LF) + 1, end); at >= 0; at = nextHeader(buf, at, end)) {
    if (nameIs(buf, LINE.at, LINE.n, name)) return buf.toString('latin1', LINE.vs, LINE.ve)
  }
  return undefined
}

/**
 * Parse a response head that ends at `end` (the index of its blank line's CRLFCRLF) by scanning bytes:
 * the status line and the framing headers. Throws a transport error on a malformed head.
 */
export function parseResponseHead(buf: Buffer, end: number, method: string): ResponseHead {
  // "HTTP/1.x SSS"
  if (
    end < 12 ||
    buf[0] !== 72 ||
    buf[1] !== 84 ||
    buf[2] !== 84 ||
    buf[3] !== 80 ||
    buf[4] !== 47 ||
    buf[5] !== 49 ||
    buf[6] !== 46 ||
    buf[8] !== 32
  ) {
    throw malformed('status line')
  }
  const minor = buf[7]! - 48
  const d0 = buf[9]! - 48
  const d1 = buf[10]! - 48
  const d2 = buf[11]! - 48
  const after = buf[12]
  if (
    (minor !== 0 && minor !== 1) ||
    d0 < 1 ||
    d0 > 9 ||
    d1 < 0 ||
    d1 > 9 ||
    d2 < 0 ||
    d2 > 9 ||
    (end > 12 && after !== 32 && after !== CR)
  ) {
    throw malformed('status line')
  }
  const status = d0 * 100 + d1 * 10 + d2
  let length = -1
  let chunked = false
  let close = false
  let keepAliveToken = false
  for (let next = nextHeader(buf, buf.indexOf(LF) + 1, end); next >= 0; next = nextHeader(buf, next, end)) {
    const { at, n, vs, ve } = LINE
    if (n === 14 && length < 0 && nameIs(buf, at, n, CONTENT_LENGTH)) {
      length = 0
      if (ve === vs) throw malformed('Content-Length')
      for (let i = vs; i < ve; i++) {
        const d = buf[i]! - 48
        if (d < 0 || d > 9) throw malformed('Content-Length')
        length = length * 10 + d
        if (length > MAX_BODY) throw malformed('Content-Length (over the 16 MiB cap)')
      }
    } else if (n === 17 && nameIs(buf, at, n, TRANSFER_ENCODING)) {
      chunked = /chunked/i.test(buf.toString('latin1', vs, ve))
    } else if (n === 10 && nameIs(buf, at, n, CONNECTION)) {
      const v = buf.toString('latin1', vs, ve).toLowerCase()
      close ||= v.includes('close')
      keepAliveToken ||= v.includes('keep-alive')
    }
  }
  let keepAlive = minor === 1 ? !close : keepAliveToken && !close
  let framing: ResponseHead['framing']
  if (method === 'HEAD' || status === 204 || status === 304 || status < 200) {
    framing = 'length'
    length = 0
  } else if (chunked) {
    framing = 'chunked'
  } else if (length >= 0) {
    framing = 'length'
  } else {
    framing = 'close'
    keepAlive = false
  }
  return { status, keepAlive, framing, length: Math.max(0, length), bodyStart: end + 4 }
}

/** Every header of a head as an object (lower-case names; a repeated header keeps its first value). */
export function headerRecord(buf: Buffer, end: number): Record<string, string> {
  const lines = buf.toString('latin1', 0, end).split('\r\n')
  const headers: Record<string, string> = {}
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!
    const colon = line.indexOf(':')
    if (colon <= 0) continue
    const name = line.slice(0, colon).trim().toLowerCase()
    if (!(name in headers)) headers[name] = line.slice(colon + 1).trim()
  }
  return headers
}

/** Decode a chunked body starting at `from`; undefined while incomplete. */
export function dechunk(buf: Buffer, from: number): { body: Buffer; end: number } | undefined {
  const parts: Buffer[] = []
  let at = from
  for (;;) {
    const eol = buf.indexOf('\r\n', at, 'latin1')
    if (eol < 0) return undefined
    const size = Number.parseInt(buf.toString('latin1', at, eol).split(';')[0]!.trim(), 16)
    if (!Number.isFinite(size) || size < 0) throw malformed('chunk size')
    if (size === 0) {
      // trailers (usually none) end with an empty line
      const trailerEnd = buf.indexOf('\r\n', eol + 2, 'latin1')
      if (trailerEnd < 0) return undefined
      if (trailerEnd === eol + 2) return { body: Buffer.concat(parts), end: trailerEnd + 2 }
      const blank = buf.indexOf(HEAD_END, eol)
      if (blank < 0) return undefined
      return { body: Buffer.concat(parts), end: blank + HEAD_END.length }
    }
    if (buf.length < eol + 2 + size + 2) return undefined
    if (buf[eol + 2 + size] !== CR || buf[eol + 3 + size] !== LF) throw malformed('chunk')
    parts.push(buf.subarray(eol + 2, eol + 2 + size))
    at = eol + 2 + size + 2
  }
}

/**
 * The bytes of one request. `headers` is a flat [name, value, ...] list or an object; values must be
 * single-line (a line break throws a RangeError, it would split the request).
 */
export function requestBytes(
  method: string,
  hostHeader: string,
  path: string,
  headers: readonly string[] | Record<string, string>,
  body?: string,
): Buffer {
  let head = `${method} ${path} HTTP/1.1\r\nhost: ${hostHeader}\r\n`
  const add = (name: string, v: string) => {
    if (/[\r\n]/.test(name) || /[\r\n]/.test(v)) throw new RangeError(`header ${name} contains a line break`)
    head += `${name}: ${v}\r\n`
  }
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) add(headers[i]!, headers[i + 1]!)
  } else {
    const h = headers as Record<string, string>
    for (const name in h) add(name, h[name]!)
  }
  if (body !== undefined) head += `content-length: ${Buffer.byteLength(body)}\r\n`
  return Buffer.from(body === undefined ? `${head}\r\n` : `${head}\r\n${body}`, 'utf8')
}

/** The Host header value of a host and port (IPv6 literals in brackets). */
export function hostHeader(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`
}

/**
 * TLS settings of an https connection: what `tlsConnectOptions()` (src/http/tls.ts) gives, plus an
 * optional SNI name (default: the host, unless it is an IP address).
 */
export interface H1TlsOptions {
  /** CA certificates (PEM) to trust instead of the system's */
  ca?: string | Buffer | Array<string | Buffer>
  /** client certificate and key (PEM) */
  cert?: string | Buffer
  key?: string | Buffer
  /** false: do not verify the server certificate (default true) */
  rejectUnauthorized?: boolean
  servername?: string
}

/**
 * The TLS side of the connections to one origin: one secure context (the CA and client certificate
 * parsed once, not per connection) and the latest session the server gave, so that a new connection
 * resumes it (an abbreviated handshake: what a client with a session cache does after a close) instead of
 * a full handshake. Shared by every connection of a lane set; `session` is updated as tickets arrive.
 */
export interface H1Tls {
  readonly context: SecureContext
  readonly rejectUnauthorized: boolean
  /** SNI name, undefined for an IP address host */
  readonly servername: string | undefined
  /** resume sessions (default true) */
  readonly resume: boolean
  session: Buffer | undefined
  /** full handshakes and resumed ones, counted as connections become secure */
  handshakes: number
  resumed: number
}

/** The TLS side of connections to `host` with these settings (see H1Tls). */
export function h1Tls(host: string, o: H1TlsOptions = {}, resume = true): H1Tls {
  return {
    context: createSecureContext({ ca: o.ca, cert: o.cert, key: o.key }),
    rejectUnauthorized: o.rejectUnauthorized !== false,
    servername: o.servername ?? (isIP(host) === 0 ? host : undefined),
    resume,
    session: undefined,
    handshakes: 0,
    resumed: 0,
  }
}

/** A TLS connection (`tls.connect`, ALPN http/1.1, Nagle off) that resumes and remembers sessions in `t`. */
function connectTls(host: string, port: number, t: H1Tls): Socket {
  const s = tlsConnect({
    host,
    port,
    servername: t.servername,
    secureContext: t.context,
    rejectUnauthorized: t.rejectUnauthorized,
    ALPNProtocols: ['http/1.1'],
    session: t.resume ? t.session : undefined,
  })
  s.setNoDelay(true)
  // On a full handshake Node checks the host name with getPeerCertificate(true): the whole chain as JS
  // objects (about 0.4 ms of CPU for an RSA 2048 chain here, a sixth of a full handshake's client CPU), of
  // which checkServerIdentity reads only the leaf's subject and subjectAltName. It gets the leaf alone (a
  // tenth of the cost); the chain is still verified by OpenSSL against the CA, and the host name checked.
  const peerCertificate = s.getPeerCertificate
  s.getPeerCertificate = (() => peerCertificate.call(s, false)) as typeof s.getPeerCertificate
  s.once('secureConnect', () => {
    if (s.isSessionReused()) t.resumed++
    else t.handshakes++
  })
  if (t.resume) {
    s.on('session', (session: Buffer) => {
      t.session = session
    })
  }
  return s
}

/** One request on a connection and where its answer goes. */
export interface H1Exchange {
  /** 'HEAD' answers have no body */
  readonly method: string
  readonly payload: Buffer
  /** the request asked the server to close (`Connection: close`): never reuse the connection after it */
  readonly closeAfter?: boolean
  /**
   * The whole answer arrived. `raw` holds the response head up to `headEnd` (see headerRecord);
   * `receivedAt` is the performance.now() of the read that completed it (before any parsing).
   */
  onAnswer(head: ResponseHead, body: Buffer, raw: Buffer, headEnd: number, receivedAt: number): void
  onFailure(err: Error): void
}

/** Who keeps the connection: told when it can take the next request and when it is gone. */
export interface H1Owner {
  released(c: H1Connection): void
  dropped(c: H1Connection): void
}

/** One keep-alive connection carrying one request at a time (no pipelining). */
export class H1Connection {
  readonly socket: Socket
  private buf: Buffer | undefined
  private head: ResponseHead | undefined
  private headEnd = 0
  /** when the latest bytes were read */
  private readAt = 0
  current: H1Exchange | undefined
  /** performance.now() after which the request in flight has timed out */
  deadline = Number.POSITIVE_INFINITY
  idleSince = 0
  dead = false
  /** false while a TLS handshake is under way (a request waits for it) */
  private secure = true

  constructor(
    host: string,
    port: number,
    private readonly owner: H1Owner,
    /** let the process exit while the connection is idle */
    private readonly unrefIdle = false,
    /**
     * read into this buffer (Node's `onread`: no stream machinery, no allocation per read); it may be
     * shared by many connections. The answer's `body` and `raw` then point into it and are valid only
     * during `onAnswer`.
     */
    readBuffer?: Buffer,
    /** an https origin: connect with TLS (the read buffer is not used: TLS sockets read into their own) */
    tls?: H1Tls,
  ) {
    if (tls) {
      // the first request is written once the handshake is done: written earlier, a failed handshake
      // surfaces as a write error (EPROTO) instead of the TLS code that names the problem
      this.secure = false
      this.socket = connectTls(host, port, tls)
      this.socket.once('secureConnect', () => {
        this.secure = true
        if (this.current && !this.dead) this.socket.write(this.current.payload)
      })
      this.socket.on('data', (d: Buffer) => this.onData(d))
    } else if (readBuffer) {
      this.socket = connect({
        host,
        port,
        noDelay: true,
        onread: { buffer: readBuffer, callback: (n: number, b: Uint8Array) => this.onData(b as Buffer, n) },
      })
    } else {
      this.socket = connect({ host, port, noDelay: true })
      this.socket.on('data', (d: Buffer) => this.onData(d))
    }
    this.socket.on('error', (err) => this.fail(err))
    this.socket.on('close', () => this.onClose())
  }

  send(x: H1Exchange, timeoutMs: number): void {
    this.current = x
    this.buf = undefined
    this.head = undefined
    this.deadline = timeoutMs > 0 ? performance.now() + timeoutMs : Number.POSITIVE_INFINITY
    if (this.unrefIdle) this.socket.ref()
    if (this.secure) this.socket.write(x.payload)
  }

  /** Bytes arrived: `d` (a fresh chunk), or its first `n` bytes when it is the shared read buffer. */
  private onData(d: Buffer, n?: number): boolean {
    this.readAt = performance.now()
    const x = this.current
    if (!x) {
      // bytes nobody asked for: the connection is out of step, drop it
      this.kill()
      return false
    }
    const chunk = n === undefined ? d : d.subarray(0, n)
    this.buf = this.buf ? Buffer.concat([this.buf, chunk]) : chunk
    try {
      this.parse(x)
    } catch (err) {
      this.fail(err as Error)
      return false
    }
    // an answer still incomplete must not stay a view of the shared read buffer (the next read reuses it)
    if (n !== undefined && this.current === x && this.buf && this.buf.buffer === d.buffer) {
      this.buf = Buffer.from(this.buf)
    }
    return true
  }

  private parse(x: H1Exchange): void {
    let buf = this.buf!
    while (!this.head) {
      const end = buf.indexOf(HEAD_END)
      if (end < 0) {
        if (buf.length > MAX_HEAD) throw transportError('UND_ERR_HEADERS_OVERFLOW', 'response head too large')
        return
      }
      const h = parseResponseHead(buf, end, x.method)
      if (h.status < 200) {
        // an interim answer (100 Continue): the real one follows
        buf = this.buf = buf.subarray(h.bodyStart)
        continue
      }
      this.head = h
      this.headEnd = end
    }
    const h = this.head
    let body: Buffer
    let end: number
    if (h.framing === 'length') {
      end = h.bodyStart + h.length
      if (buf.length < end) return
      body = buf.subarray(h.bodyStart, end)
    } else if (h.framing === 'chunked') {
      if (buf.length - h.bodyStart > MAX_BODY)
        throw transportError('UND_ERR_RES_EXCEEDED_MAX_SIZE', 'body too large')
      const r = dechunk(buf, h.bodyStart)
      if (!r) return
      body = r.body
      end = r.end
    } else {
      if (buf.length - h.bodyStart > MAX_BODY)
        throw transportError('UND_ERR_RES_EXCEEDED_MAX_SIZE', 'body too large')
      return // read until the server closes
    }
    this.finish(h, body, buf, h.keepAlive && !x.closeAfter && end === buf.length)
  }

  /** Reset for the next request before telling anyone: the answer's handler may send on this connection. */
  private finish(h: ResponseHead, body: Buffer, raw: Buffer, reusable: boolean): void {
    const x = this.current!
    const headEnd = this.headEnd
    this.current = undefined
    this.buf = undefined
    this.head = undefined
    this.deadline = Number.POSITIVE_INFINITY
    if (reusable) {
      this.idleSince = performance.now()
      if (this.unrefIdle) this.socket.unref()
      this.owner.released(this)
    } else {
      this.kill()
    }
    x.onAnswer(h, body, raw, headEnd, this.readAt)
  }

  private onClose(): void {
    const x = this.current
    const h = this.head
    if (x && h?.framing === 'close' && this.buf) {
      this.readAt = performance.now()
      this.finish(h, this.buf.subarray(h.bodyStart), this.buf, false)
      return
    }
    this.fail(transportError('ECONNRESET', 'the server closed the connection before answering'))
  }

  /** Fail the request in flight (if any) and drop the connection. */
  fail(err: Error): void {
    const x = this.current
    this.current = undefined
    this.kill()
    x?.onFailure(err)
  }

  /** Fail the request in flight if its deadline has passed. */
  expire(now: number, timeoutMs: number): void {
    if (this.current && now > this.deadline) {
      this.fail(transportError('UND_ERR_HEADERS_TIMEOUT', `no answer within ${timeoutMs} ms`))
    }
  }

  kill(): void {
    if (!this.dead) {
      this.dead = true
      this.owner.dropped(this)
    }
    this.socket.destroy()
  }
}

/** How often a deadline sweep runs for a timeout: a quarter of it, between 10 ms and 1 s. */
export function sweepIntervalMs(timeoutMs: number): number {
  return Math.max(10, Math.min(1000, Math.floor(timeoutMs / 4)))
}
