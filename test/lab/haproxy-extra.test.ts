import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import {
  EXTRA_BIND_ENV,
  extraBindFromEnv,
  haproxyCfg,
  haproxyCfgCurrent,
  parseRequestLog,
} from '../../src/lab/haproxy.js'
import { labPaths } from '../../src/lab/layout.js'

const p = labPaths('/lab')

describe('lab haproxy: extra listen addresses (opt-in)', () => {
  it('unset: the default configuration, loopback only, no log', () => {
    expect(extraBindFromEnv({})).toEqual([])
    expect(extraBindFromEnv({ [EXTRA_BIND_ENV]: ' ' })).toEqual([])
    const cfg = haproxyCfg(p, 2, [])
    expect(cfg).toBe(haproxyCfg(p, 2, extraBindFromEnv({})))
    expect(cfg).not.toMatch(/^ring |keystone_extra|^\s+log /m)
  })

  it('set: a logged Keystone frontend on each address, the rest unchanged', () => {
    const extra = extraBindFromEnv({ [EXTRA_BIND_ENV]: '10.231.0.1, 10.232.0.1' })
    expect(extra).toEqual(['10.231.0.1', '10.232.0.1'])
    const cfg = haproxyCfg(p, 2, extra)
    expect(cfg.startsWith(haproxyCfg(p, 2, []))).toBe(true)
    const frontend = cfg.slice(cfg.indexOf('frontend keystone_extra'))
    expect([...frontend.matchAll(/bind (\S+)/g)].map((m) => m[1])).toEqual([
      '10.231.0.1:5000',
      '10.232.0.1:5000',
    ])
    expect(frontend).toContain('log ring@requests')
    expect(frontend).toContain('req.hdr(x-subject-token),sha1,hex')
    expect(frontend).toContain('default_backend keystone_workers')
  })

  describe('is the configuration on disk current?', () => {
    const dir = mkdtempSync(join(tmpdir(), 'idtool-haproxy-'))
    const lab = labPaths(dir)
    mkdirSync(dirname(lab.haproxyCfg), { recursive: true })
    const onDisk = (extra: string[]) => writeFileSync(lab.haproxyCfg, haproxyCfg(lab, 2, extra))
    afterEach(() => {
      delete process.env[EXTRA_BIND_ENV]
    })
    afterAll(() => rmSync(dir, { recursive: true, force: true }))

    it('unset: the default, and a lab opened to extra addresses (a lab up elsewhere leaves it open)', () => {
      onDisk([])
      expect(haproxyCfgCurrent(lab, 2)).toBe(true)
      expect(haproxyCfgCurrent(lab, 3)).toBe(false)
      onDisk(['10.231.0.1'])
      expect(haproxyCfgCurrent(lab, 2)).toBe(true)
      expect(haproxyCfgCurrent(lab, 3)).toBe(false)
    })

    it('set: only the configuration with exactly those addresses', () => {
      process.env[EXTRA_BIND_ENV] = '10.231.0.1'
      onDisk([])
      expect(haproxyCfgCurrent(lab, 2)).toBe(false)
      onDisk(['10.231.0.1'])
      expect(haproxyCfgCurrent(lab, 2)).toBe(true)
      onDisk(['10.231.0.2'])
      expect(haproxyCfgCurrent(lab, 2)).toBe(false)
    })
  })

  it('refuses what is not an IPv4 address', () => {
    expect(() => extraBindFromEnv({ [EXTRA_BIND_ENV]: '0.0.0.0:5000' })).toThrow(
      /not an IPv4 address: 0.0.0.0:5000/,
    )
  })

  it('parses the request log (source, method, path, status, token hash) and skips other lines', () => {
    const text = [
      '10.231.0.11 GET /v3/auth/tokens 200 {A9993E364706816ABA3E25717850C26C9CD0D89D}',
      '10.231.0.12 POST /v3/auth/tokens 201 {}',
      'something else',
      '',
    ].join('\n')
    expect(parseRequestLog(text)).toEqual([
      {
        source: '10.231.0.11',
        method: 'GET',
        path: '/v3/auth/tokens',
        status: 200,
        subjectTokenSha1: 'a9993e364706816aba3e25717850c26c9cd0d89d',
      },
      { source: '10.231.0.12', method: 'POST', path: '/v3/auth/tokens', status: 201, subjectTokenSha1: '' },
    ])
  })
})
