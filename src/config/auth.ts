import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { ConfigError } from '../errors.js'

/** Resolved Keystone connection settings. `password` is a secret: never print or serialise it. */
export interface AuthSettings {
  authUrl: string
  username?: string
  password?: string
  projectName?: string
  userDomainName: string
  projectDomainName: string
  cacert?: string
  /** Name of the clouds.yaml cloud used, if any. */
  cloud?: string
  /** Path of the clouds.yaml file used, if any. */
  cloudsFile?: string
}

/** The inputs of resolution: flags beat env, env beats clouds.yaml. */
export interface AuthInputs {
  flags: {
    osCloud?: string
    osAuthUrl?: string
    osUsername?: string
    osPasswordFile?: string
    osProjectName?: string
    osUserDomainName?: string
    osProjectDomainName?: string
    osCacert?: string
  }
  env: Record<string, string | undefined>
  /** Reads a file; injected for tests. Returns undefined when the file does not exist. */
  readFile?: (path: string) => string | undefined
  /** Current directory and home directory, for the clouds.yaml search path. */
  cwd?: string
  home?: string
}

interface CloudEntry {
  auth?: Record<string, unknown>
  cacert?: string
  verify?: boolean
  [k: string]: unknown
}

function defaultReadFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new ConfigError(`cannot read ${path}: ${(err as Error).message}`, {
      hint: 'check the file permissions.',
    })
  }
}

/** The standard openstacksdk search path, or only OS_CLIENT_CONFIG_FILE when it is set. */
export function cloudsYamlCandidates(
  env: Record<string, string | undefined>,
  cwd: string,
  home: string,
): string[] {
  if (env.OS_CLIENT_CONFIG_FILE) return [resolve(cwd, env.OS_CLIENT_CONFIG_FILE)]
  const xdg = env.XDG_CONFIG_HOME || join(home, '.config')
  return [join(cwd, 'clouds.yaml'), join(xdg, 'openstack', 'clouds.yaml'), '/etc/openstack/clouds.yaml']
}

function str(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return undefined
}

function loadCloud(
  name: string,
  inputs: Required<Pick<AuthInputs, 'readFile' | 'cwd' | 'home'>> & { env: AuthInputs['env'] },
): { entry: CloudEntry; file: string } {
  const candidates = cloudsYamlCandidates(inputs.env, inputs.cwd, inputs.home)
  for (const file of candidates) {
    const text = inputs.readFile(file)
    if (text === undefined) continue
    let doc: { clouds?: Record<string, CloudEntry> }
    try {
      doc = (parseYaml(text) ?? {}) as { clouds?: Record<string, CloudEntry> }
    } catch (err) {
      throw new ConfigError(`${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`, {
        hint: 'fix the file or point OS_CLIENT_CONFIG_FILE at another one.',
      })
    }
    const entry = doc?.clouds?.[name]
    if (!entry) continue
    // secure.yaml beside clouds.yaml may hold the secrets, as in openstacksdk
    const secureText = inputs.readFile(file.replace(/clouds\.yaml$/, 'secure.yaml'))
    if (secureText !== undefined && file.endsWith('clouds.yaml')) {
      const secure = (parseYaml(secureText) ?? {}) as { clouds?: Record<string, CloudEntry> }
      const s = secure.clouds?.[name]
      if (s) return { entry: { ...entry, ...s, auth: { ...(entry.auth ?? {}), ...(s.auth ?? {}) } }, file }
    }
    return { entry, file }
  }
  throw new ConfigError(`cloud "${name}" not found in ${candidates.join(', ')}`, {
    hint: 'check --os-cloud / OS_CLOUD, or set OS_CLIENT_CONFIG_FILE to your clouds.yaml (`idtool lab env` prints the lab one).',
  })
}

/**
 * Merge flags, OS_* environment variables and clouds.yaml into one AuthSettings.
 * Precedence: flags > environment > clouds.yaml. Pure apart from the injected readFile.
 */
export function resolveAuth(inputs: AuthInputs): AuthSettings {
  const readFile = inputs.readFile ?? defaultReadFile
  const cwd = inputs.cwd ?? process.cwd()
  const home = inputs.home ?? homedir()
  const { flags, env } = inputs
  const cloudName = flags.osCloud ?? env.OS_CLOUD
  let cloud: CloudEntry | undefined
  let cloudsFile: string | undefined
  if (cloudName) {
    const loaded = loadCloud(cloudName, { readFile, cwd, home, env })
    cloud = loaded.entry
    cloudsFile = loaded.file
  }
  const auth = cloud?.auth ?? {}
  const pick = (flag: string | undefined, envName: string, ...keys: string[]): string | undefined => {
    if (flag !== undefined && flag !== '') return flag
    const e = env[envName]
    if (e !== undefined && e !== '') return e
    for (const k of keys) {
      const v = str(auth[k])
      if (v !== undefined && v !== '') return v
    }
    return undefined
  }

  let password: string | undefined
  if (flags.osPasswordFile) {
    const text = readFile(resolve(cwd, flags.osPasswordFile))
    if (text === undefined) {
      throw new ConfigError(`password file ${flags.osPasswordFile} does not exist`, {
        hint: 'pass a readable file to --os-password-file, or set OS_PASSWORD.',
      })
    }
    password = text.replace(/\r?\n$/, '')
  } else {
    password = pick(undefined, 'OS_PASSWORD', 'password')
  }

  const authUrl = pick(flags.osAuthUrl, 'OS_AUTH_URL', 'auth_url')
  if (!authUrl) {
    throw new ConfigError(
      'no Keystone URL: set --os-auth-url, OS_AUTH_URL or a cloud with --os-cloud/OS_CLOUD',
      {
        hint: 'for the local lab: eval "$(idtool lab env)"',
      },
    )
  }
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

  const cacert = pick(flags.osCacert, 'OS_CACERT') ?? str(cloud?.cacert)
  return {
    authUrl,
    username: pick(flags.osUsername, 'OS_USERNAME', 'username'),
    password,
    projectName: pick(flags.osProjectName, 'OS_PROJECT_NAME', 'project_name'),
    userDomainName: pick(flags.osUserDomainName, 'OS_USER_DOMAIN_NAME', 'user_domain_name') ?? 'Default',
    projectDomainName:
      pick(flags.osProjectDomainName, 'OS_PROJECT_DOMAIN_NAME', 'project_domain_name') ?? 'Default',
    cacert,
    cloud: cloudName,
    cloudsFile,
  }
}

/** The base `.../v3` URL for a Keystone auth URL given with or without the version suffix. */
export function keystoneV3Base(authUrl: string): string {
  const u = authUrl.replace(/\/+$/, '')
  if (/\/v3$/.test(u)) return u
  if (/\/v2\.0$/.test(u)) return u.replace(/\/v2\.0$/, '/v3')
  return `${u}/v3`
}

/** Whether a URL points at the loopback range (127.0.0.0/8, ::1, localhost). */
export function isLoopbackUrl(url: string): boolean {
  try {
    const h = new URL(url).hostname.replace(/^\[|\]$/g, '')
    return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h)
  } catch {
    return false
  }
}

/** Settings safe to print: the password is replaced by whether one is set. */
export function redactAuth(a: AuthSettings): Omit<AuthSettings, 'password'> & { passwordSet: boolean } {
  const { password, ...rest } = a
  return { ...rest, passwordSet: Boolean(password) }
}
