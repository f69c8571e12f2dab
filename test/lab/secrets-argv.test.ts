import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest'

// Issue 12 item 3: no lab secret on a child's command line (ps shows argv to every user), lab pidfiles 0644 at
// most. The lab's process runner is replaced by a recorder, so the real functions that build each child's
// argv, environment and stdin run without starting anything.
const calls: Array<{ file: string; args: string[]; env?: NodeJS.ProcessEnv; input?: string }> = []
vi.mock('../../src/lab/proc.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/lab/proc.js')>()
  return {
    ...real,
    run: vi.fn(
      async (file: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}) => {
        calls.push({ file, args, env: opts.env, input: opts.input })
        return { stdout: '', stderr: '' }
      },
    ),
    waitFor: vi.fn(async () => {}),
  }
})

const { bootstrapKeystone, keystoneConf, startWorker } = await import('../../src/lab/keystone.js')
const { writeFileSecret } = await import('../../src/lab/state.js')
const { createKeystoneDatabase } = await import('../../src/lab/mariadb.js')
const { buildDirectory } = await import('../../src/lab/slapd.js')
const { tightenPidFile } = await import('../../src/lab/proc.js')
const { labPaths } = await import('../../src/lab/layout.js')
const { apacheHome, LAB_USER_HOME, startApacheWorker } = await import('../../src/lab/apache.js')

const dir = mkdtempSync(join(tmpdir(), 'idtool-lab-argv-'))
const p = labPaths(dir)
const SECRETS = {
  admin: 'Adm1n-s3cret-QX7',
  root: 'R00t-s3cret-ZP4',
  keystone: 'Bind-s3cret-LM2',
  reader: 'Read-s3cret-WN9',
  db: 'Db-s3cret-KH5',
}
afterAll(() => rmSync(dir, { recursive: true, force: true }))
beforeEach(() => {
  calls.length = 0
})

/** Every secret that appears in any recorded command line (program or argument). */
function secretsOnCommandLines(): string[] {
  const argv = calls.map((c) => [c.file, ...c.args].join(' ')).join('\n')
  return Object.values(SECRETS).filter((s) => argv.includes(s))
}

describe('lab children get secrets through the environment, stdin or 0600 files, never argv', () => {
  it('keystone-manage bootstrap: the admin password in OS_BOOTSTRAP_PASSWORD only', async () => {
    mkdirSync(p.fernetKeys, { recursive: true })
    mkdirSync(p.credentialKeys, { recursive: true })
    for (const db of ['sqlite', 'mariadb'] as const) {
      calls.length = 0
      await bootstrapKeystone(p, { workers: 2, cache: true, db, ldapUsers: 10 }, SECRETS.admin)
      const boot = calls.find((c) => c.args.includes('bootstrap'))
      expect(boot, db).toBeDefined()
      expect(boot!.env?.OS_BOOTSTRAP_PASSWORD).toBe(SECRETS.admin)
      expect(boot!.args.join(' ')).not.toMatch(/--bootstrap-password/)
      expect(secretsOnCommandLines(), db).toEqual([])
    }
  })

  it('mariadb: the keystone database password goes on stdin', async () => {
    await createKeystoneDatabase(p, SECRETS.db)
    expect(calls).toHaveLength(1)
    expect(calls[0]!.input).toContain(`IDENTIFIED BY '${SECRETS.db}'`)
    expect(calls[0]!.args.join(' ')).not.toMatch(/\s-e\b|--execute/)
    expect(secretsOnCommandLines()).toEqual([])
  })

  it('slapadd: the LDAP passwords only as salted hashes in 0600 files', async () => {
    await buildDirectory(p, 3, SECRETS)
    expect(calls.map((c) => c.file)).toEqual(['/usr/sbin/slapadd'])
    expect(secretsOnCommandLines()).toEqual([])
    for (const f of [p.slapdConf, p.slapdLdif]) {
      expect(statSync(f).mode & 0o777).toBe(0o600)
      const text = readFileSync(f, 'utf8')
      for (const s of [SECRETS.root, SECRETS.keystone, SECRETS.reader]) expect(text).not.toContain(s)
    }
  })

  it('uwsgi workers: no secret in argv (the database password is in keystone.conf, 0600), pidfile umask 022', async () => {
    const conf = keystoneConf(p, { workers: 2, cache: true, db: 'mariadb', ldapUsers: 10 }, SECRETS.db)
    writeFileSecret(p.keystoneConf, conf)
    expect(statSync(p.keystoneConf).mode & 0o777).toBe(0o600)
    await startWorker(p, 1, { workers: 2, cache: true, db: 'mariadb', ldapUsers: 10 })
    expect(calls).toHaveLength(1)
    const args = calls[0]!.args
    expect(args[args.indexOf('--umask') + 1]).toBe('022')
    expect(args.indexOf('--umask')).toBeLessThan(args.indexOf('--pidfile'))
    expect(secretsOnCommandLines()).toEqual([])
  })

  it('Apache workers: no secret in argv, a clean environment (no OS_* secret inherited), config 0600', async () => {
    const spec = { workers: 2, cache: true, db: 'mariadb' as const, ldapUsers: 10, server: 'apache' as const }
    writeFileSecret(p.keystoneConf, keystoneConf(p, spec, SECRETS.db))
    const saved = process.env.OS_PASSWORD
    process.env.OS_PASSWORD = SECRETS.admin
    try {
      await startApacheWorker(p, 2, spec, undefined)
    } finally {
      if (saved === undefined) delete process.env.OS_PASSWORD
      else process.env.OS_PASSWORD = saved
    }
    expect(calls.map((c) => [c.file, ...c.args].join(' '))).toEqual([
      `/usr/sbin/apache2 -f ${p.apacheConf(2)} -k start`,
    ])
    expect(secretsOnCommandLines()).toEqual([])
    expect(Object.keys(calls[0]!.env ?? {}).sort()).toEqual(['LANG', 'OS_KEYSTONE_CONFIG_DIR', 'PATH'])
    expect(statSync(p.apacheConf(2)).mode & 0o777).toBe(0o600)
    // nothing made outside the lab directory (idtool-lab's directory is prepared by lab up, not here)
    expect(existsSync(apacheHome(p.dir, { root: true, home: LAB_USER_HOME }))).toBe(false)
    const conf = readFileSync(p.apacheConf(2), 'utf8')
    for (const s of Object.values(SECRETS)) expect(conf).not.toContain(s)
  })
})

describe('tightenPidFile', () => {
  it('0666 becomes 0644, 0600 stays, a missing file is no error', () => {
    const a = join(dir, 'a.pid')
    const b = join(dir, 'b.pid')
    writeFileSync(a, '1\n')
    chmodSync(a, 0o666)
    writeFileSync(b, '2\n', { mode: 0o600 })
    chmodSync(b, 0o600)
    tightenPidFile(a)
    tightenPidFile(b)
    tightenPidFile(join(dir, 'missing.pid'))
    expect(statSync(a).mode & 0o777).toBe(0o644)
    expect(statSync(b).mode & 0o777).toBe(0o600)
  })
})
