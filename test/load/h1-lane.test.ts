import type { Socket } from 'node:net'
import { Client, type Dispatcher } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { networkErrorClass } from '../../src/errors.js'
import { findHeader, headerName } from '../../src/load/h1.js'
import { H1Lane } from '../../src/load/h1-lane.js'
import { createLanes, type LaneHandler, laneClientFor } from '../../src/load/lanes.js'
import { type RawServer, rawServer } from '../helpers/raw-server.js'

type Srv = RawServer

/** What a lane reported for one request, in order. */
interface Outcome {
  events: string[]
  status?: number
  /** the response head up to headEnd, copied during onHead */
  head?: string
  /** X-Backend read from the raw head with findHeader during onHead */
  backend?: string
  error?: Error & { code?: string }
  ms: number
  /** onHead's receivedAt, and performance.now() when onHead ran */
  receivedAt?: number
  headAt?: number
}

/**
 * Dispatch one request and resolve with what the handler saw once it completes or fails, or after
 * `budgetMs` with a 'pending' event (so a lane that never reports fails the test instead of hanging).
 * `onEnd` runs inside onComplete / onError, as the engine dispatches its next request.
 */
function send(
  lane: H1Lane,
  opts: Dispatcher.DispatchOptions,
  o: { budgetMs?: number; onEnd?: (out: Outcome) => void } = {},
): { done: Promise<Outcome>; dispatched: boolean } {
  const t0 = performance.now()
  const out: Outcome = { events: [], ms: 0 }
  let resolve!: (o: Outcome) => void
  const done = new Promise<Outcome>((r) => {
    resolve = r
  })
  const timer = setTimeout(() => {
    out.events.push('pending')
    resolve(out)
  }, o.budgetMs ?? 2000)
  const finish = () => {
    out.ms = performance.now() - t0
    clearTimeout(timer)
    o.onEnd?.(out)
    resolve(out)
  }
  const handler: LaneHandler = {
    onConnect() {
      out.events.push('connect')
    },
    onHead(status, raw, headEnd, receivedAt) {
      out.events.push('head')
      out.receivedAt = receivedAt
      out.headAt = performance.now()
      out.status = status
      out.head = raw.toString('latin1', 0, headEnd)
      out.backend = findHeader(raw, headEnd, headerName('x-backend'))
    },
    onComplete() {
      out.events.push('complete')
      finish()
    },
    onError(err) {
      out.events.push('error')
      out.error = err
      finish()
    },
  }
  const dispatched = lane.dispatch(opts, handler)
  return { done, dispatched }
}

const get = (path = '/', extra: Partial<Dispatcher.DispatchOptions> = {}): Dispatcher.DispatchOptions => ({
  path,
  method: 'GET',
  headers: ['x-test', '1'],
  ...extra,
})
const ok = (body = 'ok', extra = '') =>
  `HTTP/1.1 200 OK\r\nx-backend: b1\r\n${extra}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Write `pieces` one by one, `stepMs` apart from `startMs` on, calling `onWrite(i)` before each write. */
function writeInPieces(
  s: Socket,
  pieces: string[],
  stepMs: number,
  startMs = 0,
  onWrite?: (i: number) => void,
) {
  for (let i = 0; i < pieces.length; i++) {
    setTimeout(
      () => {
        onWrite?.(i)
        s.write(pieces[i]!)
      },
      startMs + i * stepMs,
    )
  }
}

let srv: Srv | undefined
const lanes: H1Lane[] = []
function lane(origin: string, timeoutMs = 2000): H1Lane {
  const l = new H1Lane(origin, timeoutMs)
  lanes.push(l)
  return l
}

afterEach(async () => {
  for (const l of lanes.splice(0)) await l.close()
  await srv?.close()
  srv = undefined
})

describe('H1Lane (the lean HTTP/1.1 lane of the load engine)', { timeout: 5000 }, () => {
  it('reads an answer split across writes (head cut mid-line, body cut) and finds X-Backend in the raw head', async () => {
    const written: string[] = []
    let lastWriteAt = 0
    srv = await rawServer((s, _req, n) => {
      const pieces =
        n === 1
          ? [
              'HTTP/1.1 201 Cre',
              'ated\r\nX-Bac',
              'kend:  b7 \r\ncontent-length: 11\r\n',
              '\r\nhello',
              ' world',
            ]
          : // the second answer: chunked, a chunk cut in the middle
            [
              'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx-backend: b8\r\n\r\n5\r\nab',
              'cde\r\n0\r\n',
              '\r\n',
            ]
      writeInPieces(s, pieces, 15, 0, (i) => {
        written.push(`${n}:${i}`)
        lastWriteAt = performance.now()
      })
    })
    const l = lane(srv.origin)
    const a = await send(l, get('/split')).done
    expect(a.events).toEqual(['connect', 'head', 'complete'])
    expect(a.status).toBe(201)
    expect(a.backend).toBe('b7')
    expect(a.head).toBe('HTTP/1.1 201 Created\r\nX-Backend:  b7 \r\ncontent-length: 11')
    // it completed only after the last piece of the body was written
    expect(written).toEqual(['1:0', '1:1', '1:2', '1:3', '1:4'])
    // receivedAt is the time of the read that completed the answer (after the last write), not of the first
    expect(a.receivedAt).toBeGreaterThanOrEqual(lastWriteAt)
    expect(a.receivedAt).toBeLessThanOrEqual(a.headAt!)
    const b = await send(l, get('/split')).done
    expect(b.events).toEqual(['connect', 'head', 'complete'])
    expect(b.status).toBe(200)
    expect(b.backend).toBe('b8')
    expect(written.slice(5)).toEqual(['2:0', '2:1', '2:2'])
    // the request line, Host and the caller's headers reach the server
    expect(srv.seen[0]?.text).toBe(`GET /split HTTP/1.1\r\nhost: 127.0.0.1:${srv.port}\r\nx-test: 1\r\n\r\n`)
    expect(srv.connections).toBe(1)
  })

  it('carries sequential requests over one connection, with the bytes of each options object', async () => {
    srv = await rawServer((s) => s.write(ok()))
    const l = lane(srv.origin)
    const a = get('/a')
    const b = get('/b', { headers: ['x-other', '2'] })
    const statuses: number[] = []
    for (const opts of [a, b, a, a]) {
      const r = await send(l, opts).done
      expect(r.events).toEqual(['connect', 'head', 'complete'])
      statuses.push(r.status!)
    }
    expect(statuses).toEqual([200, 200, 200, 200])
    expect(srv.connections).toBe(1)
    expect(srv.seen.map((r) => r.conn)).toEqual([1, 1, 1, 1])
    expect(srv.seen.map((r) => r.text.split('\r\n')[0])).toEqual([
      'GET /a HTTP/1.1',
      'GET /b HTTP/1.1',
      'GET /a HTTP/1.1',
      'GET /a HTTP/1.1',
    ])
    expect(srv.seen[1]?.text).toContain('\r\nx-other: 2\r\n')
    expect(srv.seen[1]?.text).not.toContain('x-test')
    expect(srv.seen[2]?.text).toContain('\r\nx-test: 1\r\n')
    // no connection: close without reset
    expect(srv.seen.some((r) => /connection: close/i.test(r.text))).toBe(false)
  })

  it('writes object headers too, and refuses a non-string body with a RangeError before sending', async () => {
    srv = await rawServer((s) => s.write(ok()))
    const l = lane(srv.origin)
    const r = await send(l, get('/o', { headers: { 'x-one': '1', 'x-two': '2' } })).done
    expect(r.status).toBe(200)
    expect(srv.seen[0]?.text).toContain('\r\nx-one: 1\r\nx-two: 2\r\n')
    expect(() => send(l, get('/p', { method: 'POST', body: Buffer.from('x') }))).toThrow(RangeError)
    expect(srv.seen).toHaveLength(1)
  })

  it('dispatches the next request from inside onComplete on the same kept-alive connection', async () => {
    srv = await rawServer((s) => s.write(ok()))
    const l = lane(srv.origin)
    let second: Promise<Outcome> | undefined
    const first = await send(l, get('/1'), { onEnd: () => (second = send(l, get('/2')).done) }).done
    expect(first.events).toEqual(['connect', 'head', 'complete'])
    const r = await second!
    expect(r.events).toEqual(['connect', 'head', 'complete'])
    expect(srv.seen.map((x) => x.conn)).toEqual([1, 1])
  })

  it('reset: true sends "connection: close"; the next request opens a new connection', async () => {
    // a server that honours "connection: close" the usual way: says so in the answer and closes
    srv = await rawServer((s, req) => {
      if (/\r\nconnection: close\r\n/i.test(req)) {
        s.write(ok('bye', 'connection: close\r\n'))
        s.end()
      } else s.write(ok())
    })
    const l = lane(srv.origin)
    const reset = get('/r', { reset: true })
    const a = await send(l, reset).done
    expect(a.events).toEqual(['connect', 'head', 'complete'])
    const b = await send(l, get('/k')).done
    expect(b.events).toEqual(['connect', 'head', 'complete'])
    // the same reset options again (cached bytes): still "connection: close"
    const c = await send(l, reset).done
    expect(c.events).toEqual(['connect', 'head', 'complete'])
    expect(srv.seen[0]?.text).toBe(
      `GET /r HTTP/1.1\r\nhost: 127.0.0.1:${srv.port}\r\nx-test: 1\r\nconnection: close\r\n\r\n`,
    )
    expect(srv.seen[1]?.text).not.toMatch(/connection: close/i)
    expect(srv.seen[2]?.text).toMatch(/\r\nconnection: close\r\n/)
    expect(srv.seen.map((x) => x.conn)).toEqual([1, 2, 2])
    // the caller's headers array is not changed by the appended header
    expect(reset.headers).toEqual(['x-test', '1'])
  })

  // RFC 9112 §9.6: after sending "connection: close" the client must not send another request on the
  // connection, whether or not the answer repeats it; a server that closes without saying so must not fail
  // the next request (sent from onComplete, as the engine does)
  it('reset: true never reuses the connection, even when the answer does not say "close"', async () => {
    srv = await rawServer((s) => {
      s.write(ok())
      s.end() // closes as RFC 9112 requires, without the (optional) "connection: close" in the answer
    })
    const l = lane(srv.origin)
    const reset = get('/r', { reset: true })
    let second: Promise<Outcome> | undefined
    const first = await send(l, reset, { onEnd: () => (second = send(l, reset).done) }).done
    expect(first.events).toEqual(['connect', 'head', 'complete'])
    const r = await second!
    expect({ events: r.events, code: r.error?.code }).toEqual({
      events: ['connect', 'head', 'complete'],
      code: undefined,
    })
    expect(srv.seen.map((x) => x.conn)).toEqual([1, 2])
  })

  it('reconnects after a "Connection: close" answer and after the server drops an idle connection', async () => {
    srv = await rawServer((s, _req, n) => {
      if (n === 1) {
        s.write(ok('x', 'Connection: close\r\n'))
        s.end()
      } else if (n === 2) {
        s.write(ok())
        setTimeout(() => s.destroy(), 10) // an idle keep-alive timeout
      } else s.write(ok())
    })
    const l = lane(srv.origin)
    let second: Promise<Outcome> | undefined
    // the next request is sent from inside onComplete, before the server's FIN is read
    const a = await send(l, get(), { onEnd: () => (second = send(l, get()).done) }).done
    expect(a.events).toEqual(['connect', 'head', 'complete'])
    const b = await second!
    expect(b.events).toEqual(['connect', 'head', 'complete'])
    await sleep(60)
    const c = await send(l, get()).done
    expect(c.events).toEqual(['connect', 'head', 'complete'])
    expect(srv.seen.map((x) => x.conn)).toEqual([1, 2, 3])
  })

  it('reports a refused connection as ECONNREFUSED (connect), then fails fast again on the next request', async () => {
    const probe = await rawServer(() => {})
    const port = probe.port
    await probe.close()
    const l = lane(`http://127.0.0.1:${port}`)
    const r = await send(l, get()).done
    expect(r.events).toEqual(['connect', 'error'])
    expect(r.error?.code).toBe('ECONNREFUSED')
    expect(networkErrorClass(r.error)).toBe('connect')
    expect(r.ms).toBeLessThan(1000)
    const again = await send(l, get()).done
    expect(again.error?.code).toBe('ECONNREFUSED')
  })

  it('fails a request without an answer after timeoutMs with UND_ERR_HEADERS_TIMEOUT (timeout)', async () => {
    srv = await rawServer((s, _req, n) => {
      if (n > 1) s.write(ok()) // the first request is never answered
    })
    const l = lane(srv.origin, 40)
    const r = await send(l, get()).done
    expect(r.events).toEqual(['connect', 'error'])
    expect(r.error?.code).toBe('UND_ERR_HEADERS_TIMEOUT')
    expect(networkErrorClass(r.error)).toBe('timeout')
    expect(r.ms).toBeGreaterThanOrEqual(39)
    expect(r.ms).toBeLessThan(1000)
    // the timed-out connection is dropped (its answer could still arrive): the next one is new
    const next = await send(l, get()).done
    expect(next.events).toEqual(['connect', 'head', 'complete'])
    expect(srv.seen.map((x) => x.conn)).toEqual([1, 2])
  })

  it('reports a server that closes mid-answer, or before answering, as ECONNRESET (reset)', async () => {
    srv = await rawServer((s, _req, n) => {
      if (n === 1) {
        s.write('HTTP/1.1 200 OK\r\nx-backend: b1\r\ncontent-length: 100\r\n\r\npartial')
        setTimeout(() => s.destroy(), 10)
      } else if (n === 2) {
        s.write('HTTP/1.1 200 OK\r\nx-backend: b1\r\ncontent-le')
        setTimeout(() => s.destroy(), 10)
      } else if (n === 3) s.destroy()
      else s.write(ok())
    })
    const l = lane(srv.origin)
    for (let i = 0; i < 3; i++) {
      const r = await send(l, get()).done
      expect({ i, events: r.events, code: r.error?.code, cls: networkErrorClass(r.error) }).toEqual({
        i,
        events: ['connect', 'error'],
        code: 'ECONNRESET',
        cls: 'reset',
      })
    }
    const r = await send(l, get()).done
    expect(r.status).toBe(200)
    expect(srv.connections).toBe(4)
  })

  it('fails a garbage status line with UND_ERR_SOCKET and sends the next request on a new connection', async () => {
    srv = await rawServer((s, _req, n) => s.write(n === 1 ? 'HTTP/9.9 OK then\r\n\r\n' : ok()))
    const l = lane(srv.origin)
    const r = await send(l, get()).done
    expect(r.events).toEqual(['connect', 'error'])
    expect(r.error?.code).toBe('UND_ERR_SOCKET')
    expect(networkErrorClass(r.error)).toBe('reset')
    const next = await send(l, get()).done
    expect(next.events).toEqual(['connect', 'head', 'complete'])
    expect(srv.seen.map((x) => x.conn)).toEqual([1, 2])
  })

  it('fails a request in flight with UND_ERR_CLOSED on close(), and every later dispatch too', async () => {
    srv = await rawServer(() => {}) // never answers
    const l = lane(srv.origin)
    const pending = send(l, get())
    expect(pending.dispatched).toBe(true)
    await sleep(20)
    await l.close()
    const r = await pending.done
    expect(r.events).toEqual(['connect', 'error'])
    expect(r.error?.code).toBe('UND_ERR_CLOSED')
    expect(networkErrorClass(r.error)).toBe('reset')
    const after = send(l, get())
    expect(after.dispatched).toBe(false)
    const a = await after.done
    expect(a.events).toEqual(['error'])
    expect(a.error?.code).toBe('UND_ERR_CLOSED')
    expect(srv.connections).toBe(1)
    expect(srv.seen.length).toBe(1)
  })

  it('calls onConnect once, before onHead and onComplete, and onHead before onComplete', async () => {
    srv = await rawServer((s) => setTimeout(() => s.write(ok()), 10))
    const l = lane(srv.origin)
    const p = send(l, get())
    const r = await p.done
    expect(r.events).toEqual(['connect', 'head', 'complete'])
    expect(r.status).toBe(200)
    expect(r.backend).toBe('b1')
  })

  it('throws on a dispatch while a request is in flight, and the request in flight still completes', async () => {
    srv = await rawServer((s) => setTimeout(() => s.write(ok()), 30))
    const l = lane(srv.origin)
    const first = send(l, get('/first'))
    const extra: string[] = []
    const stray: LaneHandler = {
      onConnect: () => extra.push('connect'),
      onHead: () => extra.push('head'),
      onComplete: () => extra.push('complete'),
      onError: () => extra.push('error'),
    }
    expect(() => l.dispatch(get('/second'), stray)).toThrow(/one request at a time/)
    const r = await first.done
    expect(r.events).toEqual(['connect', 'head', 'complete'])
    expect(extra).toEqual([])
    expect(srv.seen.map((x) => x.text.split('\r\n')[0])).toEqual(['GET /first HTTP/1.1'])
  })

  it('skips a 100 Continue and frames a HEAD answer without a body, keeping the connection', async () => {
    srv = await rawServer((s, req) => {
      if (req.startsWith('HEAD')) s.write('HTTP/1.1 200 OK\r\nx-backend: h\r\ncontent-length: 1234\r\n\r\n')
      else
        s.write(
          'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nx-backend: c\r\ncontent-length: 2\r\n\r\nno',
        )
    })
    const l = lane(srv.origin)
    const h = await send(l, get('/', { method: 'HEAD' })).done
    expect(h.events).toEqual(['connect', 'head', 'complete'])
    expect(h.status).toBe(200)
    expect(h.backend).toBe('h')
    const c = await send(l, get()).done
    expect(c.events).toEqual(['connect', 'head', 'complete'])
    expect(c.status).toBe(404)
    expect(c.backend).toBe('c')
    expect(c.head).toBe('HTTP/1.1 404 Not Found\r\nx-backend: c\r\ncontent-length: 2')
    expect(srv.seen.map((x) => x.conn)).toEqual([1, 1])
  })

  it('keeps two lanes apart when their partial answers interleave through the shared read buffer', async () => {
    const parts = (who: string) => [
      `HTTP/1.1 200 OK\r\nx-backend: ${who}-`,
      `${who}\r\ncontent-length: 8\r\n\r\n${who.repeat(2)}`,
      `${who.repeat(2)}`,
    ]
    const a = await rawServer((s) => writeInPieces(s, parts('aa'), 30))
    const b = await rawServer((s) => writeInPieces(s, parts('bb'), 30, 15))
    try {
      const la = lane(a.origin)
      const lb = lane(b.origin)
      const [ra, rb] = await Promise.all([send(la, get()).done, send(lb, get()).done])
      expect(ra.events).toEqual(['connect', 'head', 'complete'])
      expect(rb.events).toEqual(['connect', 'head', 'complete'])
      expect(ra.backend).toBe('aa-aa')
      expect(rb.backend).toBe('bb-bb')
      expect(ra.head).toBe('HTTP/1.1 200 OK\r\nx-backend: aa-aa\r\ncontent-length: 8')
      expect(rb.head).toBe('HTTP/1.1 200 OK\r\nx-backend: bb-bb\r\ncontent-length: 8')
      // each body was framed exactly (no stray bytes): both connections carry a second request
      const [ra2, rb2] = await Promise.all([send(la, get()).done, send(lb, get()).done])
      expect([ra2.backend, rb2.backend]).toEqual(['aa-aa', 'bb-bb'])
      expect([...a.seen, ...b.seen].map((x) => x.conn)).toEqual([1, 1, 1, 1])
    } finally {
      await a.close()
      await b.close()
    }
  })

  it('refuses an origin that is neither http nor https', () => {
    expect(() => new H1Lane('ftp://127.0.0.1:1', 1000)).toThrow(RangeError)
    expect(() => new H1Lane('unix://127.0.0.1:1', 1000)).toThrow(RangeError)
  })
})

describe('createLanes / laneClientFor', () => {
  it('uses H1Lane for http:// and https:// unless undici is asked for', async () => {
    expect(laneClientFor('http://127.0.0.1:9')).toBe('h1')
    expect(laneClientFor('http://127.0.0.1:9', 'h1')).toBe('h1')
    expect(laneClientFor('http://127.0.0.1:9', 'undici')).toBe('undici')
    expect(laneClientFor('https://127.0.0.1:9')).toBe('h1')
    expect(laneClientFor('https://127.0.0.1:9', 'h1')).toBe('h1')
    expect(laneClientFor('https://127.0.0.1:9', 'undici')).toBe('undici')

    const lean = createLanes('http://127.0.0.1:9', { connections: 3, timeoutMs: 1000 })
    const viaUndici = createLanes('http://127.0.0.1:9', { connections: 2, timeoutMs: 1000, client: 'undici' })
    const tlsLean = createLanes('https://127.0.0.1:9', { connections: 2, timeoutMs: 1000 })
    const tls = createLanes('https://127.0.0.1:9', { connections: 2, timeoutMs: 1000, client: 'undici' })
    try {
      for (const l of [lean, tlsLean]) {
        expect(l.dispatchers.every((d) => d instanceof H1Lane)).toBe(true)
        expect(new Set(l.dispatchers).size).toBe(l.dispatchers.length)
      }
      expect(lean.dispatchers.length).toBe(3)
      for (const l of [viaUndici, tls]) {
        expect(l.dispatchers.length).toBe(2)
        expect(l.dispatchers.some((d) => d instanceof H1Lane)).toBe(false)
        expect(l.dispatchers.every((d) => d instanceof Client)).toBe(true)
      }
    } finally {
      await lean.close({ force: true })
      await viaUndici.close({ force: true })
      await tlsLean.close({ force: true })
      await tls.close({ force: true })
    }
  })
})
