import { existsSync } from 'node:fs'
import { LAB_PORTS, labPaths } from './layout.js'

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1'])

/**
 * Whether `authUrl` is the idtool lab in `dir`: a loopback URL on one of the lab's haproxy Keystone ports
 * (plain, TLS, TLS with client certificates) or one of its worker ports, and a lab set up in that directory. Lab-only operations (seeding the database) check this.
 */
export function isLabTarget(authUrl: string, dir: string): boolean {
  let u: URL
  try {
    u = new URL(authUrl)
  } catch {
    return false
  }
  if (!LOOPBACK.has(u.hostname)) return false
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80))
  const labPort =
    port === LAB_PORTS.keystone ||
    port === LAB_PORTS.keystoneTls ||
    port === LAB_PORTS.keystoneMtls ||
    (port >= LAB_PORTS.workerBase && port < LAB_PORTS.workerBase + 16)
  if (!labPort) return false
  const p = labPaths(dir)
  return existsSync(p.state) && existsSync(p.keystoneConf)
}
