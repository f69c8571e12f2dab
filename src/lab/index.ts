import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'undici'
import { stringify as toYaml } from 'yaml'
import { IdtoolError } from '../errors.js'
import { ExitCode } from '../exit-codes.js'
import { KeystoneClient } from '../keystone/client.js'
import { CALIBRATION_URL, HAPROXY_URL, haproxyCfg, STATS_URL, startHaproxy } from './haproxy.js'
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
  LAB_BASE_DN,
  LAB_BIND_DN,
  LAB_CLOUD,
  LAB_HOST,
  LAB_LDAP_DOMAIN,
  LAB_PORTS,
  LAB_USERS_DN,
  type LabPaths,
  type LabSpec,
  labPaths,
} from './layout.js'
import { createKeystoneDatabase, startMariadb } from './mariadb.js'
import { childPids, ownedPid, portOpen, stopPid, waitFor } from './proc.js'
import { buildDirectory, directoryBuilt, LDAP_URL, startSlapd } from './slapd.js'

export interface LabState {
  version: 1
  spec: LabSpec
  ldapDomain?: { name: string; id: string }
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
  const ldapHealthy = ps.slapd !== undefined && (await portOpen(LAB_HOST, LAB_PORTS.ldap))
  const mariadbOk = spec?.db !== 'mariadb' || ps.mariadb !== undefined
  const healthy =
    Boolean(state) &&
    workers.length > 0 &&
    workers.every((w) => w.healthy) &&
    haproxyHealthy &&
    ldapHealthy &&
    mariadbOk
  return {
    healthy,
    dir,
    exists: Boolean(state),
    spec,
    cloud: LAB_CLOUD,
    cloudsYaml: p.cloudsYaml,
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

/** Whether the config files on disk are what this idtool would write (an upgrade may change them). */
function configsCurrent(p: LabPaths, spec: LabSpec): boolean {
  try {
    const dbPassword = spec.db === 'mariadb' ? secret(p.dbPasswordFile) : undefined
    return (
      readFileSync(p.keystoneConf, 'utf8') === keystoneConf(p, spec, dbPassword) &&
      readFileSync(p.haproxyCfg, 'utf8') === haproxyCfg(p, spec.workers)
    )
  } catch {
    return false
  }
}

function cloudsYaml(adminPassword: string): string {
  return `# written by idtool lab up; holds the lab admin password, keep it 0600\n${toYaml({
    clouds: {
      [LAB_CLOUD]: {
        auth: {
          auth_url: KEYSTONE_URL,
          username: 'admin',
          password: adminPassword,
          project_name: 'admin',
          user_domain_name: 'Default',
          project_domain_name: 'Default',
        },
        region_name: 'RegionOne',
        identity_api_version: 3,
        interface: 'public',
      },
    },
  })}`
}

/**
 * Bring the lab up (idempotent): slapd with the directory, Keystone workers under uwsgi, haproxy in
 * front, an LDAP-backed Keystone domain, and a clouds.yaml. A healthy lab with the same spec is left
 * alone; a different spec restarts the components and rebuilds only the data that changed.
 */
export async function labUp(
  opts: LabUpOptions,
): Promise<LabStatus & { alreadyUp: boolean; timingsMs: Record<string, number> }> {
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

  for (const d of [dir, p.run, p.secrets, p.slapdDir, p.keystoneDir, `${dir}/haproxy`])
    mkdirSync(d, { recursive: true, mode: 0o700 })
  const prev = readState(p)
  if (prev && sameSpec(prev.spec, spec) && configsCurrent(p, spec)) {
    const st = await labStatus(dir)
    if (st.healthy && st.ldapDomain) {
      log('lab already up and healthy: nothing to do')
      return { ...st, alreadyUp: true, timingsMs: { total: Date.now() - t0 } }
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
  let t = Date.now()
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
  writeFileSync(p.haproxyCfg, haproxyCfg(p, spec.workers))
  log(`haproxy: starting on ${HAPROXY_URL}`)
  await startHaproxy(p)
  await waitFor('keystone through haproxy', () => httpOk(`${HAPROXY_URL}/v3`), 20_000, `see ${p.haproxyCfg}`)
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

  writeFileSecret(p.cloudsYaml, cloudsYaml(passwords.admin))
  const now = new Date().toISOString()
  writeState(p, { version: 1, spec, ldapDomain, createdAt: prev?.createdAt ?? now, updatedAt: now })
  timings.total = Date.now() - t0
  const st = await labStatus(dir)
  if (!st.healthy) {
    throw new IdtoolError('the lab started but is not healthy', {
      hint: 'run `idtool lab status` to see which part.',
    })
  }
  return { ...st, alreadyUp: false, timingsMs: timings }
}

/** The shell lines that point OpenStack tools (and idtool) at the lab. */
export function labEnv(dir: string): string {
  const p = labPaths(dir)
  return `export OS_CLIENT_CONFIG_FILE=${p.cloudsYaml}\nexport OS_CLOUD=${LAB_CLOUD}\n`
}
