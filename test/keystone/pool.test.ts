import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { UsageError } from '../../src/errors.js'
import { issueTokens } from '../../src/keystone/issue.js'
import { PoolWriter, readPool } from '../../src/keystone/pool.js'
import type { KeystoneSession } from '../../src/keystone/session.js'
import { TOKENS_ISSUE_KEYS } from '../fixtures/results.js'
import { type FakeKeystone, startFakeKeystone } from './fake-keystone.js'
import { fakeSession, jsonLines, tempDir } from './helpers.js'

const tmp = tempDir()
afterAll(() => tmp.rm())

describe('token pool file', () => {
  it('is created 0600 whatever the umask, and an existing 0644 pool is tightened to 0600', () => {
    const old = process.umask(0)
    try {
      const p = tmp.path('umask.jsonl')
      const w = new PoolWriter(p)
      w.append({ token: 't1', state: 'valid' })
      w.close()
      expect(statSync(p).mode & 0o777).toBe(0o600)
      const q = tmp.path('loose.jsonl')
      writeFileSync(q, '{"token":"t0","state":"valid"}\n')
      chmodSync(q, 0o644)
      new PoolWriter(q).close()
      expect(statSync(q).mode & 0o777).toBe(0o600)
    } finally {
      process.umask(old)
    }
  })

  it('one JSON record a line; later lines for a token win; order of first appearance is kept', () => {
    const p = tmp.path('states.jsonl')
    const w = new PoolWriter(p)
    w.append({ token: 'a', auditId: 'A', expiresAt: '2030-01-01T00:00:00Z', user: 'admin', state: 'valid' })
    w.append({ token: 'b', state: 'valid' })
    w.append({ token: 'a', state: 'revoked' })
    w.close()
    expect(readFileSync(p, 'utf8').trimEnd().split('\n')).toHaveLength(3)
    const pool = readPool(p)
    expect(pool.map((e) => e.token)).toEqual(['a', 'b'])
    expect(pool[0]).toMatchObject({ auditId: 'A', user: 'admin', state: 'revoked' })
  })

  it('ignores a torn last line on read, and cuts it before appending so new records stay on their own line', () => {
    const p = tmp.path('torn.jsonl')
    writeFileSync(p, '{"token":"a","state":"valid"}\n{"token":"b","sta', { mode: 0o600 })
    expect(readPool(p).map((e) => e.token)).toEqual(['a'])
    const w = new PoolWriter(p)
    w.append({ token: 'c', state: 'valid' })
    w.close()
    expect(jsonLines(readFileSync(p, 'utf8')).map((e) => e.token)).toEqual(['a', 'c'])
  })

  it('a malformed line in the middle is a usage error naming file and line', () => {
    const p = tmp.path('bad.jsonl')
    writeFileSync(p, '{"token":"a"}\nnope\n{"token":"c"}\n')
    expect(() => readPool(p)).toThrow(UsageError)
    expect(() => readPool(p)).toThrow(`${p}:2: not a JSON object`)
    const q = tmp.path('notoken.jsonl')
    writeFileSync(q, '{"tok":"a"}\n{"token":"c"}\n')
    expect(() => readPool(q)).toThrow(`${q}:1: record has no "token"`)
  })

  it('never cuts the tail of a file that is not a pool', () => {
    const p = tmp.path('notes.txt')
    writeFileSync(p, 'some notes without a newline')
    expect(() => new PoolWriter(p)).toThrow(/does not look like a token pool/)
    expect(readFileSync(p, 'utf8')).toBe('some notes without a newline')
  })
})

describe('issueTokens writes the pool as tokens arrive', () => {
  let fk: FakeKeystone
  let session: KeystoneSession
  beforeAll(async () => {
    fk = await startFakeKeystone()
    session = await fakeSession(fk)
  })
  afterAll(async () => {
    await session.close()
    await fk.close()
  })

  it('N records with token, audit id, times, user, project and state, 0600, and the exact result', async () => {
    const p = tmp.path('issued.jsonl')
    const seen: number[] = []
    const r = await issueTokens({
      session,
      count: 25,
      out: p,
      concurrency: 4,
      progressIntervalMs: 0,
      onProgress: (pr) => {
        // written as they arrive: the file already holds what progress reports
        if (!pr.final) seen.push(jsonLines(readFileSync(p, 'utf8')).length - pr.issued)
      },
    })
    expect(Object.keys(r).sort()).toEqual(TOKENS_ISSUE_KEYS)
    expect(r).toMatchObject({
      version: 2,
      kind: 'tokens.issue',
      issued: 25,
      failed: 0,
      retries: 0,
      reauthentications: 0,
      failureReasons: {},
      file: p,
      method: 'token',
      caller: 'password',
      interrupted: false,
    })
    expect(seen.length).toBeGreaterThan(0)
    expect(seen.every((d) => d === 0)).toBe(true)
    expect(statSync(p).mode & 0o777).toBe(0o600)
    const lines = jsonLines(readFileSync(p, 'utf8'))
    expect(lines).toHaveLength(25)
    expect(new Set(lines.map((l) => l.token)).size).toBe(25)
    for (const l of lines) {
      expect(Object.keys(l).sort()).toEqual(
        ['token', 'auditId', 'issuedAt', 'expiresAt', 'user', 'project', 'state'].sort(),
      )
      expect(l).toMatchObject({ user: 'admin', project: 'admin', state: 'valid' })
    }
    // token method: one password authentication (the session), then only the token method
    expect(fk.passwordAuths).toBe(1)
  })

  it('--method password authenticates for every token', async () => {
    fk.reset()
    const p = tmp.path('pw.jsonl')
    const r = await issueTokens({ session, count: 5, out: p, method: 'password', concurrency: 2 })
    expect(r.issued).toBe(5)
    expect(fk.passwordAuths).toBe(5)
  })

  it('a wrong password mid-run (password method) stops the run with an AuthError; no file when nothing was issued', async () => {
    fk.reset()
    fk.faults.wrongPassword = true
    const p = tmp.path('never.jsonl')
    const err = await issueTokens({ session, count: 5, out: p, method: 'password' }).catch((e) => e)
    expect(err.exitCode).toBe(2)
    expect(err.message).toMatch(/rejected the credentials of user "admin"/)
    expect(existsSync(p)).toBe(false)
  })
})
