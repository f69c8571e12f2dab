import * as hdr from 'hdr-histogram-js'
import { describe, expect, it } from 'vitest'
import { createHistogram, encodeHistogram, fastCountsIndex, recordMs } from '../../src/metrics/histogram.js'

// the library's own index, for comparison with the instance's cheaper one
const libraryIndex = (h: hdr.Histogram, v: number): number =>
  (Object.getPrototypeOf(h) as { countsArrayIndex(v: number): number }).countsArrayIndex.call(h, v)
const index = (h: hdr.Histogram, v: number): number =>
  (h as unknown as { countsArrayIndex(v: number): number }).countsArrayIndex(v)

describe('fastCountsIndex', () => {
  it('places every value where the library does (bucket edges, powers of two, large values)', () => {
    const h = createHistogram()
    const values: number[] = []
    for (let v = 1; v <= 70_000; v++) values.push(v)
    for (let k = 1; k < 31; k++) values.push(2 ** k - 1, 2 ** k, 2 ** k + 1)
    values.push(3_600_000_000, 2 ** 31 - 1, 2 ** 31, 2 ** 33 + 5, 1.5, 0)
    let x = 12345
    for (let i = 0; i < 20_000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31
      values.push(x)
    }
    for (const v of values) expect(index(h, v), `value ${v}`).toBe(libraryIndex(h, v))
  })

  it('keeps other settings on the library path (a unit magnitude above 0)', () => {
    const h = fastCountsIndex(
      hdr.build({
        bitBucketSize: 64,
        lowestDiscernibleValue: 1000,
        highestTrackableValue: 1e12,
        useWebAssembly: false,
      }),
    )
    for (const v of [1, 999, 1000, 1001, 2047, 2048, 123_456_789, 2 ** 31 - 1])
      expect(index(h, v), `value ${v}`).toBe(libraryIndex(h, v))
  })

  it('records the same histogram as the library alone', () => {
    const fast = createHistogram()
    const plain = hdr.build({
      bitBucketSize: 64,
      autoResize: true,
      lowestDiscernibleValue: 1,
      highestTrackableValue: 3_600_000_000,
      numberOfSignificantValueDigits: 3,
      useWebAssembly: false,
    })
    let x = 7
    for (let i = 0; i < 50_000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31
      const ms = (x % 5_000_000) / 997
      recordMs(fast, ms)
      recordMs(plain, ms)
    }
    recordMs(fast, 7_200_000) // beyond the range: the library resizes
    recordMs(plain, 7_200_000)
    expect(encodeHistogram(fast)).toBe(encodeHistogram(plain))
    expect(fast.getValueAtPercentile(99)).toBe(plain.getValueAtPercentile(99))
  })
})
