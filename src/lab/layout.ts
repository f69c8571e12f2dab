import { homedir } from 'node:os'
import { join } from 'node:path'

/** The lab's fixed loopback ports. */
export const LAB_PORTS = {
  keystone: 5000,
  workerBase: 5001,
  calibration: 8080,
  stats: 8404,
  /** haproxy TLS → the Keystone workers */
  keystoneTls: 5443,
  /** haproxy TLS requiring a client certificate signed by the lab CA → the Keystone workers */
  keystoneMtls: 5444,
  /** haproxy TLS answering 200 by itself */
  calibrationTls: 8443,
  ldap: 3890,
  mariadb: 3306,
} as const

export const LAB_HOST = '127.0.0.1'
export const LAB_CLOUD = 'idtool-lab'
/** The same lab admin through application credential `idtool-lab` (same auth URL and TLS as LAB_CLOUD). */
export const LAB_APPCRED_CLOUD = 'idtool-lab-appcred'
/** Password auth through the TLS frontend (5443), whatever `lab up --tls` chose for LAB_CLOUD. */
export const LAB_HTTPS_CLOUD = 'idtool-lab-https'
/** Password auth through the frontend that requires a client certificate (5444). */
export const LAB_MTLS_CLOUD = 'idtool-lab-mtls'
/** The application credential `lab up` makes for the lab admin (project admin). */
export const LAB_APPCRED_NAME = 'idtool-lab'
export const LAB_LDAP_DOMAIN = 'ldapdom'
export const LAB_BASE_DN = 'dc=example,dc=org'
export const LAB_USERS_DN = `ou=Users,${LAB_BASE_DN}`
export const LAB_GROUPS_DN = `ou=Groups,${LAB_BASE_DN}`
export const LAB_BIND_DN = `cn=keystone,${LAB_BASE_DN}`
export const LAB_READER_DN = `cn=reader,${LAB_BASE_DN}`
export const LAB_ROOT_DN = `cn=admin,${LAB_BASE_DN}`

/** The default lab directory: $IDTOOL_LAB_DIR, else $XDG_STATE_HOME/idtool/lab, else ~/.local/state/idtool/lab. */
export function defaultLabDir(env: Record<string, string | undefined> = process.env): string {
  if (env.IDTOOL_LAB_DIR) return env.IDTOOL_LAB_DIR
  const state = env.XDG_STATE_HOME || join(homedir(), '.local', 'state')
  return join(state, 'idtool', 'lab')
}

/** Keystone's files below its directory (the lab's keystone/, or where Apache's user can reach them). */
export function keystoneFiles(keystoneDir: string) {
  return {
    keystoneDir,
    keystoneConf: join(keystoneDir, 'keystone.conf'),
    keystoneDb: join(keystoneDir, 'keystone.db'),
    keystoneLog: join(keystoneDir, 'log'),
    domainsDir: join(keystoneDir, 'domains'),
    fernetKeys: join(keystoneDir, 'fernet-keys'),
    credentialKeys: join(keystoneDir, 'credential-keys'),
  }
}

/** Every path the lab uses, below one directory. */
export function labPaths(dir: string) {
  return {
    dir,
    state: join(dir, 'state.json'),
    cloudsYaml: join(dir, 'clouds.yaml'),
    /** the secrets of clouds.yaml (0600); the openstack client reads it through OS_CLIENT_SECURE_FILE */
    secureYaml: join(dir, 'secure.yaml'),
    run: join(dir, 'run'),
    secrets: join(dir, 'secrets'),
    adminPasswordFile: join(dir, 'secrets', 'keystone-admin-password'),
    ldapBindPasswordFile: join(dir, 'secrets', 'ldap-keystone-password'),
    ldapReaderPasswordFile: join(dir, 'secrets', 'ldap-reader-password'),
    ldapRootPasswordFile: join(dir, 'secrets', 'ldap-root-password'),
    dbPasswordFile: join(dir, 'secrets', 'mariadb-keystone-password'),
    /** the application credential `idtool-lab` as JSON {id, secret, userId, projectId} (0600) */
    appCredFile: join(dir, 'secrets', 'keystone-admin-appcred.json'),
    tlsDir: join(dir, 'tls'),
    /** the lab CA certificate: what `cacert` / OS_CACERT should name */
    caCert: join(dir, 'tls', 'ca.pem'),
    caKey: join(dir, 'tls', 'ca.key'),
    /** haproxy's certificate and key in one PEM (0600) */
    serverPem: join(dir, 'tls', 'server.pem'),
    clientCert: join(dir, 'tls', 'client.crt'),
    clientKey: join(dir, 'tls', 'client.key'),
    ...keystoneFiles(join(dir, 'keystone')),
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
    /** Apache httpd's config of worker i (lab up --server apache; read by Apache's root process only) */
    apacheConf: (i: number) => join(dir, 'apache', `ks${i}.conf`),
    apacheLog: (i: number) => join(dir, 'run', `ks${i}.apache.log`),
  }
}

export type LabPaths = ReturnType<typeof labPaths>

/** The shell lines that point OpenStack tools (and idtool) at the lab. */
export function labEnv(dir: string): string {
  return Object.entries(labEnvVars(dir))
    .map(([k, v]) => `export ${k}=${v}\n`)
    .join('')
}

/**
 * The variables that point OpenStack tools (and idtool) at the lab. openstacksdk reads secure.yaml only
 * from its search path or OS_CLIENT_SECURE_FILE (not from beside OS_CLIENT_CONFIG_FILE), so both are set.
 */
export function labEnvVars(dir: string): Record<string, string> {
  const p = labPaths(dir)
  return { OS_CLIENT_CONFIG_FILE: p.cloudsYaml, OS_CLIENT_SECURE_FILE: p.secureYaml, OS_CLOUD: LAB_CLOUD }
}
