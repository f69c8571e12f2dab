import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import type { LabSpec } from '../results/types.js'
import {
  isApache,
  keystoneView,
  labServer,
  prepareApacheRoot,
  startApacheWorker,
  wsgiProcesses,
} from './apache.js'
import { LAB_BIND_DN, LAB_GROUPS_DN, LAB_HOST, LAB_PORTS, LAB_USERS_DN, type LabPaths } from './layout.js'
import { httpOk, ownedPid, run, stopPid, stopTree, waitFor } from './proc.js'
import { LDAP_URL } from './slapd.js'

export const KEYSTONE_URL = `http://${LAB_HOST}:${LAB_PORTS.keystone}/v3`
export const workerUrl = (i: number) => `http://${LAB_HOST}:${LAB_PORTS.workerBase + i - 1}`

export function keystoneConf(p: LabPaths, spec: LabSpec, dbPassword?: string): string {
  const connection =
    spec.db === 'mariadb'
      ? `mysql+pymysql://keystone:${dbPassword}@localhost/keystone?unix_socket=${p.mariadbSock}`
      : `sqlite:///${p.keystoneDb}`
  // receipts default to /etc/keystone/fernet-keys, which only root (uwsgi's user) can read
  const receipts =
    labServer(spec) === 'apache' ? `\n[fernet_receipts]\nkey_repository = ${p.fernetKeys}\n` : ''
  return `# written by idtool lab up
[DEFAULT]
log_dir = ${p.keystoneLog}
log_file = keystone.log
debug = false

[database]
connection = ${connection}

[token]
provider = fernet

[fernet_tokens]
key_repository = ${p.fernetKeys}
${receipts}
[credential]
key_repository = ${p.credentialKeys}

[revoke]
# GET /v3/OS-REVOKE/events is memoized per worker process and only the worker that records a revocation
# drops its copy; the lab seeds and deletes rows directly, so the listing is not cached (the revocation
# check during validation never is, so this does not change what validation costs)
caching = false
${spec.cache ? '\n[cache]\nenabled = true\nbackend = dogpile.cache.memory\n' : ''}
[identity]
domain_specific_drivers_enabled = true
domain_config_dir = ${p.domainsDir}
`
}

export function ldapDomainConf(bindPassword: string): string {
  return `# written by idtool lab up: an LDAP-backed Keystone domain at page_size 5 with pooling
[identity]
driver = ldap

[ldap]
url = ${LDAP_URL}
user = ${LAB_BIND_DN}
password = ${bindPassword}
suffix = dc=example,dc=org
query_scope = one
page_size = 5
use_pool = true
pool_size = 10
use_auth_pool = false
user_tree_dn = ${LAB_USERS_DN}
user_objectclass = inetOrgPerson
user_id_attribute = uid
user_name_attribute = uid
user_mail_attribute = mail
user_pass_attribute = userPassword
group_tree_dn = ${LAB_GROUPS_DN}
group_objectclass = groupOfNames
group_id_attribute = cn
group_name_attribute = cn
group_member_attribute = member
`
}

const KM = '/usr/bin/keystone-manage'

/** db_sync, fernet/credential keys and bootstrap: a fresh Keystone database. */
export async function bootstrapKeystone(p: LabPaths, spec: LabSpec, adminPassword: string): Promise<void> {
  for (const d of [p.keystoneDir, p.keystoneLog, p.domainsDir]) mkdirSync(d, { recursive: true })
  const km = (...args: string[]) =>
    run(KM, ['--config-file', p.keystoneConf, ...args], { timeoutMs: 180_000 })
  await km('db_sync')
  if (spec.db === 'sqlite') {
    // several worker processes share the file: WAL avoids "database is locked"
    await run('/usr/bin/sqlite3', [p.keystoneDb, 'PRAGMA journal_mode=WAL;'])
  }
  await km('fernet_setup', '--keystone-user', 'root', '--keystone-group', 'root')
  await km('credential_setup', '--keystone-user', 'root', '--keystone-group', 'root')
  chmodSync(p.fernetKeys, 0o700)
  chmodSync(p.credentialKeys, 0o700)
  const url = `http://${LAB_HOST}:${LAB_PORTS.keystone}/v3/`
  await run(
    KM,
    [
      '--config-file',
      p.keystoneConf,
      'bootstrap',
      '--bootstrap-admin-url',
      url,
      '--bootstrap-internal-url',
      url,
      '--bootstrap-public-url',
      url,
      '--bootstrap-region-id',
      'RegionOne',
    ],
    // the password goes through the environment, never on a command line (ps shows those)
    { timeoutMs: 180_000, env: { ...process.env, OS_BOOTSTRAP_PASSWORD: adminPassword } },
  )
}

export function keystoneBootstrapped(p: LabPaths, spec: LabSpec): boolean {
  if (!existsSync(p.keystoneConf) || !existsSync(`${p.fernetKeys}/0`)) return false
  if (spec.db === 'sqlite') return existsSync(p.keystoneDb)
  return readFileSync(p.keystoneConf, 'utf8').includes('mysql+pymysql')
}

/** Start Keystone worker `i` under the spec's server (Apache: idtool-lab prepared first when root). */
export async function startWorker(p: LabPaths, i: number, spec: LabSpec): Promise<void> {
  if (labServer(spec) === 'uwsgi') return startUwsgiWorker(p, i)
  const user = process.getuid?.() === 0 ? await prepareApacheRoot(p, spec, () => {}) : undefined
  await startApacheWorker(p, i, spec, user)
}

/** Start Keystone worker `i` as its own uwsgi instance: 1 process, 1 thread (required with SQLite). */
async function startUwsgiWorker(p: LabPaths, i: number): Promise<void> {
  const port = LAB_PORTS.workerBase + i - 1
  await run('/usr/bin/uwsgi', [
    '--plugin',
    'python3',
    '--http-socket',
    `${LAB_HOST}:${port}`,
    '--wsgi-file',
    '/usr/bin/keystone-wsgi-public',
    '--env',
    `OS_KEYSTONE_CONFIG_DIR=${p.keystoneDir}`,
    '--master',
    '--processes',
    '1',
    '--threads',
    '1',
    '--lazy-apps',
    '--buffer-size',
    '65535',
    '--die-on-term',
    '--need-app',
    '--add-header',
    `X-Keystone-Worker: ks${i}`,
    // uwsgi's --daemonize sets umask 0, so its pidfile (and the files Keystone creates) would be 0666
    '--umask',
    '022',
    '--pidfile',
    p.workerPid(i),
    '--daemonize',
    p.workerLog(i),
  ])
}

/** The log of worker `i`: uwsgi's, or Apache's error log (Keystone's own log is beside keystone.conf). */
export const workerLogFile = (p: LabPaths, i: number, spec: LabSpec) =>
  labServer(spec) === 'apache' ? p.apacheLog(i) : p.workerLog(i)

/** Wait until worker `i` answers GET /v3 (60 s). */
export function waitForWorker(p: LabPaths, i: number, spec: LabSpec): Promise<void> {
  return waitFor(
    `keystone worker ks${i}`,
    () => httpOk(`${workerUrl(i)}/v3`),
    60_000,
    `see ${workerLogFile(p, i, spec)} and ${keystoneView(p, spec).keystoneLog}/keystone.log`,
  )
}

/** Start workers 1..n one after the other, then wait until every one answers. */
export async function startWorkers(p: LabPaths, spec: LabSpec, log: (m: string) => void): Promise<void> {
  const n = spec.workers
  const server = labServer(spec)
  if (server === 'uwsgi') {
    log(`keystone: starting ${n} uwsgi workers`)
    for (let i = 1; i <= n; i++) await startUwsgiWorker(p, i)
  } else {
    const user = process.getuid?.() === 0 ? await prepareApacheRoot(p, spec, log) : undefined
    log(
      `keystone: starting ${n} Apache workers (mod_wsgi daemon mode, ${wsgiProcesses(spec.db)} process(es) x 1 thread each${user ? `, user ${user.name}` : ''})`,
    )
    for (let i = 1; i <= n; i++) await startApacheWorker(p, i, spec, user)
  }
  await Promise.all(Array.from({ length: n }, (_, k) => waitForWorker(p, k + 1, spec)))
}

/** Stop one worker: uwsgi's master (--die-on-term), or Apache's parent and every process below it. */
export function stopWorker(pid: number): Promise<boolean> {
  return isApache(pid) ? stopTree(pid) : stopPid(pid)
}

/** Stop workers 1..n (those running, found by pidfile). */
export async function stopWorkers(p: LabPaths, n: number): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, (_, k) => ownedPid(p.workerPid(k + 1), p.dir)).map((pid) =>
      pid ? stopWorker(pid) : true,
    ),
  )
}

/** Remove Keystone's SQLite database and domain configs, before a fresh bootstrap. */
export function removeKeystoneData(p: LabPaths): void {
  rmSync(p.keystoneDb, { force: true })
  rmSync(`${p.keystoneDb}-wal`, { force: true })
  rmSync(`${p.keystoneDb}-shm`, { force: true })
  rmSync(p.domainsDir, { recursive: true, force: true })
}
