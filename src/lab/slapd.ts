import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import {
  LAB_BASE_DN,
  LAB_BIND_DN,
  LAB_GROUPS_DN,
  LAB_HOST,
  LAB_PORTS,
  LAB_READER_DN,
  LAB_ROOT_DN,
  LAB_USERS_DN,
  type LabPaths,
} from './layout.js'
import { portOpen, run, waitFor } from './proc.js'

/** An {SSHA} password hash as slapd understands it. */
export function sshaHash(password: string, salt: Buffer = randomBytes(8)): string {
  const digest = createHash('sha1').update(password).update(salt).digest()
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`
}

/** The user name and password of lab LDAP user `n` (1-based): user00042 / pw00042. Lab fixture data. */
export function labUser(n: number): { uid: string; password: string } {
  const id = String(n).padStart(5, '0')
  return { uid: `user${id}`, password: `pw${id}` }
}

export function slapdConf(p: LabPaths, rootHash: string): string {
  return `# written by idtool lab up
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
pidfile ${p.slapdPid}
argsfile ${p.run}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
# the default, kept on purpose: ordinary bind DNs are cut at 500 entries, paged or not
sizelimit 500

database mdb
maxsize 1073741824
suffix "${LAB_BASE_DN}"
rootdn "${LAB_ROOT_DN}"
rootpw ${rootHash}
directory ${p.slapdData}
index objectClass eq
index uid,cn,mail eq
index member eq
# the Keystone service account may read everything, paged results included
limits dn.exact="${LAB_BIND_DN}" size=unlimited size.pr=unlimited size.prtotal=unlimited
access to attrs=userPassword
  by self write
  by anonymous auth
  by * none
access to *
  by users read
  by * none
`
}

/** The directory content: users, groups and two service accounts, as LDIF. */
export function labLdif(users: number, passwords: { keystone: string; reader: string }): string {
  const out: string[] = []
  const entry = (lines: string[]) => out.push(`${lines.join('\n')}\n`)
  entry([
    `dn: ${LAB_BASE_DN}`,
    'objectClass: top',
    'objectClass: dcObject',
    'objectClass: organization',
    'o: idtool lab',
    'dc: example',
  ])
  entry([`dn: ${LAB_USERS_DN}`, 'objectClass: organizationalUnit', 'ou: Users'])
  entry([`dn: ${LAB_GROUPS_DN}`, 'objectClass: organizationalUnit', 'ou: Groups'])
  for (const [dn, cn, pw] of [
    [LAB_BIND_DN, 'keystone', passwords.keystone],
    [LAB_READER_DN, 'reader', passwords.reader],
  ] as const) {
    entry([
      `dn: ${dn}`,
      'objectClass: organizationalRole',
      'objectClass: simpleSecurityObject',
      `cn: ${cn}`,
      `userPassword: ${sshaHash(pw)}`,
    ])
  }
  // one salt for the fixture users keeps generation fast; these passwords are lab fixtures
  const salt = randomBytes(8)
  for (let i = 1; i <= users; i++) {
    const { uid, password } = labUser(i)
    entry([
      `dn: uid=${uid},${LAB_USERS_DN}`,
      'objectClass: inetOrgPerson',
      `uid: ${uid}`,
      `cn: User ${i}`,
      `sn: ${uid}`,
      `mail: ${uid}@example.org`,
      `userPassword: ${sshaHash(password, salt)}`,
    ])
  }
  const groups: Array<[string, number]> = [
    ['admins', 10],
    ['operators', 100],
    ['devs', 1000],
    ['tiny', 5],
  ]
  for (const [name, size] of groups) {
    const members = Math.max(1, Math.min(size, users))
    const lines = [`dn: cn=${name},${LAB_GROUPS_DN}`, 'objectClass: groupOfNames', `cn: ${name}`]
    for (let i = 1; i <= members; i++) lines.push(`member: uid=${labUser(i).uid},${LAB_USERS_DN}`)
    entry(lines)
  }
  return out.join('\n')
}

/** (Re)build the mdb database offline from LDIF. slapd must not be running. */
export async function buildDirectory(
  p: LabPaths,
  users: number,
  passwords: { root: string; keystone: string; reader: string },
): Promise<void> {
  rmSync(p.slapdData, { recursive: true, force: true })
  mkdirSync(p.slapdData, { recursive: true, mode: 0o700 })
  writeFileSync(p.slapdConf, slapdConf(p, sshaHash(passwords.root)), { mode: 0o600 })
  writeFileSync(p.slapdLdif, labLdif(users, passwords), { mode: 0o600 })
  await run('/usr/sbin/slapadd', ['-q', '-f', p.slapdConf, '-l', p.slapdLdif], { timeoutMs: 300_000 })
}

export function directoryBuilt(p: LabPaths): boolean {
  return existsSync(p.slapdData) && readdirSync(p.slapdData).includes('data.mdb') && existsSync(p.slapdConf)
}

export const LDAP_URL = `ldap://${LAB_HOST}:${LAB_PORTS.ldap}`

export async function startSlapd(p: LabPaths): Promise<void> {
  await run('/usr/sbin/slapd', ['-h', `${LDAP_URL}/`, '-f', p.slapdConf])
  await waitFor('slapd', () => portOpen(LAB_HOST, LAB_PORTS.ldap), 20_000, `see ${p.slapdConf}`)
}
