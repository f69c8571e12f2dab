import { Pool } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { type LeakTarget, runPageLeakCheck } from '../../src/ldap/page-leak-check.js'
import { type Leaky, startLeaky as start } from './leaky.js'

const started: Leaky[] = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((l) => l.stop()))
})

async function startLeaky(args: string[]): Promise<Leaky> {
  const l = await start(args)
  started.push(l)
  return l
}

/** A target whose iteration is one HTTP GET to the fixture (one request = one leak). */
function httpTarget(port: number): LeakTarget {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 1 })
  return {
    mode: 'direct',
    description: `http://127.0.0.1:${port}`,
    pageSize: 1,
    async open() {
      return {
        async iterate() {
          const t = performance.now()
          const res = await pool.request({ path: '/', method: 'GET' })
          await res.body.dump()
          const ms = performance.now() - t
          return { entries: 1, pages: 1, pageMs: [ms], searchMs: ms, duplicates: 0 }
        },
        async close() {},
      }
    },
    close: () => pool.close(),
  }
}

/**
 * Start the fixture over HTTP with `args` (between --mode http and --gc-every 25), judge it through /proc with
 * a 1 KiB threshold; the result and the fixture's RssAnon subject.
 */
async function judgeFixture(
  args: string[],
  run: { iterations: number; warmup: number; sampleEvery: number },
) {
  const { port, pid } = await startLeaky(['--mode', 'http', ...args, '--gc-every', '25'])
  const { result } = await runPageLeakCheck({
    target: httpTarget(port),
    ...run,
    concurrency: 1,
    leakThresholdBytesPerIteration: 1024,
    pids: [pid],
  })
  const anon = result.subjects.find((s) => s.pid === pid && s.metric === 'RssAnon')!
  return { result, anon }
}

describe('the leaky fixture process, judged through /proc', () => {
  const leakBytes = 64 * 1024
  const leaking = { iterations: 80, warmup: 10, sampleEvery: 2 }

  it('is called a leak, with a slope within 25% of the 64 KiB it leaks per request', async () => {
    const { result, anon } = await judgeFixture(['--leak-bytes', String(leakBytes)], leaking)
    expect(anon.verdict).toBe('leak')
    expect(Math.abs(anon.slopeBytesPerIteration - leakBytes) / leakBytes).toBeLessThan(0.25)
    expect(anon.endBytes - anon.startBytes).toBeGreaterThan(60 * leakBytes)
    expect(result.verdict).toBe('leak')
  })

  it('also with real allocations (--style alloc), within 25%', async () => {
    const { anon } = await judgeFixture(['--style', 'alloc', '--leak-bytes', String(leakBytes)], leaking)
    expect(anon.verdict).toBe('leak')
    expect(Math.abs(anon.slopeBytesPerIteration - leakBytes) / leakBytes).toBeLessThan(0.25)
  })

  it('is called no-leak when it leaks nothing', async () => {
    // Without --gc-every a node server's resident memory grows by ~1 KiB per request for a long time:
    // promoted garbage waits for V8's next major collection. With it, the process is truly flat.
    const { anon } = await judgeFixture(['--leak-bytes', '0'], {
      iterations: 300,
      warmup: 300,
      sampleEvery: 6,
    })
    expect(anon.verdict).toBe('no-leak')
    expect(anon.ci95[1]).toBeLessThan(1024)
  })
})
