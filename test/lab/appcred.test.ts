import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ensureLabAppCred, readAppCred } from '../../src/lab/appcred.js'

/**
 * A loopback stand-in for the Keystone rules the helper relies on (seen on the lab's Keystone 22):
 * a project-scoped password token may create a credential, the name is unique per user (409), the
 * secret is returned once, a deleted credential no longer authenticates.
 */
const PASSWORD = 'admin-pw-3d9'
interface Cred {
  id: string
  name: string
  secret: string
}
let creds: Cred[]
let calls: string[]
let server: Server
let url: string
let dir: string
let seq = 0

function reply(res: import('node:http').ServerResponse, status: number, body?: unknown, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers })
  res.end(body === undefined ? '' : JSON.stringify(body))
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'idtool-appcred-'))
  server = createServer((req, res) => {
    let raw = ''
    req.on('data', (c) => {
      raw += c
    })
    req.on('end', () => {
      const body = raw ? JSON.parse(raw) : undefined
      const path = req.url ?? ''
      calls.push(`${req.method} ${path.replace(/\/[0-9a-f]{8,}/g, '/ID')}`)
      if (req.method === 'POST' && path === '/v3/auth/tokens') {
        const id = body.auth.identity
        if (id.methods[0] === 'password') {
          if (id.password.user.password !== PASSWORD || !body.auth.scope?.project) return reply(res, 401)
          return reply(
            res,
            201,
            { token: { user: { id: 'u1' }, project: { id: 'p1' } } },
            { 'x-subject-token': 'tok' },
          )
        }
        const c = creds.find((x) => x.id === id.application_credential.id)
        return c && c.secret === id.application_credential.secret
          ? reply(res, 201, {}, { 'x-subject-token': 't2' })
          : reply(res, 401)
      }
      if (req.headers['x-auth-token'] !== 'tok') return reply(res, 401)
      const base = '/v3/users/u1/application_credentials'
      if (req.method === 'GET' && path.startsWith(`${base}?name=`)) {
        const name = decodeURIComponent(path.slice(`${base}?name=`.length))
        return reply(res, 200, {
          application_credentials: creds.filter((c) => c.name === name).map(({ id, name }) => ({ id, name })),
        })
      }
      if (req.method === 'DELETE' && path.startsWith(`${base}/`)) {
        const id = path.slice(base.length + 1)
        const before = creds.length
        creds = creds.filter((c) => c.id !== id)
        return reply(res, creds.length < before ? 204 : 404)
      }
      if (req.method === 'POST' && path === base) {
        const { name, unrestricted } = body.application_credential
        if (unrestricted !== false) return reply(res, 400)
        if (creds.some((c) => c.name === name))
          return reply(res, 409, {
            error: { code: 409, message: `Duplicate entry found with name ${name}.` },
          })
        const c = { id: `abcdef00${++seq}`.padEnd(32, '0'), name, secret: `s3cr3t-${seq}` }
        creds.push(c)
        return reply(res, 201, { application_credential: { ...c, project_id: 'p1' } })
      }
      reply(res, 404)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v3`
})
afterAll(async () => {
  await new Promise((r) => server.close(r))
  rmSync(dir, { recursive: true, force: true })
})
beforeEach(() => {
  creds = []
  calls = []
})

const log = () => {}

describe('the lab application credential', () => {
  it('is made once, stored 0600, then reused while it authenticates', async () => {
    const file = join(dir, 'a.json')
    const first = await ensureLabAppCred({ authUrl: url, adminPassword: PASSWORD, file, log })
    expect(first.action).toBe('created')
    expect(first.cred).toMatchObject({ name: 'idtool-lab', userId: 'u1', projectId: 'p1' })
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(readAppCred(file)).toEqual(first.cred)
    calls = []
    const again = await ensureLabAppCred({ authUrl: url, adminPassword: PASSWORD, file, log })
    expect(again).toEqual({ cred: first.cred, action: 'reused' })
    // one authentication with the credential itself, nothing else
    expect(calls).toEqual(['POST /v3/auth/tokens'])
    expect(creds).toHaveLength(1)
  })

  it('replaces a credential whose stored secret no longer works (the name would be a 409)', async () => {
    const file = join(dir, 'b.json')
    const first = await ensureLabAppCred({ authUrl: url, adminPassword: PASSWORD, file, log })
    writeFileSync(file, JSON.stringify({ ...first.cred, secret: 'lost' }))
    const second = await ensureLabAppCred({ authUrl: url, adminPassword: PASSWORD, file, log })
    expect(second.action).toBe('created')
    expect(second.reason).toBe('the stored one no longer authenticates (401)')
    expect(second.replacedId).toBe(first.cred.id)
    expect(second.cred.id).not.toBe(first.cred.id)
    expect(creds.map((c) => c.id)).toEqual([second.cred.id])
    expect(readAppCred(file)?.secret).toBe(second.cred.secret)
  })

  it('makes a new one when Keystone was rebuilt (the stored id is unknown)', async () => {
    const file = join(dir, 'c.json')
    await ensureLabAppCred({ authUrl: url, adminPassword: PASSWORD, file, log })
    creds = []
    const r = await ensureLabAppCred({ authUrl: url, adminPassword: PASSWORD, file, log })
    expect(r.action).toBe('created')
    expect(r.replacedId).toBeUndefined()
  })

  it('stops with the Keystone message when the admin password is refused, without printing it', async () => {
    const file = join(dir, 'd.json')
    const err = await ensureLabAppCred({ authUrl: url, adminPassword: 'wrong-pw-91', file, log }).catch(
      (e) => e,
    )
    expect(err).toBeInstanceOf(Error)
    expect(err.message).toBe('lab: admin password authentication failed: 401')
    expect(JSON.stringify({ m: err.message, h: err.hint })).not.toContain('wrong-pw-91')
    expect(() => readFileSync(file)).toThrow()
  })
})
