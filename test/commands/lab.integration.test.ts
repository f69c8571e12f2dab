import { existsSync, statSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { pidAlive } from '../../src/lab/proc.js'
import type { SmokeResult } from '../../src/lab/smoke.js'
import type { LabStatus } from '../../src/results/types.js'
import { parseJson, runCli } from '../helpers/cli.js'
import { LAB, LAB_DIR, LAB_ENV } from '../integration/lab-env.js'

const env = { IDTOOL_LAB_DIR: LAB_DIR }

describe('idtool lab (real Keystone + haproxy + slapd)', () => {
  it('status --json reports a healthy stack with 2 workers, slapd and the LDAP domain, without secrets', async () => {
    const r = await runCli(['lab', 'status', '--json'], { env })
    expect(r.code).toBe(0)
    const s = parseJson<LabStatus>(r)
    expect(s.healthy).toBe(true)
    expect(s.cloud).toBe('idtool-lab')
    expect(s.keystone.workers).toHaveLength(2)
    for (const w of s.keystone.workers) {
      expect(w.healthy).toBe(true)
      expect(pidAlive(w.pid!)).toBe(true)
      expect(pidAlive(w.workerPid!)).toBe(true)
      expect(w.url).toMatch(/^http:\/\/127\.0\.0\.1:500\d$/)
    }
    expect(s.haproxy.url).toBe('http://127.0.0.1:5000')
    expect(s.ldap).toMatchObject({
      url: 'ldap://127.0.0.1:3890',
      users: 1000,
      bindDn: 'cn=keystone,dc=example,dc=org',
    })
    expect(s.ldapDomain?.name).toBe('ldapdom')
    // secrets are named by file, never included, and the files are 0600
    for (const f of [s.ldap.passwordFile, s.keystone.adminPasswordFile, s.cloudsYaml]) {
      expect(statSync(f).mode & 0o777).toBe(0o600)
    }
    const { readFileSync } = await import('node:fs')
    const adminPw = readFileSync(s.keystone.adminPasswordFile, 'utf8').trim()
    expect(r.stdout).not.toContain(adminPw)
  })

  it('issue -> validate 200 on every backend -> revoke 204 -> validate 404, through haproxy', async () => {
    const r = await runCli(['lab', 'smoke', '--json', '--expect-backends', '2'], { env: LAB_ENV })
    expect(r.code).toBe(0)
    const s = parseJson<SmokeResult>(r)
    expect(s.ok).toBe(true)
    expect(s.authUrl).toBe('http://127.0.0.1:5000/v3')
    expect(s.validations.every((v) => v.status === 200)).toBe(true)
    expect(s.backendsSeen).toEqual(['ks1', 'ks2'])
    expect(s.revoke.status).toBe(204)
    expect(s.afterRevoke.map((v) => v.status)).toEqual(s.afterRevoke.map(() => 404))
    expect(new Set(s.afterRevoke.map((v) => v.backend))).toEqual(new Set(['ks1', 'ks2']))
  })

  it('the LDAP-backed domain lists its directory users through Keystone', async () => {
    const { openSession } = await import('../../src/keystone/session.js')
    const { resolveAuth } = await import('../../src/config/auth.js')
    const session = await openSession(resolveAuth({ flags: {}, env: { ...process.env, ...LAB_ENV } }))
    try {
      const dom = await session.client.findDomain(session.caller.token, 'ldapdom')
      expect(dom).toBeDefined()
      const users = await session.client.listUsers(session.caller.token, dom!.id)
      expect(users).toHaveLength(1000)
      expect(users.map((u) => u.name)).toContain('user00042')
    } finally {
      await session.close()
    }
  })

  it('a wrong password exits 2 with one clear line and no stack trace', async () => {
    const r = await runCli(['lab', 'smoke'], { env: { ...LAB_ENV, OS_PASSWORD: 'definitely-wrong' } })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^Error: Keystone rejected the credentials of user "admin"[^\n]* \(401/m)
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(r.stderr).not.toContain('definitely-wrong')
  })

  it('lab up twice is idempotent: the second run keeps the same processes', async () => {
    const before = parseJson<LabStatus>(await runCli(['lab', 'status', '--json'], { env }))
    const r = await runCli(['lab', 'up', '--json'], { env })
    expect(r.code).toBe(0)
    const after = parseJson<LabStatus & { alreadyUp: boolean }>(r)
    expect(after.alreadyUp).toBe(true)
    expect(after.healthy).toBe(true)
    expect(after.keystone.workers.map((w) => w.pid)).toEqual(before.keystone.workers.map((w) => w.pid))
    expect(after.haproxy.pid).toBe(before.haproxy.pid)
    expect(after.ldap.pid).toBe(before.ldap.pid)
  })

  it('lab down stops every lab process, keeps the data, and lab up brings it back', async () => {
    const before = parseJson<LabStatus>(await runCli(['lab', 'status', '--json'], { env }))
    const pids = [
      before.haproxy.pid,
      before.ldap.pid,
      ...before.keystone.workers.flatMap((w) => [w.pid, w.workerPid]),
    ]
    expect(pids.every((p) => typeof p === 'number')).toBe(true)
    const down = await runCli(['lab', 'down', '--json'], { env })
    expect(down.code).toBe(0)
    expect(parseJson<{ stopped: unknown[] }>(down).stopped).toHaveLength(4)
    for (const pid of pids) expect(pidAlive(pid!)).toBe(false)
    const st = await runCli(['lab', 'status', '--json'], { env })
    expect(st.code).toBe(1)
    expect(parseJson<LabStatus>(st).healthy).toBe(false)
    expect(existsSync(LAB.keystoneDb)).toBe(true)
    const up = await runCli(['lab', 'up', '--json'], { env, timeoutMs: 300_000 })
    expect(up.code).toBe(0)
    expect(parseJson<LabStatus>(up).healthy).toBe(true)
  })
})
