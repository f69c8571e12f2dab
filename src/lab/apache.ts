import { createHash } from 'node:crypto'
import {
  chmodSync,
  cpSync,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { join, resolve } from 'node:path'
import { IdtoolError } from '../errors.js'
import type { LabSpec } from '../results/types.js'
import { keystoneFiles, LAB_HOST, LAB_PORTS, type LabPaths } from './layout.js'
import { childPids, cmdline, readPidFile, run, waitFor } from './proc.js'

// Keystone under Apache httpd + mod_wsgi (`lab up --server apache`): one Apache per worker instance, as uwsgi,
// each started with the lab's own config file (-f), its own PidFile, ErrorLog and Listen 127.0.0.1:PORT; the
// system's /etc/apache2 is never read or changed. Keystone runs in a mod_wsgi daemon process group (one
// process, one thread with SQLite). mod_wsgi refuses to run a daemon as root and the lab directory is under
// /root (0700), so when idtool runs as root Keystone's files move to a directory of the system user
// idtool-lab, which runs the daemons; the lab's keystone/ becomes a symlink to it.

export const APACHE_BIN = '/usr/sbin/apache2'
export const APACHE_MODULES = '/usr/lib/apache2/modules'
export const MOD_WSGI = `${APACHE_MODULES}/mod_wsgi.so`
const KEYSTONE_WSGI = '/usr/bin/keystone-wsgi-public'
/** The unprivileged system user that runs Keystone under Apache when idtool runs as root. */
export const LAB_USER = 'idtool-lab'
/** Its home: one directory per lab below it (Keystone's files, mod_wsgi's sockets). */
export const LAB_USER_HOME = '/var/lib/idtool-lab'

/** mod_wsgi daemon processes per worker instance: one with SQLite (one writer), two with MariaDB. */
export function wsgiProcesses(db: LabSpec['db']): number {
  return db === 'mariadb' ? 2 : 1
}

/** Who idtool runs as, and where idtool-lab's directories are (tests pass their own). */
export interface Placement {
  root: boolean
  home: string
}
const here = (): Placement => ({ root: process.getuid?.() === 0, home: LAB_USER_HOME })

/** The server of a spec (labs made before `--server` existed run uwsgi). */
export const labServer = (spec: Pick<LabSpec, 'server'> | null | undefined) => spec?.server ?? 'uwsgi'

/** Where the files Apache's user must reach live: a directory of idtool-lab per lab (root), else the lab's apache/. */
export function apacheHome(dir: string, at = here()): string {
  if (!at.root) return join(dir, 'apache')
  return join(at.home, createHash('sha256').update(resolve(dir)).digest('hex').slice(0, 12))
}

/** Whether Keystone's files live outside the lab directory (Apache, run as root). */
export const keystoneMoved = (spec: LabSpec, at = here()) => labServer(spec) === 'apache' && at.root

/**
 * The lab's paths as Keystone sees them: for Apache run as root, Keystone's files and MariaDB's socket in
 * idtool-lab's directory (the lab's keystone/ is a symlink there, so the lab's own paths still work for root).
 */
export function keystoneView(p: LabPaths, spec: LabSpec, at = here()): LabPaths {
  if (!keystoneMoved(spec, at)) return p
  const home = apacheHome(p.dir, at)
  return { ...p, ...keystoneFiles(join(home, 'keystone')), mariadbSock: join(home, 'run', 'mariadb.sock') }
}

/** The runtime directory of Apache and mod_wsgi (sockets), reachable by the user the daemons run as. */
export const apacheRunDir = (p: LabPaths, at = here()) => join(apacheHome(p.dir, at), 'run')

export interface ApacheConfOptions {
  name: string
  port: number
  pidFile: string
  errorLog: string
  runDir: string
  keystoneDir: string
  processes: number
  /** the user of the MPM children and the WSGI daemons; undefined when not root (no switch) */
  user?: string
}

/** The config of one Apache worker instance (pure). */
export function apacheConf(o: ApacheConfOptions): string {
  const mod = (name: string, file: string) => `LoadModule ${name} ${APACHE_MODULES}/${file}`
  const owner = o.user ? ` user=${o.user} group=${o.user}` : ''
  return `# written by idtool lab up --server apache: Keystone worker ${o.name} (Apache httpd + mod_wsgi, daemon mode)
ServerRoot ${o.runDir}
ServerName ${LAB_HOST}
Listen ${LAB_HOST}:${o.port}
PidFile ${o.pidFile}
ErrorLog ${o.errorLog}
LogLevel warn
DefaultRuntimeDir ${o.runDir}
${mod('mpm_event_module', 'mod_mpm_event.so')}
${mod('authz_core_module', 'mod_authz_core.so')}
${mod('headers_module', 'mod_headers.so')}
${mod('wsgi_module', 'mod_wsgi.so')}
${o.user ? `User ${o.user}\nGroup ${o.user}\n` : ''}
# the front: one MPM process whose threads hand each request to the daemon process group
StartServers 1
ServerLimit 1
ThreadLimit 16
ThreadsPerChild 16
MaxRequestWorkers 16
MinSpareThreads 1
MaxSpareThreads 16
MaxConnectionsPerChild 0
Timeout 60
KeepAlive On

WSGISocketPrefix ${o.runDir}/wsgi
WSGIRestrictEmbedded On
WSGIDaemonProcess ${o.name} processes=${o.processes} threads=1 display-name=%{GROUP} home=${o.keystoneDir}${owner}
WSGIScriptAlias / ${KEYSTONE_WSGI} process-group=${o.name} application-group=%{GLOBAL}
WSGIPassAuthorization On
Header always set X-Keystone-Worker ${o.name}
<Directory /usr/bin>
    <Files keystone-wsgi-public>
        Require all granted
    </Files>
</Directory>
`
}

export interface SystemUser {
  name: string
  uid: number
  gid: number
}

/** One line of getent passwd (name:x:uid:gid:gecos:home:shell); undefined when malformed. */
export function parsePasswd(line: string): SystemUser | undefined {
  const f = line.trim().split(':')
  if (f.length < 7 || !f[0]) return undefined
  const uid = Number(f[2])
  const gid = Number(f[3])
  return Number.isInteger(uid) && Number.isInteger(gid) ? { name: f[0], uid, gid } : undefined
}

async function lookupUser(name: string): Promise<SystemUser | undefined> {
  try {
    return parsePasswd((await run('/usr/bin/getent', ['passwd', name])).stdout)
  } catch {
    return undefined
  }
}

/** The system user idtool-lab, created (no login, no home made by useradd) when missing. */
export async function ensureLabUser(log: (m: string) => void): Promise<SystemUser> {
  const found = await lookupUser(LAB_USER)
  if (found) return found
  log(`apache: creating the system user ${LAB_USER} (mod_wsgi does not run Keystone as root)`)
  await run('/usr/sbin/useradd', [
    '--system',
    '--user-group',
    '--no-create-home',
    '--home-dir',
    LAB_USER_HOME,
    '--shell',
    '/usr/sbin/nologin',
    '--comment',
    'idtool lab, Keystone under Apache',
    LAB_USER,
  ])
  const made = await lookupUser(LAB_USER)
  if (!made) throw new IdtoolError(`useradd did not create ${LAB_USER}`, { hint: 'check /etc/passwd.' })
  return made
}

/** chown a tree (symlinks themselves, never what they point to). */
export function chownTree(path: string, uid: number, gid: number): void {
  lchownSync(path, uid, gid)
  if (!lstatSync(path).isDirectory()) return
  for (const e of readdirSync(path)) chownTree(join(path, e), uid, gid)
}

/** Move a directory (rename, or copy then remove across file systems). */
function moveDir(from: string, to: string): void {
  try {
    renameSync(from, to)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err
    cpSync(from, to, { recursive: true, preserveTimestamps: true })
    rmSync(from, { recursive: true, force: true })
  }
}

const isLink = (path: string) => {
  try {
    return lstatSync(path).isSymbolicLink()
  } catch {
    return false
  }
}

/**
 * Put Keystone's files where the server can read them, with no process of Keystone running (lab up stops
 * the lab first): for Apache as root, the lab's keystone/ moves to idtool-lab's directory and becomes a
 * symlink to it; for uwsgi (or not root) it is a plain directory of the lab again, owned by the caller.
 * Data moves, never is made again: the database, keys and domain configs stay the same.
 */
export function placeKeystoneDir(p: LabPaths, spec: LabSpec, at = here()): void {
  const link = isLink(p.keystoneDir)
  if (keystoneMoved(spec, at)) {
    const target = keystoneView(p, spec, at).keystoneDir
    if (link && readlinkSync(p.keystoneDir) === target && existsSync(target)) return
    mkdirSync(apacheHome(p.dir, at), { recursive: true, mode: 0o700 })
    if (link) rmSync(p.keystoneDir)
    else if (existsSync(p.keystoneDir)) {
      rmSync(target, { recursive: true, force: true })
      moveDir(p.keystoneDir, target)
    }
    mkdirSync(target, { recursive: true, mode: 0o700 })
    symlinkSync(target, p.keystoneDir)
    return
  }
  if (!link) return
  const from = readlinkSync(p.keystoneDir)
  rmSync(p.keystoneDir)
  if (existsSync(from)) moveDir(from, p.keystoneDir)
  else mkdirSync(p.keystoneDir, { mode: 0o700 })
  if (at.root) chownTree(p.keystoneDir, 0, 0)
  removeApacheHome(p.dir, at)
}

/** Remove idtool-lab's directory of this lab (only below LAB_USER_HOME; lab down --purge, or back to uwsgi). */
export function removeApacheHome(dir: string, at = here()): void {
  if (at.root) rmSync(apacheHome(dir, at), { recursive: true, force: true })
}

/**
 * Before Apache starts (as root): idtool-lab exists and owns its directory of this lab, with Keystone's
 * files in it (root-made files such as keystone-manage's logs, keys and the SQLite database included: SQLite
 * gives the -wal and -shm files a root process makes the database file's owner). Returns the user.
 */
export async function prepareApacheRoot(p: LabPaths, spec: LabSpec, log: (m: string) => void) {
  const at = { root: true, home: LAB_USER_HOME }
  const user = await ensureLabUser(log)
  const home = apacheHome(p.dir, at)
  mkdirSync(LAB_USER_HOME, { recursive: true, mode: 0o750 })
  chmodSync(LAB_USER_HOME, 0o750)
  lchownSync(LAB_USER_HOME, 0, user.gid)
  placeKeystoneDir(p, spec, at)
  mkdirSync(apacheRunDir(p, at), { recursive: true, mode: 0o700 })
  chmodSync(home, 0o700)
  chownTree(home, user.uid, user.gid)
  return user
}

/** Start Apache worker `i` (its config written first). Keystone's config directory goes through the environment. */
export async function startApacheWorker(
  p: LabPaths,
  i: number,
  spec: LabSpec,
  user: SystemUser | undefined,
): Promise<void> {
  const at = here()
  const view = keystoneView(p, spec, at)
  const runDir = apacheRunDir(p, at)
  mkdirSync(join(p.dir, 'apache'), { recursive: true, mode: 0o700 })
  // as root, prepareApacheRoot made it (in idtool-lab's directory)
  if (!at.root) mkdirSync(runDir, { recursive: true, mode: 0o700 })
  const conf = apacheConf({
    name: `ks${i}`,
    port: LAB_PORTS.workerBase + i - 1,
    pidFile: p.workerPid(i),
    errorLog: p.apacheLog(i),
    runDir,
    keystoneDir: view.keystoneDir,
    processes: wsgiProcesses(spec.db),
    user: user?.name,
  })
  writeFileSync(p.apacheConf(i), conf, { mode: 0o600 })
  // a clean environment: Keystone (a child of Apache) inherits it, and idtool's may hold OS_* secrets
  const env = {
    PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
    LANG: 'C.UTF-8',
    OS_KEYSTONE_CONFIG_DIR: view.keystoneDir,
  }
  // uwsgi's pidfile of the same worker may be left: `-k start` trusts any live PID in it ("already running")
  rmSync(p.workerPid(i), { force: true })
  const out = await run(APACHE_BIN, ['-f', p.apacheConf(i), '-k', 'start'], { env, timeoutMs: 30_000 })
  const said = `${out.stdout}${out.stderr}`.trim().split('\n').at(-1)
  // the detached server writes its pidfile a moment after `-k start` returns
  await waitFor(
    `Apache worker ks${i}${said ? ` (apache2 said: ${said})` : ''}`,
    async () => readPidFile(p.workerPid(i)) !== undefined,
    10_000,
    `see ${p.apacheLog(i)}`,
  )
}

/** The mod_wsgi daemon processes below an Apache parent (display-name %{GROUP}: "(wsgi:ksN)"). */
export function wsgiDaemonPids(apachePid: number): number[] {
  return childPids(apachePid).filter((c) => cmdline(c).startsWith('(wsgi:'))
}

/** Whether a PID's command line is one of the lab's Apache parents. */
export const isApache = (pid: number) => cmdline(pid).startsWith(APACHE_BIN)
