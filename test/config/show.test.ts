import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveAuth } from '../../src/config/auth.js'
import { configShow, renderConfigShow } from '../../src/config/show.js'
import { runCli } from '../helpers/cli.js'

const SECRET = 'Zq-never-printed-7781'

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'idtool-config-show-'))
  mkdirSync(join(dir, 'home'))
  mkdirSync(join(dir, 'lab'))
  writeFileSync(
    join(dir, 'clouds.yaml'),
    `clouds:
  prod:
    auth_type: v3applicationcredential
    auth:
      auth_url: https://keystone.example.org:5000/v3
      application_credential_name: ci
      username: bob
      user_domain_name: Default
    cacert: ${dir}/ca.pem
    region_name: RegionTwo
  pw:
    auth:
      auth_url: https://keystone.example.org:5000/v3
      username: admin
      project_name: admin
      project_domain_id: default
`,
    { mode: 0o600 },
  )
  writeFileSync(
    join(dir, 'secure.yaml'),
    `clouds:\n  prod:\n    auth:\n      application_credential_secret: ${SECRET}\n`,
    { mode: 0o600 },
  )
  // a lab clouds.yaml for the "nothing named" default
  writeFileSync(
    join(dir, 'lab', 'clouds.yaml'),
    'clouds:\n  idtool-lab:\n    auth:\n      auth_url: http://127.0.0.1:5000/v3\n      username: admin\n      user_domain_name: Default\n      project_name: admin\n      project_domain_name: Default\n',
  )
  writeFileSync(
    join(dir, 'lab', 'secure.yaml'),
    `clouds:\n  idtool-lab:\n    auth:\n      password: ${SECRET}\n`,
  )
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const env = () => ({
  HOME: join(dir, 'home'),
  OS_CLIENT_CONFIG_FILE: join(dir, 'clouds.yaml'),
  OS_CLIENT_SECURE_FILE: join(dir, 'secure.yaml'),
})

describe('config show', () => {
  it('shows every value with its source, the secret masked', () => {
    const r = configShow(resolveAuth({ flags: { osCloud: 'prod' }, env: env(), cwd: dir }))
    expect(r).toMatchObject({
      kind: 'config.show',
      authType: 'v3applicationcredential',
      caller: 'application credential "ci" of user "bob" in domain Default',
      credential: { type: 'v3applicationcredential', name: 'ci', secretSet: true },
      tls: { verify: true, cacert: `${dir}/ca.pem` },
      regionName: 'RegionTwo',
      cloud: 'prod',
      secureFile: join(dir, 'secure.yaml'),
    })
    expect(r.sources.application_credential_secret).toBe(`${join(dir, 'secure.yaml')} (cloud prod)`)
    expect(r.sources.cloud).toBe('flag --os-cloud')
    expect(r.problem).toBeUndefined()
    const text = renderConfigShow(r)
    expect(text).toMatch(/application credential secret +\*{6} \(set\) +← .*secure\.yaml \(cloud prod\)/)
    expect(text).toMatch(/CA bundle +\S+ca\.pem +← .*clouds\.yaml \(cloud prod\)/)
    expect(JSON.stringify(r) + text).not.toContain(SECRET)
  })

  it('reports what would stop authentication', () => {
    const r = configShow(resolveAuth({ flags: { osCloud: 'pw' }, env: env(), cwd: dir }))
    expect(r.problem?.message).toMatch(/user name "admin" without a user domain/)
    expect(renderConfigShow(r)).toMatch(/cannot authenticate: user name "admin"/)
  })

  it('runs as a command: --json result with secrets masked; the lab when nothing is named', async () => {
    const named = await runCli(['config', 'show', '--os-cloud', 'prod', '--json'], { env: env(), cwd: dir })
    expect(named.code, named.stderr).toBe(0)
    expect(JSON.parse(named.stdout)).toMatchObject({
      kind: 'config.show',
      cloud: 'prod',
      authType: 'v3applicationcredential',
    })
    expect(named.stdout + named.stderr).not.toContain(SECRET)

    const lab = await runCli(['config', 'show'], {
      env: {
        HOME: join(dir, 'home'),
        IDTOOL_LAB_DIR: join(dir, 'lab'),
        OS_CLOUD: '',
        OS_AUTH_URL: '',
        OS_CLIENT_CONFIG_FILE: '',
        OS_CLIENT_SECURE_FILE: '',
      },
      cwd: dir,
    })
    expect(lab.code, lab.stderr).toBe(0)
    expect(lab.stdout).toMatch(/cloud +idtool-lab +← default \(the local lab/)
    expect(lab.stdout).toMatch(/password +\*{6} \(set\) +← .*lab\/secure\.yaml/)
    expect(lab.stdout + lab.stderr).not.toContain(SECRET)
  })
})
