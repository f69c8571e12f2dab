import { mkdirSync, readFileSync } from 'node:fs'
import { IdtoolError } from '../errors.js'
import { ExitCode } from '../exit-codes.js'
import { makeDirs } from '../results/output-file.js'
import type { LabSpec, LabUpResult } from '../results/types.js'
import { keystoneView, labServer, placeKeystoneDir } from './apache.js'
import { ensureLabAppCred } from './appcred.js'
import { labAuthUrl, writeLabClouds } from './clouds.js'
import { labDown } from './down.js'
import { HAPROXY_URL, haproxyCfgCurrent, haproxyTlsOk, restartHaproxy } from './haproxy.js'
import {
  APACHE_REQUIREMENTS,
  aptInstall,
  BASE_REQUIREMENTS,
  MARIADB_REQUIREMENTS,
  missingPackages,
} from './install.js'
import {
  bootstrapKeystone,
  KEYSTONE_URL,
  keystoneBootstrapped,
  keystoneConf,
  removeKeystoneData,
  startWorker,
  startWorkers,
  waitForWorker,
} from './keystone.js'
import { LAB_APPCRED_NAME, LAB_CLOUD, type LabPaths, labPaths } from './layout.js'
import { addLdapDomain, labAdmin, warmLdapListing, writeLdapDomainConf } from './ldap-domain.js'
import { createKeystoneDatabase, startMariadb } from './mariadb.js'
import { httpOk, stopPid, tightenPidFile, waitFor } from './proc.js'
import { buildDirectory, directoryBuilt, LDAP_URL, startSlapd } from './slapd.js'
import { type LabState, labSecret, readState, sameSpec, writeFileSecret, writeState } from './state.js'
import { labStatus } from './status.js'
import { ensureLabTls } from './tls.js'

export interface LabUpOptions {
  dir: string
  spec: LabSpec
  install: boolean
  log: (message: string) => void
}

/** One `lab up`: where, what for, and what it has done so far. */
interface UpRun {
  p: LabPaths
  spec: LabSpec
  log: (message: string) => void
  /** when the run started (Date.now()) */
  t0: number
  timings: Record<string, number>
  changed: string[]
}

type LdapDomain = { name: string; id: string }
type Passwords = { admin: string; root: string; keystone: string; reader: string }

/**
 * Bring the lab up (idempotent): slapd with the directory, Keystone workers under uwsgi, haproxy in
 * front, an LDAP-backed Keystone domain, and a clouds.yaml. A lab with the same spec keeps what runs: only
 * the components that are down (or not answering) are started; a different spec restarts the components and
 * rebuilds only the data that changed.
 */
export async function labUp(opts: LabUpOptions): Promise<LabUpResult> {
  const { dir, spec, log } = opts
  const run: UpRun = { p: labPaths(dir), spec, log, t0: Date.now(), timings: {}, changed: [] }
  const p = run.p
  await installPackages(run, opts.install)
  // one level at a time (makeDirs): Node's recursive mkdir loops forever on a --dir like /proc/x/lab
  for (const d of [dir, p.run, p.secrets, p.slapdDir, p.keystoneDir, `${dir}/haproxy`]) makeDirs(d, 0o700)
  const prev = readState(p)
  const certsChanged = await timed(run, 'tls', () => ensureCertificates(run))

  if (prev?.ldapDomain && dataCurrent(p, prev, spec)) {
    const kept = await keepWhatRuns(run, prev, prev.ldapDomain, certsChanged)
    if (kept) return kept
  }
  if (prev) {
    log('stopping the running lab components')
    await labDown(dir)
  }
  const passwords: Passwords = {
    admin: labSecret(p.adminPasswordFile),
    root: labSecret(p.ldapRootPasswordFile),
    keystone: labSecret(p.ldapBindPasswordFile),
    reader: labSecret(p.ldapReaderPasswordFile),
  }
  await timed(run, 'slapd', () => upSlapd(run, prev, passwords))
  const dbPassword = spec.db === 'mariadb' ? await timed(run, 'mariadb', () => upMariadb(run)) : undefined
  const known = await timed(run, 'keystoneBootstrap', () => upKeystone(run, prev, passwords, dbPassword))
  await timed(run, 'workers', () => startWorkers(p, spec, log))
  await timed(run, 'haproxy', () => restartHaproxy(p, spec.workers, log))
  const admin = labAdmin(passwords.admin)
  const ldapDomain = await timed(
    run,
    'ldapDomain',
    async () => known ?? (await addLdapDomain(p, spec, admin, passwords.keystone, log)),
  )
  await timed(run, 'warm', () => warmLdapListing(p, spec, admin, ldapDomain.id, log))
  await timed(run, 'finish', () => finishUp(run, prev, ldapDomain, passwords.admin))
  const st = await healthyStatus(run, 'the lab started but is not healthy')
  return { ...st, alreadyUp: false, timingsMs: run.timings, changed: run.changed }
}

/** Run one step of `lab up`, recording how long it took under `name` (when it succeeds). */
async function timed<T>(run: UpRun, name: string, step: () => T | Promise<T>): Promise<T> {
  const t = Date.now()
  const value = await step()
  run.timings[name] = Date.now() - t
  return value
}

/** The Debian packages the spec needs: installed with --install, else refused naming them. */
async function installPackages(run: UpRun, install: boolean): Promise<void> {
  const reqs = [
    ...BASE_REQUIREMENTS,
    ...(run.spec.db === 'mariadb' ? MARIADB_REQUIREMENTS : []),
    ...(labServer(run.spec) === 'apache' ? APACHE_REQUIREMENTS : []),
  ]
  const missing = missingPackages(reqs)
  if (!missing.length) return
  if (!install) {
    throw new IdtoolError(`the lab needs packages that are not installed: ${missing.join(' ')}`, {
      exitCode: ExitCode.Usage,
      code: 'MISSING_PACKAGES',
      hint: 'run `idtool lab up --install` as root (apt, non-interactive, no daemon is started by the packages).',
    })
  }
  await timed(run, 'install', () => aptInstall(missing, run.log))
}

/** The lab CA, haproxy's certificate and idtool's client certificate (reused while valid); true when haproxy's changed. */
async function ensureCertificates(run: UpRun): Promise<boolean> {
  const tls = await ensureLabTls(run.p)
  for (const role of tls.made) {
    run.log(`tls: made the ${role === 'ca' ? 'lab CA' : `${role} certificate`} (${tls.reasons[role]})`)
    run.changed.push(`tls ${role}`)
  }
  return tls.made.includes('ca') || tls.made.includes('server')
}

/** Whether the lab on disk was made with this spec and its data is there (then only what is down restarts). */
function dataCurrent(p: LabPaths, prev: LabState, spec: LabSpec): boolean {
  return (
    sameSpec(prev.spec, spec) &&
    keystoneConfCurrent(p, spec) &&
    keystoneBootstrapped(p, spec) &&
    directoryBuilt(p)
  )
}

/** Whether keystone.conf on disk is what this idtool would write (an upgrade may change it). */
function keystoneConfCurrent(p: LabPaths, spec: LabSpec): boolean {
  try {
    const dbPassword = spec.db === 'mariadb' ? labSecret(p.dbPasswordFile) : undefined
    return readFileSync(p.keystoneConf, 'utf8') === keystoneConf(keystoneView(p, spec), spec, dbPassword)
  } catch {
    return false
  }
}

/**
 * A lab made with the same spec: start only what is down and finish. Undefined when restarting what was
 * down failed (the caller then restarts the whole lab).
 */
async function keepWhatRuns(
  run: UpRun,
  prev: LabState,
  ldapDomain: LdapDomain,
  certsChanged: boolean,
): Promise<LabUpResult | undefined> {
  let restarted: string[]
  try {
    restarted = await timed(run, 'restart', () => restartWhatIsDown(run, certsChanged))
  } catch (err) {
    run.log(`lab up: restarting what was down failed (${(err as Error).message}); restarting the whole lab`)
    return undefined
  }
  await timed(run, 'finish', () => finishUp(run, prev, ldapDomain, labSecret(run.p.adminPasswordFile)))
  const after = await healthyStatus(
    run,
    `the lab is not healthy after restarting ${restarted.join(', ') || 'nothing'}`,
  )
  run.log(
    restarted.length
      ? `lab up: restarted ${restarted.join(', ')} (the rest kept running)`
      : 'lab already up and healthy: nothing to restart',
  )
  return { ...after, alreadyUp: !restarted.length, timingsMs: run.timings, changed: run.changed, restarted }
}

/**
 * Start the components of a lab that are down (or up but not answering), leaving the others running:
 * slapd, MariaDB, each Keystone worker, then haproxy (also for a new config or certificate, or when its
 * frontends still fail once the workers are back). Returns the names of what it restarted.
 */
async function restartWhatIsDown(run: UpRun, certsChanged: boolean): Promise<string[]> {
  const { p, spec, log } = run
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
    await startMariadb(keystoneView(p, spec))
    restarted.push('mariadb')
  }
  const workers = st.keystone.workers.filter((w) => !w.healthy)
  for (const w of workers) {
    log(`keystone: worker ${w.name} ${w.pid ? 'not answering: restarting it' : 'down: starting it'}`)
    await stop(w.name, w.pid)
    await startWorker(p, Number(w.name.slice(2)), spec)
  }
  await Promise.all(workers.map((w) => waitForWorker(p, Number(w.name.slice(2)), spec)))
  restarted.push(...workers.map((w) => w.name))
  // haproxy answers 503 while every worker is down: give its health checks (every 2 s) time to see them back
  const frontendsOk = async () => (await httpOk(`${HAPROXY_URL}/v3`)) && (await haproxyTlsOk(p))
  let haproxyOk = st.haproxy.pid !== null && st.haproxy.healthy && st.tls.healthy
  if (!haproxyOk && st.haproxy.pid !== null && workers.length) {
    haproxyOk = await waitFor('haproxy', frontendsOk, 8_000, '').then(
      () => true,
      () => false,
    )
  }
  if (certsChanged || !haproxyCfgCurrent(p, spec.workers) || !haproxyOk) {
    await restartHaproxy(p, spec.workers, log)
    restarted.push('haproxy')
  }
  return restarted
}

/** slapd: (re)build the directory when missing or for another user count, then start it. */
async function upSlapd(run: UpRun, prev: LabState | undefined, passwords: Passwords): Promise<void> {
  const { p, spec, log } = run
  if (!directoryBuilt(p) || prev?.spec.ldapUsers !== spec.ldapUsers) {
    log(`slapd: building the directory with ${spec.ldapUsers} users`)
    await buildDirectory(p, spec.ldapUsers, passwords)
  }
  log(`slapd: starting on ${LDAP_URL}`)
  await startSlapd(p)
}

/** MariaDB on its unix socket with Keystone's database; returns Keystone's database password. */
async function upMariadb(run: UpRun): Promise<string> {
  const dbPassword = labSecret(run.p.dbPasswordFile)
  run.log('mariadb: starting (unix socket only)')
  // MariaDB's socket where Keystone's server can reach it (idtool-lab's directory under Apache as root)
  const view = keystoneView(run.p, run.spec)
  await startMariadb(view)
  await createKeystoneDatabase(view, dbPassword)
  return dbPassword
}

/**
 * keystone.conf, and a fresh database (db_sync, keys, bootstrap) when none is there or the database kind
 * changed. Returns the LDAP domain when the existing database already has it (its config rewritten).
 */
async function upKeystone(
  run: UpRun,
  prev: LabState | undefined,
  passwords: Passwords,
  dbPassword: string | undefined,
): Promise<LdapDomain | undefined> {
  const { p, spec, log } = run
  const dbChanged = prev !== undefined && prev.spec.db !== spec.db
  // Keystone's files where its server can read them (moved, not made again, when the server changed)
  placeKeystoneDir(p, spec)
  const fresh = !keystoneBootstrapped(p, spec) || dbChanged
  writeFileSecret(p.keystoneConf, keystoneConf(keystoneView(p, spec), spec, dbPassword))
  const ldapDomain = fresh ? undefined : prev?.ldapDomain
  if (fresh) {
    log(`keystone: db_sync, fernet keys, bootstrap (${spec.db})`)
    removeKeystoneData(p)
    await bootstrapKeystone(p, spec, passwords.admin)
  }
  mkdirSync(p.domainsDir, { recursive: true })
  if (ldapDomain) writeLdapDomainConf(p, passwords.keystone)
  return ldapDomain
}

/**
 * The last steps of every `lab up`: the application credential (reused while it authenticates), clouds.yaml
 * and secure.yaml for the chosen frontend, and the state.
 */
async function finishUp(
  run: UpRun,
  prev: LabState | undefined,
  ldapDomain: LdapDomain,
  adminPassword: string,
): Promise<void> {
  const { p, spec, log, changed } = run
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
}

/** The total time, pidfiles 0644 at most, and the lab's status, which must be healthy (else `problem`). */
async function healthyStatus(run: UpRun, problem: string) {
  run.timings.total = Date.now() - run.t0
  const { p, spec } = run
  // those of a lab started before uwsgi got --umask were 0666
  for (const f of [p.slapdPid, p.haproxyPid, p.mariadbPid]) tightenPidFile(f)
  for (let i = 1; i <= spec.workers; i++) tightenPidFile(p.workerPid(i))
  const st = await labStatus(p.dir)
  if (!st.healthy) throw new IdtoolError(problem, { hint: 'run `idtool lab status` to see which part.' })
  return st
}
