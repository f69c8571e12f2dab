import { Flags } from '@oclif/core'

/** OpenStack connection flags, matching the OS_* variables. There is deliberately no password flag. */
export const osFlags = {
  'os-cloud': Flags.string({
    description: 'cloud name in clouds.yaml (env OS_CLOUD)',
    helpGroup: 'OPENSTACK',
  }),
  'os-auth-url': Flags.string({
    description: 'Keystone URL, e.g. http://127.0.0.1:5000/v3 (env OS_AUTH_URL)',
    helpGroup: 'OPENSTACK',
  }),
  'os-username': Flags.string({ description: 'user name (env OS_USERNAME)', helpGroup: 'OPENSTACK' }),
  'os-password-file': Flags.string({
    description:
      'file holding the password (else env OS_PASSWORD or clouds.yaml); never pass a password as a value',
    helpGroup: 'OPENSTACK',
  }),
  'os-project-name': Flags.string({
    description: 'project to scope to (env OS_PROJECT_NAME)',
    helpGroup: 'OPENSTACK',
  }),
  'os-user-domain-name': Flags.string({
    description: 'user domain (env OS_USER_DOMAIN_NAME, default Default)',
    helpGroup: 'OPENSTACK',
  }),
  'os-project-domain-name': Flags.string({
    description: 'project domain (env OS_PROJECT_DOMAIN_NAME, default Default)',
    helpGroup: 'OPENSTACK',
  }),
  'os-cacert': Flags.string({
    description: 'CA bundle for https Keystone (env OS_CACERT)',
    helpGroup: 'OPENSTACK',
  }),
}

export interface OsFlagValues {
  'os-cloud'?: string
  'os-auth-url'?: string
  'os-username'?: string
  'os-password-file'?: string
  'os-project-name'?: string
  'os-user-domain-name'?: string
  'os-project-domain-name'?: string
  'os-cacert'?: string
}

/** Map parsed --os-* flags to the resolver's input shape. */
export function osFlagInputs(f: OsFlagValues) {
  return {
    osCloud: f['os-cloud'],
    osAuthUrl: f['os-auth-url'],
    osUsername: f['os-username'],
    osPasswordFile: f['os-password-file'],
    osProjectName: f['os-project-name'],
    osUserDomainName: f['os-user-domain-name'],
    osProjectDomainName: f['os-project-domain-name'],
    osCacert: f['os-cacert'],
  }
}

/** Parse a duration like 30s, 500ms, 2m, 1h, or a bare number of seconds, into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text)
  if (!m) throw new Error(`invalid duration "${text}" (use e.g. 500ms, 30s, 2m, 1h)`)
  const n = Number(m[1])
  const unit = m[2] ?? 's'
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000
  return Math.round(n * factor)
}

/** A duration flag whose value is milliseconds. */
export const durationFlag = Flags.custom<number>({
  parse: async (input) => parseDuration(input),
})

/** `--scenario FILE`: settings from a scenario file; flags typed on the command line win. */
export const scenarioFlag = {
  scenario: Flags.string({
    description:
      'read settings from a scenario YAML file (see scenarios/); flags typed on the command line win',
    helpGroup: 'GLOBAL',
  }),
}
