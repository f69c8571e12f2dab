import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveAuth } from '../../src/config/auth.js'
import type { AuthSettings } from '../../src/config/settings.js'
import { ConfigError } from '../../src/errors.js'
import { type OsFlagValues, osFlagInputs } from '../../src/flags.js'
import { authRequestBody } from '../../src/keystone/auth-body.js'
import { ORACLE_CASES, type OracleCase } from './oracle-cases.js'

/**
 * Each case of the table resolved by idtool (resolveAuth + authRequestBody) and by the real openstack client
 * (test/config/osc_oracle.py under /usr/bin/python3: osc's option parsing, OSC_Config.get_one, the token
 * request keystoneauth builds, CloudRegion.get_requests_verify_args), on the same files and environment.
 */

const PYTHON = '/usr/bin/python3'
const ORACLE = join(import.meta.dirname, 'osc_oracle.py')
const HAVE_CLIENT =
  existsSync(PYTHON) && existsSync('/usr/lib/python3/dist-packages/openstackclient/shell.py')

interface OracleResult {
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

let root: string
const prepared = new Map<string, { dir: string; env: Record<string, string>; flags: OsFlagValues }>()
const oracle = new Map<string, OracleResult>()

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

beforeAll(() => {
  if (!HAVE_CLIENT) return
  root = mkdtempSync(join(tmpdir(), 'idtool-oracle-'))
  const cases = ORACLE_CASES.map((c, i) => {
    const dir = join(root, `c${i}`)
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
    prepared.set(c.id, { dir, env, flags })
    return { id: c.id, cwd: join(dir, 'cwd'), env, argv: oscArgv(c.flags ?? {}, dir) }
  })
  const out = execFileSync(PYTHON, [ORACLE], {
    input: JSON.stringify({ cases }),
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' },
    maxBuffer: 16 << 20,
  })
  for (const r of JSON.parse(out) as OracleResult[]) oracle.set(r.id, r)
}, 60_000)

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true })
})

function idtool(c: OracleCase): { settings: AuthSettings; body: ReturnType<typeof authRequestBody> } {
  const p = prepared.get(c.id)
  if (!p) throw new Error(`case ${c.id} not prepared`)
  const settings = resolveAuth({ flags: osFlagInputs(p.flags), env: p.env, cwd: join(p.dir, 'cwd') })
  return { settings, body: authRequestBody(settings) }
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

describe.skipIf(!HAVE_CLIENT)('resolver against the openstack client (oracle table)', () => {
  it('has at least 25 cases, refusals among them', () => {
    expect(ORACLE_CASES.length).toBeGreaterThanOrEqual(25)
    expect(ORACLE_CASES.filter((c) => c.refused).length).toBeGreaterThanOrEqual(8)
  })

  for (const c of ORACLE_CASES) {
    it(c.id, () => {
      const r = oracle.get(c.id)
      expect(r, 'oracle result').toBeDefined()
      if (!r) return
      if (c.refused) expect(r.ok, `the client should refuse (${JSON.stringify(r.body)})`).toBe(false)
      if (!r.ok) {
        let err: unknown
        try {
          idtool(c)
        } catch (e) {
          err = e
        }
        expect(err, `client refused (${r.error}); idtool must refuse too`).toBeInstanceOf(ConfigError)
        return
      }
      if (c.expect === 'idtool-refuses') {
        expect(() => idtool(c), `client sends ${JSON.stringify(r.body)}`).toThrow(ConfigError)
        return
      }
      const got = idtool(c)
      expect(got.body).toEqual(r.body)
      expect(got.settings.tls).toEqual(tlsOfOracle(r))
      expect(got.settings.authUrl).toBe(r.authUrl)
      expect(got.settings.regionName).toBe(r.regionName || undefined)
      expect(got.settings.interface).toBe(r.interface)
      const pluginAlias: Record<string, string> = {
        password: 'password',
        v3password: 'password',
        v3applicationcredential: 'v3applicationcredential',
        token: 'token',
        v3token: 'token',
      }
      expect(got.settings.authType).toBe(pluginAlias[r.authType ?? ''])
    })
  }
})
