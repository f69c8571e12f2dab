import type { LabStatus, WorkerStatus } from '../results/types.js'
import { isApache, keystoneView, labServer, wsgiDaemonPids } from './apache.js'
import { labAuthUrl, labCloudNames } from './clouds.js'
import {
  CALIBRATION_TLS_URL,
  CALIBRATION_URL,
  HAPROXY_MTLS_URL,
  HAPROXY_TLS_URL,
  HAPROXY_URL,
  haproxyTlsOk,
  STATS_URL,
} from './haproxy.js'
import { KEYSTONE_URL, workerUrl } from './keystone.js'
import {
  LAB_APPCRED_CLOUD,
  LAB_BASE_DN,
  LAB_BIND_DN,
  LAB_CLOUD,
  LAB_HOST,
  LAB_PORTS,
  LAB_USERS_DN,
  type LabPaths,
  labPaths,
} from './layout.js'
import { childPids, httpOk, ownedPid, portOpen } from './proc.js'
import { LDAP_URL } from './slapd.js'
import { readState } from './state.js'

/** The PIDs of the lab's processes, from their pidfiles and checked against their command line. */
export function labPids(p: LabPaths, workers: number) {
  return {
    slapd: ownedPid(p.slapdPid, p.dir),
    haproxy: ownedPid(p.haproxyPid, p.dir),
    mariadb: ownedPid(p.mariadbPid, p.dir),
    workers: Array.from({ length: workers }, (_, k) => ownedPid(p.workerPid(k + 1), p.dir)),
  }
}

/** The process that serves a worker's requests: uwsgi's worker, or the (first) mod_wsgi daemon under Apache. */
function servingPid(pid: number): number | undefined {
  return isApache(pid) ? wsgiDaemonPids(pid)[0] : childPids(pid)[0]
}

/**
 * The processes that serve the requests of the lab's Keystone workers (the uwsgi workers or mod_wsgi daemons,
 * not their masters), by worker name: ks1, ks2... `pid` is null for a worker that is not running. An empty
 * list: no lab.
 */
export function labServingPids(dir: string): Array<{ name: string; pid: number | null }> {
  const p = labPaths(dir)
  const n = readState(p)?.spec?.workers ?? 0
  return labPids(p, n).workers.map((pid, k) => ({
    name: `ks${k + 1}`,
    pid: pid ? (servingPid(pid) ?? null) : null,
  }))
}

/** The live state of the lab in `dir`: every component with its URL, PID and health. */
export async function labStatus(dir: string): Promise<LabStatus> {
  const p = labPaths(dir)
  const state = readState(p)
  const spec = state?.spec ?? null
  const n = spec?.workers ?? 0
  const ps = labPids(p, n)
  const workers: WorkerStatus[] = await Promise.all(
    ps.workers.map(async (pid, k) => {
      const url = workerUrl(k + 1)
      const healthy = pid !== undefined && (await httpOk(`${url}/v3`))
      return {
        name: `ks${k + 1}`,
        url,
        pid: pid ?? null,
        workerPid: pid ? (servingPid(pid) ?? null) : null,
        healthy,
      }
    }),
  )
  const haproxyHealthy = ps.haproxy !== undefined && (await httpOk(`${HAPROXY_URL}/v3`))
  const tlsHealthy = ps.haproxy !== undefined && (await haproxyTlsOk(p))
  const tlsMode = spec?.tls ?? 'off'
  const ldapHealthy = ps.slapd !== undefined && (await portOpen(LAB_HOST, LAB_PORTS.ldap))
  const mariadbOk = spec?.db !== 'mariadb' || ps.mariadb !== undefined
  const healthy =
    Boolean(state) &&
    workers.length > 0 &&
    workers.every((w) => w.healthy) &&
    haproxyHealthy &&
    tlsHealthy &&
    ldapHealthy &&
    mariadbOk
  return {
    healthy,
    dir,
    exists: Boolean(state),
    spec,
    cloud: LAB_CLOUD,
    cloudsYaml: p.cloudsYaml,
    secureYaml: p.secureYaml,
    clouds: labCloudNames(Boolean(state?.appCred)),
    tls: {
      mode: tlsMode,
      cloudAuthUrl: labAuthUrl(tlsMode),
      url: HAPROXY_TLS_URL,
      mtlsUrl: HAPROXY_MTLS_URL,
      calibrationUrl: CALIBRATION_TLS_URL,
      caFile: p.caCert,
      clientCertFile: p.clientCert,
      clientKeyFile: p.clientKey,
      healthy: tlsHealthy,
    },
    appCredential: state?.appCred
      ? { name: state.appCred.name, id: state.appCred.id, cloud: LAB_APPCRED_CLOUD, file: p.appCredFile }
      : null,
    keystone: {
      url: KEYSTONE_URL,
      adminPasswordFile: p.adminPasswordFile,
      workers,
      db: spec?.db ?? null,
      cache: spec?.cache ?? null,
      server: spec ? labServer(spec) : null,
    },
    haproxy: {
      url: HAPROXY_URL,
      pid: ps.haproxy ?? null,
      healthy: haproxyHealthy,
      statsUrl: STATS_URL,
      calibrationUrl: CALIBRATION_URL,
    },
    ldap: {
      url: LDAP_URL,
      bindDn: LAB_BIND_DN,
      baseDn: LAB_BASE_DN,
      usersDn: LAB_USERS_DN,
      users: spec?.ldapUsers ?? null,
      passwordFile: p.ldapBindPasswordFile,
      pid: ps.slapd ?? null,
      healthy: ldapHealthy,
    },
    mariadb:
      spec?.db === 'mariadb' ? { pid: ps.mariadb ?? null, socket: keystoneView(p, spec).mariadbSock } : null,
    ldapDomain: state?.ldapDomain ?? null,
  }
}
