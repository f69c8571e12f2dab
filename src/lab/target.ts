import { existsSync } from 'node:fs'
import { type AuthInputs, type AuthSettings, resolveAuth } from '../config/auth.js'
import { defaultLabDir, LAB_CLOUD, LAB_PORTS, labPaths } from './layout.js'

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1'])

/** A lab service a URL can name. */
export type LabService = 'keystone' | 'ldap'

/**
 * Which lab service `url` names by its address alone: a loopback URL on one of haproxy's Keystone ports
 * (plain, TLS, TLS with client certificates) or a worker port is 'keystone'; an ldap:// URL on slapd's port
 * is 'ldap'. Anything else (or no URL) is undefined. Whether a lab is set up is {@link isLabTarget}'s part.
 */
export function labServiceAt(url: string): LabService | undefined {
  let u: URL
  try {
    u = new URL(url.trim())
  } catch {
    return undefined
  }
  if (!LOOPBACK.has(u.hostname)) return undefined
  if (u.protocol === 'ldap:') return Number(u.port || 389) === LAB_PORTS.ldap ? 'ldap' : undefined
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80))
  const keystone =
    port === LAB_PORTS.keystone ||
    port === LAB_PORTS.keystoneTls ||
    port === LAB_PORTS.keystoneMtls ||
    (port >= LAB_PORTS.workerBase && port < LAB_PORTS.workerBase + 16)
  return keystone ? 'keystone' : undefined
}

/** Whether `dir` holds an idtool lab that `lab up` set up (its state.json and keystone.conf). */
export function labIsSetUp(dir: string): boolean {
  const p = labPaths(dir)
  return existsSync(p.state) && existsSync(p.keystoneConf)
}

/**
 * THE "is this the lab" check: `url` names a lab service ({@link labServiceAt}: loopback, a lab port) and a
 * lab is set up in `dir` ({@link labIsSetUp}). Lab-only operations (seeding the database) and lab defaults
 * (the LDAP service account, the LDAP domain) go by it.
 */
export function isLabTarget(url: string, dir: string = defaultLabDir()): boolean {
  return labServiceAt(url) !== undefined && labIsSetUp(dir)
}

/**
 * Resolve connection settings; when nothing names a target (no --os-cloud/OS_CLOUD, no auth URL), fall back
 * to the local lab's clouds.yaml: the lab is idtool's default target. config/ knows no lab: the lab's
 * clouds.yaml, secure.yaml and cloud name go in as its inputs.
 */
export function resolveAuthOrLab(inputs: AuthInputs): AuthSettings {
  const env = inputs.env
  const named =
    inputs.flags.osCloud ||
    env.OS_CLOUD ||
    inputs.flags.osAuthUrl ||
    env.OS_AUTH_URL ||
    env.OS_CLIENT_CONFIG_FILE
  if (!named) {
    const lab = labPaths(defaultLabDir(env))
    if (existsSync(lab.cloudsYaml)) {
      const settings = resolveAuth({
        ...inputs,
        // the secrets are in secure.yaml beside it, which openstacksdk only reads through OS_CLIENT_SECURE_FILE
        env: {
          ...env,
          OS_CLIENT_CONFIG_FILE: lab.cloudsYaml,
          OS_CLIENT_SECURE_FILE: lab.secureYaml,
          OS_CLOUD: LAB_CLOUD,
        },
      })
      settings.sources.cloud = 'default (the local lab: no cloud or auth URL named)'
      return settings
    }
  }
  return resolveAuth(inputs)
}
