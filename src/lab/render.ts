import type { LabStatus } from './index.js'

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
