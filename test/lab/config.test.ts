import { describe, expect, it } from 'vitest'
import { haproxyCfg } from '../../src/lab/haproxy.js'
import { BASE_REQUIREMENTS, missingPackages } from '../../src/lab/install.js'
import { keystoneConf, ldapDomainConf } from '../../src/lab/keystone.js'
import { defaultLabDir, labPaths } from '../../src/lab/layout.js'
import { labLdif, labUser, slapdConf, sshaHash } from '../../src/lab/slapd.js'

const p = labPaths('/lab')

describe('lab configuration', () => {
  it('haproxy: one server per worker, round-robin, X-Backend, loopback binds only', () => {
    const cfg = haproxyCfg(p, 3)
    expect(cfg).toContain('balance roundrobin')
    expect(cfg).toContain('http-response set-header X-Backend %s')
    for (const i of [1, 2, 3]) expect(cfg).toContain(`server ks${i} 127.0.0.1:${5000 + i} check`)
    expect(cfg).not.toContain('server ks4')
    const binds = [...cfg.matchAll(/bind (\S+)/g)].map((m) => m[1])
    expect(binds).toEqual([
      '127.0.0.1:5000',
      '127.0.0.1:5443',
      '127.0.0.1:5444',
      '127.0.0.1:8080',
      '127.0.0.1:8443',
      '127.0.0.1:8404',
    ])
  })

  it('haproxy: TLS frontends with the lab certificate; 5444 requires a client certificate of the lab CA', () => {
    const cfg = haproxyCfg(p, 2)
    const frontend = (port: number) => {
      const start = cfg.indexOf(`bind 127.0.0.1:${port}`)
      const block = cfg.slice(cfg.lastIndexOf('\nfrontend ', start), cfg.indexOf('\n\n', start))
      return block
    }
    // 5443 and 5444 reach the same workers (same X-Backend header) as the plain frontend
    for (const port of [5000, 5443, 5444])
      expect(frontend(port)).toContain('default_backend keystone_workers')
    for (const port of [5443, 5444, 8443]) expect(frontend(port)).toContain('ssl crt /lab/tls/server.pem')
    expect(frontend(5000)).not.toContain('ssl')
    expect(frontend(8080)).not.toContain('ssl')
    expect(frontend(5444)).toMatch(/ca-file \/lab\/tls\/ca\.pem verify required/)
    expect(frontend(5443)).not.toContain('verify required')
    expect(frontend(8443)).toContain('http-request return status 200')
    expect(frontend(8443)).not.toContain('default_backend')
    expect(frontend(5443)).toContain('X-Forwarded-Proto https')
    expect(cfg.match(/server ks\d/g)).toHaveLength(2)
  })

  it('keystone: fernet, sqlite or mariadb socket, cache toggle, domain-specific drivers', () => {
    const sqlite = keystoneConf(p, { workers: 2, cache: true, db: 'sqlite', ldapUsers: 10 })
    expect(sqlite).toContain('connection = sqlite:////lab/keystone/keystone.db')
    expect(sqlite).toContain('provider = fernet')
    expect(sqlite).toMatch(/\[cache\]\nenabled = true\nbackend = dogpile.cache.memory/)
    expect(sqlite).toContain('domain_specific_drivers_enabled = true')
    expect(sqlite).toMatch(/\[revoke\]\n(#.*\n)*caching = false/)
    const maria = keystoneConf(p, { workers: 2, cache: false, db: 'mariadb', ldapUsers: 10 }, 'pw')
    expect(maria).toContain(
      'mysql+pymysql://keystone:pw@localhost/keystone?unix_socket=/lab/run/mariadb.sock',
    )
    expect(maria).not.toContain('[cache]')
  })

  it('LDAP domain: page_size 5 with pooling and inetOrgPerson attributes keyed by uid', () => {
    const c = ldapDomainConf('bindpw')
    expect(c).toContain('page_size = 5')
    expect(c).toContain('use_pool = true')
    expect(c).toContain('user_id_attribute = uid')
    expect(c).toContain('user_name_attribute = uid')
    expect(c).toContain('url = ldap://127.0.0.1:3890')
  })

  it('slapd: default sizelimit kept, unlimited paged results only for the keystone account', () => {
    const c = slapdConf(p, '{SSHA}x')
    expect(c).toContain('sizelimit 500')
    expect(c).toContain(
      'limits dn.exact="cn=keystone,dc=example,dc=org" size=unlimited size.pr=unlimited size.prtotal=unlimited',
    )
    expect(c).toContain('directory /lab/slapd/data')
  })

  it('LDIF: N users, 4 groups with capped membership, two service accounts', () => {
    const ldif = labLdif(20, { keystone: 'k', reader: 'r' })
    expect(ldif.match(/^dn: uid=user\d{5},ou=Users/gm)).toHaveLength(20)
    expect(ldif.match(/objectClass: groupOfNames/g)).toHaveLength(4)
    expect(ldif).toContain('dn: cn=keystone,dc=example,dc=org')
    expect(ldif).toContain('dn: cn=reader,dc=example,dc=org')
    const devs = ldif.split('\n\n').find((e) => e.startsWith('dn: cn=devs'))!
    expect(devs.match(/^member: /gm)).toHaveLength(20)
    expect(labUser(42)).toEqual({ uid: 'user00042', password: 'pw00042' })
  })

  it('SSHA hashes verify like slapd does', async () => {
    const { createHash } = await import('node:crypto')
    const h = sshaHash('secret', Buffer.from('saltsalt'))
    const raw = Buffer.from(h.slice('{SSHA}'.length), 'base64')
    const digest = raw.subarray(0, 20)
    const salt = raw.subarray(20)
    expect(salt.toString()).toBe('saltsalt')
    expect(createHash('sha1').update('secret').update(salt).digest().equals(digest)).toBe(true)
  })

  it('knows which packages are missing', () => {
    const reqs = [
      { program: '/a', pkg: 'pa' },
      { program: '/b', pkg: 'pb' },
      { program: '/c', pkg: 'pb' },
    ]
    expect(missingPackages(reqs, (f) => f === '/a')).toEqual(['pb'])
    expect(missingPackages(reqs, () => true)).toEqual([])
  })

  it('puts the lab under XDG state unless IDTOOL_LAB_DIR is set', () => {
    expect(defaultLabDir({ IDTOOL_LAB_DIR: '/x' })).toBe('/x')
    expect(defaultLabDir({ XDG_STATE_HOME: '/s' })).toBe('/s/idtool/lab')
  })

  it('the lab needs openssl and the reference openstack client', () => {
    const pkgs = BASE_REQUIREMENTS.map((r) => r.pkg)
    expect(pkgs).toContain('openssl')
    expect(pkgs).toContain('python3-openstackclient')
    expect(missingPackages(BASE_REQUIREMENTS, (f) => f !== '/usr/bin/openstack')).toEqual([
      'python3-openstackclient',
    ])
  })
})
