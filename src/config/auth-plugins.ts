import type { AuthType } from './settings.js'

/**
 * The keystoneauth auth plugins idtool speaks, with the options each accepts, as keystoneauth1's loaders
 * declare them (`loading.get_plugin_loader(name).get_options()`, keystoneauth1 5.0): the option name with
 * `_` for `-`, its deprecated names, and whether it is required. Order matters: it is the order in which
 * openstacksdk picks each winning value.
 */
export interface PluginOption {
  name: string
  deprecated?: string[]
  required?: boolean
  /** asked for interactively by the openstack client when missing (never by idtool) */
  prompt?: boolean
}

const SCOPE_OPTIONS = (generic: boolean): PluginOption[] => [
  { name: 'auth_url', required: true },
  { name: 'system_scope' },
  { name: 'domain_id' },
  { name: 'domain_name' },
  { name: 'project_id', deprecated: generic ? ['tenant_id'] : [] },
  { name: 'project_name', deprecated: generic ? ['tenant_name'] : [] },
  { name: 'project_domain_id' },
  { name: 'project_domain_name' },
  { name: 'trust_id' },
  ...(generic ? [{ name: 'default_domain_id' }, { name: 'default_domain_name' }] : []),
]

const USER_OPTIONS: PluginOption[] = [
  { name: 'user_id' },
  { name: 'username', deprecated: ['user_name'] },
  { name: 'user_domain_id' },
  { name: 'user_domain_name' },
]

export interface PluginSpec {
  /** keystoneauth plugin name */
  name: string
  /** idtool's normalised type */
  type: AuthType
  /** version-independent plugin (discovery, default_domain_*) rather than a v3 one */
  generic: boolean
  options: PluginOption[]
  /** keyword arguments the plugin class also takes although they are not loader options */
  extraKwargs: string[]
}

export const PLUGINS: Record<string, PluginSpec> = {
  password: {
    name: 'password',
    type: 'password',
    generic: true,
    options: [...SCOPE_OPTIONS(true), ...USER_OPTIONS, { name: 'password', prompt: true }],
    extraKwargs: ['tenant_id', 'tenant_name', 'reauthenticate'],
  },
  v3password: {
    name: 'v3password',
    type: 'password',
    generic: false,
    options: [...SCOPE_OPTIONS(false), ...USER_OPTIONS, { name: 'password', prompt: true }],
    extraKwargs: ['reauthenticate', 'include_catalog', 'unscoped'],
  },
  v3applicationcredential: {
    name: 'v3applicationcredential',
    type: 'v3applicationcredential',
    generic: false,
    options: [
      ...SCOPE_OPTIONS(false),
      ...USER_OPTIONS,
      { name: 'application_credential_secret', required: true },
      { name: 'application_credential_id' },
      { name: 'application_credential_name' },
    ],
    extraKwargs: ['reauthenticate', 'include_catalog', 'unscoped'],
  },
  token: {
    name: 'token',
    type: 'token',
    generic: true,
    options: [...SCOPE_OPTIONS(true), { name: 'token' }],
    extraKwargs: ['tenant_id', 'tenant_name', 'reauthenticate'],
  },
  v3token: {
    name: 'v3token',
    type: 'token',
    generic: false,
    options: [...SCOPE_OPTIONS(false), { name: 'token' }],
    extraKwargs: ['reauthenticate', 'include_catalog', 'unscoped'],
  },
}

/** Every plugin name keystoneauth1 5.0 knows (`loading.get_available_plugin_names()`). */
export const KEYSTONEAUTH_PLUGINS = [
  'admin_token',
  'http_basic',
  'noauth',
  'none',
  'password',
  'token',
  'v2password',
  'v2token',
  'v3adfspassword',
  'v3applicationcredential',
  'v3multifactor',
  'v3oauth1',
  'v3oidcaccesstoken',
  'v3oidcauthcode',
  'v3oidcclientcredentials',
  'v3oidcpassword',
  'v3password',
  'v3samlpassword',
  'v3token',
  'v3tokenlessauth',
  'v3totp',
]

/**
 * The auth options of every keystoneauth plugin, each of which the openstack client (osc-lib) registers as
 * `--os-NAME` with `OS_NAME` as its default (tenant ones excepted: OS_TENANT_* only back OS_PROJECT_*).
 */
export const OSC_AUTH_OPTIONS = [
  'access_key',
  'access_secret',
  'access_token',
  'access_token_endpoint',
  'access_token_type',
  'application_credential_id',
  'application_credential_name',
  'application_credential_secret',
  'auth_methods',
  'auth_url',
  'client_id',
  'client_secret',
  'code',
  'consumer_key',
  'consumer_secret',
  'default_domain_id',
  'default_domain_name',
  'discovery_endpoint',
  'domain_id',
  'domain_name',
  'endpoint',
  'identity_provider',
  'identity_provider_url',
  'openid_scope',
  'passcode',
  'password',
  'project_domain_id',
  'project_domain_name',
  'project_id',
  'project_name',
  'protocol',
  'redirect_uri',
  'service_provider_endpoint',
  'service_provider_entity_id',
  'system_scope',
  'token',
  'trust_id',
  'user_domain_id',
  'user_domain_name',
  'user_id',
  'username',
]

/** Levenshtein distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0
    prev[0] = i
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] ?? 0
      prev[j] = Math.min(up + 1, (prev[j - 1] ?? 0) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1))
      diag = up
    }
  }
  return prev[b.length] ?? 0
}

/** The closest of `candidates` to `word`, when it is close enough to be a likely typo. */
export function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined
  let bestD = Number.POSITIVE_INFINITY
  for (const c of candidates) {
    const d = editDistance(word, c)
    if (d < bestD) {
      best = c
      bestD = d
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined
}
