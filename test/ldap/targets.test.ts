import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { LAB_BIND_DN } from '../../src/lab/layout.js'
import { LDAP_URL } from '../../src/lab/slapd.js'
import {
  checkTargetMode,
  type LeakTargetOptions,
  readSecretFile,
  resolveDirectTarget,
} from '../../src/ldap/targets.js'

/** A lab directory as `lab up` leaves it, as far as the lab check and the LDAP default look. */
function fakeLab(): string {
  const dir = mkdtempSync(join(tmpdir(), 'idtool-targets-'))
  mkdirSync(join(dir, 'keystone'), { recursive: true })
  mkdirSync(join(dir, 'secrets'), { recursive: true })
  writeFileSync(join(dir, 'state.json'), '{}')
  writeFileSync(join(dir, 'keystone', 'keystone.conf'), '')
  writeFileSync(join(dir, 'secrets', 'ldap-keystone-password'), 'lab-secret\n')
  return dir
}

const noLab = () => join(mkdtempSync(join(tmpdir(), 'idtool-nolab-')), 'absent')

const options = (
  direct: Partial<LeakTargetOptions['direct']>,
  env: Record<string, string | undefined>,
): LeakTargetOptions => ({
  keystone: false,
  direct: { filter: '(objectClass=*)', scope: 'one', starttls: false, ...direct },
  auth: {},
  timeoutMs: 1000,
  concurrency: 1,
  env,
})

describe('direct target resolution', () => {
  it("defaults to the lab's slapd, service account and users when the lab is set up, and says so", () => {
    const lines: string[] = []
    const t = resolveDirectTarget(options({}, { IDTOOL_LAB_DIR: fakeLab() }), { info: (m) => lines.push(m) })
    expect(t.mode).toBe('direct')
    expect(t.description).toMatch(new RegExp(`^${LDAP_URL} ou=Users,dc=example,dc=org`))
    expect(t.pageSize).toBe(5)
    expect(lines.join('\n')).toMatch(new RegExp(`lab's LDAP service account ${LAB_BIND_DN}`))
  })

  it('uses no lab default when a credential is given, or without a lab', () => {
    const lines: string[] = []
    const lab = fakeLab()
    expect(() =>
      resolveDirectTarget(options({ bindDn: 'cn=x' }, { IDTOOL_LAB_DIR: lab }), {
        info: (m) => lines.push(m),
      }),
    ).toThrow(/no password for cn=x/)
    expect(lines).toEqual([])
    expect(() => resolveDirectTarget(options({}, { IDTOOL_LAB_DIR: noLab() }))).toThrow(
      /--url is required \(there is no local lab/,
    )
    expect(() =>
      resolveDirectTarget(options({ url: 'ldap://ldap.example.org' }, { IDTOOL_LAB_DIR: noLab() })),
    ).toThrow(/--base is required/)
  })

  it('as --help says: each lab default fills only its own value; the lab is any loopback ldap:// at the lab port', () => {
    const lab = fakeLab()
    const run = (direct: Partial<LeakTargetOptions['direct']>, env: Record<string, string> = {}) => {
      const lines: string[] = []
      const t = resolveDirectTarget(options(direct, { IDTOOL_LAB_DIR: lab, ...env }), {
        info: (m) => lines.push(m),
      })
      return { description: t.description, serviceAccount: lines.some((l) => l.includes(LAB_BIND_DN)) }
    }
    // another spelling of the lab's URL is the lab: base and service account both default
    expect(run({ url: 'ldap://localhost:3890' })).toEqual({
      description: expect.stringMatching(/^ldap:\/\/localhost:3890 ou=Users,dc=example,dc=org /),
      serviceAccount: true,
    })
    // a credential turns the bind default off, not the base default
    expect(run({ bindDn: 'cn=other' }, { LDAP_PASSWORD: 'pw' })).toEqual({
      description: expect.stringMatching(/ ou=Users,dc=example,dc=org /),
      serviceAccount: false,
    })
    // --base turns the base default off, not the bind default
    expect(run({ base: 'dc=else' })).toEqual({
      description: expect.stringMatching(/ dc=else /),
      serviceAccount: true,
    })
    // another port on loopback is not the lab, even with a lab set up
    expect(() => run({ url: 'ldap://127.0.0.1:3891' })).toThrow(/--base is required/)
    expect(run({ url: 'ldap://127.0.0.1:3891', base: 'dc=x' }).serviceAccount).toBe(false)
    // without the lab's password file the lab binds anonymously
    rmSync(join(lab, 'secrets', 'ldap-keystone-password'))
    expect(run({}).serviceAccount).toBe(false)
  })

  it('applies the password rules: file or LDAP_PASSWORD, never empty, never without a bind DN', () => {
    const env = { IDTOOL_LAB_DIR: noLab() }
    const direct = { url: 'ldap://ldap.example.org', base: 'dc=x', bindDn: 'cn=x' }
    expect(() => resolveDirectTarget(options(direct, { ...env, LDAP_PASSWORD: '' }))).toThrow(
      /LDAP_PASSWORD is empty/,
    )
    expect(resolveDirectTarget(options(direct, { ...env, LDAP_PASSWORD: 'pw' })).mode).toBe('direct')
    expect(() =>
      resolveDirectTarget(options({ ...direct, bindDn: undefined }, { ...env, LDAP_PASSWORD: 'pw' })),
    ).toThrow(/a password was given but no --bind-dn/)
    const empty = join(mkdtempSync(join(tmpdir(), 'idtool-pw-')), 'pw')
    writeFileSync(empty, '\n')
    expect(() => readSecretFile(empty, '--password-file')).toThrow(/is empty/)
    expect(() => readSecretFile('/nonexistent/pw', '--password-file')).toThrow(
      /cannot read --password-file .*ENOENT/,
    )
  })

  it('refuses a non-LDAP URL, StartTLS over ldaps:// and a bad filter', () => {
    const env = { IDTOOL_LAB_DIR: noLab() }
    expect(() => resolveDirectTarget(options({ url: 'http://x', base: 'dc=x' }, env))).toThrow(
      /only ldap:\/\/ and ldaps:\/\//,
    )
    expect(() =>
      resolveDirectTarget(options({ url: 'ldaps://x', base: 'dc=x', starttls: true }, env)),
    ).toThrow(/--starttls is for ldap:\/\//)
    expect(() =>
      resolveDirectTarget(options({ url: 'ldap://x', base: 'dc=x', filter: '(uid=x' }, env)),
    ).toThrow(/--filter \(uid=x:/)
  })
})

describe('target mode', () => {
  it('refuses direct-LDAP options with --keystone and --domain without it', () => {
    expect(() =>
      checkTargetMode({
        keystone: true,
        domain: undefined,
        direct: { url: 'ldap://x', base: 'dc=x', starttls: true, filter: '(a=*)', scope: 'one' },
      }),
    ).toThrow('--keystone lists users through Keystone: --url, --base, --starttls do not apply')
    expect(() =>
      checkTargetMode({
        keystone: false,
        domain: 'd',
        direct: { filter: '(a=*)', scope: 'one', starttls: false },
      }),
    ).toThrow('--domain needs --keystone')
  })
})
