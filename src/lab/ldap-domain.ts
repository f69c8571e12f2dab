import { IdtoolError } from '../errors.js'
import { KeystoneClient } from '../keystone/client.js'
import type { LabSpec } from '../results/types.js'
import { KEYSTONE_URL, ldapDomainConf, startWorkers, stopWorkers, workerUrl } from './keystone.js'
import { LAB_LDAP_DOMAIN, type LabPaths } from './layout.js'
import { writeFileSecret } from './state.js'

/** The lab admin on Keystone through haproxy; `token()` issues a fresh project-scoped admin token. */
export function labAdmin(adminPassword: string) {
  const client = new KeystoneClient({ authUrl: KEYSTONE_URL, timeoutMs: 120_000 })
  const token = () =>
    client.issueTokenPassword(
      { username: 'admin', password: adminPassword, userDomainName: 'Default' },
      { projectName: 'admin', projectDomainName: 'Default' },
    )
  return { client, token }
}

export type LabAdmin = ReturnType<typeof labAdmin>

/** Write the domain-specific config that points domain ldapdom at slapd (0600: it holds the bind password). */
export function writeLdapDomainConf(p: LabPaths, bindPassword: string): void {
  writeFileSecret(`${p.domainsDir}/keystone.${LAB_LDAP_DOMAIN}.conf`, ldapDomainConf(bindPassword))
}

/**
 * The LDAP-backed domain: find or create it, write its config, restart the workers (they read domain
 * configs at start). Returns its name and id.
 */
export async function addLdapDomain(
  p: LabPaths,
  spec: LabSpec,
  admin: LabAdmin,
  bindPassword: string,
  log: (m: string) => void,
): Promise<{ name: string; id: string }> {
  const tok = await admin.token()
  const found =
    (await admin.client.findDomain(tok.token, LAB_LDAP_DOMAIN)) ??
    (await admin.client.createDomain(tok.token, LAB_LDAP_DOMAIN, 'idtool lab: users from slapd'))
  writeLdapDomainConf(p, bindPassword)
  log(`keystone: domain ${LAB_LDAP_DOMAIN} (${found.id}) now reads users from LDAP; restarting workers`)
  await stopWorkers(p, spec.workers)
  await startWorkers(p, spec, log)
  return { name: found.name, id: found.id }
}

/**
 * Warm the first LDAP user listing (it fills id_mapping; slow) once through haproxy, then on every worker;
 * fails unless the domain lists every user of the directory.
 */
export async function warmLdapListing(
  p: LabPaths,
  spec: LabSpec,
  admin: LabAdmin,
  domainId: string,
  log: (m: string) => void,
): Promise<void> {
  log(`keystone: warming the ${LAB_LDAP_DOMAIN} user listing`)
  const tok = await admin.token()
  const users = await admin.client.listUsers(tok.token, domainId)
  if (users.length !== spec.ldapUsers) {
    throw new IdtoolError(`LDAP domain lists ${users.length} users, expected ${spec.ldapUsers}`, {
      hint: `see ${p.keystoneLog}/keystone.log`,
    })
  }
  await Promise.all(
    Array.from({ length: spec.workers }, async (_, k) => {
      const direct = new KeystoneClient({ authUrl: `${workerUrl(k + 1)}/v3`, timeoutMs: 120_000 })
      await direct.listUsers(tok.token, domainId)
    }),
  )
}
