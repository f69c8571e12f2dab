import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { ConfigError } from '../errors.js'
import { closest, KEYSTONEAUTH_PLUGINS, OSC_AUTH_OPTIONS, PLUGINS } from './auth-plugins.js'
import { isMapping, loadPyYaml, type PyValue, pyStr, pyTruthy } from './pyyaml.js'
import type { AuthSettings, Credential, ScopeRequest, Sources, TlsSettings, UserRef } from './settings.js'

export type { AuthSettings } from './settings.js'
export { isLoopbackUrl, keystoneV3Base } from './urls.js'

/**
 * The connection resolver: clouds.yaml, secure.yaml, OS_* variables and --os-* flags turned into one
 * AuthSettings, by the rules the openstack client (python-openstackclient 6 on osc-lib 2.6 and openstacksdk
 * 0.101, keystoneauth1 5.0) applies for `openstack token issue`:
 *
 * - files: the first of `OS_CLIENT_CONFIG_FILE` (prepended, not exclusive), then clouds.yaml/.yml/.json in
 *   the current directory, `$XDG_CONFIG_HOME/openstack` (default ~/.config/openstack), ~/.config/openstack,
 *   `$XDG_CONFIG_DIRS/openstack` (default /etc/xdg/openstack) and /etc/openstack. secure.yaml is found the
 *   same way (`OS_CLIENT_SECURE_FILE` first), independently, and merged over it. Only the first file found is
 *   read: a cloud missing from it is not looked for further down.
 * - the cloud: `--os-cloud`, else `OS_CLOUD`, else none (osc passes '' to the sdk, so neither the sdk's
 *   "only cloud" default nor its "envvars" cloud applies: without a cloud, everything comes from OS_* and
 *   flags).
 * - OS_* variables count only where osc has an option for them (each keystoneauth plugin option, OS_CACERT,
 *   OS_CERT, OS_KEY, OS_REGION_NAME, OS_INTERFACE, OS_AUTH_TYPE, OS_IDENTITY_API_VERSION, OS_DEFAULT_DOMAIN,
 *   OS_TENANT_* for OS_PROJECT_*); OS_INSECURE and OS_VERIFY are not read by osc and not by idtool.
 * - precedence: flag > variable > cloud, except for the keys openstacksdk moves under `auth` before merging
 *   (domain_id, domain_name, user_domain_*, project_domain_*, project_id, project_name, tenant_*, token):
 *   for those a value in the cloud's `auth:` section wins over the flag and the variable, as in osc.
 * - YAML is read as PyYAML reads it (YAML 1.1) and ids/names become Python's str() of the value.
 * - the `domain_id`/`domain_name` shorthand fills the user and project domains of a project-scoped cloud,
 *   else it is the domain scope; with `identity_api_version: 3`, osc's default domain (`default`, or
 *   OS_DEFAULT_DOMAIN) fills missing user and project domains of password auth.
 * - the scope is keystoneauth's: domain, else project, else system (`all` only), else unscoped; domain and
 *   project together are refused.
 * - an auth key the plugin does not take is refused (the client fails on it too), naming the closest key.
 *
 * Credential completeness (password, user, secret, token, domains of names) is checked by
 * `authRequestBody` (src/keystone/auth-body.ts), so `idtool config show` can show an incomplete setup.
 */

/** Resolver inputs from the --os-* flags (see src/flags.ts `osFlagInputs`). Secrets only by file. */
export interface OsFlagInputs {
  osCloud?: string
  osAuthUrl?: string
  osAuthType?: string
  osUsername?: string
  osUserId?: string
  osPasswordFile?: string
  osProjectName?: string
  osProjectId?: string
  osUserDomainName?: string
  osUserDomainId?: string
  osProjectDomainName?: string
  osProjectDomainId?: string
  osDomainId?: string
  osDomainName?: string
  osSystemScope?: string
  osApplicationCredentialId?: string
  osApplicationCredentialName?: string
  osApplicationCredentialSecretFile?: string
  osTokenFile?: string
  osCacert?: string
  osCert?: string
  osKey?: string
  osInsecure?: boolean
  osRegionName?: string
  osInterface?: string
}

/** The inputs of resolution. */
export interface AuthInputs {
  flags: OsFlagInputs
  env: Record<string, string | undefined>
  /** Reads a file; injected for tests. Returns undefined when the file does not exist (or is unreadable). */
  readFile?: (path: string) => string | undefined
  /** Current directory and home directory (default: $HOME), for the search path and `~` in paths. */
  cwd?: string
  home?: string
}

/** A value in the configuration being merged, with where it came from. */
interface Entry {
  v: PyValue
  src: string
}
type Section = Map<string, Entry>

function defaultReadFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    // openstacksdk skips a file it may not read (EACCES) and one that does not exist
    if (code === 'ENOENT' || code === 'EACCES' || code === 'ENOTDIR') return undefined
    throw new ConfigError(`cannot read ${path}: ${(err as Error).message}`, {
      hint: 'check the file and its permissions.',
    })
  }
}

function expandUser(path: string, home: string): string {
  if (path === '~') return home
  if (path.startsWith('~/')) return join(home, path.slice(2))
  return path
}

/** The directories openstacksdk searches, in order (openstack/config/loader.py CONFIG_SEARCH_PATH). */
export function configSearchDirs(
  env: Record<string, string | undefined>,
  cwd: string,
  home: string,
): string[] {
  const xdgHome = env.XDG_CONFIG_HOME !== undefined ? env.XDG_CONFIG_HOME : join(home, '.config')
  const unixHome = env.SNAP_REAL_HOME
    ? join(env.SNAP_REAL_HOME, '.config', 'openstack')
    : join(home, '.config', 'openstack')
  // appdirs' site_config_dir(multipath=True): every XDG_CONFIG_DIRS entry + /openstack, joined by ':'
  const site = (env.XDG_CONFIG_DIRS ?? '/etc/xdg')
    .split(':')
    .map((d) => `${expandUser(d.replace(/\/+$/, ''), home)}/openstack`)
    .join(':')
  return [cwd, xdgHome === '' ? 'openstack' : join(xdgHome, 'openstack'), unixHome, site, '/etc/openstack']
}

function candidates(
  base: 'clouds' | 'secure',
  override: string | undefined,
  env: Record<string, string | undefined>,
  cwd: string,
  home: string,
): string[] {
  const list: string[] = []
  if (override) list.push(resolve(cwd, override))
  for (const d of configSearchDirs(env, cwd, home)) {
    for (const s of ['.yaml', '.yml', '.json']) list.push(resolve(cwd, d, `${base}${s}`))
  }
  return list
}

/** The clouds files openstacksdk tries, first found wins: OS_CLIENT_CONFIG_FILE, then the search path. */
export function cloudsYamlCandidates(
  env: Record<string, string | undefined>,
  cwd: string,
  home: string,
): string[] {
  return candidates('clouds', env.OS_CLIENT_CONFIG_FILE, env, cwd, home)
}

/** The secure files openstacksdk tries, first found wins: OS_CLIENT_SECURE_FILE, then the search path. */
export function secureYamlCandidates(
  env: Record<string, string | undefined>,
  cwd: string,
  home: string,
): string[] {
  return candidates('secure', env.OS_CLIENT_SECURE_FILE, env, cwd, home)
}

function loadFirst(
  files: string[],
  readFile: (p: string) => string | undefined,
): { file: string; doc: PyValue } | undefined {
  for (const file of files) {
    const text = readFile(file)
    if (text === undefined) continue
    try {
      return { file, doc: loadPyYaml(text, { json: file.endsWith('json') }) }
    } catch (err) {
      throw new ConfigError(
        `${file} is not valid ${file.endsWith('json') ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`,
        { hint: 'fix the file (the openstack client cannot read it either).' },
      )
    }
  }
  return undefined
}

/** openstacksdk's merge_clouds: like dict.update, recursing into mappings. */
function mergeClouds(a: PyValue, b: PyValue): PyValue {
  if (!isMapping(a) || !isMapping(b)) return b
  const out: Record<string, PyValue> = { ...a }
  for (const [k, v] of Object.entries(b)) {
    const old = out[k]
    out[k] = isMapping(v) && old !== undefined ? mergeClouds(old, v) : v
  }
  return out
}

function hasPath(doc: PyValue | undefined, path: string[]): boolean {
  let cur: PyValue | undefined = doc
  for (const k of path) {
    if (!isMapping(cur) || !(k in cur)) return false
    cur = cur[k]
  }
  return true
}

const normKey = (k: string) => k.replace(/-/g, '_')

/** `OS_X` variables osc registers as option defaults: argparse dest → variable(s), first set one wins. */
const OSC_ENV: Array<[string, string[]]> = [
  ['cacert', ['OS_CACERT']],
  ['cert', ['OS_CERT']],
  ['key', ['OS_KEY']],
  ['interface', ['OS_INTERFACE']],
  ['auth_type', ['OS_AUTH_TYPE']],
  ['identity_api_version', ['OS_IDENTITY_API_VERSION']],
  ['service_provider', ['OS_SERVICE_PROVIDER']],
  ...OSC_AUTH_OPTIONS.map((o): [string, string[]] => {
    const v = `OS_${o.toUpperCase()}`
    if (o === 'project_name') return [o, [v, 'OS_TENANT_NAME']]
    if (o === 'project_id') return [o, [v, 'OS_TENANT_ID']]
    return [o, [v]]
  }),
]

/** idtool flag → osc argparse dest. Secrets come from files. */
const FLAG_ARGS: Array<[keyof OsFlagInputs, string, string]> = [
  ['osAuthUrl', 'auth_url', '--os-auth-url'],
  ['osAuthType', 'auth_type', '--os-auth-type'],
  ['osUsername', 'username', '--os-username'],
  ['osUserId', 'user_id', '--os-user-id'],
  ['osProjectName', 'project_name', '--os-project-name'],
  ['osProjectId', 'project_id', '--os-project-id'],
  ['osUserDomainName', 'user_domain_name', '--os-user-domain-name'],
  ['osUserDomainId', 'user_domain_id', '--os-user-domain-id'],
  ['osProjectDomainName', 'project_domain_name', '--os-project-domain-name'],
  ['osProjectDomainId', 'project_domain_id', '--os-project-domain-id'],
  ['osDomainId', 'domain_id', '--os-domain-id'],
  ['osDomainName', 'domain_name', '--os-domain-name'],
  ['osSystemScope', 'system_scope', '--os-system-scope'],
  ['osApplicationCredentialId', 'application_credential_id', '--os-application-credential-id'],
  ['osApplicationCredentialName', 'application_credential_name', '--os-application-credential-name'],
  ['osCacert', 'cacert', '--os-cacert'],
  ['osCert', 'cert', '--os-cert'],
  ['osKey', 'key', '--os-key'],
  ['osInterface', 'interface', '--os-interface'],
]

const SECRET_FILE_FLAGS: Array<[keyof OsFlagInputs, string, string]> = [
  ['osPasswordFile', 'password', '--os-password-file'],
  [
    'osApplicationCredentialSecretFile',
    'application_credential_secret',
    '--os-application-credential-secret-file',
  ],
  ['osTokenFile', 'token', '--os-token-file'],
]

/** The keys openstacksdk's _fix_backwards_project moves under auth (str() of the value), last name wins. */
const BACKWARDS_PROJECT: Array<[string, string[]]> = [
  ['domain_id', ['domain_id']],
  ['domain_name', ['domain_name']],
  ['user_domain_id', ['user_domain_id']],
  ['user_domain_name', ['user_domain_name']],
  ['project_domain_id', ['project_domain_id']],
  ['project_domain_name', ['project_domain_name']],
  ['token', ['auth_token', 'token']],
  ['project_id', ['tenant_id', 'project_id']],
  ['project_name', ['tenant_name', 'project_name']],
]

const SUPPORTED = Object.keys(PLUGINS)

/** Keys of a cloud that are not auth options: written under auth by mistake, they break the client. */
const CLOUD_LEVEL_KEYS = [
  'auth_type',
  'cacert',
  'cert',
  'key',
  'verify',
  'insecure',
  'region_name',
  'regions',
  'interface',
  'identity_api_version',
]

/** The keys whose values are secrets: never in a message. */
const SECRET_KEYS = new Set(['password', 'application_credential_secret', 'token', 'auth_token'])

/** `key "value"` for a message, or only `key` when the value is a secret. */
function shown(key: string, value: string): string {
  return SECRET_KEYS.has(key) ? key : `${key} "${value}"`
}

/** Python str.format(**config) on a configuration string (openstacksdk formats auth_url and top-level values). */
function pyFormat(s: string, ctx: Section, what: string): string {
  if (!s.includes('{') && !s.includes('}')) return s
  let out = ''
  for (let i = 0; i < s.length; i++) {
    const c = s[i]
    if (c === '{' && s[i + 1] === '{') {
      out += '{'
      i++
    } else if (c === '}' && s[i + 1] === '}') {
      out += '}'
      i++
    } else if (c === '{') {
      const end = s.indexOf('}', i)
      const field = end < 0 ? '' : s.slice(i + 1, end)
      const e = /^[A-Za-z_][A-Za-z0-9_]*$/.test(field) ? ctx.get(field) : undefined
      if (!e) {
        throw new ConfigError(`${shown(what, s)} has a {${field}} placeholder that names no setting`, {
          hint: 'openstacksdk fills {name} from the cloud settings; write the value out, or double the braces.',
        })
      }
      out += pyStr(e.v)
      i = end
    } else if (c === '}') {
      throw new ConfigError(`${shown(what, s)} has a single "}"`, { hint: 'double it ("}}") or remove it.' })
    } else out += c
  }
  return out
}

/**
 * Merge flags, OS_* variables and clouds.yaml/secure.yaml into one AuthSettings, as the openstack client
 * does (see the module comment). Pure apart from the injected readFile.
 */
export function resolveAuth(inputs: AuthInputs): AuthSettings {
  const readFileRaw = inputs.readFile ?? defaultReadFile
  const { flags, env } = inputs
  const cwd = inputs.cwd ?? process.cwd()
  const home = inputs.home ?? env.HOME ?? homedir()
  const readFile = (p: string) => readFileRaw(resolve(cwd, p))

  // ---- files: the first clouds file and the first secure file found, secure merged over clouds
  const cloudsFiles = cloudsYamlCandidates(env, cwd, home)
  const secureFiles = secureYamlCandidates(env, cwd, home)
  const clouds = loadFirst(cloudsFiles, readFile)
  const secure = loadFirst(secureFiles, readFile)
  let merged: PyValue = clouds?.doc ?? null
  if (secure && pyTruthy(secure.doc)) merged = mergeClouds(merged ?? {}, secure.doc)
  if (!pyTruthy(merged)) merged = {}
  if (!isMapping(merged)) {
    throw new ConfigError(`${clouds?.file ?? secure?.file} does not hold a mapping`, {
      hint: 'a clouds.yaml starts with "clouds:" followed by one entry per cloud.',
    })
  }
  const cloudMap = merged.clouds ?? {}
  if (!isMapping(cloudMap)) {
    throw new ConfigError(`"clouds" in ${clouds?.file ?? secure?.file} is not a mapping of clouds`, {
      hint: 'write one entry per cloud under "clouds:".',
    })
  }
  const envvarKey = env.OS_CLOUD_NAME ?? 'envvars'
  if (envvarKey in cloudMap) {
    throw new ConfigError(
      `${clouds?.file} defines a cloud named "${envvarKey}", the name openstacksdk keeps for OS_* variables`,
      {
        hint: 'rename that cloud (or set OS_CLOUD_NAME to another name); the openstack client refuses it too.',
      },
    )
  }

  // ---- which cloud: --os-cloud, else OS_CLOUD, else none
  const cloudName = flags.osCloud !== undefined ? flags.osCloud : env.OS_CLOUD || ''
  const cloudSrc = flags.osCloud !== undefined ? 'flag --os-cloud' : 'env OS_CLOUD'
  if (cloudName && !(cloudName in cloudMap)) {
    const where = clouds ? clouds.file : `any of ${cloudsFiles.slice(0, 4).join(', ')}, ...`
    const near = closest(cloudName, Object.keys(cloudMap))
    throw new ConfigError(
      `cloud "${cloudName}" not found in ${where}${near ? ` (did you mean "${near}"?)` : ''}`,
      {
        hint: clouds
          ? `the openstack client reads only the first clouds file found (${clouds.file}); check --os-cloud/OS_CLOUD, or set OS_CLIENT_CONFIG_FILE.`
          : 'set OS_CLIENT_CONFIG_FILE to your clouds.yaml (`idtool lab env` prints the lab one).',
      },
    )
  }
  const ourCloud: PyValue | undefined = cloudName ? cloudMap[cloudName] : {}
  if (!isMapping(ourCloud)) {
    throw new ConfigError(`cloud "${cloudName}" in ${clouds?.file} is not a mapping`, {
      hint: 'each cloud is a mapping with an "auth:" section.',
    })
  }
  const fileSrc = (path: string[]) => {
    const f = secure && hasPath(secure.doc, ['clouds', cloudName, ...path]) ? secure.file : clouds?.file
    return `${f} (cloud ${cloudName})`
  }
  const profile = ourCloud.profile ?? ourCloud.cloud
  if (pyTruthy(profile) && profile !== envvarKey) {
    throw new ConfigError(`cloud "${cloudName}" uses the vendor profile "${pyStr(profile)}"`, {
      hint: 'idtool does not read vendor profiles: write auth_url (and region_name) into the cloud itself.',
    })
  }

  // ---- the args osc hands to the sdk: flags, else the OS_* variables osc has options for (non-empty)
  const args: Section = new Map()
  for (const [dest, vars] of OSC_ENV) {
    for (const v of vars) {
      const val = env[v]
      if (val) {
        args.set(dest, { v: val, src: `env ${v}` })
        break
      }
    }
  }
  for (const [flag, dest, name] of FLAG_ARGS) {
    const val = flags[flag]
    if (typeof val === 'string' && val !== '') args.set(dest, { v: val, src: `flag ${name}` })
  }
  for (const [flag, dest, name] of SECRET_FILE_FLAGS) {
    const path = flags[flag]
    if (typeof path !== 'string' || path === '') continue
    const text = readFile(path)
    if (text === undefined) {
      throw new ConfigError(`${name} ${path}: cannot read it (no such file, or no permission)`, {
        hint: `pass a readable file to ${name} (0600), or use the OS_* variable or clouds.yaml/secure.yaml.`,
      })
    }
    const secret = text.replace(/\r?\n$/, '')
    if (secret !== '') args.set(dest, { v: secret, src: `flag ${name}` })
  }
  if (flags.osInsecure) args.set('insecure', { v: true, src: 'flag --os-insecure' })
  const defaultDomain: Entry = env.OS_DEFAULT_DOMAIN
    ? { v: env.OS_DEFAULT_DOMAIN, src: 'env OS_DEFAULT_DOMAIN' }
    : { v: 'default', src: 'default (osc --os-default-domain)' }
  args.set('default_domain', defaultDomain)
  if (args.has('service_provider')) {
    throw new ConfigError('OS_SERVICE_PROVIDER asks for Keystone-to-Keystone federation', {
      hint: 'idtool talks to one Keystone: unset OS_SERVICE_PROVIDER.',
    })
  }

  // ---- the base: defaults, then the cloud (top-level keys and its auth section)
  const top: Section = new Map()
  const auth: Section = new Map()
  const adminToken = pyTruthy(args.get('endpoint')?.v) && pyTruthy(args.get('token')?.v)
  top.set('auth_type', { v: adminToken ? 'admin_token' : 'password', src: 'default' })
  top.set('interface', { v: 'public', src: 'default' })
  top.set('verify', { v: true, src: 'default' })
  for (const k of ['cacert', 'cert', 'key']) top.set(k, { v: null, src: 'default' })
  for (const [rawK, v] of Object.entries(ourCloud)) {
    const k = normKey(rawK)
    if (k === 'auth') {
      if (!isMapping(v)) {
        throw new ConfigError(`"auth" of cloud "${cloudName}" in ${clouds?.file} is not a mapping`, {
          hint: 'write the auth settings (auth_url, username, ...) as a mapping under "auth:".',
        })
      }
      for (const [ak, av] of Object.entries(v)) auth.set(normKey(ak), { v: av, src: fileSrc(['auth', ak]) })
    } else if (k !== 'cloud') top.set(k, { v, src: fileSrc([rawK]) })
  }

  // ---- region: the cloud's regions (first one by default); a region asked for must be one of them
  const argRegion = flags.osRegionName
    ? { v: flags.osRegionName, src: 'flag --os-region-name' }
    : env.OS_REGION_NAME
      ? { v: env.OS_REGION_NAME, src: 'env OS_REGION_NAME' }
      : undefined
  const region = pickRegion(cloudName, top, argRegion, clouds?.file)
  top.delete('regions')
  for (const [k, v] of Object.entries(region.values)) {
    if (k === 'auth' && isMapping(v)) {
      for (const [ak, av] of Object.entries(v)) auth.set(normKey(ak), { v: av, src: region.src })
    } else top.set(normKey(k), { v, src: region.src })
  }
  for (const [k, e] of args) top.set(k, e)
  top.set('region_name', { v: region.name, src: region.src })

  // ---- openstacksdk's magic_fixes
  if (auth.has('token') || pyTruthy(top.get('auth_token')?.v) || pyTruthy(top.get('token')?.v)) {
    // config.setdefault('token', config.pop('auth_token', None)): auth_token goes either way
    const t = top.get('auth_token') ?? { v: null, src: 'default' }
    top.delete('auth_token')
    if (!top.has('token')) top.set('token', t)
  }
  if (top.has('endpoint_type')) {
    top.set('interface', top.get('endpoint_type') as Entry)
    top.delete('endpoint_type')
  }
  {
    // auth_plugin is the old name of auth_type
    const t = top.get('auth_type') ?? top.get('auth_plugin')
    top.delete('auth_plugin')
    top.set('auth_type', t ?? { v: null, src: 'default' })
  }
  const notes: string[] = []
  for (const [target, names] of BACKWARDS_PROJECT) {
    let win: Entry | undefined
    let shadowed: Entry | undefined
    for (const n of names) {
      const t = top.get(n)
      if (t) {
        win = { v: pyStr(t.v), src: t.src }
        top.delete(n)
      }
      const a = auth.get(n)
      if (a) {
        if (win && !win.src.includes('(cloud ')) shadowed = win
        win = { v: pyStr(a.v), src: a.src }
        auth.delete(n)
      }
    }
    if (win && win.v !== '') auth.set(target, win)
    if (shadowed && win?.src.includes('(cloud ')) {
      notes.push(
        `${shadowed.src} is not used: ${target} under auth in ${win.src} wins (openstacksdk moves it under auth before the merge; the openstack client does the same)`,
      )
    }
  }
  if (env.OS_INSECURE && !flags.osInsecure) {
    notes.push(
      'env OS_INSECURE is not read by the openstack client (nor by idtool): use --os-insecure or insecure: true in clouds.yaml',
    )
  }
  for (const k of [...top.keys()]) {
    if (k.endsWith('endpoint_type')) {
      top.set(k.replace('endpoint_type', 'interface'), top.get(k) as Entry)
      top.delete(k)
    }
  }
  // the domain_id / domain_name shorthand
  const projectScoped = ['project_id', 'project_name'].some((k) => top.has(k) || auth.has(k))
  for (const [target, users] of [
    ['domain_id', ['user_domain_id', 'project_domain_id']],
    ['domain_name', ['user_domain_name', 'project_domain_name']],
  ] as const) {
    if (!projectScoped) {
      const t = top.get(target)
      if (t && !auth.has(target)) {
        auth.set(target, t)
        top.delete(target)
      }
      continue
    }
    const a = auth.get(target)
    for (const k of users) {
      if (a && !auth.has(k)) auth.set(k, { v: a.v, src: `${a.src}, from ${target}` })
    }
    top.delete(target)
    auth.delete(target)
  }
  for (const k of ['insecure', 'cache']) {
    const e = top.get(k)
    if (!e || typeof e.v === 'boolean') continue
    if (e.v === null) e.v = false
    else if (typeof e.v === 'string') e.v = e.v.toLowerCase() === 'true'
    else {
      throw new ConfigError(`${k}: ${pyStr(e.v)} (${e.src}) is not a boolean`, {
        hint: `write ${k}: true or ${k}: false (the openstack client fails on it too).`,
      })
    }
  }
  const authUrlEntry = auth.get('auth_url')
  if (authUrlEntry) {
    if (typeof authUrlEntry.v !== 'string') {
      throw new ConfigError(`auth_url (${authUrlEntry.src}) is not a string`, {
        hint: 'write the full Keystone URL.',
      })
    }
    authUrlEntry.v = pyFormat(authUrlEntry.v, top, 'auth_url')
  }
  // normalize_keys: ints and floats become strings (booleans stay)
  for (const section of [top, auth]) {
    for (const [k, e] of section) {
      if (
        (typeof e.v === 'bigint' || typeof e.v === 'number') &&
        k !== 'verbose_level' &&
        k !== 'api_timeout'
      ) {
        e.v = pyStr(e.v)
      }
    }
  }

  // ---- osc's auth_config_hook
  const identityVersion = top.has('identity_api_version') ? pyStr(top.get('identity_api_version')?.v) : ''
  if (!pyTruthy(top.get('auth_type')?.v)) {
    const src = 'default (osc picks by username/token)'
    if (pyTruthy(top.get('username')?.v)) {
      const v =
        identityVersion === '3' ? 'v3password' : identityVersion.startsWith('2') ? 'v2password' : 'password'
      top.set('auth_type', { v, src })
    } else if (pyTruthy(top.get('token')?.v)) {
      const v = identityVersion === '3' ? 'v3token' : identityVersion.startsWith('2') ? 'v2token' : 'token'
      top.set('auth_type', { v, src })
    } else top.set('auth_type', { v: 'password', src })
  }
  const authTypeEntry = top.get('auth_type') as Entry
  let pluginName = pyStr(authTypeEntry.v)
  if (identityVersion.startsWith('2') && pluginName.endsWith('password')) {
    for (const k of ['project_domain_id', 'project_domain_name', 'user_domain_id', 'user_domain_name'])
      auth.delete(k)
  }
  const dd = top.get('default_domain')
  if (identityVersion === '3' && !pluginName.startsWith('v2') && dd && pyTruthy(dd.v)) {
    if (['password', 'v3password', 'v3totp'].includes(pluginName)) {
      if (!pyTruthy(auth.get('project_domain_id')?.v) && !pyTruthy(auth.get('project_domain_name')?.v)) {
        auth.set('project_domain_id', { v: dd.v, src: dd.src })
      }
      if (!pyTruthy(auth.get('user_domain_id')?.v) && !pyTruthy(auth.get('user_domain_name')?.v)) {
        auth.set('user_domain_id', { v: dd.v, src: dd.src })
      }
    }
  }

  // ---- the plugin: openstacksdk's _get_auth_loader, then OSC_Config._validate_auth
  if (pluginName === 'None' || pluginName === '') pluginName = 'none'
  if (pluginName === 'token_endpoint') pluginName = 'admin_token'
  const plugin = PLUGINS[pluginName]
  if (!plugin) {
    const known = KEYSTONEAUTH_PLUGINS.includes(pluginName)
    const near = closest(pluginName, SUPPORTED)
    throw new ConfigError(
      known
        ? `auth type "${pluginName}" (${authTypeEntry.src}) is not one idtool speaks`
        : `unknown auth type "${pluginName}" (${authTypeEntry.src})${near ? `; did you mean "${near}"?` : ''}`,
      {
        hint: `use one of ${SUPPORTED.join(', ')} (--os-auth-type, OS_AUTH_TYPE or auth_type in clouds.yaml).`,
      },
    )
  }
  const missing: string[] = []
  for (const opt of plugin.options) {
    const names = [opt.name, ...(opt.deprecated ?? [])]
    const find = (s: Section): Entry | undefined => {
      if (s.has(opt.name)) return s.get(opt.name)
      for (const d of opt.deprecated ?? []) if (s.has(d)) return s.get(d)
      return undefined
    }
    let win = find(top)
    if (!pyTruthy(win?.v)) win = find(auth)
    if (!pyTruthy(win?.v) && opt.required) missing.push(opt.name)
    for (const n of names) {
      top.delete(n)
      auth.delete(n)
    }
    if (win && pyTruthy(win.v)) auth.set(opt.name, win)
  }
  if (missing.includes('auth_url')) {
    throw new ConfigError(
      'no Keystone URL: set --os-auth-url, OS_AUTH_URL or a cloud with --os-cloud/OS_CLOUD',
      {
        hint: 'for the local lab: eval "$(idtool lab env)"',
      },
    )
  }
  const accepted = new Set([...plugin.options.map((o) => o.name), ...plugin.extraKwargs])
  for (const [k, e] of auth) {
    if (accepted.has(k)) continue
    const fromFile = e.src.includes('(cloud ')
    const cloudLevel = CLOUD_LEVEL_KEYS.includes(k)
    const near = fromFile && !cloudLevel ? closest(k, [...accepted]) : undefined
    throw new ConfigError(
      `${fromFile ? `unknown key "${k}" under auth` : `"${k}"`} (${e.src}) is not an option of auth type ${plugin.name}${
        near ? `; did you mean "${near}"?` : ''
      }`,
      {
        hint: cloudLevel
          ? `${k} belongs at the cloud level, beside "auth:", not under it (the openstack client refuses it too).`
          : fromFile
            ? `fix or remove the key (the openstack client refuses it too); ${plugin.name} takes ${plugin.options.map((o) => o.name).join(', ')}.`
            : `unset it for auth type ${plugin.name} (the openstack client refuses it too).`,
      },
    )
  }
  const str = (k: string): string | undefined => {
    const e = auth.get(k)
    if (!e || e.v === null) return undefined
    if (typeof e.v === 'string') return e.v === '' ? undefined : e.v
    throw new ConfigError(`${shown(k, pyStr(e.v))} (${e.src}) is not a string`, {
      hint: SECRET_KEYS.has(k)
        ? 'quote the value in YAML.'
        : `quote the value in YAML ("${pyStr(e.v)}") or correct it.`,
    })
  }
  // keystoneauth's v3 loaders check these before building the plugin (the generic ones do not)
  if (!plugin.generic) {
    if (str('project_name') && !str('project_domain_id') && !str('project_domain_name')) {
      throw new ConfigError(`project name "${str('project_name')}" without a project domain`, {
        hint: 'set project_domain_id or project_domain_name (or the domain_id/domain_name shorthand); a project name is unique only within its domain.',
      })
    }
    if (plugin.name !== 'v3token' && str('username') && !str('user_domain_id') && !str('user_domain_name')) {
      throw new ConfigError(`user name "${str('username')}" without a user domain`, {
        hint: 'set user_domain_id or user_domain_name (or the domain_id/domain_name shorthand).',
      })
    }
  }
  if (plugin.name === 'v3applicationcredential') {
    if (!str('application_credential_id') && !str('application_credential_name')) {
      throw new ConfigError('application credential without an id or a name', {
        hint: 'set application_credential_id (or application_credential_name with the user that owns it).',
      })
    }
  }

  // the remaining top-level strings are str.format()ted with the configuration (openstacksdk get_one)
  for (const [k, e] of top) {
    if (typeof e.v === 'string' && k !== 'password') e.v = pyFormat(e.v, top, k)
  }

  // ---- the result
  const sources: Sources = {}
  const note = (k: string, e: Entry | undefined) => {
    if (e) sources[k] = e.src
  }
  for (const [k, e] of auth) if (k !== 'reauthenticate' && k !== 'include_catalog') note(k, e)
  note('auth_type', authTypeEntry)
  const authUrl = str('auth_url') as string
  checkUrl(authUrl)
  if (str('trust_id')) {
    throw new ConfigError(`trust_id (${auth.get('trust_id')?.src}) asks for a trust-scoped token`, {
      hint: 'idtool does not use trusts: remove trust_id.',
    })
  }

  const withDefault = (k: string, d: string): string | undefined => {
    const v = str(k)
    if (v) return v
    if (plugin.generic && str(d)) {
      note(k, auth.get(d))
      return str(d)
    }
    return undefined
  }
  const user = (): UserRef | undefined => {
    const id = str('user_id')
    if (id) return { id }
    const name = str('username')
    if (!name) return undefined
    const domainId = withDefault('user_domain_id', 'default_domain_id')
    const domainName = domainId ? undefined : withDefault('user_domain_name', 'default_domain_name')
    return { name, ...(domainId ? { domainId } : {}), ...(domainName ? { domainName } : {}) }
  }

  let credential: Credential
  if (plugin.type === 'password') {
    credential = { type: 'password', user: user() ?? {}, password: str('password') }
  } else if (plugin.type === 'v3applicationcredential') {
    const id = str('application_credential_id')
    credential = id
      ? { type: 'v3applicationcredential', id, secret: str('application_credential_secret') }
      : {
          type: 'v3applicationcredential',
          name: str('application_credential_name'),
          user: user(),
          secret: str('application_credential_secret'),
        }
  } else {
    credential = { type: 'token', token: str('token') }
  }

  const scope = scopeOf(str, withDefault, auth, notes)

  const tls = tlsOf(top, home, sources, notes)
  const regionName = region.name || undefined
  if (regionName) sources.region_name = region.src
  const iface = top.get('interface')
  const ifaceValue = iface && iface.v !== null ? pyStr(iface.v) : undefined
  if (iface && ifaceValue) sources.interface = iface.src
  if (cloudName) sources.cloud = cloudSrc
  return {
    authUrl,
    authType: plugin.type,
    credential,
    scope,
    tls,
    ...(regionName ? { regionName } : {}),
    ...(ifaceValue ? { interface: ifaceValue } : {}),
    ...(cloudName ? { cloud: cloudName } : {}),
    ...(clouds ? { cloudsFile: clouds.file } : {}),
    ...(secure ? { secureFile: secure.file } : {}),
    sources,
    ...(notes.length ? { notes } : {}),
  }
}

interface Region {
  name: string
  values: Record<string, PyValue>
  src: string
}

function pickRegion(
  cloudName: string,
  top: Section,
  arg: { v: string; src: string } | undefined,
  file: string | undefined,
): Region {
  const asked: Region = { name: arg?.v ?? '', values: {}, src: arg?.src ?? 'default' }
  if (!cloudName) return asked
  let known: Region[] | undefined
  const regions = top.get('regions')
  const regionName = top.get('region_name')
  const expand = (list: PyValue[], src: string): Region[] =>
    list.map((r) => {
      if (isMapping(r)) {
        if (!('name' in r) || Object.keys(r).some((k) => k !== 'name' && k !== 'values')) {
          throw new ConfigError(`invalid region entry ${pyStr(r)} in ${src}`, {
            hint: 'a region is a name, or a mapping with "name" and optional "values".',
          })
        }
        return { name: pyStr(r.name), values: isMapping(r.values) ? r.values : {}, src }
      }
      return { name: pyStr(r), values: {}, src }
    })
  if (regions) {
    if (!Array.isArray(regions.v)) {
      throw new ConfigError(`regions (${regions.src}) is not a list`, {
        hint: 'write regions as a YAML list.',
      })
    }
    known = expand(regions.v, regions.src)
  } else if (regionName && regionName.v !== null) {
    const list = Array.isArray(regionName.v) ? regionName.v : pyStr(regionName.v).split(',')
    known = expand(list, regionName.src)
  }
  if (!known || known.length === 0) return asked
  if (!arg) return known[0] as Region
  const hit = known.find((r) => r.name === arg.v)
  if (!hit) {
    throw new ConfigError(
      `region "${arg.v}" (${arg.src}) is not a region of cloud "${cloudName}" in ${file} (${known.map((r) => r.name).join(', ')})`,
      { hint: 'region names are case sensitive; the openstack client refuses it too.' },
    )
  }
  return { ...hit, src: arg.src }
}

function scopeOf(
  str: (k: string) => string | undefined,
  withDefault: (k: string, d: string) => string | undefined,
  auth: Section,
  notes: string[],
): ScopeRequest {
  const domain = Boolean(str('domain_id') || str('domain_name'))
  const project = Boolean(str('project_id') || str('project_name'))
  const unscoped = pyTruthy(auth.get('unscoped')?.v)
  if (Number(domain) + Number(project) + Number(unscoped) > 1) {
    const where = (...keys: string[]) => keys.map((k) => auth.get(k)?.src).find(Boolean)
    const set = [
      domain ? `a domain scope (${where('domain_id', 'domain_name')})` : '',
      project ? `a project scope (${where('project_id', 'project_name')})` : '',
      unscoped ? `unscoped (${where('unscoped')})` : '',
    ].filter(Boolean)
    throw new ConfigError(`${set.join(' and ')} are set together`, {
      hint: 'keep one of them: keystoneauth refuses to scope to several targets (the openstack client fails too).',
    })
  }
  const domainId = str('domain_id')
  if (domainId) return { kind: 'domain', id: domainId }
  const domainName = str('domain_name')
  if (domainName) return { kind: 'domain', name: domainName }
  const projectId = str('project_id')
  if (projectId) return { kind: 'project', id: projectId }
  const projectName = str('project_name')
  if (projectName) {
    const pdId = withDefault('project_domain_id', 'default_domain_id')
    const pdName = pdId ? undefined : withDefault('project_domain_name', 'default_domain_name')
    return {
      kind: 'project',
      name: projectName,
      ...(pdId ? { domainId: pdId } : {}),
      ...(pdName ? { domainName: pdName } : {}),
    }
  }
  if (unscoped) return { kind: 'unscoped', explicit: true }
  // keystoneauth knows only the whole system; another system_scope value asks for no scope at all
  if (str('system_scope') === 'all') return { kind: 'system', system: 'all' }
  if (str('system_scope')) {
    notes.push(
      `system_scope "${str('system_scope')}" (${auth.get('system_scope')?.src}) is not used: keystoneauth knows only "all"`,
    )
  }
  return { kind: 'unscoped' }
}

/** openstacksdk's get_requests_verify_args: insecure wins; cacert only when verifying; key only with cert. */
function tlsOf(top: Section, home: string, sources: Sources, notes: string[]): TlsSettings {
  const insecure = top.get('insecure')
  const verify = top.get('verify')
  const cacert = top.get('cacert')
  const cert = top.get('cert')
  const key = top.get('key')
  const path = (e: Entry | undefined, what: string): string | undefined => {
    if (!e || !pyTruthy(e.v)) return undefined
    if (typeof e.v !== 'string') {
      throw new ConfigError(`${what}: ${pyStr(e.v)} (${e.src}) is not a file path`, {
        hint: `write ${what} as a path.`,
      })
    }
    return expandUser(e.v, home)
  }
  let on = pyTruthy(verify?.v)
  if (insecure && insecure.v === true) {
    on = false
    sources.verify = insecure.src
  } else if (verify) sources.verify = verify.src
  const tls: TlsSettings = { verify: on }
  const ca = path(cacert, 'cacert')
  if (on && ca) {
    tls.cacert = ca
    sources.cacert = cacert?.src as string
  } else if (on && verify && typeof verify.v === 'string') {
    // requests takes a string `verify` as the CA bundle path (so `verify: "false"` quoted is a path)
    tls.cacert = verify.v
    sources.cacert = verify.src
  }
  const c = path(cert, 'cert')
  if (!on && ca)
    notes.push(`cacert ${ca} (${cacert?.src}) is not used: the server certificate is not verified`)
  if (!c && key && pyTruthy(key.v))
    notes.push(`key (${key.src}) is not used without a client certificate (cert)`)
  if (c) {
    tls.cert = c
    sources.cert = cert?.src as string
    const k = path(key, 'key')
    if (k) {
      tls.key = k
      sources.key = key?.src as string
    }
  }
  return tls
}

function checkUrl(authUrl: string): void {
  let parsed: URL
  try {
    parsed = new URL(authUrl)
  } catch {
    throw new ConfigError(`malformed auth URL "${authUrl}"`, {
      hint: 'use a full URL such as http://127.0.0.1:5000/v3',
    })
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError(`auth URL "${authUrl}" must use http or https`, {
      hint: 'use a full URL such as http://127.0.0.1:5000/v3',
    })
  }
}

/** Settings with a secret masked: whether it is set, never its value. */
export type RedactedAuth = Omit<AuthSettings, 'credential'> & {
  credential:
    | { type: 'password'; user: UserRef; passwordSet: boolean }
    | { type: 'v3applicationcredential'; id?: string; name?: string; user?: UserRef; secretSet: boolean }
    | { type: 'token'; tokenSet: boolean }
}

/** Settings safe to print or write to a report: the password, app-credential secret and token are masked. */
export function redactAuth(a: AuthSettings): RedactedAuth {
  const c = a.credential
  let credential: RedactedAuth['credential']
  if (c.type === 'password') credential = { type: 'password', user: c.user, passwordSet: Boolean(c.password) }
  else if (c.type === 'v3applicationcredential') {
    credential = {
      type: 'v3applicationcredential',
      ...(c.id ? { id: c.id } : {}),
      ...(c.name ? { name: c.name } : {}),
      ...(c.user ? { user: c.user } : {}),
      secretSet: Boolean(c.secret),
    }
  } else credential = { type: 'token', tokenSet: Boolean(c.token) }
  return { ...a, credential }
}
