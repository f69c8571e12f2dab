import { type AddressInfo, createServer, type Server, type Socket } from 'node:net'

/** One request as the server read it, and which of the server's connections (1-based) carried it. */
export interface SeenRequest {
  conn: number
  text: string
}

/**
 * A raw TCP server on 127.0.0.1, port 0, that calls `reply` for each complete request (head plus a
 * Content-Length body), so a client's framing, reuse and failure handling can be driven byte by byte.
 * `done()` marks the request answered, for the in-flight high-water mark.
 */
export async function rawServer(reply: (sock: Socket, req: string, n: number, done: () => void) => void) {
  const sockets = new Set<Socket>()
  const seen: SeenRequest[] = []
  let connections = 0
  let inFlight = 0
  let maxInFlight = 0
  const server: Server = createServer((sock) => {
    const conn = ++connections
    sockets.add(sock)
    sock.setNoDelay(true)
    sock.on('close', () => sockets.delete(sock))
    sock.on('error', () => {})
    let buf = ''
    sock.on('data', (d) => {
      buf += d.toString('latin1')
      for (;;) {
        const end = buf.indexOf('\r\n\r\n')
        if (end < 0) return
        const len = Number(/content-length: (\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0)
        if (buf.length < end + 4 + len) return
        const text = buf.slice(0, end + 4 + len)
        buf = buf.slice(end + 4 + len)
        seen.push({ conn, text })
        inFlight++
        maxInFlight = Math.max(maxInFlight, inFlight)
        let answered = false
        reply(sock, text, seen.length, () => {
          if (!answered) inFlight--
          answered = true
        })
      }
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    seen,
    get connections() {
      return connections
    },
    get maxInFlight() {
      return maxInFlight
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy()
        server.close(() => r())
      }),
  }
}

export type RawServer = Awaited<ReturnType<typeof rawServer>>
