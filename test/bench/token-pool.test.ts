import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Agent } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { prepareValidateTokens } from '../../src/bench/token-pool.js'
import { UsageError } from '../../src/errors.js'
import { KeystoneClient } from '../../src/keystone/client.js'
import type { KeystoneSession } from '../../src/keystone/session.js'
import { startServer, type TestServer } from '../helpers/server.js'
import { passwordSettings } from '../keystone/helpers.js'

// A stand-in for Keystone's token-method issue route (unit test only), with one transient 503.
let srv: TestServer
let session: KeystoneSession
let issued = 0
let active = 0
let maxActive = 0
let fail503Once = true
const dir = mkdtempSync(join(tmpdir(), 'idtool-load-tokens-'))

beforeAll(async () => {
  srv = await startServer(async (req, res) => {
    active++
    maxActive = Math.max(maxActive, active)
    await new Promise((r) => setTimeout(r, 5))
    active--
    if (req.method !== 'POST') {
      res.writeHead(405)
      res.end()
      return
    }
    if (fail503Once) {
      fail503Once = false
      res.writeHead(503, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: { message: 'busy' } }))
      return
    }
    const body = JSON.parse(req.body)
    if (body.auth.identity.token.id !== 'caller') {
      res.writeHead(401, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: { message: 'bad caller' } }))
      return
    }
    issued++
    res.writeHead(201, { 'x-subject-token': `tok-${issued}`, 'content-type': 'application/json' })
    res.end(
      JSON.stringify({
        token: {
          audit_ids: [`audit-${issued}`],
          issued_at: '2026-11-21T00:00:00Z',
          expires_at: '2026-11-21T01:00:00Z',
          user: { id: 'u', name: 'admin' },
          project: { id: 'p', name: 'admin' },
        },
      }),
    )
  })
  const dispatcher = new Agent()
  session = {
    client: new KeystoneClient({ authUrl: `${srv.url}/v3`, dispatcher }),
    dispatcher,
    settings: passwordSettings(`${srv.url}/v3`, 'unused'),
    caller: { token: 'caller' },
    callerKind: 'password',
    callerName: 'user "admin"',
    tls: { rejectUnauthorized: true },
    close: () => dispatcher.close(),
  }
})

afterAll(async () => {
  await session.close()
  await srv.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('prepareValidateTokens', () => {
  it('issues N tokens with bounded concurrency and keeps them in memory: no file anywhere', async () => {
    const temps = () => readdirSync(tmpdir()).filter((f) => f.startsWith('idtool-bench-validate-')).length
    const tempsBefore = temps()
    const progress: number[] = []
    const p = await prepareValidateTokens(
      session,
      { count: 30 },
      { concurrency: 4, onProgress: (n) => progress.push(n) },
    )
    expect(p.tokens.length).toBe(30)
    expect(new Set(p.tokens.map((t) => t.token)).size).toBe(30)
    expect(p.tokens.every((t) => t.state === 'valid')).toBe(true)
    expect(p.issued).toBe(30)
    expect(p.file).toBeUndefined()
    expect(maxActive).toBeLessThanOrEqual(4)
    expect(progress.at(-1)).toBe(30)
    expect(temps()).toBe(tempsBefore)
  })

  it('issues into a named file, keeps it (0600) and returns the same tokens', async () => {
    const file = join(dir, 'fresh.jsonl')
    const p = await prepareValidateTokens(session, { count: 3, file })
    expect(p.file).toBe(file)
    const lines = readFileSync(file, 'utf8').trim().split('\n')
    expect(lines.map((l) => JSON.parse(l).token)).toEqual(p.tokens.map((t) => t.token))
    expect(JSON.parse(lines[0]!)).toMatchObject({ state: 'valid', user: 'admin', project: 'admin' })
    expect(statSync(file).mode & 0o777).toBe(0o600)
  })

  it('refuses to overwrite an existing pool when issuing', async () => {
    const file = join(dir, 'exists.jsonl')
    writeFileSync(file, '')
    await expect(prepareValidateTokens(session, { count: 3, file })).rejects.toThrow(UsageError)
  })

  it('reads a pool file, skipping failed entries and keeping revoked ones', async () => {
    const file = join(dir, 'pool.jsonl')
    writeFileSync(
      file,
      [
        { token: 't1', state: 'valid' },
        { token: 't2', state: 'revoked' },
        { token: 't3', state: 'failed' },
      ]
        .map((e) => JSON.stringify(e))
        .join('\n'),
    )
    const p = await prepareValidateTokens(session, { file })
    expect(p.tokens).toEqual([
      { token: 't1', state: 'valid' },
      { token: 't2', state: 'revoked' },
    ])
    expect(p.issued).toBe(0)
  })

  it('a pool with nothing usable is a usage error', async () => {
    const file = join(dir, 'empty.jsonl')
    writeFileSync(file, `${JSON.stringify({ token: 'x', state: 'failed' })}\n`)
    await expect(prepareValidateTokens(session, { file })).rejects.toThrow(/no usable token/)
  })

  it('a rejected caller fails the preparation and leaves no temporary file', async () => {
    const bad = { ...session, caller: { token: 'nope' } }
    const before = issued
    const temps = () => readdirSync(tmpdir()).filter((f) => f.startsWith('idtool-bench-validate-')).length
    const tempsBefore = temps()
    await expect(prepareValidateTokens(bad, { count: 5 })).rejects.toThrow(/401|rejected/)
    expect(issued).toBe(before)
    expect(temps()).toBe(tempsBefore)
  })
})
