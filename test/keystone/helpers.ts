import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach } from 'vitest'
import type { AuthSettings } from '../../src/config/settings.js'
import type { Clock } from '../../src/keystone/bulk.js'
import type { LedgerHeader } from '../../src/keystone/ledger.js'
import type { BulkProgress } from '../../src/keystone/progress.js'
import { revokeBulk } from '../../src/keystone/revoke.js'
import { type KeystoneSession, openSession } from '../../src/keystone/session.js'
import type { RevokeBulkResult } from '../../src/results/types.js'
import { FAKE_PASSWORD, type FakeKeystone, startFakeKeystone } from './fake-keystone.js'

export function fakeSettings(fk: FakeKeystone, password = FAKE_PASSWORD): AuthSettings {
  return passwordSettings(fk.authUrl, password)
}

/**
 * The environment of a CLI run against the fake Keystone: its URL and the admin password in OS_* variables (no
 * clouds.yaml), and the state directory (default ledgers) under `stateDir`.
 */
export function fakeCliEnv(
  fk: FakeKeystone,
  stateDir: string,
  password = FAKE_PASSWORD,
): Record<string, string> {
  return {
    OS_CLOUD: '',
    OS_CLIENT_CONFIG_FILE: '',
    OS_AUTH_URL: fk.authUrl,
    OS_USERNAME: 'admin',
    OS_PASSWORD: password,
    OS_PROJECT_NAME: 'admin',
    OS_USER_DOMAIN_NAME: 'Default',
    OS_PROJECT_DOMAIN_NAME: 'Default',
    XDG_STATE_HOME: stateDir,
  }
}

/** Settings of a password caller `admin` scoped to project `admin`, both in domain Default. */
export function passwordSettings(authUrl: string, password: string): AuthSettings {
  return {
    authUrl,
    authType: 'password',
    credential: { type: 'password', user: { name: 'admin', domainName: 'Default' }, password },
    scope: { kind: 'project', name: 'admin', domainName: 'Default' },
    tls: { verify: true },
    sources: {},
  }
}

export function fakeSession(fk: FakeKeystone, opts: { timeoutMs?: number } = {}): Promise<KeystoneSession> {
  return openSession(fakeSettings(fk), { timeoutMs: opts.timeoutMs ?? 5_000, connections: 32 })
}

/**
 * A fake Keystone and a session on it for the enclosing suite: started before its tests (then `use` gets
 * both), reset before each test, closed after the last one, then `after` runs (e.g. a temporary directory's rm).
 * `sessionOpts` go to fakeSession (e.g. a short request timeout).
 */
export function withFakeKeystone(
  use: (fk: FakeKeystone, session: KeystoneSession) => void,
  after: () => void = () => {},
  sessionOpts: { timeoutMs?: number } = {},
): void {
  let fk: FakeKeystone | undefined
  let session: KeystoneSession | undefined
  beforeAll(async () => {
    fk = await startFakeKeystone()
    session = await fakeSession(fk, sessionOpts)
    use(fk, session)
  })
  afterAll(async () => {
    await session?.close()
    await fk?.close()
    after()
  })
  beforeEach(() => fk?.reset())
}

/** A private temporary directory (0700), removed by the returned cleanup. */
export function tempDir(prefix = 'idtool-tokens-'): {
  dir: string
  path: (name: string) => string
  rm: () => void
} {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, path: (n) => join(dir, n), rm: () => rmSync(dir, { recursive: true, force: true }) }
}

/** A clock whose sleeps return at once but are recorded (for backoff and pacing assertions). */
export function recordingClock(): Clock & { sleeps: number[] } {
  const sleeps: number[] = []
  let t = 0
  return {
    sleeps,
    now: () => t,
    wallNow: () => Date.now(),
    sleep: async (ms) => {
      sleeps.push(ms)
      t += ms
    },
  }
}

/** Every complete line of a JSONL text, parsed. */
export function jsonLines<T = Record<string, unknown>>(text: string): T[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T)
}

/** The run header of a count-mode ledger of `count` tokens, of a Keystone nobody listens on. */
export function ledgerHeader(count: number): LedgerHeader {
  return {
    type: 'run',
    v: 1,
    mode: 'count',
    count,
    authUrl: 'http://127.0.0.1:1/v3',
    startedAt: '2026-11-21T00:00:00.000Z',
  }
}

/**
 * A count-mode revoke-bulk run of `count` tokens into `ledger`, one chunk, aborted as soon as `stop` says so
 * (like a killed run): its ledger is left incomplete for a resume.
 */
export function abortedRun(
  session: KeystoneSession,
  ledger: string,
  opts: { count: number; concurrency: number; stop: (progress: BulkProgress) => boolean },
): Promise<RevokeBulkResult> {
  const ac = new AbortController()
  return revokeBulk({
    session,
    count: opts.count,
    ledger,
    concurrency: opts.concurrency,
    chunkSize: opts.count,
    progressIntervalMs: 0,
    onProgress: (p) => {
      if (opts.stop(p)) ac.abort()
    },
    signal: ac.signal,
  })
}
