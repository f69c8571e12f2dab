import { readFileSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { IdtoolError } from '../errors.js'
import { LAB_HOST, LAB_PORTS, type LabPaths } from './layout.js'
import { httpOk, httpsOk, ownedPid, portOpen, run, stopPid, waitFor } from './proc.js'

export const HAPROXY_URL = `http://${LAB_HOST}:${LAB_PORTS.keystone}`
export const CALIBRATION_URL = `http://${LAB_HOST}:${LAB_PORTS.calibration}/`
export const STATS_URL = `http://${LAB_HOST}:${LAB_PORTS.stats}/stats`
/** haproxy terminating TLS (lab CA) in front of the Keystone workers. */
export const HAPROXY_TLS_URL = `https://${LAB_HOST}:${LAB_PORTS.keystoneTls}`
/** haproxy terminating TLS and requiring a client certificate signed by the lab CA. */
export const HAPROXY_MTLS_URL = `https://${LAB_HOST}:${LAB_PORTS.keystoneMtls}`
/** haproxy answering 200 by itself over TLS (calibration target for https load). */
export const CALIBRATION_TLS_URL = `https://${LAB_HOST}:${LAB_PORTS.calibrationTls}/`

/**
 * Opt-in: more addresses for the Keystone frontend, e.g. the host side of a test network of load machines
 * (`IDTOOL_LAB_HAPROXY_EXTRA_BIND=10.231.0.1 idtool lab up`). Requests through them are logged (source
 * address, method, path, status, SHA-1 of X-Subject-Token) into an in-memory ring that the admin socket
 * shows (readRequestLog). Unset: the lab listens on 127.0.0.1 only and logs nothing.
 */
export const EXTRA_BIND_ENV = 'IDTOOL_LAB_HAPROXY_EXTRA_BIND'

/** The extra listen addresses named by EXTRA_BIND_ENV (comma or space separated IPv4 addresses). */
export function extraBindFromEnv(env: Record<string, string | undefined> = process.env): string[] {
  const raw = env[EXTRA_BIND_ENV]?.trim()
  if (!raw) return []
  const addrs = raw.split(/[\s,]+/).filter(Boolean)
  for (const a of addrs) {
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(a)) {
      throw new IdtoolError(`${EXTRA_BIND_ENV}: not an IPv4 address: ${a}`, {
        hint: 'name the addresses haproxy should also listen on, e.g. 10.231.0.1',
      })
    }
  }
  return addrs
}

/** The ring the extra frontend logs into (one line per request: `SRC METHOD PATH STATUS {sha1(token)}`). */
const REQUEST_RING = 'requests'

function extraFrontend(extraBind: string[]): string {
  if (!extraBind.length) return ''
  return `
# opt-in (${EXTRA_BIND_ENV}): the Keystone frontend on more addresses, every request logged
ring ${REQUEST_RING}
    format raw
    maxlen 512
    size 8388608

frontend keystone_extra
${extraBind.map((a) => `    bind ${a}:${LAB_PORTS.keystone}`).join('\n')}
    log ring@${REQUEST_RING} local0
    http-request capture req.hdr(x-subject-token),sha1,hex len 40
    log-format "%ci %HM %HP %ST %hr"
    http-request set-header X-Forwarded-Proto http
    default_backend keystone_workers
`
}

export function haproxyCfg(p: LabPaths, workers: number, extraBind: string[] = extraBindFromEnv()): string {
  const servers = Array.from(
    { length: workers },
    (_, k) => `    server ks${k + 1} ${LAB_HOST}:${LAB_PORTS.workerBase + k} check inter 2s`,
  ).join('\n')
  return `# written by idtool lab up
global
    maxconn 4096
    pidfile ${p.haproxyPid}
    stats socket ${p.haproxySock} mode 600 level admin
    ssl-default-bind-options ssl-min-ver TLSv1.2

defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    option http-server-close

frontend keystone_public
    bind ${LAB_HOST}:${LAB_PORTS.keystone}
    http-request set-header X-Forwarded-Proto http
    default_backend keystone_workers

# TLS with the lab CA's server certificate; Keystone builds its links from X-Forwarded-Proto
frontend keystone_tls
    bind ${LAB_HOST}:${LAB_PORTS.keystoneTls} ssl crt ${p.serverPem}
    http-request set-header X-Forwarded-Proto https
    default_backend keystone_workers

# TLS that requires a client certificate signed by the lab CA
frontend keystone_mtls
    bind ${LAB_HOST}:${LAB_PORTS.keystoneMtls} ssl crt ${p.serverPem} ca-file ${p.caCert} verify required
    http-request set-header X-Forwarded-Proto https
    default_backend keystone_workers

backend keystone_workers
    balance roundrobin
    http-response set-header X-Backend %s
${servers}

# calibration target: haproxy answers by itself, no backend
frontend static_calib
    bind ${LAB_HOST}:${LAB_PORTS.calibration}
    http-request return status 200 content-type text/plain string "ok\\n"

frontend static_calib_tls
    bind ${LAB_HOST}:${LAB_PORTS.calibrationTls} ssl crt ${p.serverPem}
    http-request return status 200 content-type text/plain string "ok\\n"

listen stats
    bind ${LAB_HOST}:${LAB_PORTS.stats}
    stats enable
    stats uri /stats
${extraFrontend(extraBind)}`
}

export async function startHaproxy(p: LabPaths): Promise<void> {
  await run('/usr/sbin/haproxy', ['-D', '-f', p.haproxyCfg])
  await waitFor('haproxy', () => portOpen(LAB_HOST, LAB_PORTS.keystone), 10_000, `see ${p.haproxyCfg}`)
}

/** One request through an extra address (EXTRA_BIND_ENV), as the lab's haproxy logged it. */
export interface LoggedRequest {
  source: string
  method: string
  path: string
  status: number
  /** SHA-1 (hex, lower case) of the X-Subject-Token header; empty without one */
  subjectTokenSha1: string
}

/** Parse the request ring's lines (`SRC METHOD PATH STATUS {SHA1}`); other lines are skipped. */
export function parseRequestLog(text: string): LoggedRequest[] {
  const out: LoggedRequest[] = []
  for (const line of text.split('\n')) {
    const m = /^(\S+) (\S+) (\S+) (\d+) \{([0-9A-Fa-f]*)\}$/.exec(line.trim())
    if (!m) continue
    const [, source = '', method = '', path = '', status = '', sha1 = ''] = m
    out.push({ source, method, path, status: Number(status), subjectTokenSha1: sha1.toLowerCase() })
  }
  return out
}

/** The requests haproxy logged through the extra addresses so far (its admin socket, `show events`). */
export function readRequestLog(p: LabPaths, timeoutMs = 5_000): Promise<LoggedRequest[]> {
  return new Promise((resolve, reject) => {
    const sock = connect(p.haproxySock)
    const chunks: Buffer[] = []
    const timer = setTimeout(
      () => sock.destroy(new Error(`haproxy admin socket: no answer in ${timeoutMs} ms`)),
      timeoutMs,
    )
    sock.on('connect', () => sock.end(`show events ${REQUEST_RING}\n`))
    sock.on('data', (c) => chunks.push(c))
    sock.on('error', (err) => {
      clearTimeout(timer)
      reject(
        new IdtoolError(`cannot read haproxy's request log: ${err.message}`, {
          hint: `see ${p.haproxySock}`,
        }),
      )
    })
    sock.on('close', () => {
      clearTimeout(timer)
      resolve(parseRequestLog(Buffer.concat(chunks).toString('utf8')))
    })
  })
}

/** Whether haproxy.cfg on disk is what this idtool would write (or that with extra addresses, see below). */
export function haproxyCfgCurrent(p: LabPaths, workers: number): boolean {
  let onDisk: string
  try {
    onDisk = readFileSync(p.haproxyCfg, 'utf8')
  } catch {
    return false
  }
  const extra = extraBindFromEnv()
  if (onDisk === haproxyCfg(p, workers, extra)) return true
  // EXTRA_BIND_ENV unset says nothing about extra addresses: a lab opened to some stays open (a `lab up`
  // elsewhere must not cut a multi-machine run off); setting it changes them, restartHaproxy without it closes them
  const opened = [...onDisk.matchAll(new RegExp(`^    bind (\\S+):${LAB_PORTS.keystone}$`, 'gm'))]
    .map((m) => m[1] ?? '')
    .filter((a) => a !== LAB_HOST)
  return extra.length === 0 && opened.length > 0 && onDisk === haproxyCfg(p, workers, opened)
}

/** Whether haproxy's three TLS frontends answer, with the lab CA (and the client certificate on 5444). */
export async function haproxyTlsOk(p: LabPaths): Promise<boolean> {
  const oks = await Promise.all([
    httpsOk(`${HAPROXY_TLS_URL}/v3`, { ca: p.caCert }),
    httpsOk(`${HAPROXY_MTLS_URL}/v3`, { ca: p.caCert, cert: p.clientCert, key: p.clientKey }),
    httpsOk(CALIBRATION_TLS_URL, { ca: p.caCert }),
  ])
  return oks.every(Boolean)
}

/** (Re)start haproxy with the current config and wait for the plain and TLS frontends. */
export async function restartHaproxy(p: LabPaths, workers: number, log: (m: string) => void): Promise<void> {
  const old = ownedPid(p.haproxyPid, p.dir)
  if (old && !(await stopPid(old))) {
    throw new IdtoolError(`could not stop haproxy (pid ${old})`, { hint: 'stop it by hand with kill -9.' })
  }
  writeFileSync(p.haproxyCfg, haproxyCfg(p, workers))
  const extra = extraBindFromEnv().map((a) => `, http://${a}:${LAB_PORTS.keystone} (requests logged)`)
  log(
    `haproxy: starting on ${HAPROXY_URL}, ${HAPROXY_TLS_URL}, ${HAPROXY_MTLS_URL} (client certificates)${extra.join('')}`,
  )
  await startHaproxy(p)
  await waitFor('keystone through haproxy', () => httpOk(`${HAPROXY_URL}/v3`), 20_000, `see ${p.haproxyCfg}`)
  await waitFor('haproxy TLS frontends', () => haproxyTlsOk(p), 20_000, `see ${p.haproxyCfg} and ${p.tlsDir}`)
}
