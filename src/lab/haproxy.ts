import { readFileSync, writeFileSync } from 'node:fs'
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

export function haproxyCfg(p: LabPaths, workers: number): string {
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
`
}

export async function startHaproxy(p: LabPaths): Promise<void> {
  await run('/usr/sbin/haproxy', ['-D', '-f', p.haproxyCfg])
  await waitFor('haproxy', () => portOpen(LAB_HOST, LAB_PORTS.keystone), 10_000, `see ${p.haproxyCfg}`)
}

/** Whether haproxy.cfg on disk is what this idtool would write. */
export function haproxyCfgCurrent(p: LabPaths, workers: number): boolean {
  try {
    return readFileSync(p.haproxyCfg, 'utf8') === haproxyCfg(p, workers)
  } catch {
    return false
  }
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
  log(`haproxy: starting on ${HAPROXY_URL}, ${HAPROXY_TLS_URL}, ${HAPROXY_MTLS_URL} (client certificates)`)
  await startHaproxy(p)
  await waitFor('keystone through haproxy', () => httpOk(`${HAPROXY_URL}/v3`), 20_000, `see ${p.haproxyCfg}`)
  await waitFor('haproxy TLS frontends', () => haproxyTlsOk(p), 20_000, `see ${p.haproxyCfg} and ${p.tlsDir}`)
}
