import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runValidateBench, type ValidateBenchOptions } from '../../src/bench/validate.js'
import { IdtoolError } from '../../src/errors.js'
import { ForbiddenWatch } from '../../src/keystone/policy.js'
import { FORBIDDEN_PROBE } from '../../src/keystone/validation.js'
import { validateOptions } from '../fixtures/validate-options.js'
import { startServer, type TestServer } from '../helpers/server.js'

// Issue 12 item 14: a caller the policy does not allow gets 403 for every validation. The run stops after
// the first answers (not after the whole duration) with exit 2 naming the policy rule and the roles.
// The server: 403 for the caller "reader" (and for the subject "secret" whoever asks), 200 otherwise.
let srv: TestServer
let seen = 0
beforeAll(async () => {
  srv = await startServer((req, res) => {
    seen++
    const forbidden = req.headers['x-auth-token'] === 'reader' || req.headers['x-subject-token'] === 'secret'
    res.writeHead(forbidden ? 403 : 200, { 'content-type': 'application/json' })
    res.end(
      req.method === 'HEAD'
        ? undefined
        : JSON.stringify(
            forbidden
              ? { error: { code: 403, message: 'You are not authorized to perform the requested action.' } }
              : { token: {} },
          ),
    )
  })
})
afterAll(() => srv.close())

const options = (over: Partial<ValidateBenchOptions> = {}): ValidateBenchOptions =>
  validateOptions(`${srv.url}/v3/auth/tokens`, {
    callerToken: 'reader',
    tokens: [{ token: 'a' }, { token: 'b' }, { token: 'c' }],
    requests: 5000,
    ...over,
  })

async function thrown(p: Promise<unknown>): Promise<IdtoolError> {
  try {
    await p
  } catch (err) {
    return err as IdtoolError
  }
  throw new Error('expected the run to fail')
}

describe('bench validate when every answer is 403', () => {
  it('stops after the first answers with exit 2 naming identity:validate_token and the roles', async () => {
    seen = 0
    const t0 = Date.now()
    const err = await thrown(runValidateBench(options()))
    expect(err).toBeInstanceOf(IdtoolError)
    expect(err.exitCode).toBe(2)
    expect(err.code).toBe('FORBIDDEN')
    expect(err.message).toMatch(
      /^Keystone answered 403 to all \d+ validation requests: the caller may not validate other users' tokens \(policy identity:validate_token\)$/,
    )
    expect(err.hint).toMatch(
      /admin role, the reader role with system scope \(system_scope: all\), the service role/,
    )
    expect(err.hint).not.toMatch(/--resume/)
    // stopped early: the probe plus what was in flight, not 5000
    expect(seen).toBeGreaterThanOrEqual(FORBIDDEN_PROBE)
    expect(seen).toBeLessThanOrEqual(FORBIDDEN_PROBE + 4)
    expect(Date.now() - t0).toBeLessThan(5000)
  })

  it('HEAD names identity:check_token', async () => {
    const err = await thrown(runValidateBench(options({ method: 'HEAD' })))
    expect(err.message).toMatch(/may not check \(HEAD\) other users' tokens \(policy identity:check_token\)/)
    expect(err.exitCode).toBe(2)
  })

  it('a run shorter than the probe whose every answer is 403 fails the same way', async () => {
    const err = await thrown(runValidateBench(options({ requests: 5 })))
    expect(err.message).toMatch(/^Keystone answered 403 to all 5 validation requests/)
  })

  it('a warm-up whose every answer is 403 stops the run before measuring', async () => {
    seen = 0
    const err = await thrown(
      runValidateBench(
        options({
          model: 'open',
          concurrency: null,
          rate: 20,
          warmupMs: 300,
          requests: undefined,
          durationMs: 10_000,
        }),
      ),
    )
    expect(err.code).toBe('FORBIDDEN')
    expect(seen).toBeLessThan(FORBIDDEN_PROBE)
  })

  it('some 403s among good answers are counted, not fatal', async () => {
    const r = await runValidateBench(
      options({ callerToken: 'admin', tokens: [{ token: 'a' }, { token: 'secret' }], requests: 40 }),
    )
    expect(r.requests.total).toBe(40)
    expect(r.statusCodes['403']).toBe(20)
    expect(r.requests.unexpectedStatus).toBe(20)
  })
})

describe('ForbiddenWatch', () => {
  it('trips after `probe` 403s from the start, never after another answer', () => {
    const w = new ForbiddenWatch(3)
    w.see(0) // a transport error is no answer
    w.see(403)
    w.see(403)
    expect([w.allForbidden, w.tripped]).toEqual([true, false])
    w.see(403)
    expect(w.tripped).toBe(true)
    const m = new ForbiddenWatch(3)
    m.see(403)
    m.see(200)
    for (let i = 0; i < 10; i++) m.see(403)
    expect([m.allForbidden, m.tripped]).toEqual([false, false])
  })
})
