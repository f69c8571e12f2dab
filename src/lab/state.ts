import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import type { LabSpec } from '../results/types.js'
import type { LabPaths } from './layout.js'

/** state.json: what `lab up` made (no secret: those are files in secrets/). */
export interface LabState {
  version: 1
  spec: LabSpec
  ldapDomain?: { name: string; id: string }
  /** The application credential of cloud idtool-lab-appcred (its secret is in secrets/, never here). */
  appCred?: { id: string; name: string }
  createdAt: string
  updatedAt: string
}

export function readState(p: LabPaths): LabState | undefined {
  try {
    return JSON.parse(readFileSync(p.state, 'utf8')) as LabState
  } catch {
    return undefined
  }
}

export function writeState(p: LabPaths, state: LabState): void {
  writeFileSync(p.state, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 })
}

/**
 * Whether a lab made with `a` runs what `b` asks for (the TLS choice aside: it only rewrites clouds.yaml). A
 * spec without a server (a lab made before `--server`) is uwsgi.
 */
export function sameSpec(a: LabSpec | undefined, b: LabSpec): boolean {
  return (
    Boolean(a) &&
    a!.workers === b.workers &&
    a!.cache === b.cache &&
    a!.db === b.db &&
    a!.ldapUsers === b.ldapUsers &&
    (a!.server ?? 'uwsgi') === (b.server ?? 'uwsgi')
  )
}

/** Write a file readable by its owner only (0600, also when it existed with wider permissions). */
export function writeFileSecret(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 })
  chmodSync(path, 0o600)
}

/** Read a secret file, creating it with a random value (0600) when missing. */
export function labSecret(path: string): string {
  if (existsSync(path)) return readFileSync(path, 'utf8').trim()
  const value = randomBytes(18).toString('base64url')
  writeFileSecret(path, `${value}\n`)
  return value
}
