import { IdtoolError } from '../errors.js'
import { authRequestBody, describeCaller } from '../keystone/auth-body.js'
import { type RedactedAuth, redactAuth } from './auth.js'
import type { AuthSettings, ScopeRequest, TlsSettings, UserRef } from './settings.js'

/** `idtool config show` result (kind "config.show"): the resolved connection, secrets masked. */
export interface ConfigShowResult {
  version: 1
  kind: 'config.show'
  authUrl: string
  authType: AuthSettings['authType']
  /** who authenticates, e.g. `user "admin" in domain Default` (never a secret) */
  caller: string
  credential: RedactedAuth['credential']
  scope: ScopeRequest
  tls: TlsSettings
  regionName?: string
  interface?: string
  cloud?: string
  cloudsFile?: string
  secureFile?: string
  /** where each value came from, by openstacksdk field name */
  sources: Record<string, string>
  /** settings given but not used (as the openstack client would not use them) */
  notes?: string[]
  /** what stops authentication before any request (a missing password, a name without its domain...) */
  problem?: { message: string; hint?: string }
}

/** The resolved connection as `config show` reports it. Pure; never carries a secret. */
export function configShow(settings: AuthSettings): ConfigShowResult {
  const r = redactAuth(settings)
  let problem: ConfigShowResult['problem']
  try {
    authRequestBody(settings)
  } catch (err) {
    if (!(err instanceof IdtoolError)) throw err
    problem = { message: err.message, ...(err.hint ? { hint: err.hint } : {}) }
  }
  return {
    version: 1,
    kind: 'config.show',
    authUrl: r.authUrl,
    authType: r.authType,
    caller: describeCaller(settings),
    credential: r.credential,
    scope: r.scope,
    tls: r.tls,
    ...(r.regionName ? { regionName: r.regionName } : {}),
    ...(r.interface ? { interface: r.interface } : {}),
    ...(r.cloud ? { cloud: r.cloud } : {}),
    ...(r.cloudsFile ? { cloudsFile: r.cloudsFile } : {}),
    ...(r.secureFile ? { secureFile: r.secureFile } : {}),
    sources: r.sources,
    ...(r.notes?.length ? { notes: r.notes } : {}),
    ...(problem ? { problem } : {}),
  }
}

const MASK = '****** (set)'
const UNSET = '(not set)'

function userRows(u: UserRef | undefined, src: Record<string, string>): Array<[string, string, string?]> {
  if (!u) return [['user', UNSET]]
  const rows: Array<[string, string, string?]> = []
  if (u.id) rows.push(['user id', u.id, src.user_id])
  else if (u.name) rows.push(['user name', u.name, src.username])
  else rows.push(['user', UNSET])
  if (!u.id && u.domainId) rows.push(['user domain id', u.domainId, src.user_domain_id])
  if (!u.id && u.domainName) rows.push(['user domain name', u.domainName, src.user_domain_name])
  return rows
}

function scopeRows(s: ScopeRequest, src: Record<string, string>): Array<[string, string, string?]> {
  if (s.kind === 'unscoped') {
    return s.explicit
      ? [['scope', 'unscoped (explicitly: not the default project)', src.unscoped]]
      : [['scope', 'unscoped']]
  }
  if (s.kind === 'system') return [['scope', `system ${s.system}`, src.system_scope]]
  if (s.kind === 'domain') {
    return s.id
      ? [['scope', `domain id ${s.id}`, src.domain_id]]
      : [['scope', `domain "${s.name}"`, src.domain_name]]
  }
  if (s.id) return [['scope', `project id ${s.id}`, src.project_id]]
  const rows: Array<[string, string, string?]> = [['scope', `project "${s.name}"`, src.project_name]]
  if (s.domainId) rows.push(['project domain id', s.domainId, src.project_domain_id])
  else if (s.domainName) rows.push(['project domain name', s.domainName, src.project_domain_name])
  else rows.push(['project domain', UNSET])
  return rows
}

/** The text form: one line per setting, its value, and where it came from. */
export function renderConfigShow(r: ConfigShowResult): string {
  const s = r.sources
  const rows: Array<[string, string, string?]> = [
    ['auth url', r.authUrl, s.auth_url],
    ['auth type', r.authType, s.auth_type],
  ]
  const c = r.credential
  if (c.type === 'password') {
    rows.push(...userRows(c.user, s), ['password', c.passwordSet ? MASK : UNSET, s.password])
  } else if (c.type === 'v3applicationcredential') {
    if (c.id) rows.push(['application credential id', c.id, s.application_credential_id])
    else {
      rows.push(['application credential name', c.name ?? UNSET, s.application_credential_name])
      rows.push(...userRows(c.user, s))
    }
    rows.push(['application credential secret', c.secretSet ? MASK : UNSET, s.application_credential_secret])
  } else rows.push(['token', c.tokenSet ? MASK : UNSET, s.token])
  rows.push(...scopeRows(r.scope, s))
  rows.push(['verify server certificate', r.tls.verify ? 'yes' : 'NO (insecure)', s.verify])
  if (r.tls.cacert) rows.push(['CA bundle', r.tls.cacert, s.cacert])
  if (r.tls.cert) rows.push(['client certificate', r.tls.cert, s.cert])
  if (r.tls.key) rows.push(['client key', r.tls.key, s.key])
  if (r.regionName) rows.push(['region', r.regionName, s.region_name])
  if (r.interface) rows.push(['interface', r.interface, s.interface])
  rows.push(['cloud', r.cloud ?? '(none: flags and OS_* variables)', s.cloud])
  rows.push(['clouds file', r.cloudsFile ?? '(none found)'])
  if (r.secureFile) rows.push(['secure file', r.secureFile])
  const w0 = Math.max(...rows.map((x) => x[0].length))
  const w1 = Math.min(60, Math.max(...rows.map((x) => x[1].length)))
  const lines = rows.map(([k, v, from]) =>
    from ? `${k.padEnd(w0)}  ${v.padEnd(w1)}  ← ${from}` : `${k.padEnd(w0)}  ${v}`.trimEnd(),
  )
  lines.push(`caller: ${r.caller}`)
  for (const n of r.notes ?? []) lines.push(`note: ${n}`)
  if (r.problem) {
    lines.push(`cannot authenticate: ${r.problem.message}`)
    if (r.problem.hint) lines.push(`hint: ${r.problem.hint}`)
  }
  return `${lines.join('\n')}\n`
}
