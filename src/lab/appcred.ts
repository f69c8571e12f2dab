import { readFileSync } from 'node:fs'
import { request } from 'undici'
import { IdtoolError } from '../errors.js'
import { LAB_APPCRED_NAME } from './layout.js'
import { writeAtomic } from './tls.js'

/**
 * The lab admin's application credential, made by `lab up` with a few plain Keystone calls (the lab's
 * own helper: the Keystone client of idtool is for the commands). Keystone (22, Zed) behaviour seen here:
 * - `POST /v3/users/{id}/application_credentials` with a project-scoped password token → 201 with the
 *   secret (returned only this once) and the roles of the token on the project (admin, member, reader);
 * - the same name again → 409 "Duplicate entry found with name ...": a lost secret means delete + create;
 * - an application credential token may not make another one → 403 ("Using method
 *   'application_credential' is not allowed for managing additional application credentials");
 * - an unscoped token makes one with no project and no roles (useless), so the caller is project-scoped.
 */

export interface LabAppCred {
  id: string
  name: string
  secret: string
  userId: string
  projectId: string
  createdAt: string
}

export interface EnsureAppCredResult {
  cred: LabAppCred
  /** 'reused': the stored credential still authenticates; 'created': a new one was made. */
  action: 'reused' | 'created'
  /** Why the stored one was not reused (when created). */
  reason?: string
  /** The id of a credential with the same name that was deleted first (its secret was lost). */
  replacedId?: string
}

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: unknown
}

async function call(
  authUrl: string,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  opts: { token?: string; body?: unknown } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (opts.body !== undefined) headers['content-type'] = 'application/json'
  if (opts.token) headers['x-auth-token'] = opts.token
  const res = await request(`${authUrl}${path}`, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  })
  const text = await res.body.text()
  let body: unknown
  try {
    body = text ? JSON.parse(text) : undefined
  } catch {
    body = text
  }
  return { status: res.statusCode, headers: res.headers, body }
}

function keystoneMessage(a: Answer): string {
  const msg = (a.body as { error?: { message?: string } } | undefined)?.error?.message
  return msg ? `${a.status} ${msg}` : String(a.status)
}

function fail(what: string, a: Answer): never {
  throw new IdtoolError(`lab: ${what} failed: ${keystoneMessage(a)}`, {
    code: 'LAB_APPCRED',
    hint: 'run `idtool lab status`; a lab whose Keystone answers oddly is fixed by `idtool lab down --purge && idtool lab up`.',
  })
}

function subjectToken(a: Answer): string {
  const t = a.headers['x-subject-token']
  const token = Array.isArray(t) ? t[0] : t
  if (!token) fail('authentication (no X-Subject-Token)', a)
  return token
}

/** The stored credential, if the file holds one. */
export function readAppCred(file: string): LabAppCred | undefined {
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as Partial<LabAppCred>
    if (typeof c.id === 'string' && typeof c.secret === 'string' && c.id && c.secret) return c as LabAppCred
  } catch {
    /* missing or unreadable: made again */
  }
  return undefined
}

/** Whether an application credential authenticates (201); the Keystone status otherwise. */
export async function appCredAuthenticates(
  authUrl: string,
  cred: { id: string; secret: string },
): Promise<{ ok: boolean; status: number }> {
  const a = await call(authUrl, 'POST', '/auth/tokens', {
    body: {
      auth: {
        identity: {
          methods: ['application_credential'],
          application_credential: { id: cred.id, secret: cred.secret },
        },
      },
    },
  })
  return { ok: a.status === 201, status: a.status }
}

/**
 * Reuse the stored application credential if it still authenticates; otherwise (no file, a rebuilt
 * Keystone database, a deleted credential) make a new one for `admin` on project `admin` and store it
 * (0600 JSON). `authUrl` is a Keystone v3 URL (the plain lab frontend).
 */
export async function ensureLabAppCred(opts: {
  authUrl: string
  adminPassword: string
  file: string
  log: (m: string) => void
}): Promise<EnsureAppCredResult> {
  const { authUrl, file, log } = opts
  const stored = readAppCred(file)
  let reason = 'no stored application credential'
  if (stored) {
    const check = await appCredAuthenticates(authUrl, stored)
    if (check.ok) return { cred: stored, action: 'reused' }
    reason = `the stored one no longer authenticates (${check.status})`
  }
  log(`keystone: making application credential ${LAB_APPCRED_NAME} for admin (${reason})`)
  const auth = await call(authUrl, 'POST', '/auth/tokens', {
    body: {
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: 'admin', domain: { name: 'Default' }, password: opts.adminPassword } },
        },
        scope: { project: { name: 'admin', domain: { name: 'Default' } } },
      },
    },
  })
  if (auth.status !== 201) fail('admin password authentication', auth)
  const token = subjectToken(auth)
  const tb = (auth.body as { token?: { user?: { id?: string }; project?: { id?: string } } }).token
  const userId = tb?.user?.id
  const projectId = tb?.project?.id
  if (!userId || !projectId) fail('admin authentication (no user or project in the token)', auth)
  const base = `/users/${encodeURIComponent(userId)}/application_credentials`

  // a credential of that name whose secret is lost blocks the name (409): delete it first
  let replacedId: string | undefined
  const listed = await call(authUrl, 'GET', `${base}?name=${encodeURIComponent(LAB_APPCRED_NAME)}`, { token })
  if (listed.status !== 200) fail('listing application credentials', listed)
  for (const old of (listed.body as { application_credentials?: Array<{ id: string; name: string }> })
    .application_credentials ?? []) {
    if (old.name !== LAB_APPCRED_NAME) continue
    const del = await call(authUrl, 'DELETE', `${base}/${encodeURIComponent(old.id)}`, { token })
    if (del.status !== 204 && del.status !== 404) fail(`deleting application credential ${old.id}`, del)
    replacedId = old.id
  }

  const made = await call(authUrl, 'POST', base, {
    token,
    body: {
      application_credential: {
        name: LAB_APPCRED_NAME,
        description: 'idtool lab: the lab admin for CI-style callers (cloud idtool-lab-appcred)',
        unrestricted: false,
      },
    },
  })
  if (made.status !== 201) fail('creating the application credential', made)
  const ac = (made.body as { application_credential?: { id?: string; secret?: string } })
    .application_credential
  if (!ac?.id || !ac.secret) fail('creating the application credential (no id or secret in the answer)', made)
  const cred: LabAppCred = {
    id: ac.id,
    name: LAB_APPCRED_NAME,
    secret: ac.secret,
    userId,
    projectId,
    createdAt: new Date().toISOString(),
  }
  writeAtomic(file, `${JSON.stringify(cred, null, 2)}\n`, 0o600)
  const check = await appCredAuthenticates(authUrl, cred)
  if (!check.ok) {
    throw new IdtoolError(
      `lab: the new application credential ${cred.id} does not authenticate (${check.status})`,
      {
        code: 'LAB_APPCRED',
        hint: `see the Keystone log under the lab directory (keystone/log/keystone.log)`,
      },
    )
  }
  return { cred, action: 'created', reason, replacedId }
}
