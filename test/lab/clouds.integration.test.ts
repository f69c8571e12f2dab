import { execFile, execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type TLSSocket } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { readAppCred } from '../../src/lab/appcred.js'
import { labEnvVars } from '../../src/lab/layout.js'
import { readPidFile } from '../../src/lab/proc.js'
import { labStatus } from '../../src/lab/status.js'
import { labUp } from '../../src/lab/up.js'
import type { LabSpec, LabTlsMode } from '../../src/results/types.js'
import { LAB, LAB_DIR } from '../integration/lab-env.js'

/**
 * The real openstack client (python3-openstackclient) reads the clouds.yaml and secure.yaml that
 * `lab up` writes, for every lab cloud and every TLS choice; haproxy's TLS frontends behave as a
 * production load balancer would (client certificate required on 5444, lab CA trusted only when named).
 */

const DEFAULT_SPEC: LabSpec = { workers: 2, cache: true, db: 'sqlite', ldapUsers: 1000 }
const OPENSTACK = '/usr/bin/openstack'

let home: string
beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'idtool-osc-'))
})
afterAll(() => {
  rmSync(home, { recursive: true, force: true })
})

interface TokenIssue {
  id: string
  expires: string
  project_id: string
  user_id: string
}

/** `openstack --os-cloud NAME token issue -f json` with only the lab's files (no secret on argv or in env). */
function tokenIssue(cloud: string): Promise<{ token: TokenIssue; argv: string[] }> {
  const argv = ['--os-cloud', cloud, 'token', 'issue', '-f', 'json']
  // HOME and cwd are empty directories: nothing but the lab's files can feed the client
  const env = { PATH: '/usr/bin:/bin', HOME: home, ...labEnvVars(LAB_DIR) }
  return new Promise((resolve, reject) => {
    execFile(OPENSTACK, argv, { env, cwd: home, timeout: 90_000 }, (err, stdout, stderr) => {
      if (err)
        reject(new Error(`openstack ${argv.join(' ')} failed: ${String(stderr).trim().split('\n').at(-1)}`))
      else resolve({ token: JSON.parse(stdout) as TokenIssue, argv })
    })
  })
}

function secrets(): string[] {
  const admin = readFileSync(LAB.adminPasswordFile, 'utf8').trim()
  const ac = readAppCred(LAB.appCredFile)
  return [admin, ...(ac ? [ac.secret] : [])]
}

interface TlsAnswer {
  status?: number
  backend?: string
  error?: string
  authorized?: boolean
}

/** One HTTP/1.1 GET over TLS with Node's own TLS stack: the status line, X-Backend, or the error. */
function tlsGet(
  port: number,
  path: string,
  opts: { ca?: string; cert?: string; key?: string; servername?: string | null } = {},
): Promise<TlsAnswer> {
  return new Promise((resolve) => {
    let data = ''
    let settled = false
    const done = (a: TlsAnswer) => {
      if (settled) return
      settled = true
      socket.destroy()
      resolve(a)
    }
    const socket: TLSSocket = connect({
      host: '127.0.0.1',
      port,
      ca: opts.ca,
      cert: opts.cert,
      key: opts.key,
      // null: no SNI, the certificate is checked against the IP address
      ...(opts.servername === null ? {} : { servername: opts.servername ?? 'localhost' }),
    })
    socket.setTimeout(10_000, () => done({ error: 'timeout' }))
    socket.on('secureConnect', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`)
    })
    socket.on('data', (c) => {
      data += c.toString('latin1')
    })
    socket.on('error', (e: NodeJS.ErrnoException) => done({ error: e.code ?? e.message }))
    socket.on('end', () => {
      const status = /^HTTP\/1\.1 (\d{3})/.exec(data)?.[1]
      const backend = /\r\nx-backend: *([^\r]+)/i.exec(data)?.[1]
      done(
        status ? { status: Number(status), backend, authorized: socket.authorized } : { error: 'no answer' },
      )
    })
  })
}

const ca = () => readFileSync(LAB.caCert, 'utf8')
const clientCert = () => readFileSync(LAB.clientCert, 'utf8')
const clientKey = () => readFileSync(LAB.clientKey, 'utf8')

describe('haproxy TLS frontends (lab CA)', () => {
  it('5443 reaches every Keystone worker, trusted through the lab CA under both names', async () => {
    const backends = new Set<string>()
    for (let i = 0; i < 4; i++) {
      const a = await tlsGet(5443, '/v3', { ca: ca() })
      expect(a.status).toBe(200)
      expect(a.authorized).toBe(true)
      backends.add(a.backend ?? '-')
    }
    expect([...backends].sort()).toEqual(['ks1', 'ks2'])
    expect((await tlsGet(5443, '/v3', { ca: ca(), servername: null })).status).toBe(200)
    // without the lab CA the certificate is not trusted
    const untrusted = await tlsGet(5443, '/v3')
    expect(untrusted.status).toBeUndefined()
    expect(untrusted.error).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/)
    // and a name the certificate does not carry is refused
    const wrongName = await tlsGet(5443, '/v3', { ca: ca(), servername: 'keystone.example.org' })
    expect(wrongName.error).toBe('ERR_TLS_CERT_ALTNAME_INVALID')
  })

  it('5444 refuses a handshake without a client certificate, and with one from another CA', async () => {
    const none = await tlsGet(5444, '/v3', { ca: ca() })
    expect(none.status).toBeUndefined()
    expect(none.error).toBe('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED')

    const dir = mkdtempSync(join(tmpdir(), 'idtool-foreign-'))
    try {
      const key = join(dir, 'k.pem')
      const crt = join(dir, 'c.pem')
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-keyout',
          key,
          '-out',
          crt,
          '-subj',
          '/CN=not the lab',
          '-days',
          '2',
          '-addext',
          'extendedKeyUsage=clientAuth',
        ],
        { stdio: 'pipe' },
      )
      const foreign = await tlsGet(5444, '/v3', {
        ca: ca(),
        cert: readFileSync(crt, 'utf8'),
        key: readFileSync(key, 'utf8'),
      })
      expect(foreign.status).toBeUndefined()
      expect(foreign.error).toMatch(/^ERR_SSL_.*ALERT_(UNKNOWN_CA|BAD_CERTIFICATE)$/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }

    const ok = await tlsGet(5444, '/v3', { ca: ca(), cert: clientCert(), key: clientKey() })
    expect(ok.status).toBe(200)
    expect(ok.backend).toMatch(/^ks[12]$/)
  })

  it('8443 answers 200 by itself over TLS with the lab CA', async () => {
    const a = await tlsGet(8443, '/', { ca: ca() })
    expect(a).toMatchObject({ status: 200, authorized: true })
    expect(a.backend).toBeUndefined()
    // plain HTTP sent to the TLS port gets no HTTP answer from Keystone
    const plain = await fetch('http://127.0.0.1:8443/').then(
      (r) => r.status,
      () => 'refused',
    )
    expect(plain).not.toBe(200)
  })

  it('lab status shows the TLS URLs, the CA, and which frontend idtool-lab uses', async () => {
    const st = await labStatus(LAB_DIR)
    expect(st.healthy).toBe(true)
    expect(st.tls).toMatchObject({
      mode: 'off',
      cloudAuthUrl: 'http://127.0.0.1:5000/v3',
      url: 'https://127.0.0.1:5443',
      mtlsUrl: 'https://127.0.0.1:5444',
      calibrationUrl: 'https://127.0.0.1:8443/',
      caFile: LAB.caCert,
      healthy: true,
    })
    expect(st.clouds).toEqual(['idtool-lab', 'idtool-lab-https', 'idtool-lab-mtls', 'idtool-lab-appcred'])
    expect(st.appCredential).toMatchObject({ name: 'idtool-lab', cloud: 'idtool-lab-appcred' })
    expect(JSON.stringify(st)).not.toContain(secrets()[0])
  })
})

describe('the openstack client reads the lab clouds.yaml', () => {
  it('token issue works on idtool-lab, idtool-lab-https, idtool-lab-mtls and idtool-lab-appcred', async () => {
    const admin = await tokenIssue('idtool-lab')
    for (const cloud of ['idtool-lab', 'idtool-lab-https', 'idtool-lab-mtls', 'idtool-lab-appcred']) {
      const { token, argv } = await tokenIssue(cloud)
      expect(token.id.length).toBeGreaterThan(20)
      // the same identity and scope whatever the frontend or credential
      expect(token.user_id).toBe(admin.token.user_id)
      expect(token.project_id).toBe(admin.token.project_id)
      for (const s of secrets()) expect(argv.join(' ')).not.toContain(s)
    }
    // the application credential is the one lab up stored, and its secret is only in the 0600 files
    const ac = readAppCred(LAB.appCredFile)!
    const clouds = readFileSync(LAB.cloudsYaml, 'utf8')
    expect(clouds).toContain(`application_credential_id: ${ac.id}`)
    expect(clouds).not.toContain(ac.secret)
    expect(readFileSync(LAB.secureYaml, 'utf8')).toContain(ac.secret)
  })

  it('lab up --tls and --tls-client-certs rewrite clouds.yaml only; the client follows', async () => {
    const haproxyPid = readPidFile(LAB.haproxyPid)
    const workerPid = readPidFile(LAB.workerPid(1))
    const appCredId = readAppCred(LAB.appCredFile)?.id
    const up = (tls: LabTlsMode) =>
      labUp({ dir: LAB_DIR, install: false, spec: { ...DEFAULT_SPEC, tls }, log: () => {} })
    const idtoolLab = () =>
      (
        parseYaml(readFileSync(LAB.cloudsYaml, 'utf8')) as {
          clouds: Record<string, { auth: { auth_url: string }; cacert?: string; cert?: string }>
        }
      ).clouds
    try {
      for (const [mode, url] of [
        ['tls', 'https://127.0.0.1:5443/v3'],
        ['client-certs', 'https://127.0.0.1:5444/v3'],
      ] as const) {
        const r = await up(mode)
        expect(r.alreadyUp).toBe(true)
        expect(r.changed).toEqual([LAB.cloudsYaml])
        expect(r.tls).toMatchObject({ mode, cloudAuthUrl: url })
        const c = idtoolLab()
        expect(c['idtool-lab']!.auth.auth_url).toBe(url)
        expect(c['idtool-lab-appcred']!.auth.auth_url).toBe(url)
        expect(c['idtool-lab']!.cacert).toBe(LAB.caCert)
        expect(Boolean(c['idtool-lab']!.cert)).toBe(mode === 'client-certs')
        for (const cloud of ['idtool-lab', 'idtool-lab-appcred']) {
          const { token } = await tokenIssue(cloud)
          expect(token.id.length).toBeGreaterThan(20)
        }
      }
      // nothing restarted, the credential kept
      expect(readPidFile(LAB.haproxyPid)).toBe(haproxyPid)
      expect(readPidFile(LAB.workerPid(1))).toBe(workerPid)
      expect(readAppCred(LAB.appCredFile)?.id).toBe(appCredId)
    } finally {
      const back = await up('off')
      expect(back.tls.cloudAuthUrl).toBe('http://127.0.0.1:5000/v3')
    }
    expect(idtoolLab()['idtool-lab']!.auth.auth_url).toBe('http://127.0.0.1:5000/v3')
  })

  it('a server certificate that is no longer valid is made again; only haproxy restarts', async () => {
    const haproxyPid = readPidFile(LAB.haproxyPid)
    const workers = [readPidFile(LAB.workerPid(1)), readPidFile(LAB.workerPid(2))]
    const caBefore = readFileSync(LAB.caCert, 'utf8')
    const clientBefore = readFileSync(LAB.clientCert, 'utf8')
    // the lab CA's certificate in place of the server certificate: wrong usage, no lab names
    writeFileSync(LAB.serverPem, `${caBefore}${readFileSync(LAB.caKey, 'utf8')}`, { mode: 0o600 })
    const r = await labUp({ dir: LAB_DIR, install: false, spec: DEFAULT_SPEC, log: () => {} })
    expect(r.changed).toEqual(['tls server'])
    expect(r.alreadyUp).toBe(false)
    expect(r.healthy).toBe(true)
    expect(readPidFile(LAB.haproxyPid)).not.toBe(haproxyPid)
    expect([readPidFile(LAB.workerPid(1)), readPidFile(LAB.workerPid(2))]).toEqual(workers)
    expect(readFileSync(LAB.caCert, 'utf8')).toBe(caBefore)
    expect(readFileSync(LAB.clientCert, 'utf8')).toBe(clientBefore)
    const a = await tlsGet(5443, '/v3', { ca: ca() })
    expect(a.status).toBe(200)
    const { token } = await tokenIssue('idtool-lab-mtls')
    expect(token.id.length).toBeGreaterThan(20)
  })
})
