import Table from 'cli-table3'
import type { LabStatus } from '../lab/index.js'

const mark = (ok: boolean) => (ok ? 'ok' : 'DOWN')

/** The lab status as a table (pure: status in, text out). */
export function renderLabStatus(s: LabStatus): string {
  const t = new Table({ head: ['component', 'url', 'pid', 'health'], style: { head: [], border: [] } })
  t.push(['haproxy', s.haproxy.url, String(s.haproxy.pid ?? '-'), mark(s.haproxy.healthy)])
  for (const w of s.keystone.workers) {
    t.push([
      `keystone ${w.name}`,
      w.url,
      `${w.pid ?? '-'}${w.workerPid ? ` (worker ${w.workerPid})` : ''}`,
      mark(w.healthy),
    ])
  }
  t.push(['slapd', s.ldap.url, String(s.ldap.pid ?? '-'), mark(s.ldap.healthy)])
  if (s.mariadb)
    t.push(['mariadb', s.mariadb.socket, String(s.mariadb.pid ?? '-'), mark(s.mariadb.pid !== null)])
  const lines = [
    t.toString(),
    `Keystone      ${s.keystone.url} (db ${s.keystone.db ?? '?'}, cache ${s.keystone.cache ? 'on' : 'off'})`,
    `LDAP          ${s.ldap.users ?? '?'} users under ${s.ldap.usersDn}, bind ${s.ldap.bindDn} (password in ${s.ldap.passwordFile})`,
    `LDAP domain   ${s.ldapDomain ? `${s.ldapDomain.name} (${s.ldapDomain.id})` : '-'}`,
    `clouds.yaml   ${s.cloudsYaml} (cloud ${s.cloud})`,
    `overall       ${s.healthy ? 'healthy' : 'NOT healthy'}`,
  ]
  return lines.join('\n')
}
