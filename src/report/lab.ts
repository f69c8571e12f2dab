import Table from 'cli-table3'
import type { LabStatus, LabUpResult } from '../results/types.js'

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
    `Keystone      ${s.keystone.url} (server ${s.keystone.server ?? '?'}, db ${s.keystone.db ?? '?'}, cache ${s.keystone.cache ? 'on' : 'off'})`,
    `LDAP          ${s.ldap.users ?? '?'} users under ${s.ldap.usersDn}, bind ${s.ldap.bindDn} (password in ${s.ldap.passwordFile})`,
    `LDAP domain   ${s.ldapDomain ? `${s.ldapDomain.name} (${s.ldapDomain.id})` : '-'}`,
    `clouds.yaml   ${s.cloudsYaml} (cloud ${s.cloud})`,
    `overall       ${s.healthy ? 'healthy' : 'NOT healthy'}`,
  ]
  return lines.join('\n')
}

/** The lab's TLS frontends, clouds and application credential as text lines (pure: status in, text out). */
export function renderLabAccess(s: LabStatus): string {
  const mode = { off: 'plain HTTP', tls: 'TLS', 'client-certs': 'TLS with a client certificate' }[s.tls.mode]
  return [
    `TLS           ${s.tls.url} (lab CA ${s.tls.caFile}), ${s.tls.mtlsUrl} (client certificate required), calibration ${s.tls.calibrationUrl}: ${s.tls.healthy ? 'ok' : 'DOWN'}`,
    `idtool-lab    ${s.tls.cloudAuthUrl} (${mode}; lab up --tls / --tls-client-certs to switch)`,
    `clouds        ${s.clouds.join(', ')}; secrets in ${s.secureYaml}`,
    `app cred      ${s.appCredential ? `${s.appCredential.name} (${s.appCredential.id}), secret in ${s.appCredential.file}` : '-'}`,
  ].join('\n')
}

/** What `lab up` prints: the status, the access lines, and how to point tools at the lab. */
export function renderLabUp(s: LabUpResult): string {
  return [
    renderLabStatus(s),
    renderLabAccess(s),
    '',
    `${s.alreadyUp ? 'Lab was already up' : `Lab up in ${(s.timingsMs.total! / 1000).toFixed(1)} s`}. Use it with:`,
    `  export OS_CLIENT_CONFIG_FILE=${s.cloudsYaml} OS_CLIENT_SECURE_FILE=${s.secureYaml} OS_CLOUD=${s.cloud}`,
    `  (${s.cloud} → ${s.tls.cloudAuthUrl}; clouds: ${s.clouds.join(', ')})`,
    '  (or: eval "$(idtool lab env)")',
  ].join('\n')
}
