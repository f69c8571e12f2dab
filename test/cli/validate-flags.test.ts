import { describe, expect, it } from 'vitest'
import {
  benchValidateFlags,
  levelsFromFlag,
  tokenSourceFromFlags,
  validateSettingsFromFlags,
} from '../../src/cli/validate-flags.js'
import { UsageError } from '../../src/errors.js'

describe('validateSettingsFromFlags', () => {
  it('defaults to a closed model, concurrency 1, 10 s, keep-alive, GET, x-backend, 30 s timeout', () => {
    expect(validateSettingsFromFlags({})).toEqual({
      model: 'closed',
      concurrency: 1,
      rate: null,
      connections: 1,
      requests: undefined,
      durationMs: 10_000,
      method: 'GET',
      nocatalog: false,
      keepalive: true,
      timeoutMs: 30_000,
      warmupMs: 0,
      backendHeader: 'x-backend',
    })
  })

  it('closed model: connections default to the concurrency; a count alone means no duration', () => {
    const s = validateSettingsFromFlags({ concurrency: 20, requests: 4000, keepalive: false })
    expect(s).toMatchObject({
      model: 'closed',
      concurrency: 20,
      connections: 20,
      requests: 4000,
      keepalive: false,
    })
    expect(s.durationMs).toBeUndefined()
  })

  it('open model from --rate, with 10 connections unless told', () => {
    expect(validateSettingsFromFlags({ rate: 150, duration: 30_000 })).toMatchObject({
      model: 'open',
      rate: 150,
      concurrency: null,
      connections: 10,
      durationMs: 30_000,
    })
    expect(validateSettingsFromFlags({ rate: 150, connections: 3 }).connections).toBe(3)
  })

  it('accepts scenario-style duration strings and lower-case methods', () => {
    const s = validateSettingsFromFlags({
      duration: '2m',
      warmup: '5s',
      timeout: '500ms',
      'http-method': 'head',
    })
    expect(s).toMatchObject({ durationMs: 120_000, warmupMs: 5000, timeoutMs: 500, method: 'HEAD' })
  })

  it('rejects contradictions and bad values with a usage error', () => {
    expect(() => validateSettingsFromFlags({ rate: 10, concurrency: 5 })).toThrow(UsageError)
    expect(() => validateSettingsFromFlags({ rate: 10, concurrency: 5 })).toThrow(/exclude each other/)
    expect(() => validateSettingsFromFlags({ rate: 0 })).toThrow(/--rate/)
    expect(() => validateSettingsFromFlags({ concurrency: 1.5 })).toThrow(/--concurrency/)
    expect(() => validateSettingsFromFlags({ duration: 'soon' })).toThrow(/--duration/)
    expect(() => validateSettingsFromFlags({ duration: 0 })).toThrow(/--duration/)
    expect(() => validateSettingsFromFlags({ 'http-method': 'POST' })).toThrow(/GET or HEAD/)
    expect(() => validateSettingsFromFlags({ timeout: 0 })).toThrow(/--timeout/)
  })

  it('--http-client undici selects undici for every target; auto leaves the choice to the engine', () => {
    expect(validateSettingsFromFlags({ 'http-client': 'undici' }).client).toBe('undici')
    expect(validateSettingsFromFlags({ 'http-client': 'auto' }).client).toBeUndefined()
    expect(() => validateSettingsFromFlags({ 'http-client': 'curl' })).toThrow(UsageError)
  })

  it('every flag has a description, and the ab/wrk-style short names exist', () => {
    for (const [name, flag] of Object.entries(benchValidateFlags)) {
      expect(flag.description, name).toBeTruthy()
    }
    expect(benchValidateFlags.requests.char).toBe('n')
    expect(benchValidateFlags.concurrency.char).toBe('c')
    expect(benchValidateFlags.duration.char).toBe('d')
    expect(benchValidateFlags.keepalive.allowNo).toBe(true)
  })
})

describe('tokenSourceFromFlags', () => {
  it('needs a pool file or a count', () => {
    expect(() => tokenSourceFromFlags({})).toThrow(/--tokens POOL.jsonl or --token-count N/)
    expect(tokenSourceFromFlags({ tokens: 'p.jsonl' })).toEqual({ file: 'p.jsonl', count: undefined })
    expect(tokenSourceFromFlags({ 'token-count': 5 })).toEqual({ file: undefined, count: 5 })
    expect(tokenSourceFromFlags({ tokens: 'new.jsonl', 'token-count': 5 })).toEqual({
      file: 'new.jsonl',
      count: 5,
    })
  })

  it('a default count stands in for both (bench sweep), never beside a pool file', () => {
    expect(tokenSourceFromFlags({}, 100)).toEqual({ file: undefined, count: 100 })
    expect(tokenSourceFromFlags({ tokens: 'p.jsonl' }, 100)).toEqual({ file: 'p.jsonl', count: undefined })
    expect(tokenSourceFromFlags({ 'token-count': 5 }, 100)).toEqual({ file: undefined, count: 5 })
  })
})

describe('levelsFromFlag', () => {
  it('--revocations is required, and parsed as levels', () => {
    expect(() => levelsFromFlag(undefined)).toThrow(/missing --revocations/)
    expect(levelsFromFlag('10k,0,1000')).toEqual([0, 1000, 10_000])
  })
})
