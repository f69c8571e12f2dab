import { describe, expect, it } from 'vitest'
import {
  dechunk,
  findHeader,
  headerName,
  hostHeader,
  parseResponseHead,
  requestBytes,
  sweepIntervalMs,
} from '../../src/load/h1.js'
import { thrown } from '../helpers/thrown.js'

/** A response head (status line + header lines) as bytes, and the index of its CRLFCRLF. */
function head(statusLine: string, ...lines: string[]): { buf: Buffer; end: number } {
  const text = [statusLine, ...lines].join('\r\n')
  return { buf: Buffer.from(`${text}\r\n\r\n`, 'latin1'), end: text.length }
}

function parse(method: string, statusLine: string, ...lines: string[]) {
  const h = head(statusLine, ...lines)
  return parseResponseHead(h.buf, h.end, method)
}

describe('parseResponseHead', () => {
  it('reads the status code and points bodyStart just past the blank line', () => {
    const h = head('HTTP/1.1 404 Not Found', 'content-length: 3')
    const r = parseResponseHead(Buffer.concat([h.buf, Buffer.from('abc')]), h.end, 'GET')
    expect(r).toEqual({ status: 404, keepAlive: true, framing: 'length', length: 3, bodyStart: h.end + 4 })
    expect(parse('GET', 'HTTP/1.1 599 Custom', 'content-length: 0').status).toBe(599)
    expect(parse('GET', 'HTTP/1.1 200 OK', 'content-length: 0').status).toBe(200)
    // a status line without a reason phrase is valid
    expect(parse('GET', 'HTTP/1.1 204').status).toBe(204)
  })

  it('keeps HTTP/1.1 alive unless Connection: close; HTTP/1.0 only with Connection: keep-alive', () => {
    expect(parse('GET', 'HTTP/1.1 200 OK', 'content-length: 0').keepAlive).toBe(true)
    expect(parse('GET', 'HTTP/1.1 200 OK', 'Connection: close', 'content-length: 0').keepAlive).toBe(false)
    expect(parse('GET', 'HTTP/1.1 200 OK', 'CONNECTION:  Close ', 'content-length: 0').keepAlive).toBe(false)
    expect(parse('GET', 'HTTP/1.1 200 OK', 'connection: keep-alive', 'content-length: 0').keepAlive).toBe(
      true,
    )
    expect(parse('GET', 'HTTP/1.0 200 OK', 'content-length: 0').keepAlive).toBe(false)
    expect(parse('GET', 'HTTP/1.0 200 OK', 'Connection: Keep-Alive', 'content-length: 0').keepAlive).toBe(
      true,
    )
    expect(
      parse('GET', 'HTTP/1.0 200 OK', 'connection: keep-alive, close', 'content-length: 0').keepAlive,
    ).toBe(false)
  })

  it('frames by Content-Length (case-insensitive name, spaces trimmed, first occurrence wins)', () => {
    const r = parse('GET', 'HTTP/1.1 200 OK', 'Content-Length:  42 ')
    expect(r.framing).toBe('length')
    expect(r.length).toBe(42)
    expect(parse('GET', 'HTTP/1.1 200 OK', 'CONTENT-LENGTH: 7').length).toBe(7)
    expect(parse('GET', 'HTTP/1.1 200 OK', 'content-length: 0').length).toBe(0)
    expect(parse('GET', 'HTTP/1.1 200 OK', 'content-length: 5', 'content-length: 9').length).toBe(5)
  })

  it('frames chunked bodies (chunked wins over Content-Length)', () => {
    const r = parse('GET', 'HTTP/1.1 200 OK', 'Transfer-Encoding: chunked')
    expect(r.framing).toBe('chunked')
    expect(r.keepAlive).toBe(true)
    expect(
      parse('GET', 'HTTP/1.1 200 OK', 'content-length: 10', 'transfer-encoding: gzip, Chunked').framing,
    ).toBe('chunked')
    // another transfer coding alone is not chunked
    expect(parse('GET', 'HTTP/1.1 200 OK', 'transfer-encoding: gzip', 'content-length: 3').framing).toBe(
      'length',
    )
  })

  it('frames a body without length or chunking by connection close, which is never kept alive', () => {
    const r = parse('GET', 'HTTP/1.1 200 OK', 'content-type: text/plain')
    expect(r.framing).toBe('close')
    expect(r.keepAlive).toBe(false)
    expect(r.length).toBe(0)
    expect(parse('GET', 'HTTP/1.0 500 Oops', 'connection: keep-alive').framing).toBe('close')
    expect(parse('GET', 'HTTP/1.0 500 Oops', 'connection: keep-alive').keepAlive).toBe(false)
  })

  it('gives HEAD answers, 204, 304 and 1xx a zero-length body whatever the headers say', () => {
    for (const [method, line, extra] of [
      ['HEAD', 'HTTP/1.1 200 OK', 'content-length: 1234'],
      ['HEAD', 'HTTP/1.1 200 OK', 'transfer-encoding: chunked'],
      ['HEAD', 'HTTP/1.1 200 OK', 'x-nothing: 1'],
      ['GET', 'HTTP/1.1 204 No Content', 'x-nothing: 1'],
      ['GET', 'HTTP/1.1 304 Not Modified', 'content-length: 50'],
      ['GET', 'HTTP/1.1 100 Continue', 'x-nothing: 1'],
    ] as const) {
      const r = parse(method, line, extra)
      expect({ line, method, framing: r.framing, length: r.length, keepAlive: r.keepAlive }).toEqual({
        line,
        method,
        framing: 'length',
        length: 0,
        keepAlive: true,
      })
    }
  })

  it('throws UND_ERR_SOCKET on a malformed status line', () => {
    for (const line of [
      'HTTP/1.1 20 OK',
      'HTTP/1.1 2x0 OK',
      'HTTP/1.1 099 Low',
      'HTTP/1.2 200 OK',
      'HTTP/2.0 200 OK',
      'http/1.1 200 OK',
      'HTTP/1.1  200 OK',
      'ICY 200 OK xxxxxx',
      'HTTP/1.1',
      'HTTP/1.1 2000 OK',
      'HTTP/1.1 200OK',
    ]) {
      const err = thrown(() => parse('GET', line, 'content-length: 0'))
      expect({ line, code: (err as { code?: string }).code }).toEqual({ line, code: 'UND_ERR_SOCKET' })
      expect((err as Error).message).toMatch(/status line/)
    }
    // too short to hold a status line at all
    expect(thrown(() => parseResponseHead(Buffer.from('HTTP/1.1 2\r\n\r\n'), 10, 'GET'))).toMatchObject({
      code: 'UND_ERR_SOCKET',
    })
  })

  it('throws UND_ERR_SOCKET on a malformed Content-Length', () => {
    // 16 MiB + 1 and 99,999,999 are over the body cap
    for (const v of ['', 'abc', '12a', '-1', '1.5', '1 2', '0x10', '+5', '16777217', '99999999']) {
      const err = thrown(() => parse('GET', 'HTTP/1.1 200 OK', `content-length: ${v}`))
      expect({ v, code: (err as { code?: string }).code }).toEqual({ v, code: 'UND_ERR_SOCKET' })
      expect((err as Error).message).toMatch(/Content-Length/)
    }
  })

  it('looks only at the head up to `end` for framing headers', () => {
    // a "content-length" in the body bytes after the head is not a header
    const h = head('HTTP/1.1 200 OK', 'x-a: 1')
    const buf = Buffer.concat([h.buf, Buffer.from('content-length: 5\r\n\r\n')])
    const r = parseResponseHead(buf, h.end, 'GET')
    expect(r.framing).toBe('close')
  })
})

describe('findHeader', () => {
  const h = head(
    'HTTP/1.1 200 OK',
    'Content-Type: text/plain',
    'X-Backend:   b1  ',
    'x-backend: b2',
    'X-Empty:',
    'X-Tab:\tv\t',
  )

  it('finds a header by case-insensitive name, first occurrence, surrounding whitespace trimmed', () => {
    expect(findHeader(h.buf, h.end, headerName('x-backend'))).toBe('b1')
    expect(findHeader(h.buf, h.end, headerName('X-BACKEND'))).toBe('b1')
    expect(findHeader(h.buf, h.end, headerName('content-type'))).toBe('text/plain')
    expect(findHeader(h.buf, h.end, headerName('x-tab'))).toBe('v')
    expect(findHeader(h.buf, h.end, headerName('x-empty'))).toBe('')
  })

  it('returns undefined for an absent header, a prefix of a name, or a name in the status line', () => {
    expect(findHeader(h.buf, h.end, headerName('x-missing'))).toBeUndefined()
    expect(findHeader(h.buf, h.end, headerName('x-back'))).toBeUndefined()
    expect(findHeader(h.buf, h.end, headerName('x-backend-2'))).toBeUndefined()
    const s = head('HTTP/1.1 200 x-backend: fake', 'x-other: 1')
    expect(findHeader(s.buf, s.end, headerName('x-backend'))).toBeUndefined()
    const none = head('HTTP/1.1 204')
    expect(findHeader(none.buf, none.end, headerName('x-backend'))).toBeUndefined()
  })

  it('finds the last header line of the head and nothing past `end`', () => {
    const last = head('HTTP/1.1 200 OK', 'a: 1', 'X-Last: z')
    expect(findHeader(last.buf, last.end, headerName('x-last'))).toBe('z')
    const withBody = Buffer.concat([last.buf, Buffer.from('x-body: no\r\n\r\n')])
    expect(findHeader(withBody, last.end, headerName('x-body'))).toBeUndefined()
  })
})

describe('requestBytes', () => {
  it('writes the request line, host and a flat [name, value, ...] header list, no body', () => {
    const b = requestBytes('GET', 'example.test:8080', '/v3/auth/tokens?nocatalog', [
      'x-auth-token',
      'abc',
      'x-subject-token',
      'def',
    ])
    expect(b.toString('latin1')).toBe(
      'GET /v3/auth/tokens?nocatalog HTTP/1.1\r\nhost: example.test:8080\r\nx-auth-token: abc\r\nx-subject-token: def\r\n\r\n',
    )
  })

  it('writes object headers in order and a body with its length in bytes', () => {
    const b = requestBytes(
      'POST',
      'h:1',
      '/p',
      { 'content-type': 'application/json', 'x-a': '1' },
      '{"x":"é"}',
    )
    expect(b.toString('utf8')).toBe(
      'POST /p HTTP/1.1\r\nhost: h:1\r\ncontent-type: application/json\r\nx-a: 1\r\ncontent-length: 10\r\n\r\n{"x":"é"}',
    )
    // an empty body still gets its length
    expect(requestBytes('PUT', 'h:1', '/', {}, '').toString()).toBe(
      'PUT / HTTP/1.1\r\nhost: h:1\r\ncontent-length: 0\r\n\r\n',
    )
  })

  it('throws a RangeError for a line break in a header value or name', () => {
    expect(() => requestBytes('GET', 'h:1', '/', ['x-auth-token', 'a\r\nx-evil: 1'])).toThrow(RangeError)
    expect(() => requestBytes('GET', 'h:1', '/', { 'x-a': 'a\nb' })).toThrow(/line break/)
    expect(() => requestBytes('GET', 'h:1', '/', { 'x-a': 'a\rb' })).toThrow(RangeError)
    expect(() => requestBytes('GET', 'h:1', '/', ['x-a\r\nx-evil', '1'])).toThrow(RangeError)
  })

  it('builds the Host header value with IPv6 literals in brackets', () => {
    expect(hostHeader('127.0.0.1', 5000)).toBe('127.0.0.1:5000')
    expect(hostHeader('::1', 80)).toBe('[::1]:80')
  })
})

describe('dechunk', () => {
  const b = (s: string) => Buffer.from(s, 'latin1')

  it('decodes a complete chunked body and returns the index just past it', () => {
    const prefix = 'HEAD-BYTES'
    const body = '4\r\n{"a"\r\nA;ext=1\r\n:123456789\r\n0\r\n\r\n'
    const r = dechunk(b(`${prefix}${body}NEXT`), prefix.length)
    expect(r?.body.toString()).toBe('{"a":123456789')
    expect(r?.end).toBe(prefix.length + body.length)
    const empty = dechunk(b('0\r\n\r\n'), 0)
    expect(empty?.body.length).toBe(0)
    expect(empty?.end).toBe(5)
  })

  it('returns undefined while incomplete, at every cut of a complete body', () => {
    const full = '4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n'
    for (let cut = 0; cut < full.length; cut++) {
      expect({ cut, r: dechunk(b(full.slice(0, cut)), 0) }).toEqual({ cut, r: undefined })
    }
    expect(dechunk(b(full), 0)?.body.toString()).toBe('abcdefg')
  })

  it('skips trailers up to the blank line, and waits for it', () => {
    const body = '3\r\nabc\r\n0\r\nx-trailer: 1\r\nx-other: 2\r\n\r\n'
    const r = dechunk(b(`${body}rest`), 0)
    expect(r?.body.toString()).toBe('abc')
    expect(r?.end).toBe(body.length)
    expect(dechunk(b('3\r\nabc\r\n0\r\nx-trailer: 1\r\n'), 0)).toBeUndefined()
    expect(dechunk(b('3\r\nabc\r\n0\r\nx-trailer: 1'), 0)).toBeUndefined()
  })

  it('throws UND_ERR_SOCKET on a bad chunk size or a chunk not followed by CRLF', () => {
    expect(thrown(() => dechunk(b('zz\r\nabc\r\n0\r\n\r\n'), 0))).toMatchObject({ code: 'UND_ERR_SOCKET' })
    expect(thrown(() => dechunk(b('2\r\nabc\r\n0\r\n\r\n'), 0))).toMatchObject({ code: 'UND_ERR_SOCKET' })
  })
})

describe('sweepIntervalMs', () => {
  it('is a quarter of the timeout, between 10 ms and 1 s', () => {
    expect(sweepIntervalMs(200)).toBe(50)
    expect(sweepIntervalMs(40)).toBe(10)
    expect(sweepIntervalMs(1)).toBe(10)
    expect(sweepIntervalMs(60_000)).toBe(1000)
  })
})
