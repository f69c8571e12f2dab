import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { benchValidate, type ValidateBenchSettings } from '../../src/bench/validate.js'
import { UsageError } from '../../src/errors.js'
import { type FakeKeystone, fakeKeystoneEnv, startFakeKeystone } from '../keystone/fake-keystone.js'

// bench validate with --pid: the sampling hooks into the run through the `memory` option. The fake Keystone
// serves from this process, so this process is the server watched.
describe('benchValidate with server memory (fake Keystone)', () => {
  let fk: FakeKeystone
  beforeAll(async () => {
    fk = await startFakeKeystone()
  })
  afterAll(() => fk.close())

  const settings: ValidateBenchSettings = {
    model: 'open',
    concurrency: null,
    rate: 200,
    connections: 4,
    durationMs: 1600,
    method: 'GET',
    nocatalog: false,
    keepalive: true,
    timeoutMs: 2000,
    warmupMs: 200,
    backendHeader: 'x-backend',
  }
  const cb = { warn: () => {}, onEvent: () => {} }

  it('samples during the measured phase only, against its requests, and ends at their total', async () => {
    const r = await benchValidate(
      {
        settings,
        source: { count: 5 },
        auth: { flags: {}, env: fakeKeystoneEnv(fk.authUrl) },
        memory: { pids: [process.pid], leakThresholdBytesPerRequest: 256 },
      },
      cb,
    )
    expect(r.version).toBe(3)
    const m = r.memory!
    expect(Object.keys(m.processes)).toEqual([`pid-${process.pid}`])
    const s = m.processes[`pid-${process.pid}`]!.rssAnon
    // a tick every 500 ms over 1.6 s, and one at the end
    expect(s.samples).toBeGreaterThanOrEqual(3)
    const xs = s.series!.map((p) => p[0])
    expect(xs.every((x, i) => i === 0 || x > xs[i - 1]!)).toBe(true)
    expect(xs.at(-1)).toBe(r.requests.total)
    // warm-up requests are not on the axis
    expect(xs[0]!).toBeLessThanOrEqual(r.requests.total)
  })

  it("with --workers 2 the watch follows the workers' summed progress and ends at the merged total", async () => {
    const r = await benchValidate(
      {
        settings,
        source: { count: 6 },
        auth: { flags: {}, env: fakeKeystoneEnv(fk.authUrl) },
        workers: 2,
        memory: { pids: [process.pid], leakThresholdBytesPerRequest: 256 },
      },
      cb,
    )
    expect(r.shards?.count).toBe(2)
    const s = r.memory!.processes[`pid-${process.pid}`]!.rssAnon
    expect(s.samples).toBeGreaterThanOrEqual(2)
    const xs = s.series!.map((p) => p[0])
    expect(xs.every((x, i) => i === 0 || x > xs[i - 1]!)).toBe(true)
    expect(xs.at(-1)).toBe(r.requests.total)
  })

  it('without the option the result has no memory; a PID that is not there fails before any request', async () => {
    const plain = await benchValidate(
      {
        settings: { ...settings, durationMs: 300, warmupMs: 0 },
        source: { count: 2 },
        auth: { flags: {}, env: fakeKeystoneEnv(fk.authUrl) },
      },
      cb,
    )
    expect(plain.memory).toBeUndefined()
    const before = fk.requests
    const err = await benchValidate(
      {
        settings,
        source: { count: 2 },
        auth: { flags: {}, env: fakeKeystoneEnv(fk.authUrl) },
        memory: { pids: [999_999_999], leakThresholdBytesPerRequest: 256 },
      },
      cb,
    ).catch((e) => e)
    expect(err).toBeInstanceOf(UsageError)
    expect(fk.requests).toBe(before)
  })
})
