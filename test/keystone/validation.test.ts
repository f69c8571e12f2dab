import { describe, expect, it } from 'vitest'
import {
  FORBIDDEN_PROBE,
  forbiddenValidationWatch,
  usableTokens,
  validationRequests,
  validationUrl,
} from '../../src/keystone/validation.js'

describe('Keystone validation requests', () => {
  it('the URL of a v3 base, with or without a trailing slash', () => {
    expect(validationUrl('http://k:5000/v3')).toBe('http://k:5000/v3/auth/tokens')
    expect(validationUrl('http://k:5000/v3//')).toBe('http://k:5000/v3/auth/tokens')
  })

  it('one request per token: caller and subject headers, 200 or 404 for a revoked token', () => {
    const tokens = usableTokens([
      { token: 'a' },
      { token: 'b', state: 'revoked' },
      { token: 'c', state: 'failed' },
      { token: '' },
    ])
    const r = validationRequests(
      { url: 'http://k:5000/v3/auth/tokens', callerToken: 'me', nocatalog: true },
      tokens,
    )
    expect(r.origin).toBe('http://k:5000')
    expect(r.templates).toEqual([
      {
        path: '/v3/auth/tokens?nocatalog',
        headers: ['x-auth-token', 'me', 'x-subject-token', 'a'],
        expectedStatus: 200,
      },
      {
        path: '/v3/auth/tokens?nocatalog',
        headers: ['x-auth-token', 'me', 'x-subject-token', 'b'],
        expectedStatus: 404,
      },
    ])
    const q = validationRequests(
      { url: 'http://k/v3/auth/tokens?x=1', callerToken: 'me', nocatalog: true },
      tokens,
    )
    expect(q.templates[0]!.path).toBe('/v3/auth/tokens?x=1&nocatalog')
  })

  it('the forbidden watch stops after the probe of 403s and names the policy (HEAD: check_token)', () => {
    const w = forbiddenValidationWatch('HEAD', () => false)
    for (let i = 0; i < FORBIDDEN_PROBE - 1; i++) w.see(403)
    expect(w.stop).toBe(false)
    expect(() => w.check()).toThrow(/identity:check_token/)
    w.see(403)
    expect(w.stop).toBe(true)
    // a user interrupt before the probe is complete is no verdict; a good answer disarms it
    const i = forbiddenValidationWatch('GET', () => true)
    i.see(403)
    expect(() => i.check()).not.toThrow()
    const ok = forbiddenValidationWatch('GET', () => false)
    ok.see(200)
    ok.see(403)
    expect(() => ok.check()).not.toThrow()
  })
})
