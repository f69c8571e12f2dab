import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'undici'
import { IdtoolError } from '../errors.js'
import { ExitCode } from '../exit-codes.js'
import { KeystoneClient } from '../keystone/client.js'
import { makeDirs } from '../results/output-file.js'
import { ensureLabAppCred } from './appcred.js'
import { labAuthUrl, labCloudNames, writeLabClouds } from './clouds.js'
import {
  CALIBRATION_TLS_URL,
  CALIBRATION_URL,
  HAPROXY_MTLS_URL,
  HAPROXY_TLS_URL,
  HAPROXY_URL,
  haproxyCfg,
  STATS_URL,
  startHaproxy,
} from './haproxy.js'
import { aptInstall, BASE_REQUIREMENTS, MARIADB_REQUIREMENTS, missingPackages } from './install.js'
import {
  bootstrapKeystone,
  KEYSTONE_URL,
  keystoneBootstrapped,
  keystoneConf,
  ldapDomainConf,
  startWorker,
  workerUrl,
  writeFileSecret,
} from './keystone.js'
import {
  LAB_APPCRED_CLOUD,
  LAB_APPCRED_NAME,
  LAB_BASE_DN,
  LAB_BIND_DN,
  LAB_CLOUD,
  LAB_HOST,
  LAB_LDAP_DOMAIN,
  LAB_PORTS,
  LAB_USERS_DN,
  type LabPaths,
  type LabSpec,
  type LabTlsMode,
  labPaths,
} from './layout.js'
import { createKeystoneDatabase, startMariadb } from './mariadb.js'
import { childPids, ownedPid, portOpen, stopPid, tightenPidFile, waitFor } from './proc.js'
import { buildDirectory, directoryBuilt, LDAP_URL, startSlapd } from './slapd.js'
import { ensureLabTls } from './tls.js'

export interface LabState {
  version: 1
  spec: LabSpec
  ldapDomain?: { name: string; id: string }
  /** The application credential of cloud idtool-lab-appcred (its secret is in secrets/, never here). */
  appCred?: { id: string; name: string }
  createdAt: string
  updatedAt: string
}

export interface WorkerStatus {
  name: string
  url: string
  /** uwsgi master PID (what `lab down` stops). */
  pid: number | null
  /** The PID of the process serving requests (the one whose memory grows). */
  workerPid: number | null
  healthy: boolean
}

/** `idtool lab status --json`: no secrets, only the files that hold them. */
export interface LabStatus {
  healthy: boolean
  dir: string
  exists: boolean
  spec: LabSpec | null
  cloud: string
  cloudsYaml: string
  /** The secrets of clouds.yaml (0600): OS_CLIENT_SECURE_FILE for the openstack client. */
  secureYaml: string
  /** Every cloud in clouds.yaml. */
  clouds: string[]
  /** haproxy's TLS frontends (always served) and which one the cloud idtool-lab uses. */
  tls: {
    /** `lab up` (off), `lab up --tls` (tls) or `lab up --tls-client-certs` (client-certs) */
    mode: LabTlsMode
    /** the auth_url of the cloud idtool-lab */
    cloudAuthUrl: string
    url: string
    mtlsUrl: string
    calibrationUrl: string
    caFile: string
    clientCertFile: string
    clientKeyFile: string
    /** GET /v3 answers 200 on the TLS and client-certificate frontends, and the TLS calibration frontend 200 */
    healthy: boolean
  }
  /** The lab admin's application credential (cloud idtool-lab-appcred); the secret stays in `file`. */
  appCredential: { name: string; id: string; cloud: string; file: string } | null
  keystone: {
    url: string
    adminPasswordFile: string
    workers: WorkerStatus[]
    db: string | null
    cache: boolean | null
  }
  haproxy: { url: string; pid: number | null; healthy: boolean; statsUrl: string; calibrationUrl: string }
  ldap: {
    url: string
    bindDn: string
    baseDn: string
    usersDn: string
    users: number | null
    passwordFile: string
    pid: number | null
    healthy: boolean
  }
  mariadb: { pid: number | null; socket: string } | null
  ldapDomain: { name: string; id: string } | null
}

export interface LabUpOptions {
  dir: string
  spec: LabSpec
  install: boolean
  log: (message: string) => void
}

function readState(p: LabPaths): LabState | undefined {
  try {
    return JSON.parse(readFileSync(p.state, 'utf8')) as LabState
  } catch {
    return undefined
  }
}

function writeState(p: LabPaths, state: LabState): void {
  writeFileSync(p.state, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 })
}

/** Read a secret file, creating it with a random value (0600) when missing. */
function secret(path: string): string {
  if (existsSync(path)) return readFileSync(path, 'utf8').trim()
  const value = randomBytes(18).toString('base64url')
  writeFileSecret(path, `${value}\n`)
  return value
}

/** GET over TLS trusting only `ca` (and presenting a client certificate when given): 200 or not. */
async function httpsOk(url: string, files: { ca: string; cert?: string; key?: string }): Promise<boolean> {
  let agent: Agent | undefined
  try {
    agent = new Agent({
      connect: {
        ca: readFileSync(files.ca, 'utf8'),
        cert: files.cert ? readFileSync(files.cert, 'utf8') : undefined,
        key: files.key ? readFileSync(files.key, 'utf8') : undefined,
      },
    })
    const res = await request(url, { dispatcher: agent, headersTimeout: 3000, bodyTimeout: 3000 })
    await res.body.dump()
    return res.statusCode === 200
  } catch {
    return false
  } finally {
    await agent?.close()
  }
}

/** Whether haproxy's three TLS frontends answer, with the lab CA (and the client certificate on 5444). */
async function tlsFrontendsOk(p: LabPaths): Promise<boolean> {
  const oks = await Promise.all([
    httpsOk(`${HAPROXY_TLS_URL}/v3`, { ca: p.caCert }),
    httpsOk(`${HAPROXY_MTLS_URL}/v3`, { ca: p.caCert, cert: p.clientCert, key: p.clientKey }),
    httpsOk(CALIBRATION_TLS_URL, { ca: p.caCert }),
  ])
  return oks.every(Boolean)
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await request(url, { headersTimeout: 3000, bodyTimeout: 3000 })
    await res.body.dump()
    return res.statusCode === 200
  } catch {
    return false
  }
}

function pids(p: LabPaths, workers: number) {
  return {
    slapd: ownedPid(p.slapdPid, p.dir),
    haproxy: ownedPid(p.haproxyPid, p.dir),
    mariadb: ownedPid(p.mariadbPid, p.dir),
    workers: Array.from({ length: workers }, (_, k) => ownedPid(p.workerPid(k + 1), p.dir)),
  }
}

/** The live state of the lab in `dir`: every component with its URL, PID and health. */
export async function labStatus(dir: string): Promise<LabStatus> {
  const p = labPaths(dir)
  const state = readState(p)
  const spec = state?.spec ?? null
  const n = spec?.workers ?? 0
  const ps = pids(p, n)
  const workers: WorkerStatus[] = await Promise.all(
    ps.workers.map(async (pid, k) => {
      const url = workerUrl(k + 1)
      const healthy = pid !== undefined && (await httpOk(`${url}/v3`))
      return {
        name: `ks${k + 1}`,
        url,
        pid: pid ?? null,
        workerPid: pid ? (childPids(pid)[0] ?? null) : null,
        healthy,
      }
    }),
  )
  const haproxyHealthy = ps.haproxy !== undefined && (await httpOk(`${HAPROXY_URL}/v3`))
  const tlsHealthy = ps.haproxy !== undefined && (await tlsFrontendsOk(p))
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
    mariadb: spec?.db === 'mariadb' ? { pid: ps.mariadb ?? null, socket: p.mariadbSock } : null,
    ldapDomain: state?.ldapDomain ?? null,
  }
}

export interface LabDownResult {
  stopped: Array<{ name: string; pid: number }>
  removed: boolean
  dir: string
}

/** Stop exactly the processes this lab started (by pidfile, checked against their command line). */
export async function labDown(dir: string, opts: { purge?: boolean } = {}): Promise<LabDownResult> {
  const p = labPaths(dir)
  const state = readState(p)
  // look for more workers than the spec says, in case a previous spec had more
  const ps = pids(p, Math.max(state?.spec.workers ?? 0, 16))
  const targets: Array<{ name: string; pid: number }> = []
  if (ps.haproxy) targets.push({ name: 'haproxy', pid: ps.haproxy })
  ps.workers.forEach((pid, k) => {
    if (pid) targets.push({ name: `ks${k + 1}`, pid })
  })
  if (ps.slapd) targets.push({ name: 'slapd', pid: ps.slapd })
  if (ps.mariadb) targets.push({ name: 'mariadb', pid: ps.mariadb })
  const results = await Promise.all(targets.map(async (t) => ({ ...t, gone: await stopPid(t.pid) })))
  const stuck = results.filter((r) => !r.gone)
  if (stuck.length) {
    throw new IdtoolError(`could not stop ${stuck.map((s) => `${s.name} (pid ${s.pid})`).join(', ')}`, {
      hint: 'stop them by hand with kill -9.',
    })
  }
  let removed = false
  if (opts.purge && existsSync(p.state)) {
    rmSync(dir, { recursive: true, force: true })
    removed = true
  } else if (opts.purge && existsSync(dir)) {
    throw new IdtoolError(`${dir} does not look like an idtool lab (no state.json); not removing it`, {
      exitCode: ExitCode.Usage,
      hint: 'check --dir.',
    })
  }
  return { stopped: results.map(({ name, pid }) => ({ name, pid })), removed, dir }
}

function sameSpec(a: LabSpec | undefined, b: LabSpec): boolean {
  return (
    Boolean(a) &&
    a!.workers === b.workers &&
    a!.cache === b.cache &&
    a!.db === b.db &&
    a!.ldapUsers === b.ldapUsers
  )
}

/** Whether keystone.conf on disk is what this idtool would write (an upgrade may change it). */
function keystoneConfCurrent(p: LabPaths, spec: LabSpec): boolean {
  try {
    const dbPassword = spec.db === 'mariadb' ? secret(p.dbPasswordFile) : undefined
    return readFileSync(p.keystoneConf, 'utf8') === keystoneConf(p, spec, dbPassword)
  } catch {
    return false
  }
}

/** Whether haproxy.cfg on disk is what this idtool would write. */
function haproxyCfgCurrent(p: LabPaths, spec: LabSpec): boolean {
  try {
    return readFileSync(p.haproxyCfg, 'utf8') === haproxyCfg(p, spec.workers)
  } catch {
    return false
  }
}

/**
 * Start the components of a lab that are down (or up but not answering), leaving the others running:
 * slapd, MariaDB, each Keystone worker, then haproxy (also for a new config or certificate, or when its
 * frontends still fail once the workers are back). Returns the names of what it restarted.
 */
async function restartWhatIsDown(
  p: LabPaths,
  spec: LabSpec,
  certsChanged: boolean,
  log: (m: string) => void,
): Promise<string[]> {
  const st = await labStatus(p.dir)
  const restarted: string[] = []
  const stop = async (name: string, pid: number | null) => {
    if (pid && !(await stopPid(pid))) throw new IdtoolError(`could not stop ${name} (pid ${pid})`)
  }
  if (!st.ldap.healthy) {
    log(`slapd: ${st.ldap.pid ? 'not answering: restarting it' : 'down: starting it'}`)
    await stop('slapd', st.ldap.pid)
    await startSlapd(p)
    restarted.push('slapd')
  }
  if (spec.db === 'mariadb' && st.mariadb?.pid == null) {
    log('mariadb: down: starting it')
    await startMariadb(p)
    restarted.push('mariadb')
  }
  const workers = st.keystone.workers.filter((w) => !w.healthy)
  for (const w of workers) {
    log(`keystone: worker ${w.name} ${w.pid ? 'not answering: restarting it' : 'down: starting it'}`)
    await stop(w.name, w.pid)
    await startWorker(p, Number(w.name.slice(2)))
  }
  await Promise.all(
    workers.map((w) =>
      waitFor(
        `keystone worker ${w.name}`,
        () => httpOk(`${w.url}/v3`),
        60_000,
        `see ${p.workerLog(Number(w.name.slice(2)))}`,
      ),
    ),
  )
  restarted.push(...workers.map((w) => w.name))
  // haproxy answers 503 while every worker is down: give its health checks (every 2 s) time to see them back
  const frontendsOk = async () => (await httpOk(`${HAPROXY_URL}/v3`)) && (await tlsFrontendsOk(p))
  let haproxyOk = st.haproxy.pid !== null && st.haproxy.healthy && st.tls.healthy
  if (!haproxyOk && st.haproxy.pid !== null && workers.length) {
    haproxyOk = await waitFor('haproxy', frontendsOk, 8_000, '').then(
      () => true,
      () => false,
    )
  }
  if (certsChanged || !haproxyCfgCurrent(p, spec) || !haproxyOk) {
    await restartHaproxy(p, spec, log)
    restarted.push('haproxy')
  }
  return restarted
}

/** (Re)start haproxy with the current config and wait for the plain and TLS frontends. */
async function restartHaproxy(p: LabPaths, spec: LabSpec, log: (m: string) => void): Promise<void> {
  const old = ownedPid(p.haproxyPid, p.dir)
  if (old && !(await stopPid(old))) {
    throw new IdtoolError(`could not stop haproxy (pid ${old})`, { hint: 'stop it by hand with kill -9.' })
  }
  writeFileSync(p.haproxyCfg, haproxyCfg(p, spec.workers))
  log(`haproxy: starting on ${HAPROXY_URL}, ${HAPROXY_TLS_URL}, ${HAPROXY_MTLS_URL} (client certificates)`)
  await startHaproxy(p)
  await waitFor('keystone through haproxy', () => httpOk(`${HAPROXY_URL}/v3`), 20_000, `see ${p.haproxyCfg}`)
  await waitFor(
    'haproxy TLS frontends',
    () => tlsFrontendsOk(p),
    20_000,
    `see ${p.haproxyCfg} and ${p.tlsDir}`,
  )
}

/**
 * The last steps of every `lab up`: the application credential (reused while it authenticates), clouds.yaml
 * and secure.yaml for the chosen frontend, and the state. Returns what changed.
 */
async function finishUp(
  p: LabPaths,
  spec: LabSpec,
  prev: LabState | undefined,
  ldapDomain: { name: string; id: string },
  adminPassword: string,
  log: (m: string) => void,
): Promise<string[]> {
  const changed: string[] = []
  const tls = spec.tls ?? 'off'
  const ac = await ensureLabAppCred({ authUrl: KEYSTONE_URL, adminPassword, file: p.appCredFile, log })
  if (ac.action === 'created') changed.push(`application credential ${ac.cred.id}`)
  for (const f of writeLabClouds(p, { adminPassword, appCred: ac.cred, tls })) changed.push(f)
  const next = {
    spec: { ...spec, tls },
    ldapDomain,
    appCred: { id: ac.cred.id, name: LAB_APPCRED_NAME },
  }
  const same =
    prev !== undefined &&
    JSON.stringify({ spec: prev.spec, ldapDomain: prev.ldapDomain, appCred: prev.appCred }) ===
      JSON.stringify(next)
  if (!same) {
    const now = new Date().toISOString()
    writeState(p, { version: 1, ...next, createdAt: prev?.createdAt ?? now, updatedAt: now })
  }
  if (prev && (prev.spec.tls ?? 'off') !== tls) {
    log(`clouds.yaml: ${LAB_CLOUD} now uses ${labAuthUrl(tls)}`)
  }
  return changed
}

export interface LabUpResult extends LabStatus {
  /** true when no component was (re)started */
  alreadyUp: boolean
  timingsMs: Record<string, number>
  /** What this run changed besides starting components: certificates, files, the application credential. */
  changed: string[]
  /**
   * The components this run restarted in a lab made with the same spec (the others kept running); absent
   * when the whole lab was (re)started.
   */
  restarted?: string[]
}

/**
 * Bring the lab up (idempotent): slapd with the directory, Keystone workers under uwsgi, haproxy in
 * front, an LDAP-backed Keystone domain, and a clouds.yaml. A lab with the same spec keeps what runs: only
 * the components that are down (or not answering) are started; a different spec restarts the components and
 * rebuilds only the data that changed.
 */
export async function labUp(opts: LabUpOptions): Promise<LabUpResult> {
  const { dir, spec, log } = opts
  const p = labPaths(dir)
  const timings: Record<string, number> = {}
  const t0 = Date.now()
  const lap = (name: string, since: number) => {
    timings[name] = Date.now() - since
  }

  const reqs = spec.db === 'mariadb' ? [...BASE_REQUIREMENTS, ...MARIADB_REQUIREMENTS] : BASE_REQUIREMENTS
  const missing = missingPackages(reqs)
  if (missing.length) {
    if (!opts.install) {
      throw new IdtoolError(`the lab needs packages that are not installed: ${missing.join(' ')}`, {
        exitCode: ExitCode.Usage,
        code: 'MISSING_PACKAGES',
        hint: 'run `idtool lab up --install` as root (apt, non-interactive, no daemon is started by the packages).',
      })
    }
    const ti = Date.now()
    await aptInstall(missing, log)
    lap('install', ti)
  }

  // one level at a time (makeDirs): Node's recursive mkdir loops forever on a --dir like /proc/x/lab
  for (const d of [dir, p.run, p.secrets, p.slapdDir, p.keystoneDir, `${dir}/haproxy`]) makeDirs(d, 0o700)
  const prev = readState(p)
  const changed: string[] = []

  // the lab CA, haproxy's certificate and idtool's client certificate (reused while valid)
  let t = Date.now()
  const tls = await ensureLabTls(p)
  for (const role of tls.made) {
    log(`tls: made the ${role === 'ca' ? 'lab CA' : `${role} certificate`} (${tls.reasons[role]})`)
    changed.push(`tls ${role}`)
  }
  lap('tls', t)
  const certsChanged = tls.made.includes('ca') || tls.made.includes('server')

  if (
    prev?.ldapDomain &&
    sameSpec(prev.spec, spec) &&
    keystoneConfCurrent(p, spec) &&
    keystoneBootstrapped(p, spec) &&
    directoryBuilt(p)
  ) {
    // the lab was made with this spec and its data is there: start only what is down
    let restarted: string[] | undefined
    t = Date.now()
    try {
      restarted = await restartWhatIsDown(p, spec, certsChanged, log)
      lap('restart', t)
    } catch (err) {
      log(`lab up: restarting what was down failed (${(err as Error).message}); restarting the whole lab`)
    }
    if (restarted) {
      t = Date.now()
      const adminPassword = secret(p.adminPasswordFile)
      changed.push(...(await finishUp(p, spec, prev, prev.ldapDomain, adminPassword, log)))
      lap('finish', t)
      timings.total = Date.now() - t0
      tightenPidFiles(p, spec)
      const after = await labStatus(dir)
      if (!after.healthy) {
        throw new IdtoolError(
          `the lab is not healthy after restarting ${restarted.join(', ') || 'nothing'}`,
          {
            hint: 'run `idtool lab status` to see which part.',
          },
        )
      }
      log(
        restarted.length
          ? `lab up: restarted ${restarted.join(', ')} (the rest kept running)`
          : 'lab already up and healthy: nothing to restart',
      )
      return { ...after, alreadyUp: !restarted.length, timingsMs: timings, changed, restarted }
    }
  }
  if (prev) {
    log('stopping the running lab components')
    await labDown(dir)
  }

  const passwords = {
    admin: secret(p.adminPasswordFile),
    root: secret(p.ldapRootPasswordFile),
    keystone: secret(p.ldapBindPasswordFile),
    reader: secret(p.ldapReaderPasswordFile),
  }

  // slapd
  t = Date.now()
  if (!directoryBuilt(p) || prev?.spec.ldapUsers !== spec.ldapUsers) {
    log(`slapd: building the directory with ${spec.ldapUsers} users`)
    await buildDirectory(p, spec.ldapUsers, passwords)
  }
  log(`slapd: starting on ${LDAP_URL}`)
  await startSlapd(p)
  lap('slapd', t)

  // database
  let dbPassword: string | undefined
  if (spec.db === 'mariadb') {
    t = Date.now()
    dbPassword = secret(p.dbPasswordFile)
    log('mariadb: starting (unix socket only)')
    await startMariadb(p)
    await createKeystoneDatabase(p, dbPassword)
    lap('mariadb', t)
  }

  // keystone
  t = Date.now()
  const dbChanged = prev !== undefined && prev.spec.db !== spec.db
  const fresh = !keystoneBootstrapped(p, spec) || dbChanged
  writeFileSecret(p.keystoneConf, keystoneConf(p, spec, dbPassword))
  let ldapDomain = fresh ? undefined : prev?.ldapDomain
  if (fresh) {
    log(`keystone: db_sync, fernet keys, bootstrap (${spec.db})`)
    rmSync(p.keystoneDb, { force: true })
    rmSync(`${p.keystoneDb}-wal`, { force: true })
    rmSync(`${p.keystoneDb}-shm`, { force: true })
    rmSync(p.domainsDir, { recursive: true, force: true })
    await bootstrapKeystone(p, spec, passwords.admin)
  }
  mkdirSync(p.domainsDir, { recursive: true })
  const domainConfPath = `${p.domainsDir}/keystone.${LAB_LDAP_DOMAIN}.conf`
  if (ldapDomain) writeFileSecret(domainConfPath, ldapDomainConf(passwords.keystone))
  lap('keystoneBootstrap', t)

  t = Date.now()
  const startWorkers = async () => {
    log(`keystone: starting ${spec.workers} uwsgi workers`)
    for (let i = 1; i <= spec.workers; i++) await startWorker(p, i)
    await Promise.all(
      Array.from({ length: spec.workers }, (_, k) =>
        waitFor(
          `keystone worker ks${k + 1}`,
          () => httpOk(`${workerUrl(k + 1)}/v3`),
          60_000,
          `see ${p.workerLog(k + 1)}`,
        ),
      ),
    )
  }
  await startWorkers()
  lap('workers', t)

  t = Date.now()
  await restartHaproxy(p, spec, log)
  lap('haproxy', t)

  // the LDAP-backed domain: create it, write its config, restart the workers (config is read at start)
  t = Date.now()
  const client = new KeystoneClient({ authUrl: KEYSTONE_URL, timeoutMs: 120_000 })
  const admin = () =>
    client.issueTokenPassword(
      { username: 'admin', password: passwords.admin, userDomainName: 'Default' },
      { projectName: 'admin', projectDomainName: 'Default' },
    )
  if (!ldapDomain) {
    const tok = await admin()
    const found =
      (await client.findDomain(tok.token, LAB_LDAP_DOMAIN)) ??
      (await client.createDomain(tok.token, LAB_LDAP_DOMAIN, 'idtool lab: users from slapd'))
    ldapDomain = { name: found.name, id: found.id }
    writeFileSecret(domainConfPath, ldapDomainConf(passwords.keystone))
    log(`keystone: domain ${LAB_LDAP_DOMAIN} (${found.id}) now reads users from LDAP; restarting workers`)
    await Promise.all(
      Array.from({ length: spec.workers }, (_, k) => ownedPid(p.workerPid(k + 1), p.dir)).map((pid) =>
        pid ? stopPid(pid) : true,
      ),
    )
    await startWorkers()
  }
  lap('ldapDomain', t)

  // warm the first LDAP listing (it fills id_mapping; slow) once through haproxy, then on every worker
  t = Date.now()
  log(`keystone: warming the ${LAB_LDAP_DOMAIN} user listing`)
  const tok = await admin()
  const users = await client.listUsers(tok.token, ldapDomain.id)
  if (users.length !== spec.ldapUsers) {
    throw new IdtoolError(`LDAP domain lists ${users.length} users, expected ${spec.ldapUsers}`, {
      hint: `see ${p.keystoneLog}/keystone.log`,
    })
  }
  await Promise.all(
    Array.from({ length: spec.workers }, async (_, k) => {
      const direct = new KeystoneClient({ authUrl: `${workerUrl(k + 1)}/v3`, timeoutMs: 120_000 })
      await direct.listUsers(tok.token, ldapDomain!.id)
    }),
  )
  lap('warm', t)

  t = Date.now()
  changed.push(...(await finishUp(p, spec, prev, ldapDomain, passwords.admin, log)))
  lap('finish', t)
  timings.total = Date.now() - t0
  tightenPidFiles(p, spec)
  const st = await labStatus(dir)
  if (!st.healthy) {
    throw new IdtoolError('the lab started but is not healthy', {
      hint: 'run `idtool lab status` to see which part.',
    })
  }
  return { ...st, alreadyUp: false, timingsMs: timings, changed }
}

/** Every pidfile of the lab 0644 at most (those of a lab started before uwsgi got --umask were 0666). */
function tightenPidFiles(p: LabPaths, spec: LabSpec): void {
  for (const f of [p.slapdPid, p.haproxyPid, p.mariadbPid]) tightenPidFile(f)
  for (let i = 1; i <= spec.workers; i++) tightenPidFile(p.workerPid(i))
}

export { labEnv, labEnvVars } from './layout.js'
