/**
 * The resolved connection to a Keystone: what the openstack client would use for the same clouds.yaml,
 * secure.yaml, OS_* variables and flags. Produced by the resolver (`resolveAuth`), consumed by the Keystone
 * session and by `idtool config show`. Secrets (`password`, `secret`, `token`) are never printed or written
 * to a report: `redactAuth` masks them.
 */

/** The auth types idtool speaks, by their keystoneauth plugin names (aliases are normalised). */
export type AuthType = 'password' | 'v3applicationcredential' | 'token'

/** A user, by id or by name in a domain (by id or name). */
export interface UserRef {
  id?: string
  name?: string
  domainId?: string
  domainName?: string
}

/** How the caller proves who it is. Fields left undefined were not configured. */
export type Credential =
  | { type: 'password'; user: UserRef; password?: string }
  | {
      type: 'v3applicationcredential'
      /** by id; or by name together with the user that owns it */
      id?: string
      name?: string
      user?: UserRef
      secret?: string
    }
  | { type: 'token'; token?: string }

/** The scope the client asks for (keystoneauth allows one of them at most). */
export type ScopeRequest =
  | { kind: 'project'; id?: string; name?: string; domainId?: string; domainName?: string }
  | { kind: 'domain'; id?: string; name?: string }
  | { kind: 'system'; system: string }
  /** no scope asked for (Keystone may still scope to the user's default project); `explicit`: keystoneauth's
   * `unscoped: true`, sent as `"scope": "unscoped"`, which keeps Keystone from doing so */
  | { kind: 'unscoped'; explicit?: boolean }

/** TLS settings of the connection to Keystone (openstacksdk: cacert, verify/insecure, cert, key). */
export interface TlsSettings {
  /** false: do not verify the server certificate (idtool warns once on stderr) */
  verify: boolean
  /** CA bundle (PEM file) to trust instead of the system's */
  cacert?: string
  /** client certificate (PEM file) and its key (PEM file; may be inside `cert`) */
  cert?: string
  key?: string
}

/**
 * Where a resolved value came from, for `config show`: `flag --os-x`, `env OS_X`, or `FILE (cloud NAME)`;
 * `default` for a built-in default. Keyed by the openstacksdk field name (`auth_url`, `username`, `cacert`...).
 */
export type Sources = Record<string, string>

/** Resolved Keystone connection settings. */
export interface AuthSettings {
  authUrl: string
  authType: AuthType
  credential: Credential
  scope: ScopeRequest
  tls: TlsSettings
  /** accepted and shown; idtool talks to Keystone only */
  regionName?: string
  interface?: string
  /** the clouds.yaml cloud used, if any */
  cloud?: string
  /** the clouds.yaml and secure.yaml files used, if any */
  cloudsFile?: string
  secureFile?: string
  sources: Sources
  /**
   * Settings given but not used, as the openstack client would not use them either (a flag shadowed by the
   * cloud's auth section, OS_INSECURE, a key without a certificate...): shown by `config show`.
   */
  notes?: string[]
}
