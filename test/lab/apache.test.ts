import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  APACHE_BIN,
  apacheConf,
  apacheHome,
  keystoneView,
  labServer,
  MOD_WSGI,
  parsePasswd,
  wsgiProcesses,
} from '../../src/lab/apache.js'
import { APACHE_REQUIREMENTS, BASE_REQUIREMENTS, missingPackages } from '../../src/lab/install.js'
import { keystoneConf } from '../../src/lab/keystone.js'
import { labPaths } from '../../src/lab/layout.js'
import { descendantPids, pidAlive, sleep, startTime, stopTree } from '../../src/lab/proc.js'
import { sameSpec } from '../../src/lab/state.js'
import type { LabSpec } from '../../src/results/types.js'

const dir = mkdtempSync(join(tmpdir(), 'idtool-apache-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const base = {
  name: 'ks2',
  port: 5002,
  pidFile: '/lab/run/ks2.pid',
  errorLog: '/lab/run/ks2.apache.log',
  runDir: '/var/lib/idtool-lab/abc/run',
  keystoneDir: '/var/lib/idtool-lab/abc/keystone',
  processes: 1,
}

describe('apacheConf', () => {
  it('listens on 127.0.0.1 only, with its own pidfile, error log and modules; nothing from /etc/apache2', () => {
    const conf = apacheConf({ ...base, user: 'idtool-lab' })
    expect(conf.match(/^Listen .*$/gm)).toEqual(['Listen 127.0.0.1:5002'])
    expect(conf).toMatch(/^PidFile \/lab\/run\/ks2\.pid$/m)
    expect(conf).toMatch(/^ErrorLog \/lab\/run\/ks2\.apache\.log$/m)
    expect(conf).not.toMatch(/\/etc\/apache2|^Include/m)
    const modules = [...conf.matchAll(/^LoadModule (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]])
    expect(modules.map((m) => m[0])).toEqual([
      'mpm_event_module',
      'authz_core_module',
      'headers_module',
      'wsgi_module',
    ])
    for (const [, file] of modules) expect(file).toMatch(/^\/usr\/lib\/apache2\/modules\/mod_\w+\.so$/)
    expect(conf).toContain('Header always set X-Keystone-Worker ks2')
  })

  it('Keystone in a daemon process group: N processes x 1 thread, run as the lab user when given', () => {
    const conf = apacheConf({ ...base, user: 'idtool-lab' })
    expect(conf).toMatch(
      /^WSGIDaemonProcess ks2 processes=1 threads=1 display-name=%\{GROUP\} home=\/var\/lib\/idtool-lab\/abc\/keystone user=idtool-lab group=idtool-lab$/m,
    )
    expect(conf).toMatch(
      /^WSGIScriptAlias \/ \/usr\/bin\/keystone-wsgi-public process-group=ks2 application-group=%\{GLOBAL\}$/m,
    )
    expect(conf).toMatch(/^WSGIRestrictEmbedded On$/m)
    expect(conf).toMatch(/^User idtool-lab$/m)
    expect(conf).toMatch(/^WSGISocketPrefix \/var\/lib\/idtool-lab\/abc\/run\/wsgi$/m)
    // not root: no user switch at all (Apache and mod_wsgi run as the caller)
    const mine = apacheConf({ ...base, processes: 2 })
    expect(mine).not.toMatch(/^User |^Group |user=/m)
    expect(mine).toMatch(/processes=2 threads=1/)
  })

  it('one process with SQLite, two with MariaDB', () => {
    expect(wsgiProcesses('sqlite')).toBe(1)
    expect(wsgiProcesses('mariadb')).toBe(2)
  })

  it.runIf(existsSync(APACHE_BIN) && existsSync(MOD_WSGI))(
    'apache2 -t accepts the generated config (no port is bound)',
    () => {
      const runDir = join(dir, 'run')
      mkdirSync(runDir, { recursive: true })
      const conf = join(dir, 'ks1.conf')
      const text = apacheConf({
        ...base,
        name: 'ks1',
        port: 5001,
        pidFile: join(runDir, 'ks1.pid'),
        errorLog: join(runDir, 'ks1.log'),
        runDir,
        keystoneDir: dir,
      })
      writeFileSync(conf, text)
      const out = execFileSync(APACHE_BIN, ['-t', '-f', conf], {
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      expect(out).toBe('')
    },
  )
})

describe('where Keystone lives under Apache', () => {
  const p = labPaths('/root/.local/state/idtool/lab')
  const spec: LabSpec = { workers: 2, cache: true, db: 'sqlite', ldapUsers: 10, server: 'apache' }
  const root = { root: true, home: '/var/lib/idtool-lab' }

  it('as root: idtool-lab directory per lab (keyed by the lab directory), Keystone files and MariaDB socket there', () => {
    const home = apacheHome(p.dir, root)
    expect(home).toMatch(/^\/var\/lib\/idtool-lab\/[0-9a-f]{12}$/)
    expect(apacheHome('/other/lab', root)).not.toBe(home)
    const v = keystoneView(p, spec, root)
    expect(v.keystoneConf).toBe(`${home}/keystone/keystone.conf`)
    expect(v.keystoneDb).toBe(`${home}/keystone/keystone.db`)
    expect(v.mariadbSock).toBe(`${home}/run/mariadb.sock`)
    // the rest of the lab stays where it is
    expect(v.state).toBe(p.state)
    expect(v.workerPid(1)).toBe(p.workerPid(1))
    const conf = keystoneConf(v, spec)
    expect(conf).not.toContain('/root/')
    expect(conf).toContain(`[fernet_receipts]\nkey_repository = ${home}/keystone/fernet-keys`)
  })

  it('uwsgi, or not root: the lab paths and keystone.conf unchanged', () => {
    const uwsgi = { ...spec, server: 'uwsgi' as const }
    expect(keystoneView(p, uwsgi, root)).toBe(p)
    expect(keystoneView(p, spec, { ...root, root: false })).toBe(p)
    expect(apacheHome(p.dir, { ...root, root: false })).toBe(`${p.dir}/apache`)
    expect(keystoneConf(p, uwsgi)).not.toContain('fernet_receipts')
    expect(keystoneConf(p, { ...uwsgi, server: undefined })).toBe(keystoneConf(p, uwsgi))
  })

  it('a spec without a server is uwsgi; another server is another spec', () => {
    const old: LabSpec = { workers: 2, cache: true, db: 'sqlite', ldapUsers: 10 }
    expect(labServer(old)).toBe('uwsgi')
    expect(sameSpec(old, { ...old, server: 'uwsgi' })).toBe(true)
    expect(sameSpec(old, { ...old, server: 'apache' })).toBe(false)
    expect(sameSpec({ ...old, server: 'apache' }, { ...old, server: 'apache' })).toBe(true)
  })
})

describe('parsePasswd', () => {
  it('reads name, uid and gid; refuses malformed lines', () => {
    expect(
      parsePasswd(
        'idtool-lab:x:998:998:idtool lab, Keystone under Apache:/var/lib/idtool-lab:/usr/sbin/nologin\n',
      ),
    ).toEqual({
      name: 'idtool-lab',
      uid: 998,
      gid: 998,
    })
    expect(parsePasswd('')).toBeUndefined()
    expect(parsePasswd('idtool-lab:x:abc:998::/:/bin/false')).toBeUndefined()
    expect(parsePasswd('idtool-lab:x:998')).toBeUndefined()
  })
})

describe('packages', () => {
  it('apache2 and mod_wsgi are named when missing; the base list (uwsgi) does not need them', () => {
    expect(missingPackages(APACHE_REQUIREMENTS, () => false)).toEqual(['apache2', 'libapache2-mod-wsgi-py3'])
    expect(BASE_REQUIREMENTS.map((r) => r.pkg)).not.toContain('apache2')
    expect(BASE_REQUIREMENTS.map((r) => r.pkg)).toContain('uwsgi-core')
  })
})

describe('stopTree', () => {
  it('stops a parent and the children it leaves behind; other processes are untouched', async () => {
    // sh dies on SIGTERM and leaves its two sleeps (as Apache could leave a mod_wsgi daemon)
    const parent = spawn('/bin/sh', ['-c', 'sleep 300 & sleep 300 & wait'], { stdio: 'ignore' })
    const other = spawn('/bin/sleep', ['300'], { stdio: 'ignore' })
    try {
      let kids: number[] = []
      for (let i = 0; i < 50 && kids.length < 2; i++) {
        await sleep(20)
        kids = descendantPids(parent.pid!)
      }
      expect(kids).toHaveLength(2)
      expect(startTime(kids[0]!)).toMatch(/^\d+$/)
      expect(await stopTree(parent.pid!, 2_000)).toBe(true)
      await sleep(50)
      for (const k of kids) expect(pidAlive(k)).toBe(false)
      expect(pidAlive(other.pid!)).toBe(true)
    } finally {
      other.kill('SIGKILL')
      parent.kill('SIGKILL')
    }
  })
})
