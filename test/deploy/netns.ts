import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const exec = promisify(execFile)

/**
 * A private test network inside this machine: a bridge holding the host side (HOST_ADDR/24) and one
 * network namespace per load "host", each joined to the bridge by a veth pair and given its own address.
 * Nothing is routed off the machine: the subnet has no gateway and the namespaces have no default route.
 */
export const SUBNET = '10.231.0'
export const HOST_ADDR = `${SUBNET}.1`
const BRIDGE = 'idtw2br'

export interface LoadNamespace {
  /** the network namespace's name (`ip netns exec NAME ...`) */
  name: string
  /** its address on the test network */
  address: string
}

export function loadNamespaces(count: number): LoadNamespace[] {
  return Array.from({ length: count }, (_, i) => ({ name: `idtw2-ns${i}`, address: `${SUBNET}.${11 + i}` }))
}

const ip = (...args: string[]) => exec('ip', args, { timeout: 10_000 })
const hostVeth = (i: number) => `idtw2h${i}`

/** Remove the namespaces, veths and bridge of this or an earlier (crashed) run; whatever exists. */
export async function removeTestNetwork(count: number): Promise<void> {
  for (const [i, ns] of loadNamespaces(count).entries()) {
    await ip('netns', 'del', ns.name).catch(() => undefined)
    await ip('link', 'del', hostVeth(i)).catch(() => undefined)
  }
  await ip('link', 'del', BRIDGE).catch(() => undefined)
}

/** Create the bridge (HOST_ADDR) and `count` namespaces on it; resolves once each reaches the host side. */
export async function createTestNetwork(count: number): Promise<LoadNamespace[]> {
  await removeTestNetwork(count)
  await ip('link', 'add', BRIDGE, 'type', 'bridge')
  await ip('addr', 'add', `${HOST_ADDR}/24`, 'dev', BRIDGE)
  await ip('link', 'set', BRIDGE, 'up')
  const namespaces = loadNamespaces(count)
  for (const [i, ns] of namespaces.entries()) {
    await ip('netns', 'add', ns.name)
    await ip('link', 'add', hostVeth(i), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.name)
    await ip('link', 'set', hostVeth(i), 'master', BRIDGE)
    await ip('link', 'set', hostVeth(i), 'up')
    await ip('-n', ns.name, 'addr', 'add', `${ns.address}/24`, 'dev', 'eth0')
    await ip('-n', ns.name, 'link', 'set', 'lo', 'up')
    await ip('-n', ns.name, 'link', 'set', 'eth0', 'up')
  }
  return namespaces
}

/** Wait (at most `timeoutMs`) until a TCP connection from inside `ns` to HOST_ADDR:port succeeds. */
export async function waitReachable(ns: LoadNamespace, port: number, timeoutMs = 15_000): Promise<void> {
  const probe = `require('node:net').connect(${port}, '${HOST_ADDR}').on('connect', () => process.exit(0)).on('error', () => process.exit(1)); setTimeout(() => process.exit(1), 1000)`
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const ok = await exec('ip', ['netns', 'exec', ns.name, process.execPath, '-e', probe], {
      timeout: 5_000,
    }).then(
      () => true,
      () => false,
    )
    if (ok) return
    if (Date.now() > deadline) throw new Error(`${ns.name} (${ns.address}) cannot reach ${HOST_ADDR}:${port}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}
