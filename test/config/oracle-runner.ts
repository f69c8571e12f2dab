import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { expect } from 'vitest'
import { type OsFlagValues, osFlagInputs } from '../../src/cli/flags.js'
import { resolveAuth } from '../../src/config/auth.js'
import type { AuthSettings } from '../../src/config/settings.js'
import { ConfigError } from '../../src/errors.js'
import { authRequestBody } from '../../src/keystone/auth-body.js'
import type { OracleCase } from './oracle-cases.js'

/**
 * Runs cases through idtool (resolveAuth + authRequestBody) and through the real openstack client
 * (test/config/osc_oracle.py under /usr/bin/python3: osc's option parsing, OSC_Config.get_one, the token
 * request keystoneauth builds, CloudRegion.get_requests_verify_args), on the same files and environment.
 */

const PYTHON = '/usr/bin/python3'
const ORACLE = join(import.meta.dirname, 'osc_oracle.py')
export const HAVE_CLIENT =
  existsSync(PYTHON) && existsSync('/usr/lib/python3/dist-packages/openstackclient/shell.py')

export interface OracleResult {
  id: string
  ok: boolean
  error?: string
  authType?: string
  authUrl?: string
  body?: { auth: Record<string, unknown> }
  verify?: boolean | string
  cert?: string | [string, string] | null
  regionName?: string
  interface?: string
}

interface Prepared {
  dir: string
  env: Record<string, string>
  flags: OsFlagValues
}

const fill = (s: string, dir: string) => s.replaceAll('{root}', dir)

/** The same flags as osc argv (--os-insecure is osc's --insecure; a password file is osc's --os-password). */
function oscArgv(flags: OsFlagValues, dir: string): string[] {
  const argv: string[] = []
  for (const [k, v] of Object.entries(flags)) {
    if (v === undefined || v === false) continue
    if (k === 'os-insecure') argv.push('--insecure')
    else if (k === 'os-password-file') {
      // handed to the oracle inside its JSON stdin, never on a command line
      argv.push('--os-password', readFileSync(fill(String(v), dir), 'utf8').replace(/\n$/, ''))
    } else argv.push(`--${k}`, fill(String(v), dir))
  }
  return argv
}

export class OracleRun {
  private root = ''
  private prepared = new Map<string, Prepared>()
  readonly results = new Map<string, OracleResult>()

  /** Write each case's files under a fresh root and resolve them all in one python process. */
  run(cases: OracleCase[]): void {
    this.root = mkdtempSync(join(tmpdir(), 'idtool-oracle-'))
    const input = cases.map((c, i) => {
      const dir = join(this.root, `c${i}`)
      mkdirSync(join(dir, 'cwd'), { recursive: true })
      mkdirSync(join(dir, 'home'), { recursive: true })
      for (const [rel, text] of Object.entries(c.files ?? {})) {
        const p = join(dir, rel)
        mkdirSync(dirname(p), { recursive: true })
        writeFileSync(p, fill(text, dir), { mode: 0o600 })
      }
      const env: Record<string, string> = { HOME: join(dir, 'home'), LANG: 'C.UTF-8' }
      for (const [k, v] of Object.entries(c.env ?? {})) env[k] = fill(v, dir)
      const flags = Object.fromEntries(
        Object.entries(c.flags ?? {}).map(([k, v]) => [k, typeof v === 'string' ? fill(v, dir) : v]),
      ) as OsFlagValues
      this.prepared.set(c.id, { dir, env, flags })
      return { id: c.id, cwd: join(dir, 'cwd'), env, argv: oscArgv(c.flags ?? {}, dir) }
    })
    const out = execFileSync(PYTHON, [ORACLE], {
      input: JSON.stringify({ cases: input }),
      encoding: 'utf8',
      env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' },
      maxBuffer: 64 << 20,
    })
    for (const r of JSON.parse(out) as OracleResult[]) this.results.set(r.id, r)
  }

  cleanup(): void {
    if (this.root) rmSync(this.root, { recursive: true, force: true })
  }

  /** idtool on the same files, environment and flags. */
  idtool(c: OracleCase): { settings: AuthSettings; body: ReturnType<typeof authRequestBody> } {
    const p = this.prepared.get(c.id)
    if (!p) throw new Error(`case ${c.id} not prepared`)
    const settings = resolveAuth({ flags: osFlagInputs(p.flags), env: p.env, cwd: join(p.dir, 'cwd') })
    return { settings, body: authRequestBody(settings) }
  }

  /**
   * Assert idtool agrees with the client on one case: both refuse, or the same token request, TLS settings,
   * auth URL, region and interface. `incompleteOk`: idtool may refuse where the client sends a request
   * Keystone rejects (a name without its domain, an application credential name without a user, a boolean).
   */
  check(c: OracleCase, opts: { incompleteOk?: boolean } = {}): void {
    const r = this.results.get(c.id)
    expect(r, 'oracle result').toBeDefined()
    if (!r) return
    if (c.refused) expect(r.ok, `the client should refuse (${JSON.stringify(r.body)})`).toBe(false)
    if (!r.ok) {
      let err: unknown
      try {
        this.idtool(c)
      } catch (e) {
        err = e
      }
      expect(err, `client refused (${r.error}); idtool must refuse too`).toBeInstanceOf(ConfigError)
      return
    }
    if (c.expect === 'idtool-refuses') {
      expect(() => this.idtool(c), `client sends ${JSON.stringify(r.body)}`).toThrow(ConfigError)
      return
    }
    let got: ReturnType<OracleRun['idtool']>
    try {
      got = this.idtool(c)
    } catch (e) {
      if (opts.incompleteOk && e instanceof ConfigError && sendsIncomplete(r.body)) return
      throw e
    }
    expect(got.body).toEqual(r.body)
    expect(got.settings.tls).toEqual(tlsOfOracle(r))
    expect(got.settings.authUrl).toBe(r.authUrl)
    expect(got.settings.regionName).toBe(r.regionName || undefined)
    expect(got.settings.interface).toBe(r.interface)
    const alias: Record<string, string> = {
      password: 'password',
      v3password: 'password',
      v3applicationcredential: 'v3applicationcredential',
      token: 'token',
      v3token: 'token',
    }
    expect(got.settings.authType).toBe(alias[r.authType ?? ''])
  }
}

/** Whether the client's request lacks what Keystone needs (so idtool refusing it first is right). */
function sendsIncomplete(body: OracleResult['body']): boolean {
  const auth = body?.auth as
    | {
        identity?: Record<string, { user?: Record<string, unknown>; name?: unknown }>
        scope?: { project?: Record<string, unknown> }
      }
    | undefined
  const users = Object.values(auth?.identity ?? {})
    .filter((m) => m && typeof m === 'object')
    .map((m) => m.user)
  for (const u of users) {
    if (!u) continue
    if (!u.id && !u.name) return true
    if (!u.id && !u.domain) return true
    if (typeof u.name === 'boolean') return true
  }
  const p = auth?.scope?.project
  return Boolean(p && !p.id && !p.domain)
}

/** The client's TLS arguments in idtool's terms. */
function tlsOfOracle(r: OracleResult) {
  const tls: { verify: boolean; cacert?: string; cert?: string; key?: string } = {
    verify: r.verify !== false,
  }
  if (typeof r.verify === 'string') tls.cacert = r.verify
  if (typeof r.cert === 'string') tls.cert = r.cert
  else if (Array.isArray(r.cert)) {
    tls.cert = r.cert[0]
    tls.key = r.cert[1]
  }
  return tls
}
