import { existsSync, unlinkSync, writeFileSync } from 'node:fs'
import { IdtoolError } from '../errors.js'
import { ExitCode } from '../exit-codes.js'
import { run } from './proc.js'

/** A program the lab needs, and the Debian package that ships it. */
export interface Requirement {
  program: string
  pkg: string
}

export const BASE_REQUIREMENTS: Requirement[] = [
  { program: '/usr/bin/keystone-manage', pkg: 'python3-keystone' },
  { program: '/usr/bin/uwsgi', pkg: 'uwsgi-core' },
  { program: '/usr/lib/uwsgi/plugins/python3_plugin.so', pkg: 'uwsgi-plugin-python3' },
  { program: '/usr/lib/python3/dist-packages/ldap/__init__.py', pkg: 'python3-ldap' },
  { program: '/usr/bin/sqlite3', pkg: 'sqlite3' },
  { program: '/usr/sbin/haproxy', pkg: 'haproxy' },
  { program: '/usr/sbin/slapd', pkg: 'slapd' },
  { program: '/usr/bin/ldapsearch', pkg: 'ldap-utils' },
  { program: '/usr/bin/ab', pkg: 'apache2-utils' },
  { program: '/usr/bin/wrk', pkg: 'wrk' },
  // the lab CA and certificates of haproxy's TLS frontends
  { program: '/usr/bin/openssl', pkg: 'openssl' },
  // the reference client: the lab's clouds.yaml is checked with it
  { program: '/usr/bin/openstack', pkg: 'python3-openstackclient' },
]

/** `lab up --server apache`: Apache httpd and mod_wsgi for Python 3 (the lab loads it with its own config). */
export const APACHE_REQUIREMENTS: Requirement[] = [
  { program: '/usr/sbin/apache2', pkg: 'apache2' },
  { program: '/usr/lib/apache2/modules/mod_wsgi.so', pkg: 'libapache2-mod-wsgi-py3' },
]

export const MARIADB_REQUIREMENTS: Requirement[] = [
  { program: '/usr/sbin/mariadbd', pkg: 'mariadb-server' },
  { program: '/usr/lib/python3/dist-packages/pymysql/__init__.py', pkg: 'python3-pymysql' },
]

/** The packages whose programs are missing on this machine. */
export function missingPackages(reqs: Requirement[], exists: (p: string) => boolean = existsSync): string[] {
  return [...new Set(reqs.filter((r) => !exists(r.program)).map((r) => r.pkg))]
}

const POLICY_RC = '/usr/sbin/policy-rc.d'

/**
 * Install packages non-interactively with apt. Daemons must not start from postinst scripts (slapd's
 * would listen on all interfaces): a policy-rc.d that denies starts is put in place for the install
 * and removed afterwards if idtool created it. slapd is pre-seeded to skip its default database.
 */
export async function aptInstall(pkgs: string[], log: (m: string) => void): Promise<void> {
  if (pkgs.length === 0) return
  if (process.getuid && process.getuid() !== 0) {
    throw new IdtoolError(`installing ${pkgs.join(' ')} needs root`, {
      exitCode: ExitCode.Usage,
      code: 'NOT_ROOT',
      hint: `run as root (sudo), or install them yourself: apt-get install -y --no-install-recommends ${pkgs.join(' ')}`,
    })
  }
  const createdPolicy = !existsSync(POLICY_RC)
  if (createdPolicy)
    writeFileSync(POLICY_RC, '#!/bin/sh\n# written by idtool lab up --install\nexit 101\n', { mode: 0o755 })
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    await run('debconf-set-selections', [], { input: 'slapd slapd/no_configuration boolean true\n', env })
    log(`apt-get update`)
    await run('apt-get', ['update', '-qq'], { env, timeoutMs: 300_000 })
    log(`apt-get install ${pkgs.join(' ')}`)
    await run(
      'apt-get',
      ['install', '-y', '-qq', '--no-install-recommends', '-o', 'Dpkg::Options::=--force-confdef', ...pkgs],
      { env, timeoutMs: 900_000 },
    )
  } finally {
    if (createdPolicy) {
      try {
        unlinkSync(POLICY_RC)
      } catch {
        /* already gone */
      }
    }
  }
}
