import { describe, expect, it } from 'vitest'
import {
  cloudsYamlCandidates,
  isLoopbackUrl,
  keystoneV3Base,
  redactAuth,
  resolveAuth,
  secureYamlCandidates,
} from '../../src/config/auth.js'
import type { AuthSettings } from '../../src/config/settings.js'
import { ConfigError } from '../../src/errors.js'
import { authRequestBody, describeCaller } from '../../src/keystone/auth-body.js'

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
    region_name: RegionOne
  other:
    auth:
      auth_url: http://127.0.0.2:5000
      username: bob
      user_domain_id: default
  appcred:
    auth_type: v3applicationcredential
    auth:
      auth_url: https://keystone.example.org:5000/v3
      application_credential_id: 3f2a9c0d1e2f4a5b
`

function files(map: Record<string, string>) {
  return (p: string) => map[p]
}

const base = { cwd: '/w', home: '/h' }

describe('resolveAuth', () => {
  it('reads a cloud from OS_CLIENT_CONFIG_FILE, with the source of every value', () => {
    const a = resolveAuth({
      flags: {},
      env: { OS_CLOUD: 'lab', OS_CLIENT_CONFIG_FILE: '/x/clouds.yaml' },
      readFile: files({ '/x/clouds.yaml': CLOUDS }),
      ...base,
    })
    expect(a).toMatchObject({
      authUrl: 'http://127.0.0.1:5000/v3',
      authType: 'password',
      credential: { type: 'password', user: { name: 'admin', domainName: 'Default' }, password: 'from-yaml' },
      scope: { kind: 'project', name: 'admin', domainName: 'Default' },
      tls: { verify: true, cacert: '/etc/ssl/lab.pem' },
      regionName: 'RegionOne',
      interface: 'public',
      cloud: 'lab',
      cloudsFile: '/x/clouds.yaml',
    })
    expect(a.sources).toMatchObject({
      auth_url: '/x/clouds.yaml (cloud lab)',
      password: '/x/clouds.yaml (cloud lab)',
      cacert: '/x/clouds.yaml (cloud lab)',
      auth_type: 'default',
      interface: 'default',
      cloud: 'env OS_CLOUD',
    })
  })

  it('searches cwd, $XDG_CONFIG_HOME, ~/.config, $XDG_CONFIG_DIRS, /etc/openstack; OS_CLIENT_CONFIG_FILE first', () => {
    const list = cloudsYamlCandidates({ OS_CLIENT_CONFIG_FILE: 'mine.yaml' }, '/w', '/h')
    expect(list.slice(0, 4)).toEqual(['/w/mine.yaml', '/w/clouds.yaml', '/w/clouds.yml', '/w/clouds.json'])
    expect(list).toContain('/h/.config/openstack/clouds.yaml')
    expect(list).toContain('/etc/xdg/openstack/clouds.yaml')
    expect(list.at(-3)).toBe('/etc/openstack/clouds.yaml')
    expect(cloudsYamlCandidates({ XDG_CONFIG_HOME: '/x' }, '/w', '/h')[3]).toBe('/x/openstack/clouds.yaml')
    expect(secureYamlCandidates({ OS_CLIENT_SECURE_FILE: '/s.yaml' }, '/w', '/h')[0]).toBe('/s.yaml')
  })

  it('reads only the first clouds file found', () => {
    const call = () =>
      resolveAuth({
        flags: { osCloud: 'other' },
        env: {},
        readFile: files({ '/w/clouds.yaml': 'clouds: {x: {}}', '/h/.config/openstack/clouds.yaml': CLOUDS }),
        ...base,
      })
    expect(call).toThrow(/cloud "other" not found in \/w\/clouds.yaml/)
  })

  it('merges the first secure.yaml found over the clouds file and says where the secret came from', () => {
    const a = resolveAuth({
      flags: {},
      env: { OS_CLOUD: 'appcred', OS_CLIENT_CONFIG_FILE: '/c/clouds.yaml' },
      readFile: files({
        '/c/clouds.yaml': CLOUDS,
        '/h/.config/openstack/secure.yaml':
          'clouds:\n  appcred:\n    auth:\n      application_credential_secret: s3\n',
      }),
      ...base,
    })
    expect(a.credential).toEqual({ type: 'v3applicationcredential', id: '3f2a9c0d1e2f4a5b', secret: 's3' })
    expect(a.secureFile).toBe('/h/.config/openstack/secure.yaml')
    expect(a.sources.application_credential_secret).toBe('/h/.config/openstack/secure.yaml (cloud appcred)')
    expect(a.sources.application_credential_id).toBe('/c/clouds.yaml (cloud appcred)')
  })

  it('gives flags precedence over env, and env over the cloud', () => {
    const a = resolveAuth({
      flags: { osCloud: 'lab', osUsername: 'flaguser' },
      env: { OS_USERNAME: 'envuser', OS_PASSWORD: 'envpw', OS_CLIENT_CONFIG_FILE: '/c.yaml' },
      readFile: files({ '/c.yaml': CLOUDS }),
      ...base,
    })
    expect(a.credential).toMatchObject({ user: { name: 'flaguser' }, password: 'envpw' })
    expect(a.sources).toMatchObject({ username: 'flag --os-username', password: 'env OS_PASSWORD' })
  })

  it('keeps a project named under auth in the cloud over OS_PROJECT_NAME, as the openstack client does', () => {
    const a = resolveAuth({
      flags: {},
      env: { OS_CLOUD: 'lab', OS_PROJECT_NAME: 'envproj', OS_CLIENT_CONFIG_FILE: '/c.yaml' },
      readFile: files({ '/c.yaml': CLOUDS }),
      ...base,
    })
    expect(a.scope).toMatchObject({ kind: 'project', name: 'admin' })
    expect(a.notes).toEqual([
      expect.stringMatching(
        /^env OS_PROJECT_NAME is not used: project_name under auth in \/c.yaml \(cloud lab\) wins/,
      ),
    ])
  })

  it('notes what is given but not used: OS_INSECURE, a key without a cert, cacert when not verifying', () => {
    const a = resolveAuth({
      flags: { osAuthUrl: 'https://h/v3', osUserId: 'u', osCacert: '/ca.pem', osInsecure: true },
      env: { OS_INSECURE: 'true', OS_KEY: '/k.pem', OS_SYSTEM_SCOPE: 'project' },
      readFile: files({}),
      ...base,
    })
    expect(a.tls).toEqual({ verify: false })
    expect(a.scope).toEqual({ kind: 'unscoped' })
    expect(a.notes).toEqual([
      'system_scope "project" (env OS_SYSTEM_SCOPE) is not used: keystoneauth knows only "all"',
      'cacert /ca.pem (flag --os-cacert) is not used: the server certificate is not verified',
      'key (env OS_KEY) is not used without a client certificate (cert)',
    ])
    const b = resolveAuth({
      flags: { osAuthUrl: 'https://h/v3' },
      env: { OS_INSECURE: 'true' },
      readFile: files({}),
      ...base,
    })
    expect(b.notes?.[0]).toMatch(/OS_INSECURE is not read by the openstack client/)
  })

  it('reads secrets from files, without the trailing newline', () => {
    const a = resolveAuth({
      flags: { osAuthUrl: 'http://127.0.0.1:5000/v3', osUserId: 'u1', osPasswordFile: 'pw.txt' },
      env: { OS_PASSWORD: 'ignored' },
      readFile: files({ '/w/pw.txt': 'filepw\n' }),
      ...base,
    })
    expect(a.credential).toMatchObject({ password: 'filepw' })
    expect(a.sources.password).toBe('flag --os-password-file')
    const t = resolveAuth({
      flags: { osAuthUrl: 'http://127.0.0.1:5000/v3', osAuthType: 'v3token', osTokenFile: '/t' },
      env: {},
      readFile: files({ '/t': 'gAAAA-token\n' }),
      ...base,
    })
    expect(t.credential).toEqual({ type: 'token', token: 'gAAAA-token' })
  })

  it('does not assume a user domain: Keystone needs one, and the client sends none without identity_api_version 3', () => {
    const a = resolveAuth({
      flags: { osAuthUrl: 'http://h:5000', osUsername: 'u' },
      env: { OS_PASSWORD: 'p' },
      ...base,
      readFile: files({}),
    })
    expect(a.credential).toEqual({ type: 'password', user: { name: 'u' }, password: 'p' })
    expect(() => authRequestBody(a)).toThrow(/user name "u" without a user domain/)
  })

  it('names the closest known key for a misspelled auth key', () => {
    const call = () =>
      resolveAuth({
        flags: { osCloud: 'x' },
        env: {},
        readFile: files({
          '/w/clouds.yaml': 'clouds:\n  x:\n    auth:\n      auth_url: http://h/v3\n      usernmae: u\n',
        }),
        ...base,
      })
    expect(call).toThrow(ConfigError)
    expect(call).toThrow(/unknown key "usernmae" under auth .* did you mean "username"/)
  })

  it('says where a cloud-level key written under auth belongs', () => {
    const call = () =>
      resolveAuth({
        flags: { osCloud: 'x' },
        env: {},
        readFile: files({
          '/w/clouds.yaml':
            'clouds:\n  x:\n    auth:\n      auth_url: http://h/v3\n      user_id: u\n      cacert: /ca.pem\n',
        }),
        ...base,
      })
    expect(call).toThrow(/unknown key "cacert" under auth/)
    try {
      call()
    } catch (e) {
      expect((e as ConfigError).hint).toMatch(/cacert belongs at the cloud level, beside "auth:"/)
    }
  })

  it('refuses an auth type idtool does not speak, naming it', () => {
    const call = (t: string) => () =>
      resolveAuth({
        flags: { osAuthUrl: 'http://h/v3', osAuthType: t },
        env: {},
        readFile: files({}),
        ...base,
      })
    expect(call('v3totp')).toThrow(/auth type "v3totp" .* is not one idtool speaks/)
    expect(call('v3pasword')).toThrow(/unknown auth type "v3pasword" .* did you mean "v3password"/)
  })

  it('takes verify/insecure as the client does: insecure wins, cacert only when verifying', () => {
    const tls = (extra: string, env: Record<string, string> = {}, osInsecure?: boolean) =>
      resolveAuth({
        flags: { osCloud: 'x', osInsecure },
        env,
        readFile: files({
          '/w/clouds.yaml': `clouds:\n  x:\n${extra}    auth:\n      auth_url: https://h/v3\n`,
        }),
        ...base,
      }).tls
    expect(tls('    verify: no\n')).toEqual({ verify: false })
    expect(tls('    verify: false\n    cacert: /ca\n')).toEqual({ verify: false })
    expect(tls('    insecure: "True"\n    cacert: /ca\n')).toEqual({ verify: false })
    expect(tls('    cacert: ~/ca.pem\n    cert: /c.pem\n    key: /k.pem\n')).toEqual({
      verify: true,
      cacert: '/h/ca.pem',
      cert: '/c.pem',
      key: '/k.pem',
    })
    expect(tls('', { OS_INSECURE: 'true' })).toEqual({ verify: true })
    expect(tls('', {}, true)).toEqual({ verify: false })
    expect(() => tls('    insecure: 1\n')).toThrow(/insecure: 1 .* is not a boolean/)
  })

  it.each([
    [{ flags: {}, env: {} }, /no Keystone URL/],
    [{ flags: { osAuthUrl: 'not a url' }, env: {} }, /malformed auth URL/],
    [{ flags: { osAuthUrl: 'ftp://x/v3' }, env: {} }, /must use http or https/],
    [{ flags: { osCloud: 'nope' }, env: { OS_CLIENT_CONFIG_FILE: '/c.yaml' } }, /cloud "nope" not found/],
    [
      { flags: { osAuthUrl: 'http://x', osPasswordFile: '/missing' }, env: {} },
      /--os-password-file \/missing: cannot read it/,
    ],
    [{ flags: { osCloud: 'lab' }, env: { OS_CLIENT_CONFIG_FILE: '/bad.yaml' } }, /is not valid YAML/],
    [
      { flags: { osCloud: 'lab', osRegionName: 'R2' }, env: { OS_CLIENT_CONFIG_FILE: '/c.yaml' } },
      /region "R2"/,
    ],
    [{ flags: { osCloud: 'envvars' }, env: { OS_CLIENT_CONFIG_FILE: '/ev.yaml' } }, /cloud named "envvars"/],
    [
      { flags: { osAuthUrl: 'http://x/v3', osTokenFile: '/t' }, env: {} },
      /"token" .* is not an option of auth type password/,
    ],
  ])('rejects bad input with a ConfigError: %#', (inputs, message) => {
    const call = () =>
      resolveAuth({
        ...inputs,
        readFile: files({
          '/c.yaml': CLOUDS,
          '/bad.yaml': 'clouds: [unclosed',
          '/ev.yaml': 'clouds:\n  envvars: {}\n',
          '/t': 'tok',
        }),
        ...base,
      })
    expect(call).toThrow(ConfigError)
    expect(call).toThrow(message)
  })
})

describe('authRequestBody', () => {
  const settings = (over: Partial<AuthSettings>): AuthSettings => ({
    authUrl: 'http://h/v3',
    authType: 'password',
    credential: { type: 'password', user: { name: 'admin', domainName: 'Default' }, password: 'pw' },
    scope: { kind: 'unscoped' },
    tls: { verify: true },
    sources: {},
    ...over,
  })

  it('builds each identity and scope as keystoneauth does', () => {
    expect(authRequestBody(settings({ scope: { kind: 'project', name: 'p', domainId: 'default' } }))).toEqual(
      {
        auth: {
          identity: {
            methods: ['password'],
            password: { user: { name: 'admin', domain: { name: 'Default' }, password: 'pw' } },
          },
          scope: { project: { name: 'p', domain: { id: 'default' } } },
        },
      },
    )
    const ac = settings({
      authType: 'v3applicationcredential',
      credential: { type: 'v3applicationcredential', name: 'ci', user: { id: 'u1' }, secret: 's' },
      scope: { kind: 'system', system: 'all' },
    })
    expect(authRequestBody(ac)).toEqual({
      auth: {
        identity: {
          methods: ['application_credential'],
          application_credential: { secret: 's', name: 'ci', user: { id: 'u1' } },
        },
        scope: { system: { all: true } },
      },
    })
    const tok = settings({
      authType: 'token',
      credential: { type: 'token', token: 't' },
      scope: { kind: 'domain', id: 'd' },
    })
    expect(authRequestBody(tok)).toEqual({
      auth: { identity: { methods: ['token'], token: { id: 't' } }, scope: { domain: { id: 'd' } } },
    })
  })

  it.each([
    [{ credential: { type: 'password' as const, user: { name: 'a', domainId: 'd' } } }, /no password/],
    [{ credential: { type: 'password' as const, user: {}, password: 'p' } }, /no user/],
    [
      { credential: { type: 'v3applicationcredential' as const, name: 'ci', secret: 's' } },
      /named without its user/,
    ],
    [{ credential: { type: 'v3applicationcredential' as const, id: 'x' } }, /no secret/],
    [{ credential: { type: 'token' as const } }, /without a token/],
    [{ scope: { kind: 'project' as const, name: 'p' } }, /project name "p" without a project domain/],
  ])('refuses what Keystone would reject, before any request: %#', (over, message) => {
    expect(() => authRequestBody(settings(over))).toThrow(ConfigError)
    expect(() => authRequestBody(settings(over))).toThrow(message)
  })

  it('describes the caller without secrets', () => {
    expect(describeCaller(settings({}))).toBe('user "admin" in domain Default')
    expect(
      describeCaller(
        settings({
          credential: { type: 'v3applicationcredential', id: '3f2a9c0d1e2f4a5b6c', secret: 'topsecret' },
        }),
      ),
    ).toBe('application credential 3f2a9c0d…')
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

  it('never lets a password, secret or token through redaction', () => {
    const base = {
      authUrl: 'http://x',
      scope: { kind: 'unscoped' as const },
      tls: { verify: true },
      sources: {},
    }
    const p = redactAuth({
      ...base,
      authType: 'password',
      credential: { type: 'password', user: { id: 'u' }, password: 'topsecret1' },
    })
    const a = redactAuth({
      ...base,
      authType: 'v3applicationcredential',
      credential: { type: 'v3applicationcredential', id: 'i', secret: 'topsecret2' },
    })
    const t = redactAuth({ ...base, authType: 'token', credential: { type: 'token', token: 'topsecret3' } })
    expect(JSON.stringify([p, a, t])).not.toMatch(/topsecret/)
    expect(p.credential).toMatchObject({ passwordSet: true })
    expect(a.credential).toMatchObject({ secretSet: true })
    expect(t.credential).toMatchObject({ tokenSet: true })
  })
})

describe('secrets in messages', () => {
  it('never puts a secret value into an error message', () => {
    const secret = 'Sx{nope}q'
    let err: unknown
    try {
      // osc formats every top-level string with the configuration, so a stray brace in an unused secret fails
      resolveAuth({
        flags: { osAuthUrl: 'http://h/v3', osUserId: 'u' },
        env: { OS_PASSWORD: 'pw', OS_APPLICATION_CREDENTIAL_SECRET: secret },
        readFile: () => undefined,
        cwd: '/w',
        home: '/h',
      })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ConfigError)
    expect(String((err as ConfigError).message) + (err as ConfigError).hint).not.toContain(secret)
  })
})
