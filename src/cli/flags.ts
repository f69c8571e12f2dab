import type { OsFlagInputs } from '../config/auth.js'
import { Flags } from './oclif.js'

/**
 * OpenStack connection flags, named as the openstack client names them, each falling back to its OS_*
 * variable and then to clouds.yaml (see src/config/auth.ts). There is deliberately no flag that takes a
 * secret as its value: passwords, application credential secrets and tokens come from OS_* variables,
 * clouds.yaml/secure.yaml, or a file (`--os-password-file`, `--os-application-credential-secret-file`,
 * `--os-token-file`).
 */
const os = (description: string) => Flags.string({ description, helpGroup: 'OPENSTACK' })

export const osFlags = {
  'os-cloud': os('cloud name in clouds.yaml (env OS_CLOUD)'),
  'os-auth-url': os('Keystone URL, e.g. https://keystone.example.org:5000/v3 (env OS_AUTH_URL)'),
  'os-auth-type': Flags.string({
    description: 'password, v3password, v3applicationcredential, token or v3token (env OS_AUTH_TYPE)',
    helpGroup: 'OPENSTACK',
  }),
  'os-username': os('user name (env OS_USERNAME)'),
  'os-user-id': os('user ID (env OS_USER_ID)'),
  'os-password-file': os(
    'file holding the password (else env OS_PASSWORD or clouds.yaml); never a password as a value',
  ),
  'os-user-domain-name': os('domain of the user, by name (env OS_USER_DOMAIN_NAME)'),
  'os-user-domain-id': os('domain of the user, by ID (env OS_USER_DOMAIN_ID)'),
  'os-project-name': os('project to scope to, by name (env OS_PROJECT_NAME)'),
  'os-project-id': os('project to scope to, by ID (env OS_PROJECT_ID)'),
  'os-project-domain-name': os('domain of the project, by name (env OS_PROJECT_DOMAIN_NAME)'),
  'os-project-domain-id': os('domain of the project, by ID (env OS_PROJECT_DOMAIN_ID)'),
  'os-domain-name': os('domain to scope to, by name (env OS_DOMAIN_NAME)'),
  'os-domain-id': os('domain to scope to, by ID (env OS_DOMAIN_ID)'),
  'os-system-scope': os('system scope: all (env OS_SYSTEM_SCOPE)'),
  'os-application-credential-id': os('application credential ID (env OS_APPLICATION_CREDENTIAL_ID)'),
  'os-application-credential-name': os(
    'application credential name, with the user that owns it (env OS_APPLICATION_CREDENTIAL_NAME)',
  ),
  'os-application-credential-secret-file': os(
    'file holding the application credential secret (else env OS_APPLICATION_CREDENTIAL_SECRET or secure.yaml)',
  ),
  'os-token-file': os('file holding a token to authenticate with (auth type token; else env OS_TOKEN)'),
  'os-cacert': os('CA bundle for an https Keystone (env OS_CACERT)'),
  'os-cert': os('client certificate, PEM (env OS_CERT)'),
  'os-key': os('client certificate key, PEM (env OS_KEY)'),
  'os-insecure': Flags.boolean({
    description: 'do not verify the server certificate (a warning is printed)',
    helpGroup: 'OPENSTACK',
  }),
  'os-region-name': os("region (env OS_REGION_NAME); must be one of the cloud's regions"),
  'os-interface': Flags.string({
    description: 'endpoint interface (env OS_INTERFACE)',
    options: ['admin', 'public', 'internal'],
    helpGroup: 'OPENSTACK',
  }),
}

export interface OsFlagValues {
  'os-cloud'?: string
  'os-auth-url'?: string
  'os-auth-type'?: string
  'os-username'?: string
  'os-user-id'?: string
  'os-password-file'?: string
  'os-user-domain-name'?: string
  'os-user-domain-id'?: string
  'os-project-name'?: string
  'os-project-id'?: string
  'os-project-domain-name'?: string
  'os-project-domain-id'?: string
  'os-domain-name'?: string
  'os-domain-id'?: string
  'os-system-scope'?: string
  'os-application-credential-id'?: string
  'os-application-credential-name'?: string
  'os-application-credential-secret-file'?: string
  'os-token-file'?: string
  'os-cacert'?: string
  'os-cert'?: string
  'os-key'?: string
  'os-insecure'?: boolean
  'os-region-name'?: string
  'os-interface'?: string
}

/** Map parsed --os-* flags to the resolver's input shape. */
export function osFlagInputs(f: OsFlagValues): OsFlagInputs {
  return {
    osCloud: f['os-cloud'],
    osAuthUrl: f['os-auth-url'],
    osAuthType: f['os-auth-type'],
    osUsername: f['os-username'],
    osUserId: f['os-user-id'],
    osPasswordFile: f['os-password-file'],
    osUserDomainName: f['os-user-domain-name'],
    osUserDomainId: f['os-user-domain-id'],
    osProjectName: f['os-project-name'],
    osProjectId: f['os-project-id'],
    osProjectDomainName: f['os-project-domain-name'],
    osProjectDomainId: f['os-project-domain-id'],
    osDomainName: f['os-domain-name'],
    osDomainId: f['os-domain-id'],
    osSystemScope: f['os-system-scope'],
    osApplicationCredentialId: f['os-application-credential-id'],
    osApplicationCredentialName: f['os-application-credential-name'],
    osApplicationCredentialSecretFile: f['os-application-credential-secret-file'],
    osTokenFile: f['os-token-file'],
    osCacert: f['os-cacert'],
    osCert: f['os-cert'],
    osKey: f['os-key'],
    osInsecure: f['os-insecure'],
    osRegionName: f['os-region-name'],
    osInterface: f['os-interface'],
  }
}

/** Parse a duration like 30s, 500ms, 2m, 1h, or a bare number of seconds, into milliseconds. */
export function parseDuration(text: string, opts: { allowZero?: boolean } = {}): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text)
  if (!m) throw new Error(`invalid duration "${text}" (use e.g. 500ms, 30s, 2m, 1h)`)
  const n = Number(m[1])
  const unit = m[2] ?? 's'
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000
  const ms = Math.round(n * factor)
  if (ms === 0 && !opts.allowZero) throw new Error(`duration "${text}" must be above 0`)
  if (ms > MAX_DURATION_MS)
    throw new Error(`duration "${text}" is above the longest idtool can wait, ${MAX_DURATION_TEXT}`)
  return ms
}

/**
 * The longest duration idtool accepts: what one Node timer can wait (2^31 - 1 ms, about 24.8 days; a longer
 * one fires after 1 ms with a TimeoutOverflowWarning).
 */
export const MAX_DURATION_MS = 2 ** 31 - 1
const MAX_DURATION_TEXT = '596h (24 days)'

/** A duration flag whose value is milliseconds, above 0 and at most MAX_DURATION_MS. */
export const durationFlag = Flags.custom<number>({
  parse: async (input) => parseDuration(input),
})

/** A duration flag that may be 0 (e.g. "no warm-up"). */
export const durationOrZeroFlag = Flags.custom<number>({
  parse: async (input) => parseDuration(input, { allowZero: true }),
})

/** `--scenario FILE`: settings from a scenario file; flags typed on the command line win. */
export const scenarioFlag = {
  scenario: Flags.string({
    description:
      'read settings from a scenario YAML file (see scenarios/); flags typed on the command line win',
    helpGroup: 'GLOBAL',
  }),
}
