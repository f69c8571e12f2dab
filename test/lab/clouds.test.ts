import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import {
  type LabCloudInputs,
  labAuthUrl,
  labCloudsYaml,
  labSecureYaml,
  writeLabClouds,
} from '../../src/lab/clouds.js'
import { labEnv, labEnvVars, labPaths } from '../../src/lab/layout.js'
import type { LabStatus } from '../../src/results/types.js'

const PASSWORD = 'pw-Admin-7f3a9c'
const APPCRED = { id: '643b8cb0003a4697ab38067a3fe088ca', secret: 'sec-Appcred-b81d02' }
const p = labPaths('/lab')
const inputs = (tls: LabCloudInputs['tls']): LabCloudInputs => ({
  adminPassword: PASSWORD,
  appCred: APPCRED,
  tls,
})
type Doc = { clouds: Record<string, Record<string, unknown> & { auth: Record<string, unknown> }> }
const clouds = (tls: LabCloudInputs['tls']) => (parseYaml(labCloudsYaml(p, inputs(tls))) as Doc).clouds

let root: string
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'idtool-clouds-'))
})
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

describe('lab clouds.yaml and secure.yaml', () => {
  it('clouds.yaml holds no secret; secure.yaml holds every one', () => {
    for (const tls of ['off', 'tls', 'client-certs'] as const) {
      const text = labCloudsYaml(p, inputs(tls))
      expect(text).not.toContain(PASSWORD)
      expect(text).not.toContain(APPCRED.secret)
      expect(text).not.toMatch(/password:|secret:/)
    }
    const secure = parseYaml(labSecureYaml(inputs('off'))) as Doc
    expect(Object.keys(secure.clouds)).toEqual([
      'idtool-lab',
      'idtool-lab-https',
      'idtool-lab-mtls',
      'idtool-lab-appcred',
    ])
    for (const name of ['idtool-lab', 'idtool-lab-https', 'idtool-lab-mtls'])
      expect(secure.clouds[name]).toEqual({ auth: { password: PASSWORD } })
    expect(secure.clouds['idtool-lab-appcred']).toEqual({
      auth: { application_credential_secret: APPCRED.secret },
    })
  })

  it('idtool-lab follows the TLS choice; the https and mtls clouds never change', () => {
    const off = clouds('off')
    expect(off['idtool-lab']!.auth.auth_url).toBe('http://127.0.0.1:5000/v3')
    expect(off['idtool-lab']).not.toHaveProperty('cacert')
    const tls = clouds('tls')
    expect(tls['idtool-lab']!.auth.auth_url).toBe('https://127.0.0.1:5443/v3')
    expect(tls['idtool-lab']!.cacert).toBe('/lab/tls/ca.pem')
    expect(tls['idtool-lab']).not.toHaveProperty('cert')
    const mtls = clouds('client-certs')
    expect(mtls['idtool-lab']!.auth.auth_url).toBe('https://127.0.0.1:5444/v3')
    expect(mtls['idtool-lab']).toMatchObject({
      cacert: '/lab/tls/ca.pem',
      cert: '/lab/tls/client.crt',
      key: '/lab/tls/client.key',
    })
    for (const c of [off, tls, mtls]) {
      expect(c['idtool-lab-https']).toEqual(off['idtool-lab-https'])
      expect(c['idtool-lab-https']!.auth.auth_url).toBe('https://127.0.0.1:5443/v3')
      expect(c['idtool-lab-https']!.cacert).toBe('/lab/tls/ca.pem')
      expect(c['idtool-lab-mtls']).toEqual(off['idtool-lab-mtls'])
      expect(c['idtool-lab-mtls']!.auth.auth_url).toBe('https://127.0.0.1:5444/v3')
      expect(c['idtool-lab-mtls']).toMatchObject({ cert: '/lab/tls/client.crt', key: '/lab/tls/client.key' })
      // password auth, scoped to project admin, as the openstack client expects the keys
      expect(c['idtool-lab-mtls']!.auth).toMatchObject({
        username: 'admin',
        project_name: 'admin',
        user_domain_name: 'Default',
        project_domain_name: 'Default',
      })
    }
    expect(labAuthUrl('tls')).toBe('https://127.0.0.1:5443/v3')
  })

  it('idtool-lab-appcred: v3applicationcredential by id, same URL and TLS as idtool-lab', () => {
    for (const tls of ['off', 'tls', 'client-certs'] as const) {
      const c = clouds(tls)
      const ac = c['idtool-lab-appcred']!
      expect(ac.auth_type).toBe('v3applicationcredential')
      expect(ac.auth).toEqual({
        auth_url: c['idtool-lab']!.auth.auth_url,
        application_credential_id: APPCRED.id,
      })
      for (const k of ['cacert', 'cert', 'key']) expect(ac[k]).toEqual(c['idtool-lab']![k])
    }
    const without = parseYaml(labCloudsYaml(p, { adminPassword: PASSWORD, tls: 'off' })) as Doc
    expect(Object.keys(without.clouds)).toEqual(['idtool-lab', 'idtool-lab-https', 'idtool-lab-mtls'])
  })

  it('writes both files 0600, rewrites only what changed, and fixes a loosened secure.yaml', () => {
    const lp = labPaths(join(root, 'w'))
    mkdirSync(lp.dir, { recursive: true })
    const written = writeLabClouds(lp, inputs('off'))
    expect(written).toEqual([lp.secureYaml, lp.cloudsYaml])
    for (const f of [lp.cloudsYaml, lp.secureYaml]) expect(statSync(f).mode & 0o777).toBe(0o600)
    expect(writeLabClouds(lp, inputs('off'))).toEqual([])
    chmodSync(lp.secureYaml, 0o644)
    expect(writeLabClouds(lp, inputs('off'))).toEqual([])
    expect(statSync(lp.secureYaml).mode & 0o777).toBe(0o600)
    // switching TLS changes clouds.yaml only: the secrets stay as they are
    expect(writeLabClouds(lp, inputs('tls'))).toEqual([lp.cloudsYaml])
    expect(readFileSync(lp.cloudsYaml, 'utf8')).toContain('https://127.0.0.1:5443/v3')
    // a new application credential changes both
    expect(writeLabClouds(lp, { ...inputs('tls'), appCred: { id: 'x1', secret: 'y1' } })).toEqual([
      lp.secureYaml,
      lp.cloudsYaml,
    ])
  })

  it('lab env exports the secure file too (the client does not look beside OS_CLIENT_CONFIG_FILE)', () => {
    expect(labEnvVars('/lab')).toEqual({
      OS_CLIENT_CONFIG_FILE: '/lab/clouds.yaml',
      OS_CLIENT_SECURE_FILE: '/lab/secure.yaml',
      OS_CLOUD: 'idtool-lab',
    })
    expect(labEnv('/lab')).toBe(
      'export OS_CLIENT_CONFIG_FILE=/lab/clouds.yaml\nexport OS_CLIENT_SECURE_FILE=/lab/secure.yaml\nexport OS_CLOUD=idtool-lab\n',
    )
  })

  const sdk = '/usr/lib/python3/dist-packages/openstack/config/loader.py'
  it.skipIf(!existsSync(sdk))('openstacksdk resolves every cloud from the two files as written', () => {
    const lp = labPaths(join(root, 'sdk'))
    mkdirSync(lp.dir, { recursive: true })
    writeLabClouds(lp, inputs('client-certs'))
    // the reference loader, given the files the way `idtool lab env` names them
    const py = `
import json, os
from openstack import config
c = config.OpenStackConfig()
out = {}
for name in ['idtool-lab', 'idtool-lab-https', 'idtool-lab-mtls', 'idtool-lab-appcred']:
    r = c.get_one(name)
    out[name] = {'auth_type': r.config['auth_type'], 'auth': r.config['auth'], 'verify': r.config.get('verify'),
                 'cacert': r.config.get('cacert'), 'cert': r.config.get('cert'), 'key': r.config.get('key')}
print(json.dumps(out))
`
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: root, ...labEnvVars(lp.dir) }
    delete (env as Record<string, string>).OS_CLOUD
    const got = JSON.parse(
      execFileSync('/usr/bin/python3', ['-c', py], { env, cwd: root, encoding: 'utf8', stdio: 'pipe' }),
    ) as Record<string, Record<string, unknown> & { auth: Record<string, unknown> }>
    expect(got['idtool-lab']!.auth_type).toBe('password')
    expect(got['idtool-lab']!.auth).toMatchObject({
      auth_url: 'https://127.0.0.1:5444/v3',
      username: 'admin',
      password: PASSWORD,
    })
    expect(got['idtool-lab']).toMatchObject({ cert: lp.clientCert, key: lp.clientKey, cacert: lp.caCert })
    expect(got['idtool-lab-https']!.auth).toMatchObject({
      auth_url: 'https://127.0.0.1:5443/v3',
      password: PASSWORD,
    })
    expect(got['idtool-lab-https']!.cert).toBeNull()
    expect(got['idtool-lab-mtls']!.auth.password).toBe(PASSWORD)
    expect(got['idtool-lab-appcred']!.auth_type).toBe('v3applicationcredential')
    expect(got['idtool-lab-appcred']!.auth).toEqual({
      auth_url: 'https://127.0.0.1:5444/v3',
      application_credential_id: APPCRED.id,
      application_credential_secret: APPCRED.secret,
    })
  })
})

describe('lab status text', () => {
  it('names the TLS frontends, the frontend idtool-lab uses, and where the secrets are', async () => {
    const { renderLabAccess } = await import('../../src/report/lab.js')
    const status = {
      tls: {
        mode: 'client-certs',
        cloudAuthUrl: 'https://127.0.0.1:5444/v3',
        url: 'https://127.0.0.1:5443',
        mtlsUrl: 'https://127.0.0.1:5444',
        calibrationUrl: 'https://127.0.0.1:8443/',
        caFile: '/lab/tls/ca.pem',
        clientCertFile: '/lab/tls/client.crt',
        clientKeyFile: '/lab/tls/client.key',
        healthy: false,
      },
      clouds: ['idtool-lab', 'idtool-lab-appcred'],
      secureYaml: '/lab/secure.yaml',
      appCredential: null,
    } as unknown as Parameters<typeof renderLabAccess>[0]
    const text = renderLabAccess(status)
    expect(text).toContain('idtool-lab    https://127.0.0.1:5444/v3 (TLS with a client certificate;')
    expect(text).toMatch(/^TLS .*lab CA \/lab\/tls\/ca\.pem.*: DOWN$/m)
    expect(text).toContain('secrets in /lab/secure.yaml')
    expect(text).toMatch(/^app cred +-$/m)
  })

  it('lab up: the status, the access lines, then how to use the lab (already up, or how long it took)', async () => {
    const { renderLabAccess, renderLabStatus, renderLabUp } = await import('../../src/report/lab.js')
    const status: LabStatus = {
      healthy: true,
      dir: '/lab',
      exists: true,
      spec: { workers: 1, cache: true, db: 'sqlite', ldapUsers: 10, tls: 'off' },
      cloud: 'idtool-lab',
      cloudsYaml: '/lab/clouds.yaml',
      secureYaml: '/lab/secure.yaml',
      clouds: ['idtool-lab', 'idtool-lab-https'],
      tls: {
        mode: 'off',
        cloudAuthUrl: 'http://127.0.0.1:5000/v3',
        url: 'https://127.0.0.1:5443',
        mtlsUrl: 'https://127.0.0.1:5444',
        calibrationUrl: 'https://127.0.0.1:8443/',
        caFile: '/lab/tls/ca.pem',
        clientCertFile: '/lab/tls/client.crt',
        clientKeyFile: '/lab/tls/client.key',
        healthy: true,
      },
      appCredential: null,
      keystone: {
        url: 'http://127.0.0.1:5000/v3',
        adminPasswordFile: '/lab/secrets/keystone-admin-password',
        workers: [{ name: 'ks1', url: 'http://127.0.0.1:5001', pid: 10, workerPid: 11, healthy: true }],
        db: 'sqlite',
        cache: true,
        server: 'uwsgi',
      },
      haproxy: {
        url: 'http://127.0.0.1:5000',
        pid: 9,
        healthy: true,
        statsUrl: 'http://127.0.0.1:8404/stats',
        calibrationUrl: 'http://127.0.0.1:8080/',
      },
      ldap: {
        url: 'ldap://127.0.0.1:3890',
        bindDn: 'cn=keystone,dc=example,dc=org',
        baseDn: 'dc=example,dc=org',
        usersDn: 'ou=Users,dc=example,dc=org',
        users: 10,
        passwordFile: '/lab/secrets/ldap-keystone-password',
        pid: 8,
        healthy: true,
      },
      mariadb: null,
      ldapDomain: { name: 'ldapdom', id: 'd1' },
    }
    const up = renderLabUp({ ...status, alreadyUp: false, timingsMs: { total: 12_345 }, changed: [] })
    const tail = [
      '',
      'Lab up in 12.3 s. Use it with:',
      '  export OS_CLIENT_CONFIG_FILE=/lab/clouds.yaml OS_CLIENT_SECURE_FILE=/lab/secure.yaml OS_CLOUD=idtool-lab',
      '  (idtool-lab → http://127.0.0.1:5000/v3; clouds: idtool-lab, idtool-lab-https)',
      '  (or: eval "$(idtool lab env)")',
    ]
    expect(up).toBe([renderLabStatus(status), renderLabAccess(status), ...tail].join('\n'))
    expect(renderLabStatus(status)).toMatch(/keystone ks1 .* 10 \(worker 11\) .* ok/)
    const again = renderLabUp({ ...status, alreadyUp: true, timingsMs: { total: 5 }, changed: [] })
    expect(again).toContain('\nLab was already up. Use it with:\n')
  })
})
