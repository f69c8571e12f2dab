import { LAB_HOST, LAB_PORTS, type LabPaths } from './layout.js'
import { portOpen, run, waitFor } from './proc.js'

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
