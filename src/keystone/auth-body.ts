import type { AuthSettings, UserRef } from '../config/settings.js'
import { ConfigError } from '../errors.js'

/** A user as the v3 auth API names it: by id, or by name within a domain (by id or name). */
export interface UserBody {
  id?: string
  name?: string
  domain?: { id: string } | { name: string }
}

export type IdentityBody =
  | { methods: ['password']; password: { user: UserBody & { password: string } } }
  | {
      methods: ['application_credential']
      application_credential: { secret: string; id?: string; name?: string; user?: UserBody }
    }
  | { methods: ['token']; token: { id: string } }

export type ScopeBody =
  | { project: { id: string } | { name: string; domain: { id: string } | { name: string } } }
  | { domain: { id: string } | { name: string } }
  | { system: { all: true } }

/** The body of `POST /v3/auth/tokens`. */
export interface AuthRequestBody {
  /** scope `'unscoped'`: keystoneauth's explicit unscoped request (no default project) */
  auth: { identity: IdentityBody; scope?: ScopeBody | 'unscoped' }
}

function missing(what: string, hint: string): never {
  throw new ConfigError(what, { hint })
}

/** keystoneauth's user: the id if there is one, else the name with its domain (id before name). */
function userBody(user: UserRef | undefined, role: string): UserBody {
  if (user?.id) return { id: user.id }
  if (!user?.name) {
    missing(
      `no user for ${role}: set a user name or ID`,
      'set --os-username/OS_USERNAME/auth.username (with its domain) or --os-user-id/OS_USER_ID/auth.user_id.',
    )
  }
  if (user.domainId) return { name: user.name, domain: { id: user.domainId } }
  if (user.domainName) return { name: user.name, domain: { name: user.domainName } }
  return missing(
    `user name "${user.name}" without a user domain: Keystone finds a user by name only within its domain`,
    'set --os-user-domain-name/OS_USER_DOMAIN_NAME/auth.user_domain_name (or the _id form, or the domain_name shorthand; with identity_api_version: 3 the openstack client assumes "default").',
  )
}

/**
 * The body keystoneauth sends to `POST /v3/auth/tokens` for these settings: the password, application
 * credential or token method, and the project, domain or system scope (none when unscoped). Pieces Keystone
 * would reject, or that the openstack client refuses to go without, are a ConfigError before any request.
 */
export function authRequestBody(settings: AuthSettings): AuthRequestBody {
  const c = settings.credential
  let identity: IdentityBody
  if (c.type === 'password') {
    const user = userBody(c.user, 'password authentication')
    if (!c.password) {
      missing(
        `no password for ${describeCaller(settings)}`,
        'set OS_PASSWORD, auth.password in clouds.yaml/secure.yaml, or --os-password-file FILE (idtool never prompts and takes no password as a flag value).',
      )
    }
    identity = { methods: ['password'], password: { user: { ...user, password: c.password } } }
  } else if (c.type === 'v3applicationcredential') {
    if (!c.secret) {
      missing(
        `no secret for ${describeCaller(settings)}`,
        'set OS_APPLICATION_CREDENTIAL_SECRET, application_credential_secret in secure.yaml, or --os-application-credential-secret-file FILE.',
      )
    }
    if (c.id)
      identity = {
        methods: ['application_credential'],
        application_credential: { secret: c.secret, id: c.id },
      }
    else if (c.name) {
      if (!c.user?.id && !c.user?.name) {
        missing(
          `application credential "${c.name}" named without its user: a name is unique only per user`,
          'add the user (username with user_domain_name, or user_id), or use application_credential_id.',
        )
      }
      identity = {
        methods: ['application_credential'],
        application_credential: {
          secret: c.secret,
          name: c.name,
          user: userBody(c.user, 'the application credential'),
        },
      }
    } else {
      return missing(
        'application credential without an id or a name',
        'set application_credential_id (OS_APPLICATION_CREDENTIAL_ID), or its name with the user that owns it.',
      )
    }
  } else {
    if (!c.token) {
      missing(
        'auth type token without a token',
        'set OS_TOKEN, auth.token in clouds.yaml/secure.yaml, or --os-token-file FILE.',
      )
    }
    identity = { methods: ['token'], token: { id: c.token } }
  }

  const s = settings.scope
  let scope: ScopeBody | 'unscoped' | undefined
  if (s.kind === 'unscoped' && s.explicit) scope = 'unscoped'
  if (s.kind === 'project') {
    if (s.id) scope = { project: { id: s.id } }
    else if (s.name && s.domainId) scope = { project: { name: s.name, domain: { id: s.domainId } } }
    else if (s.name && s.domainName) scope = { project: { name: s.name, domain: { name: s.domainName } } }
    else {
      missing(
        `project name "${s.name ?? ''}" without a project domain: Keystone finds a project by name only within its domain`,
        'set --os-project-domain-name/OS_PROJECT_DOMAIN_NAME/auth.project_domain_name (or the _id form, or the domain_name shorthand), or use the project ID.',
      )
    }
  } else if (s.kind === 'domain') {
    if (s.id) scope = { domain: { id: s.id } }
    else if (s.name) scope = { domain: { name: s.name } }
    else missing('domain scope without a domain id or name', 'set domain_id or domain_name.')
  } else if (s.kind === 'system') {
    if (s.system !== 'all') {
      missing(`system scope "${s.system}": Keystone knows only "all"`, 'set system_scope: all.')
    }
    scope = { system: { all: true } }
  }
  return scope ? { auth: { identity, scope } } : { auth: { identity } }
}

function userText(u: UserRef | undefined): string {
  if (!u) return 'no user'
  if (u.id) return `user ${u.id}`
  const dom = u.domainName ? ` in domain ${u.domainName}` : u.domainId ? ` in domain ${u.domainId}` : ''
  return u.name ? `user "${u.name}"${dom}` : 'no user'
}

/** The caller, for messages and results: `user "admin" in domain Default`, `application credential 3f2a…`. No secrets. */
export function describeCaller(settings: AuthSettings): string {
  const c = settings.credential
  if (c.type === 'password') return userText(c.user)
  if (c.type === 'v3applicationcredential') {
    if (c.id) return `application credential ${c.id.length > 12 ? `${c.id.slice(0, 8)}…` : c.id}`
    return `application credential "${c.name ?? '?'}" of ${userText(c.user)}`
  }
  return 'a token'
}
