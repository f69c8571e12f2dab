import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveAuth } from '../../src/config/auth.js'
import { authRequestBody } from '../../src/keystone/auth-body.js'

/**
 * The wire oracle: a fake Keystone on a loopback port records the body of every POST /v3/auth/tokens;
 * `openstack token issue` (python3-openstackclient) runs on a set of files and environments against it, and
 * idtool's authRequestBody must ask for the same identity and scope on the same files and environment.
 * Secrets reach the client through clouds.yaml, secure.yaml or OS_* variables only, never its command line.
 */

const OPENSTACK = '/usr/bin/openstack'
const HAVE_CLIENT = existsSync(OPENSTACK)

interface WireCase {
  id: string
  /** files under the case root; `{url}` is replaced by the case's auth URL (and `{dir}` in env by the root) */
  files?: Record<string, string>
  env: Record<string, string>
}

const CASES: WireCase[] = [
  {
    id: 'password, project by name (identity_api_version 3: default domain)',
    files: {
      'cwd/clouds.yaml':
        'clouds:\n  c:\n    identity_api_version: 3\n    auth:\n      auth_url: {url}\n      username: admin\n      password: pw-1\n      project_name: admin\n',
    },
    env: { OS_CLOUD: 'c' },
  },
  {
    id: "the lab's layout: OS_CLIENT_CONFIG_FILE and OS_CLIENT_SECURE_FILE side by side, password in secure.yaml",
    files: {
      'lab/clouds.yaml':
        'clouds:\n  idtool-lab:\n    auth:\n      auth_url: {url}\n      username: admin\n      project_name: admin\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: RegionOne\n    identity_api_version: 3\n    interface: public\n',
      'lab/secure.yaml': 'clouds:\n  idtool-lab:\n    auth:\n      password: pw-lab\n',
    },
    env: {
      OS_CLOUD: 'idtool-lab',
      OS_CLIENT_CONFIG_FILE: '{dir}/lab/clouds.yaml',
      OS_CLIENT_SECURE_FILE: '{dir}/lab/secure.yaml',
    },
  },
  {
    id: 'password by user id, project by id (OS_* only)',
    env: { OS_AUTH_URL: '{url}', OS_USER_ID: 'u-42', OS_PASSWORD: 'pw-2', OS_PROJECT_ID: 'p-42' },
  },
  {
    id: 'application credential by id, secret in secure.yaml',
    files: {
      'home/.config/openstack/clouds.yaml':
        'clouds:\n  ac:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: {url}\n      application_credential_id: 3f2a9c0d\n',
      'home/.config/openstack/secure.yaml':
        'clouds:\n  ac:\n    auth:\n      application_credential_secret: s3cret-1\n',
    },
    env: { OS_CLOUD: 'ac' },
  },
  {
    id: 'application credential by name with its user',
    env: {
      OS_AUTH_URL: '{url}',
      OS_AUTH_TYPE: 'v3applicationcredential',
      OS_APPLICATION_CREDENTIAL_NAME: 'ci',
      OS_APPLICATION_CREDENTIAL_SECRET: 's3cret-2',
      OS_USERNAME: 'bob',
      OS_USER_DOMAIN_NAME: 'Default',
    },
  },
  {
    id: 'token, project by id',
    env: { OS_AUTH_URL: '{url}', OS_AUTH_TYPE: 'v3token', OS_TOKEN: 'gAAAAtok', OS_PROJECT_ID: 'p-7' },
  },
  {
    id: 'domain scope from the domain_name shorthand',
    files: {
      'cwd/clouds.yaml':
        'clouds:\n  d:\n    auth:\n      auth_url: {url}\n      user_id: u-1\n      password: pw-3\n      domain_name: Dom\n',
    },
    env: { OS_CLOUD: 'd' },
  },
  {
    id: 'system scope',
    env: { OS_AUTH_URL: '{url}', OS_USER_ID: 'u-1', OS_PASSWORD: 'pw-4', OS_SYSTEM_SCOPE: 'all' },
  },
  {
    id: 'unscoped, user by name in a domain by id',
    env: { OS_AUTH_URL: '{url}', OS_USERNAME: 'carol', OS_USER_DOMAIN_ID: 'dom-9', OS_PASSWORD: 'pw-5' },
  },
  {
    id: 'token (generic) with a domain scope by id from the environment',
    env: { OS_AUTH_URL: '{url}', OS_AUTH_TYPE: 'token', OS_TOKEN: 'gAAAAtok2', OS_DOMAIN_ID: 'dom-1' },
  },
]

interface Recorded {
  bodies: unknown[]
  gets: string[]
}

let server: Server
let base: string
let root: string
const recorded = new Map<string, Recorded>()

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  })
  res.end(text)
}

function versionDoc(prefix: string) {
  return {
    id: 'v3.14',
    status: 'stable',
    updated: '2020-04-07T00:00:00Z',
    links: [{ rel: 'self', href: `${base}${prefix}/v3/` }],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }],
  }
}

/** A token answer shaped like Keystone's, scoped as the request asked. */
function tokenAnswer(req: { auth?: { identity?: { methods?: string[] }; scope?: Record<string, unknown> } }) {
  const now = new Date()
  const token: Record<string, unknown> = {
    methods: req.auth?.identity?.methods ?? ['password'],
    user: {
      id: 'u-answer',
      name: 'someone',
      domain: { id: 'default', name: 'Default' },
      password_expires_at: null,
    },
    audit_ids: ['AbCdEfGhIjKlMnOpQrStUv'],
    issued_at: now.toISOString(),
    expires_at: new Date(now.getTime() + 3_600_000).toISOString(),
    catalog: [],
    roles: [{ id: 'r-1', name: 'admin' }],
  }
  const s = req.auth?.scope as
    | { project?: { id?: string; name?: string }; domain?: { id?: string; name?: string }; system?: unknown }
    | undefined
  if (s?.project) {
    token.project = {
      id: s.project.id ?? 'p-answer',
      name: s.project.name ?? 'proj',
      domain: { id: 'default', name: 'Default' },
    }
  } else if (s?.domain) token.domain = { id: s.domain.id ?? 'd-answer', name: s.domain.name ?? 'Dom' }
  else if (s?.system) token.system = { all: true }
  return { token }
}

function handler(req: IncomingMessage, res: ServerResponse) {
  const m = /^\/(c\d+)(\/.*)?$/.exec(req.url ?? '')
  const key = m?.[1]
  const path = (m?.[2] ?? '/').replace(/\/+$/, '') || '/'
  const rec = key ? recorded.get(key) : undefined
  if (!key || !rec) return send(res, 404, { error: { code: 404, message: 'no such case' } })
  if (req.method === 'GET' && (path === '/v3' || path === '/')) {
    rec.gets.push(path)
    if (path === '/v3') return send(res, 200, { version: versionDoc(`/${key}`) })
    return send(res, 300, { versions: { values: [versionDoc(`/${key}`)] } })
  }
  if (req.method === 'POST' && path === '/v3/auth/tokens') {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      rec.bodies.push(body)
      send(res, 201, tokenAnswer(body), { 'x-subject-token': `tok-${key}-${rec.bodies.length}` })
    })
    return
  }
  send(res, 404, { error: { code: 404, message: `unexpected ${req.method} ${path}` } })
}

interface Prepared {
  key: string
  dir: string
  env: Record<string, string>
}
const prepared = new Map<string, Prepared>()
const runs = new Map<string, { code: number | null; stdout: string; stderr: string }>()

function runOpenstack(p: Prepared): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    execFile(
      OPENSTACK,
      ['token', 'issue', '-f', 'json'],
      { cwd: join(p.dir, 'cwd'), env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', ...p.env }, timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0
        resolvePromise({ code: typeof code === 'number' ? code : 1, stdout, stderr })
      },
    )
  })
}

beforeAll(async () => {
  if (!HAVE_CLIENT) return
  server = createServer(handler)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  root = mkdtempSync(join(tmpdir(), 'idtool-wire-'))
  CASES.forEach((c, i) => {
    const key = `c${i}`
    const dir = join(root, key)
    const url = `${base}/${key}/v3`
    mkdirSync(join(dir, 'cwd'), { recursive: true })
    mkdirSync(join(dir, 'home'), { recursive: true })
    for (const [rel, text] of Object.entries(c.files ?? {})) {
      const p = join(dir, rel)
      mkdirSync(dirname(p), { recursive: true })
      writeFileSync(p, text.replaceAll('{url}', url), { mode: 0o600 })
    }
    const env: Record<string, string> = { HOME: join(dir, 'home') }
    for (const [k, v] of Object.entries(c.env)) env[k] = v.replaceAll('{url}', url).replaceAll('{dir}', dir)
    recorded.set(key, { bodies: [], gets: [] })
    prepared.set(c.id, { key, dir, env })
  })
  // the client takes 1-2 s to start: run them three at a time
  const queue = [...prepared.entries()]
  await Promise.all(
    [0, 1, 2].map(async () => {
      for (let next = queue.shift(); next; next = queue.shift())
        runs.set(next[0], await runOpenstack(next[1]))
    }),
  )
}, 90_000)

afterAll(async () => {
  if (server) await new Promise<void>((r) => server.close(() => r()))
  if (root) rmSync(root, { recursive: true, force: true })
})

describe.skipIf(!HAVE_CLIENT)('token request on the wire: openstack token issue vs idtool', () => {
  for (const c of CASES) {
    it(c.id, () => {
      const p = prepared.get(c.id)
      const run = runs.get(c.id)
      const rec = p && recorded.get(p.key)
      if (!p || !run || !rec) throw new Error('case not run')
      expect(run.code, `openstack token issue failed: ${run.stderr.slice(-400)}`).toBe(0)
      expect(JSON.parse(run.stdout).id).toBe(`tok-${p.key}-1`)
      expect(rec.bodies).toHaveLength(1)
      const theirs = rec.bodies[0] as { auth: { identity: Record<string, unknown>; scope?: unknown } }

      const settings = resolveAuth({ flags: {}, env: p.env, cwd: join(p.dir, 'cwd') })
      const ours = authRequestBody(settings)
      // same method(s), same user / credential / secret / token, same domain
      expect(ours.auth.identity).toEqual(theirs.auth.identity)
      // same scope (none when unscoped)
      expect(ours.auth.scope).toEqual(theirs.auth.scope)
      expect(ours).toEqual(theirs)
    })
  }

  it('covers every credential kind and every scope kind', () => {
    const bodies = [...recorded.values()].flatMap((r) => r.bodies) as Array<{
      auth: {
        identity: { methods: string[]; application_credential?: { id?: string; name?: string } }
        scope?: object
      }
    }>
    const methods = new Set(bodies.flatMap((b) => b.auth.identity.methods))
    expect([...methods].sort()).toEqual(['application_credential', 'password', 'token'])
    const appcred = bodies.map((b) => b.auth.identity.application_credential).filter(Boolean)
    expect(appcred.some((a) => a?.id) && appcred.some((a) => a?.name)).toBe(true)
    const scopes = new Set(bodies.map((b) => (b.auth.scope ? Object.keys(b.auth.scope)[0] : 'unscoped')))
    expect([...scopes].sort()).toEqual(['domain', 'project', 'system', 'unscoped'])
  })
})
