import { homedir } from 'node:os'
import { join } from 'node:path'

/** The lab's fixed loopback ports. */
export const LAB_PORTS = {
  keystone: 5000,
  workerBase: 5001,
  calibration: 8080,
  stats: 8404,
  ldap: 3890,
  mariadb: 3306,
} as const

export const LAB_HOST = '127.0.0.1'
export const LAB_CLOUD = 'idtool-lab'
export const LAB_LDAP_DOMAIN = 'ldapdom'
export const LAB_BASE_DN = 'dc=example,dc=org'
export const LAB_USERS_DN = `ou=Users,${LAB_BASE_DN}`
export const LAB_GROUPS_DN = `ou=Groups,${LAB_BASE_DN}`
export const LAB_BIND_DN = `cn=keystone,${LAB_BASE_DN}`
export const LAB_READER_DN = `cn=reader,${LAB_BASE_DN}`
export const LAB_ROOT_DN = `cn=admin,${LAB_BASE_DN}`

/** What `lab up` was asked for; a running lab with a different spec is rebuilt. */
export interface LabSpec {
  workers: number
  cache: boolean
  db: 'sqlite' | 'mariadb'
  ldapUsers: number
}

/** The default lab directory: $IDTOOL_LAB_DIR, else $XDG_STATE_HOME/idtool/lab, else ~/.local/state/idtool/lab. */
export function defaultLabDir(env: Record<string, string | undefined> = process.env): string {
  if (env.IDTOOL_LAB_DIR) return env.IDTOOL_LAB_DIR
  const state = env.XDG_STATE_HOME || join(homedir(), '.local', 'state')
  return join(state, 'idtool', 'lab')
}

/** Every path the lab uses, below one directory. */
export function labPaths(dir: string) {
  return {
    dir,
    state: join(dir, 'state.json'),
    cloudsYaml: join(dir, 'clouds.yaml'),
    run: join(dir, 'run'),
    secrets: join(dir, 'secrets'),
    adminPasswordFile: join(dir, 'secrets', 'keystone-admin-password'),
    ldapBindPasswordFile: join(dir, 'secrets', 'ldap-keystone-password'),
    ldapReaderPasswordFile: join(dir, 'secrets', 'ldap-reader-password'),
    ldapRootPasswordFile: join(dir, 'secrets', 'ldap-root-password'),
    dbPasswordFile: join(dir, 'secrets', 'mariadb-keystone-password'),
    keystoneDir: join(dir, 'keystone'),
    keystoneConf: join(dir, 'keystone', 'keystone.conf'),
    keystoneDb: join(dir, 'keystone', 'keystone.db'),
    keystoneLog: join(dir, 'keystone', 'log'),
    domainsDir: join(dir, 'keystone', 'domains'),
    fernetKeys: join(dir, 'keystone', 'fernet-keys'),
    credentialKeys: join(dir, 'keystone', 'credential-keys'),
    slapdDir: join(dir, 'slapd'),
    slapdConf: join(dir, 'slapd', 'slapd.conf'),
    slapdData: join(dir, 'slapd', 'data'),
    slapdLdif: join(dir, 'slapd', 'users.ldif'),
    slapdPid: join(dir, 'run', 'slapd.pid'),
    haproxyCfg: join(dir, 'haproxy', 'haproxy.cfg'),
    haproxyPid: join(dir, 'run', 'haproxy.pid'),
    haproxySock: join(dir, 'run', 'haproxy.sock'),
    mariadbDir: join(dir, 'mariadb'),
    mariadbData: join(dir, 'mariadb', 'data'),
    mariadbSock: join(dir, 'run', 'mariadb.sock'),
    mariadbPid: join(dir, 'run', 'mariadb.pid'),
    workerPid: (i: number) => join(dir, 'run', `ks${i}.pid`),
    workerLog: (i: number) => join(dir, 'run', `ks${i}.uwsgi.log`),
  }
}

export type LabPaths = ReturnType<typeof labPaths>
