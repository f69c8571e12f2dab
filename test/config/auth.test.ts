import { describe, expect, it } from 'vitest'
import {
  cloudsYamlCandidates,
  isLoopbackUrl,
  keystoneV3Base,
  redactAuth,
  resolveAuth,
} from '../../src/config/auth.js'
import { ConfigError } from '../../src/errors.js'

const CLOUDS = `
clouds:
  lab:
    auth:
      auth_url: http://127.0.0.1:5000/v3
      username: admin
      password: from-yaml
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    cacert: /etc/ssl/lab.pem
  other:
    auth:
      auth_url: http://127.0.0.2:5000
      username: bob
`

function files(map: Record<string, string>) {
  return (p: string) => map[p]
}

describe('resolveAuth', () => {
  it('reads a cloud from OS_CLIENT_CONFIG_FILE', () => {
    const a = resolveAuth({
      flags: {},
      env: { OS_CLOUD: 'lab', OS_CLIENT_CONFIG_FILE: '/x/clouds.yaml' },
      readFile: files({ '/x/clouds.yaml': CLOUDS }),
      cwd: '/w',
      home: '/h',
    })
    expect(a).toMatchObject({
      authUrl: 'http://127.0.0.1:5000/v3',
      username: 'admin',
      password: 'from-yaml',
      projectName: 'admin',
      cacert: '/etc/ssl/lab.pem',
      cloud: 'lab',
      cloudsFile: '/x/clouds.yaml',
    })
  })

  it('follows the standard search path: ./clouds.yaml before ~/.config/openstack before /etc/openstack', () => {
    expect(cloudsYamlCandidates({}, '/w', '/h')).toEqual([
      '/w/clouds.yaml',
      '/h/.config/openstack/clouds.yaml',
      '/etc/openstack/clouds.yaml',
    ])
    const a = resolveAuth({
      flags: { osCloud: 'other' },
      env: {},
      readFile: files({
        '/h/.config/openstack/clouds.yaml': CLOUDS,
        '/etc/openstack/clouds.yaml': 'clouds: {}',
      }),
      cwd: '/w',
      home: '/h',
    })
    expect(a.username).toBe('bob')
    expect(a.cloudsFile).toBe('/h/.config/openstack/clouds.yaml')
  })

  it('gives flags precedence over env, and env over clouds.yaml', () => {
    const a = resolveAuth({
      flags: { osCloud: 'lab', osUsername: 'flaguser' },
      env: {
        OS_USERNAME: 'envuser',
        OS_PASSWORD: 'envpw',
        OS_PROJECT_NAME: 'envproj',
        OS_CLIENT_CONFIG_FILE: '/c.yaml',
      },
      readFile: files({ '/c.yaml': CLOUDS }),
      cwd: '/',
      home: '/h',
    })
    expect(a.username).toBe('flaguser')
    expect(a.password).toBe('envpw')
    expect(a.projectName).toBe('envproj')
    expect(a.authUrl).toBe('http://127.0.0.1:5000/v3')
  })

  it('merges secure.yaml secrets beside clouds.yaml', () => {
    const a = resolveAuth({
      flags: {},
      env: { OS_CLOUD: 'other', OS_CLIENT_CONFIG_FILE: '/c/clouds.yaml' },
      readFile: files({
        '/c/clouds.yaml': CLOUDS,
        '/c/secure.yaml': 'clouds:\n  other:\n    auth:\n      password: sekret\n',
      }),
      cwd: '/',
      home: '/h',
    })
    expect(a.password).toBe('sekret')
    expect(a.username).toBe('bob')
  })

  it('reads the password from --os-password-file, without the trailing newline', () => {
    const a = resolveAuth({
      flags: { osAuthUrl: 'http://127.0.0.1:5000/v3', osPasswordFile: 'pw.txt' },
      env: { OS_PASSWORD: 'ignored' },
      readFile: files({ '/w/pw.txt': 'filepw\n' }),
      cwd: '/w',
      home: '/h',
    })
    expect(a.password).toBe('filepw')
  })

  it('defaults the domains to Default', () => {
    const a = resolveAuth({
      flags: { osAuthUrl: 'http://127.0.0.1:5000' },
      env: {},
      readFile: files({}),
      cwd: '/',
      home: '/h',
    })
    expect(a.userDomainName).toBe('Default')
    expect(a.projectDomainName).toBe('Default')
  })

  it.each([
    [{ flags: {}, env: {} }, /no Keystone URL/],
    [{ flags: { osAuthUrl: 'not a url' }, env: {} }, /malformed auth URL/],
    [{ flags: { osAuthUrl: 'ftp://x/v3' }, env: {} }, /must use http or https/],
    [{ flags: { osCloud: 'nope' }, env: { OS_CLIENT_CONFIG_FILE: '/c.yaml' } }, /cloud "nope" not found/],
    [
      { flags: { osAuthUrl: 'http://x', osPasswordFile: '/missing' }, env: {} },
      /password file \/missing does not exist/,
    ],
    [{ flags: { osCloud: 'lab' }, env: { OS_CLIENT_CONFIG_FILE: '/bad.yaml' } }, /is not valid YAML/],
  ])('rejects bad input with a ConfigError: %#', (inputs, message) => {
    const call = () =>
      resolveAuth({
        ...inputs,
        readFile: files({ '/c.yaml': CLOUDS, '/bad.yaml': 'clouds: [unclosed' }),
        cwd: '/',
        home: '/h',
      })
    expect(call).toThrow(ConfigError)
    expect(call).toThrow(message)
  })
})

describe('helpers', () => {
  it('normalises the v3 base URL', () => {
    expect(keystoneV3Base('http://h:5000')).toBe('http://h:5000/v3')
    expect(keystoneV3Base('http://h:5000/v3/')).toBe('http://h:5000/v3')
    expect(keystoneV3Base('http://h:5000/v2.0')).toBe('http://h:5000/v3')
    expect(keystoneV3Base('http://h/identity')).toBe('http://h/identity/v3')
  })

  it('recognises loopback URLs only', () => {
    expect(isLoopbackUrl('http://127.0.0.1:5000/v3')).toBe(true)
    expect(isLoopbackUrl('http://127.3.2.1/')).toBe(true)
    expect(isLoopbackUrl('http://localhost:5000')).toBe(true)
    expect(isLoopbackUrl('http://[::1]:5000')).toBe(true)
    expect(isLoopbackUrl('http://10.0.0.1:5000')).toBe(false)
    expect(isLoopbackUrl('http://keystone.example.org')).toBe(false)
    expect(isLoopbackUrl('garbage')).toBe(false)
  })

  it('never lets the password through redaction', () => {
    const r = redactAuth({
      authUrl: 'http://x',
      password: 'topsecret',
      userDomainName: 'Default',
      projectDomainName: 'Default',
    })
    expect(JSON.stringify(r)).not.toContain('topsecret')
    expect(r.passwordSet).toBe(true)
  })
})
