import type { OsFlagValues } from '../../src/cli/flags.js'

/**
 * Connection setups resolved by idtool and by the real openstack client (test/config/osc_oracle.py).
 * Files are written under a fresh root per case: `cwd/` is the working directory, `home/` is $HOME; `{root}`
 * in env values and file contents is replaced by that root. The secrets are test values.
 *
 * expect:
 * - 'agree' (default): both resolve the same token request (identity and scope) and the same TLS settings,
 *   or both refuse;
 * - 'idtool-refuses': the client sends a request Keystone rejects (a user or project named without its
 *   domain, an application credential named without its user, a non-string name), idtool stops first.
 */
export interface OracleCase {
  id: string
  files?: Record<string, string>
  env?: Record<string, string>
  flags?: OsFlagValues
  expect?: 'agree' | 'idtool-refuses'
  /** the client refuses this one (asserted, so the table really covers refusals) */
  refused?: boolean
}

const URL = 'http://127.0.0.1:5000/v3'
const HOME_CLOUDS = 'home/.config/openstack/clouds.yaml'

const pwCloud = (user: string, extra = '') => `clouds:
  a:
    auth:
      auth_url: ${URL}
      username: ${user}
      password: pw-${user}
      user_domain_name: Default
      project_name: admin
      project_domain_name: Default
${extra}`

export const ORACLE_CASES: OracleCase[] = [
  // ---- search path and file choice
  {
    id: 'search: ./clouds.yaml before ~/.config/openstack',
    files: { 'cwd/clouds.yaml': pwCloud('cwd'), [HOME_CLOUDS]: pwCloud('home') },
    env: { OS_CLOUD: 'a' },
  },
  {
    id: 'search: clouds.yaml before clouds.yml in the same directory',
    files: { 'cwd/clouds.yml': pwCloud('yml'), 'cwd/clouds.yaml': pwCloud('yaml') },
    env: { OS_CLOUD: 'a' },
  },
  {
    id: 'search: clouds.json, typed as json.load types it',
    files: {
      'home/.config/openstack/clouds.json': JSON.stringify({
        clouds: {
          a: {
            auth: {
              auth_url: URL,
              username: 'j',
              password: 'pw-j',
              user_domain_id: 'default',
              project_id: '0123',
            },
          },
        },
      }),
    },
    env: { OS_CLOUD: 'a' },
  },
  {
    id: 'search: $XDG_CONFIG_HOME/openstack before ~/.config/openstack',
    files: { 'xdg/openstack/clouds.yaml': pwCloud('xdg'), [HOME_CLOUDS]: pwCloud('home') },
    env: { OS_CLOUD: 'a', XDG_CONFIG_HOME: '{root}/xdg' },
  },
  {
    id: 'search: $XDG_CONFIG_DIRS/openstack (site directory)',
    files: { 'sys/openstack/clouds.yaml': pwCloud('site') },
    env: { OS_CLOUD: 'a', XDG_CONFIG_DIRS: '{root}/sys' },
  },
  {
    id: 'search: only the first file found is read (cloud missing there is not looked for further)',
    files: { 'cwd/clouds.yaml': pwCloud('cwd').replace('  a:', '  b:'), [HOME_CLOUDS]: pwCloud('home') },
    env: { OS_CLOUD: 'a' },
    refused: true,
  },
  {
    id: 'OS_CLIENT_CONFIG_FILE is tried first',
    files: { 'x/mine.yaml': pwCloud('mine'), 'cwd/clouds.yaml': pwCloud('cwd') },
    env: { OS_CLOUD: 'a', OS_CLIENT_CONFIG_FILE: '{root}/x/mine.yaml' },
  },
  {
    id: 'OS_CLIENT_CONFIG_FILE missing: the search path is used (prepended, not exclusive)',
    files: { [HOME_CLOUDS]: pwCloud('home') },
    env: { OS_CLOUD: 'a', OS_CLIENT_CONFIG_FILE: '{root}/nope/clouds.yaml' },
  },
  // ---- secure.yaml
  {
    id: 'secure.yaml found on its own (another directory) and merged',
    files: {
      'cwd/clouds.yaml': pwCloud('sec').replace('      password: pw-sec\n', ''),
      'home/.config/openstack/secure.yaml': 'clouds:\n  a:\n    auth:\n      password: from-secure\n',
    },
    env: { OS_CLOUD: 'a' },
  },
  {
    id: 'OS_CLIENT_SECURE_FILE holds the application credential secret',
    files: {
      'cwd/clouds.yaml': `clouds:\n  ac:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: ${URL}\n      application_credential_id: 3f2a9c0d\n`,
      's/sec.yaml': 'clouds:\n  ac:\n    auth:\n      application_credential_secret: s3cret\n',
    },
    env: { OS_CLOUD: 'ac', OS_CLIENT_SECURE_FILE: '{root}/s/sec.yaml' },
  },
  // ---- choosing the cloud
  {
    id: 'no OS_CLOUD, one cloud in clouds.yaml: the client does not pick it',
    files: { [HOME_CLOUDS]: pwCloud('only') },
    refused: true,
  },
  {
    id: 'no OS_CLOUD, only OS_* variables (several clouds in the file)',
    files: { [HOME_CLOUDS]: `${pwCloud('one')}  b:\n    auth:\n      auth_url: http://127.0.0.9:5000\n` },
    env: {
      OS_AUTH_URL: URL,
      OS_USERNAME: 'envuser',
      OS_PASSWORD: 'pw-env',
      OS_USER_DOMAIN_NAME: 'Default',
      OS_PROJECT_NAME: 'demo',
      OS_PROJECT_DOMAIN_NAME: 'Default',
    },
  },
  {
    id: 'a cloud named "envvars" is refused',
    files: { 'cwd/clouds.yaml': pwCloud('e').replace('  a:', '  envvars:') },
    env: { OS_CLOUD: 'envvars' },
    refused: true,
  },
  // ---- YAML 1.1 and str()
  {
    id: 'YAML 1.1: project_id 0123 is octal 83, verify: no is false',
    files: {
      'cwd/clouds.yaml': `clouds:\n  a:\n    verify: no\n    auth:\n      auth_url: ${URL}\n      user_id: 4f1e\n      password: pw\n      project_id: 0123\n`,
    },
    env: { OS_CLOUD: 'a' },
  },
  {
    id: 'YAML 1.1: username: yes is a boolean (sent as true; Keystone rejects it)',
    files: { 'cwd/clouds.yaml': pwCloud('x').replace('username: x', 'username: yes') },
    env: { OS_CLOUD: 'a' },
    expect: 'idtool-refuses',
  },
  // ---- _id and _name forms, shorthand, back-compat, default domain
  {
    id: 'ids: user_id, project_id',
    files: {
      'cwd/clouds.yaml': `clouds:\n  a:\n    auth:\n      auth_url: ${URL}\n      user_id: u-1\n      password: pw\n      project_id: p-1\n`,
    },
    env: { OS_CLOUD: 'a' },
  },
  {
    id: 'domain_name shorthand fills user and project domains of a project-scoped cloud',
    files: {
      'cwd/clouds.yaml': `clouds:\n  a:\n    auth:\n      auth_url: ${URL}\n      username: u\n      password: pw\n      project_name: p\n      domain_name: Dom\n`,
    },
    env: { OS_CLOUD: 'a' },
  },
  {
    id: 'domain_id shorthand does not override an explicit user_domain_id',
    files: {
      'cwd/clouds.yaml': `clouds:\n  a:\n    domain_id: dd\n    auth:\n      auth_url: ${URL}\n      username: u\n      user_domain_id: ud\n      password: pw\n      project_name: p\n`,
    },
    env: { OS_CLOUD: 'a' },
  },
  {
    id: 'domain_id without a project is the domain scope',
    files: {
      'cwd/clouds.yaml': `clouds:\n  a:\n    auth:\n      auth_url: ${URL}\n      user_id: u-1\n      password: pw\n      domain_id: dd\n`,
    },
    env: { OS_CLOUD: 'a' },
  },
  {
    id: 'tenant_name at the cloud level (back-compat) is the project name',
    files: {
      'cwd/clouds.yaml': `clouds:\n  a:\n    tenant_name: t\n    auth:\n      auth_url: ${URL}\n      user_id: u-1\n      password: pw\n      project_domain_id: default\n`,
    },
    env: { OS_CLOUD: 'a' },
  },
  {
    id: 'OS_TENANT_NAME stands for OS_PROJECT_NAME',
    env: {
      OS_AUTH_URL: URL,
      OS_USER_ID: 'u-1',
      OS_PASSWORD: 'pw',
      OS_TENANT_NAME: 'ten',
      OS_PROJECT_DOMAIN_ID: 'default',
    },
  },
  {
    id: 'identity_api_version 3: osc fills the default domain',
    files: {
      'cwd/clouds.yaml': `clouds:\n  a:\n    identity_api_version: 3\n    auth:\n      auth_url: ${URL}\n      username: u\n      password: pw\n      project_name: p\n`,
    },
    env: { OS_CLOUD: 'a' },
  },
  {
    id: 'OS_DEFAULT_DOMAIN with OS_IDENTITY_API_VERSION=3',
    env: {
      OS_AUTH_URL: URL,
      OS_USERNAME: 'u',
      OS_PASSWORD: 'pw',
      OS_PROJECT_NAME: 'p',
      OS_IDENTITY_API_VERSION: '3',
      OS_DEFAULT_DOMAIN: 'dom1',
    },
  },
  {
    id: 'password (generic) user name without a domain: sent without one, Keystone rejects it',
    env: { OS_AUTH_URL: URL, OS_USERNAME: 'u', OS_PASSWORD: 'pw' },
    expect: 'idtool-refuses',
  },
  {
    id: 'v3password user name without a domain is refused by keystoneauth',
    env: { OS_AUTH_URL: URL, OS_AUTH_TYPE: 'v3password', OS_USERNAME: 'u', OS_PASSWORD: 'pw' },
    refused: true,
  },
  {
    id: 'default_domain_id of the generic password plugin',
    files: {
      'cwd/clouds.yaml': `clouds:\n  a:\n    auth:\n      auth_url: ${URL}\n      username: u\n      password: pw\n      project_name: p\n      default_domain_id: dflt\n`,
    },
    env: { OS_CLOUD: 'a' },
  },
  // ---- scope kinds
  {
    id: 'system scope: system_scope all',
    files: {
      'cwd/clouds.yaml': `clouds:\n  a:\n    auth:\n      auth_url: ${URL}\n      user_id: u-1\n      password: pw\n      system_scope: all\n`,
    },
    env: { OS_CLOUD: 'a' },
  },
  {
    id: 'project beats system scope',
    env: {
      OS_AUTH_URL: URL,
      OS_USER_ID: 'u-1',
      OS_PASSWORD: 'pw',
      OS_PROJECT_ID: 'p-1',
      OS_SYSTEM_SCOPE: 'all',
    },
  },
  {
    id: 'unscoped',
    env: { OS_AUTH_URL: URL, OS_USER_ID: 'u-1', OS_PASSWORD: 'pw' },
  },
  {
    id: 'explicitly unscoped (v3 plugins: auth.unscoped true is sent as "scope": "unscoped")',
    files: {
      'cwd/clouds.yaml': `clouds:\n  a:\n    auth_type: v3password\n    auth:\n      auth_url: ${URL}\n      user_id: u-1\n      password: pw\n      unscoped: true\n      system_scope: all\n      include_catalog: false\n`,
    },
    env: { OS_CLOUD: 'a' },
  },
  {
    id: 'unscoped together with a project is refused by keystoneauth',
    files: {
      'cwd/clouds.yaml': `clouds:\n  a:\n    auth_type: v3password\n    auth:\n      auth_url: ${URL}\n      user_id: u-1\n      password: pw\n      unscoped: yes\n      project_id: p-1\n`,
    },
    env: { OS_CLOUD: 'a' },
    refused: true,
  },
  {
    id: 'unscoped is not an option of the generic password plugin',
    files: {
      'cwd/clouds.yaml': `clouds:\n  a:\n    auth:\n      auth_url: ${URL}\n      user_id: u-1\n      password: pw\n      unscoped: true\n`,
    },
    env: { OS_CLOUD: 'a' },
    refused: true,
  },
  {
    id: 'domain scope by name from flags',
    env: { OS_AUTH_URL: URL, OS_USER_ID: 'u-1', OS_PASSWORD: 'pw' },
    flags: { 'os-domain-name': 'Dom' },
  },
  // ---- auth types
  {
    id: 'application credential by id',
    env: {
      OS_AUTH_URL: URL,
      OS_AUTH_TYPE: 'v3applicationcredential',
      OS_APPLICATION_CREDENTIAL_ID: 'ac-1',
      OS_APPLICATION_CREDENTIAL_SECRET: 's3cret',
    },
  },
  {
    id: 'application credential by name with its user and domain',
    files: {
      'cwd/clouds.yaml': `clouds:\n  ac:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: ${URL}\n      application_credential_name: ci\n      application_credential_secret: s3cret\n      username: bob\n      user_domain_name: Default\n`,
    },
    env: { OS_CLOUD: 'ac' },
  },
  {
    id: 'application credential by name without a user: sent, Keystone rejects it',
    files: {
      'cwd/clouds.yaml': `clouds:\n  ac:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: ${URL}\n      application_credential_name: ci\n      application_credential_secret: s3cret\n`,
    },
    env: { OS_CLOUD: 'ac' },
    expect: 'idtool-refuses',
  },
  {
    id: 'application credential without a secret is refused',
    files: {
      'cwd/clouds.yaml': `clouds:\n  ac:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: ${URL}\n      application_credential_id: ac-1\n`,
    },
    env: { OS_CLOUD: 'ac' },
    refused: true,
  },
  {
    id: 'misspelled auth key is refused',
    files: {
      'cwd/clouds.yaml': `clouds:\n  ac:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: ${URL}\n      application_credential_id: ac-1\n      application_credential_secret: s3cret\n      application_credential_nmae: ci\n`,
    },
    env: { OS_CLOUD: 'ac' },
    refused: true,
  },
  {
    id: 'token from OS_TOKEN, project by id',
    env: { OS_AUTH_URL: URL, OS_AUTH_TYPE: 'token', OS_TOKEN: 'tok-1', OS_PROJECT_ID: 'p-1' },
  },
  {
    id: 'v3token with OS_USER_DOMAIN_NAME set is refused (not an option of v3token)',
    env: { OS_AUTH_URL: URL, OS_AUTH_TYPE: 'v3token', OS_TOKEN: 'tok-1', OS_USER_DOMAIN_NAME: 'Default' },
    refused: true,
  },
  {
    id: 'OS_TOKEN with password auth is refused',
    files: { 'cwd/clouds.yaml': pwCloud('p') },
    env: { OS_CLOUD: 'a', OS_TOKEN: 'tok-1' },
    refused: true,
  },
  {
    id: 'unknown auth type is refused',
    env: { OS_AUTH_URL: URL, OS_AUTH_TYPE: 'passwrd', OS_USER_ID: 'u', OS_PASSWORD: 'pw' },
    refused: true,
  },
  {
    id: 'misspelled key under auth (usrname) is refused',
    files: { 'cwd/clouds.yaml': pwCloud('x').replace('username:', 'usrname:') },
    env: { OS_CLOUD: 'a' },
    refused: true,
  },
  {
    id: 'no password anywhere is refused',
    files: { 'cwd/clouds.yaml': pwCloud('x').replace('      password: pw-x\n', '') },
    env: { OS_CLOUD: 'a' },
    refused: true,
  },
  // ---- TLS
  {
    id: 'TLS: cacert with ~ is expanded and verified against',
    files: { 'cwd/clouds.yaml': pwCloud('t', '    cacert: ~/ca.pem\n') },
    env: { OS_CLOUD: 'a' },
  },
  {
    id: 'TLS: insecure: true wins over cacert',
    files: { 'cwd/clouds.yaml': pwCloud('t', '    cacert: /etc/ca.pem\n    insecure: true\n') },
    env: { OS_CLOUD: 'a' },
  },
  {
    id: 'TLS: OS_CACERT overrides the cloud cacert; OS_INSECURE is not read by osc',
    files: { 'cwd/clouds.yaml': pwCloud('t', '    cacert: /etc/ca.pem\n') },
    env: { OS_CLOUD: 'a', OS_CACERT: '{root}/env-ca.pem', OS_INSECURE: 'true' },
  },
  {
    id: 'TLS: --os-insecure flag',
    files: { 'cwd/clouds.yaml': pwCloud('t', '    cacert: /etc/ca.pem\n') },
    env: { OS_CLOUD: 'a' },
    flags: { 'os-insecure': true },
  },
  {
    id: 'TLS: client certificate and key from OS_CERT/OS_KEY',
    files: { 'cwd/clouds.yaml': pwCloud('t') },
    env: { OS_CLOUD: 'a', OS_CERT: '~/client.pem', OS_KEY: '{root}/client.key' },
  },
  {
    id: 'TLS: a key without a certificate is ignored',
    files: { 'cwd/clouds.yaml': pwCloud('t', '    key: /k.pem\n') },
    env: { OS_CLOUD: 'a' },
  },
  {
    id: 'TLS: verify: "false" quoted is a string, taken as a CA path',
    files: { 'cwd/clouds.yaml': pwCloud('t', '    verify: "false"\n') },
    env: { OS_CLOUD: 'a' },
  },
  // ---- precedence
  {
    id: 'precedence: flag > env > cloud for the user name',
    files: { 'cwd/clouds.yaml': pwCloud('cloud') },
    env: { OS_CLOUD: 'a', OS_USERNAME: 'envuser' },
    flags: { 'os-username': 'flaguser' },
  },
  {
    id: 'precedence: env > cloud for auth_url and user id',
    files: { 'cwd/clouds.yaml': pwCloud('cloud') },
    env: { OS_CLOUD: 'a', OS_AUTH_URL: 'http://127.0.0.2:5000/v3', OS_USER_ID: 'uid-env' },
  },
  {
    id: 'precedence: the cloud auth project_name beats --os-project-name (sdk _fix_backwards_project)',
    files: { 'cwd/clouds.yaml': pwCloud('cloud') },
    env: { OS_CLOUD: 'a', OS_PROJECT_NAME: 'envproj' },
    flags: { 'os-project-name': 'flagproj' },
  },
  {
    id: 'password from --os-password-file beats the cloud',
    files: { 'cwd/clouds.yaml': pwCloud('cloud'), 'pw.txt': 'from-file\n' },
    env: { OS_CLOUD: 'a' },
    flags: { 'os-password-file': '{root}/pw.txt' },
  },
  {
    id: 'an unused OS_* value with a stray {placeholder} is refused (osc formats every top-level string)',
    env: {
      OS_AUTH_URL: URL,
      OS_USER_ID: 'u-1',
      OS_PASSWORD: 'pw',
      OS_APPLICATION_CREDENTIAL_SECRET: 'a{b}c',
    },
    refused: true,
  },
  // ---- region, interface, placeholders
  {
    id: 'region: OS_REGION_NAME must be one of the cloud regions',
    files: { 'cwd/clouds.yaml': pwCloud('r', '    regions: [r1, r2]\n') },
    env: { OS_CLOUD: 'a', OS_REGION_NAME: 'r3' },
    refused: true,
  },
  {
    id: 'region: the first region by default, endpoint_type becomes interface',
    files: { 'cwd/clouds.yaml': pwCloud('r', '    region_name: r1,r2\n    endpoint_type: internal\n') },
    env: { OS_CLOUD: 'a' },
  },
  {
    id: 'auth_url {region_name} placeholder',
    files: {
      'cwd/clouds.yaml': pwCloud('r', '    region_name: reg9\n').replace(
        URL,
        'http://127.0.0.1:5000/{region_name}/v3',
      ),
    },
    env: { OS_CLOUD: 'a' },
  },
]
