import { chmodSync, readFileSync } from 'node:fs'
import { stringify as toYaml } from 'yaml'
import type { LabTlsMode } from '../results/types.js'
import { HAPROXY_MTLS_URL, HAPROXY_TLS_URL, HAPROXY_URL } from './haproxy.js'
import { LAB_APPCRED_CLOUD, LAB_CLOUD, LAB_HTTPS_CLOUD, LAB_MTLS_CLOUD, type LabPaths } from './layout.js'
import { writeAtomic } from './tls.js'

/**
 * The lab's clouds.yaml and secure.yaml, written for the openstack client (openstacksdk's rules) and read
 * by idtool the same way. clouds.yaml holds no secret; secure.yaml (0600) holds the admin password and
 * the application credential secret. openstacksdk merges secure.yaml into clouds.yaml key by key; it looks
 * for secure.yaml on its search path (current directory, ~/.config/openstack, /etc/openstack) or takes
 * OS_CLIENT_SECURE_FILE, never "beside OS_CLIENT_CONFIG_FILE", so `idtool lab env` exports both.
 */

export interface LabCloudInputs {
  adminPassword: string
  /** The application credential `lab up` made; without it the appcred cloud is left out. */
  appCred?: { id: string; secret: string }
  /** Which frontend `idtool-lab` (and `idtool-lab-appcred`) use. */
  tls: LabTlsMode
}

/** The Keystone auth URL of a lab frontend. */
export function labAuthUrl(mode: LabTlsMode): string {
  const base = mode === 'client-certs' ? HAPROXY_MTLS_URL : mode === 'tls' ? HAPROXY_TLS_URL : HAPROXY_URL
  return `${base}/v3`
}

/** The cloud-level TLS keys of a frontend (openstacksdk: cacert, cert, key). */
export function labTlsKeys(p: LabPaths, mode: LabTlsMode): Record<string, string> {
  if (mode === 'off') return {}
  if (mode === 'tls') return { cacert: p.caCert }
  return { cacert: p.caCert, cert: p.clientCert, key: p.clientKey }
}

const COMMON = { region_name: 'RegionOne', identity_api_version: 3, interface: 'public' }

function passwordCloud(p: LabPaths, mode: LabTlsMode) {
  return {
    auth: {
      auth_url: labAuthUrl(mode),
      username: 'admin',
      project_name: 'admin',
      user_domain_name: 'Default',
      project_domain_name: 'Default',
    },
    ...labTlsKeys(p, mode),
    ...COMMON,
  }
}

/** The names of the clouds the lab writes, in file order. */
export function labCloudNames(withAppCred: boolean): string[] {
  return [LAB_CLOUD, LAB_HTTPS_CLOUD, LAB_MTLS_CLOUD, ...(withAppCred ? [LAB_APPCRED_CLOUD] : [])]
}

/** clouds.yaml: every lab cloud, no secret. */
export function labCloudsYaml(p: LabPaths, i: LabCloudInputs): string {
  const clouds: Record<string, unknown> = {
    [LAB_CLOUD]: passwordCloud(p, i.tls),
    [LAB_HTTPS_CLOUD]: passwordCloud(p, 'tls'),
    [LAB_MTLS_CLOUD]: passwordCloud(p, 'client-certs'),
  }
  if (i.appCred) {
    clouds[LAB_APPCRED_CLOUD] = {
      auth_type: 'v3applicationcredential',
      auth: { auth_url: labAuthUrl(i.tls), application_credential_id: i.appCred.id },
      ...labTlsKeys(p, i.tls),
      ...COMMON,
    }
  }
  return `# written by idtool lab up: no secrets here; they are in ${p.secureYaml} (0600).
# The openstack client reads that file through OS_CLIENT_SECURE_FILE: eval "$(idtool lab env)"
# idtool-lab uses ${labAuthUrl(i.tls)}
${toYaml({ clouds })}`
}

/** secure.yaml: the secret of every lab cloud, merged by the client into clouds.yaml. */
export function labSecureYaml(i: LabCloudInputs): string {
  const clouds: Record<string, unknown> = {
    [LAB_CLOUD]: { auth: { password: i.adminPassword } },
    [LAB_HTTPS_CLOUD]: { auth: { password: i.adminPassword } },
    [LAB_MTLS_CLOUD]: { auth: { password: i.adminPassword } },
  }
  if (i.appCred) clouds[LAB_APPCRED_CLOUD] = { auth: { application_credential_secret: i.appCred.secret } }
  return `# written by idtool lab up: the secrets of clouds.yaml; keep it 0600\n${toYaml({ clouds })}`
}

function same(path: string, content: string): boolean {
  try {
    return readFileSync(path, 'utf8') === content
  } catch {
    return false
  }
}

/**
 * Write clouds.yaml and secure.yaml (both 0600, atomically: a reader never sees half a file, nor a
 * clouds.yaml without its secrets); files that already hold the same text are left alone.
 * Returns the files written.
 */
export function writeLabClouds(p: LabPaths, i: LabCloudInputs): string[] {
  const written: string[] = []
  const secure = labSecureYaml(i)
  const clouds = labCloudsYaml(p, i)
  // secrets first: the clouds.yaml that names a new credential must find its secret
  if (!same(p.secureYaml, secure)) {
    writeAtomic(p.secureYaml, secure, 0o600)
    written.push(p.secureYaml)
  } else chmodSync(p.secureYaml, 0o600)
  if (!same(p.cloudsYaml, clouds)) {
    writeAtomic(p.cloudsYaml, clouds, 0o600)
    written.push(p.cloudsYaml)
  }
  return written
}
