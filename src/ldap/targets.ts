import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { OsFlagInputs } from '../config/auth.js'
import { UsageError } from '../errors.js'
import {
  defaultLabDir,
  LAB_BIND_DN,
  LAB_LDAP_DOMAIN,
  LAB_ROOT_DN,
  LAB_USERS_DN,
  labPaths,
} from '../lab/layout.js'
import { LDAP_URL } from '../lab/slapd.js'
import { isLabTarget, labIsSetUp, resolveAuthOrLab } from '../lab/target.js'
import { keystoneTarget, pageSizeFromDomainConfig } from './keystone-target.js'
import type { LeakTarget } from './page-leak-check.js'
import {
  directTarget,
  filterProblem,
  type LdapConnection,
  type PagedSearchSpec,
  type SearchScope,
} from './paged-search.js'

/**
 * The targets of page-leak-check and their resolution from plain options: direct LDAP (URL, bind DN,
 * password file or LDAP_PASSWORD, base) or a Keystone domain, with the lab's defaults when the target is
 * the lab (lab/target.ts's one check). Nothing here prints: lines go to the `info` and `warn` callbacks.
 * Messages name the command's flags, since that is where the values come from.
 */

/** Entries per page of a direct search when --page-size is not given. */
export const DEFAULT_PAGE_SIZE = 5

export interface DirectTargetOptions {
  url?: string
  bindDn?: string
  passwordFile?: string
  base?: string
  filter: string
  scope: SearchScope
  /** comma-separated; none: all user attributes */
  attributes?: string
  starttls: boolean
  cacert?: string
}

export interface LeakTargetOptions {
  /** list the users of a Keystone domain instead of searching LDAP directly */
  keystone: boolean
  direct: DirectTargetOptions
  /** the Keystone domain (--keystone) */
  domain?: string
  /** the --os-* settings (--keystone) */
  auth: OsFlagInputs
  /** entries per page (direct), or Keystone's [ldap] page_size for the record */
  pageSize?: number
  timeoutMs: number
  concurrency: number
  /** the environment: LDAP_PASSWORD, OS_*, IDTOOL_LAB_DIR */
  env: Record<string, string | undefined>
}

export interface TargetCallbacks {
  /** an informational line (the lab default in use) */
  info?: (message: string) => void
  /** a warning (TLS verification off) */
  warn?: (message: string) => void
}

const DIRECT_ONLY: Array<[keyof DirectTargetOptions, string]> = [
  ['url', 'url'],
  ['bindDn', 'bind-dn'],
  ['passwordFile', 'password-file'],
  ['base', 'base'],
  ['starttls', 'starttls'],
  ['cacert', 'cacert'],
]

/** Refuse direct-LDAP options with --keystone, and --domain without it. */
export function checkTargetMode(opts: Pick<LeakTargetOptions, 'keystone' | 'direct' | 'domain'>): void {
  if (opts.keystone) {
    const direct = DIRECT_ONLY.filter(([k]) => opts.direct[k]).map(([, flag]) => flag)
    if (direct.length) {
      throw new UsageError(
        `--keystone lists users through Keystone: --${direct.join(', --')} ${direct.length > 1 ? 'do' : 'does'} not apply`,
        { hint: 'drop --keystone to search LDAP directly, or use the --os-* settings for Keystone.' },
      )
    }
  } else if (opts.domain) {
    throw new UsageError('--domain needs --keystone', {
      hint: 'add --keystone to list the users of that domain.',
    })
  }
}

/** Resolve the target the options name (direct LDAP, or Keystone with --keystone). */
export async function resolveLeakTarget(
  opts: LeakTargetOptions,
  io: TargetCallbacks = {},
): Promise<LeakTarget> {
  return opts.keystone ? resolveKeystoneTarget(opts, io) : resolveDirectTarget(opts, io)
}

/** A password from a file: the first line's newline dropped; unreadable or empty is a usage error. */
export function readSecretFile(path: string, what: string): string {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new UsageError(
      `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      { hint: 'pass a readable file (mode 0600); idtool never takes a password as a flag value.' },
    )
  }
  const value = text.replace(/\r?\n$/, '')
  if (!value)
    throw new UsageError(`${what} ${path} is empty`, {
      hint: 'an empty password would be an anonymous bind.',
    })
  return value
}

/** The URL to search: --url, else the lab's slapd when a lab is set up. */
function directUrl(url: string | undefined, labDir: string): URL & { given: string } {
  const given = url ?? (labIsSetUp(labDir) ? LDAP_URL : undefined)
  if (!given) {
    throw new UsageError('--url is required (there is no local lab to default to)', {
      hint: 'e.g. --url ldap://ldap.example.org:389 --bind-dn ... --password-file ... --base ...',
    })
  }
  let parsed: URL
  try {
    parsed = new URL(given)
  } catch {
    throw new UsageError(`--url ${given} is not a URL`, {
      hint: 'use ldap://HOST:PORT or ldaps://HOST:PORT.',
    })
  }
  if (parsed.protocol !== 'ldap:' && parsed.protocol !== 'ldaps:') {
    throw new UsageError(`--url ${given}: only ldap:// and ldaps:// are supported`)
  }
  return Object.assign(parsed, { given })
}

/**
 * Who binds: the lab's service account when the target is the lab and no credential is given, else
 * --bind-dn with --password-file or LDAP_PASSWORD (never a flag value), else anonymous.
 */
function directBind(
  d: DirectTargetOptions,
  isLab: boolean,
  env: LeakTargetOptions['env'],
  lab: ReturnType<typeof labPaths>,
  io: TargetCallbacks,
): { bindDn?: string; password?: string } {
  const envPassword = env.LDAP_PASSWORD
  const labDefault =
    isLab && !d.bindDn && !d.passwordFile && !envPassword && existsSync(lab.ldapBindPasswordFile)
  let bindDn = d.bindDn
  let password: string | undefined
  if (labDefault) {
    bindDn = LAB_BIND_DN
    password = readSecretFile(lab.ldapBindPasswordFile, 'the lab password file')
    io.info?.(
      `Using the lab's LDAP service account ${LAB_BIND_DN} (password from ${lab.ldapBindPasswordFile}).`,
    )
  } else if (d.passwordFile) {
    password = readSecretFile(d.passwordFile, '--password-file')
  } else if (envPassword !== undefined) {
    if (!envPassword)
      throw new UsageError('LDAP_PASSWORD is empty', {
        hint: 'an empty password would be an anonymous bind.',
      })
    password = envPassword
  }
  if (bindDn && password === undefined) {
    throw new UsageError(`no password for ${bindDn}`, {
      hint: 'pass --password-file FILE or set LDAP_PASSWORD; idtool never takes a password as a flag value.',
    })
  }
  if (!bindDn && password !== undefined) {
    throw new UsageError('a password was given but no --bind-dn', { hint: 'add --bind-dn DN.' })
  }
  return { bindDn, password }
}

/** The direct target: a Simple Paged Results search of --base, checked before any connection. */
export function resolveDirectTarget(opts: LeakTargetOptions, io: TargetCallbacks = {}): LeakTarget {
  const parts = resolveDirectParts(opts, io)
  return directTarget(parts.conn, parts.spec)
}

/** What a direct target is made of: the connection (who binds), the search, and whether it is the lab's slapd. */
export interface DirectParts {
  conn: LdapConnection
  spec: PagedSearchSpec
  isLab: boolean
  lab: ReturnType<typeof labPaths>
}

/** Resolve the direct target's connection and search from the options, checked before any connection. */
export function resolveDirectParts(opts: LeakTargetOptions, io: TargetCallbacks = {}): DirectParts {
  const d = opts.direct
  const lab = labPaths(defaultLabDir(opts.env))
  const url = directUrl(d.url, lab.dir)
  if (d.starttls && url.protocol === 'ldaps:') {
    throw new UsageError('--starttls is for ldap:// URLs; ldaps:// is already TLS')
  }
  const isLab = isLabTarget(url.given, lab.dir)
  const { bindDn, password } = directBind(d, isLab, opts.env, lab, io)
  const base = d.base ?? (isLab ? LAB_USERS_DN : undefined)
  if (!base) throw new UsageError('--base is required', { hint: 'e.g. --base ou=Users,dc=example,dc=org' })
  const problem = filterProblem(d.filter)
  if (problem)
    throw new UsageError(`--filter ${d.filter}: ${problem}`, { hint: 'e.g. (objectClass=inetOrgPerson)' })
  let ca: string | undefined
  if (d.cacert) {
    try {
      ca = readFileSync(d.cacert, 'utf8')
    } catch (err) {
      throw new UsageError(`cannot read --cacert ${d.cacert}: ${(err as NodeJS.ErrnoException).code ?? ''}`)
    }
  }
  const attributes = (d.attributes ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean)
  return {
    conn: {
      url: url.given,
      bindDn,
      password,
      starttls: d.starttls,
      ca,
      timeoutMs: opts.timeoutMs,
      connectTimeoutMs: Math.min(opts.timeoutMs, 10_000),
    },
    spec: {
      base,
      filter: d.filter,
      scope: d.scope,
      attributes,
      pageSize: opts.pageSize ?? DEFAULT_PAGE_SIZE,
    },
    isLab,
    lab,
  }
}

/**
 * Who writes (--writers): --write-bind-dn with --write-password-file, else on the lab its root DN (the lab's
 * ACLs let the service account read only) with the password from the lab's secrets directory, else the
 * searches' own bind.
 */
export function resolveWriterConnection(
  parts: DirectParts,
  write: { bindDn?: string; passwordFile?: string },
  io: TargetCallbacks = {},
): LdapConnection {
  if (write.passwordFile && !write.bindDn) {
    throw new UsageError('--write-password-file needs --write-bind-dn', { hint: 'add --write-bind-dn DN.' })
  }
  if (write.bindDn) {
    if (!write.passwordFile) {
      throw new UsageError(`no password for --write-bind-dn ${write.bindDn}`, {
        hint: 'pass --write-password-file FILE; idtool never takes a password as a flag value.',
      })
    }
    return {
      ...parts.conn,
      bindDn: write.bindDn,
      password: readSecretFile(write.passwordFile, '--write-password-file'),
    }
  }
  if (parts.isLab && existsSync(parts.lab.ldapRootPasswordFile)) {
    io.info?.(
      `Writing as the lab's LDAP root DN ${LAB_ROOT_DN} (password from ${parts.lab.ldapRootPasswordFile}).`,
    )
    return {
      ...parts.conn,
      bindDn: LAB_ROOT_DN,
      password: readSecretFile(parts.lab.ldapRootPasswordFile, 'the lab root password file'),
    }
  }
  return parts.conn
}

/**
 * The Keystone target: the --os-* settings (else the lab's cloud), the domain (default with the lab:
 * ldapdom) and, for the record, Keystone's page size (read from the lab's domain config when not given).
 */
export async function resolveKeystoneTarget(
  opts: LeakTargetOptions,
  io: TargetCallbacks = {},
): Promise<LeakTarget> {
  const settings = resolveAuthOrLab({ flags: opts.auth, env: opts.env })
  const lab = labPaths(defaultLabDir(opts.env))
  const isLab = isLabTarget(settings.authUrl, lab.dir)
  const domain = opts.domain ?? (isLab ? LAB_LDAP_DOMAIN : undefined)
  if (!domain)
    throw new UsageError('--domain is required with --keystone', { hint: 'name the LDAP-backed domain.' })
  const pageSize =
    opts.pageSize ?? (isLab ? pageSizeFromDomainConfig(join(lab.domainsDir, `keystone.${domain}.conf`)) : 0)
  return keystoneTarget({
    settings,
    domain,
    pageSize,
    timeoutMs: opts.timeoutMs,
    concurrency: opts.concurrency,
    warn: io.warn,
  })
}
