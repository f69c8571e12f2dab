import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runValidateBench } from '../../src/bench/validate.js'
import {
  createHistogram,
  decodeHistogram,
  encodeHistogram,
  recordMs,
  toHgrm,
} from '../../src/metrics/histogram.js'
import { validateOptions } from '../fixtures/validate-options.js'
import { startServer, type TestServer } from '../helpers/server.js'

// The base64 histograms and the .hgrm text idtool writes must read back with the reference Java
// HdrHistogram (Debian libhdrhistogram-java), which is what HdrHistogram's own tools use.
const JAR = ['/usr/share/java/HdrHistogram.jar', '/usr/share/java/hdrhistogram.jar'].find((p) =>
  existsSync(p),
)
const JAVA = spawnSync('java', ['-version'], { encoding: 'utf8' }).status === 0
const PROGRAM = fileURLToPath(new URL('../fixtures/HdrDecodeCheck.java', import.meta.url))
const ready = Boolean(JAR && JAVA)
if (!ready) {
  process.stderr.write(
    `SKIP hdr-java: ${JAVA ? '' : 'java is not installed; '}${JAR ? '' : 'no HdrHistogram jar in /usr/share/java (apt-get install libhdrhistogram-java)'}\n`,
  )
}

interface JavaView {
  count: number
  max: number
  p50: number
  p99: number
  min: number
  hgrm: string
}

function decodeWithJava(histograms: string[]): JavaView[] {
  const r = spawnSync('java', ['-cp', JAR!, PROGRAM], {
    input: `${histograms.join('\n')}\n`,
    encoding: 'utf8',
    timeout: 60_000,
  })
  if (r.status !== 0) throw new Error(`java failed (${r.status}): ${r.stderr}`)
  return r.stdout
    .split('--END--\n')
    .filter((block) => block.trim())
    .map((block) => {
      const [head, ...rest] = block.split('\n')
      const v = Object.fromEntries(
        head!.split(' ').map((kv) => {
          const [k, n] = kv.split('=')
          return [k, Number(n)]
        }),
      )
      return { ...(v as Omit<JavaView, 'hgrm'>), hgrm: rest.join('\n') }
    })
}

/** Compare two .hgrm texts: every data row equal; the footer's Max may differ by one bucket's width. */
function expectSameHgrm(java: string, ours: string): void {
  const jl = java.trim().split('\n')
  const ol = ours.trim().split('\n')
  expect(ol.length).toBe(jl.length)
  jl.forEach((line, i) => {
    const mine = ol[i]!
    if (line.startsWith('#[Max')) {
      // Java prints the highest value equivalent to the max, JS the max itself
      const jm = Number(/Max\s*=\s*([\d.]+)/.exec(line)![1])
      const om = Number(/Max\s*=\s*([\d.]+)/.exec(mine)![1])
      expect(Math.abs(jm - om) / jm).toBeLessThan(0.002)
      expect(mine.replace(/Max\s*=\s*[\d.]+/, '')).toBe(line.replace(/Max\s*=\s*[\d.]+/, ''))
    } else {
      expect(mine).toBe(line)
    }
  })
}

let srv: TestServer
let n = 0

beforeAll(async () => {
  srv = await startServer(async (_req, res) => {
    const i = n++
    // spread latencies over a few orders of magnitude
    if (i % 10 === 0) await new Promise((r) => setTimeout(r, 20 + (i % 7)))
    res.writeHead(200, { 'x-backend': `ks${(i % 2) + 1}` })
    res.end('ok')
  })
})

afterAll(async () => {
  await srv.close()
})

describe.skipIf(!ready)('HDR histograms read back with the reference Java HdrHistogram', () => {
  it('a synthetic histogram: same counts, percentiles and .hgrm rows', () => {
    const h = createHistogram()
    for (let i = 1; i <= 5000; i++) recordMs(h, i * 0.137)
    recordMs(h, 12_345.6) // a 12 s outlier
    recordMs(h, 0.0004) // below 1 µs: recorded as 1 µs
    const b64 = encodeHistogram(h)
    const [j] = decodeWithJava([b64])
    expect(j!.count).toBe(5002)
    expect(j!.min).toBe(1)
    expect(j!.p50).toBe(h.getValueAtPercentile(50))
    expect(j!.p99).toBe(h.getValueAtPercentile(99))
    expect(Math.abs(j!.max - 12_345_600) / 12_345_600).toBeLessThan(0.001)
    expectSameHgrm(j!.hgrm, toHgrm(h))
  })

  it("a run's overall, uncorrected and per-backend histograms", { timeout: 60_000 }, async () => {
    const r = await runValidateBench(
      validateOptions(`${srv.url}/v3/auth/tokens`, {
        model: 'open',
        concurrency: null,
        rate: 400,
        connections: 4,
        requests: 300,
      }),
    )
    const encoded = [
      r.histogram,
      r.histogramUncorrected!,
      r.backends.ks1!.histogram!,
      r.backends.ks2!.histogram!,
    ]
    const views = decodeWithJava(encoded)
    expect(views.map((v) => v.count)).toEqual([300, 300, r.backends.ks1!.count, r.backends.ks2!.count])
    views.forEach((v, i) => {
      const ours = decodeHistogram(encoded[i]!)
      expect(v.p50).toBe(ours.getValueAtPercentile(50))
      expect(v.p99).toBe(ours.getValueAtPercentile(99))
      expectSameHgrm(v.hgrm, toHgrm(ours))
    })
    // the result's percentiles are the histogram's, in ms
    expect(r.latencyMs.p99).toBeCloseTo(views[0]!.p99 / 1000, 3)
  })
})
