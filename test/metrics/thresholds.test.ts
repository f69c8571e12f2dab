import { describe, expect, it } from 'vitest'
import { compare, parseThreshold, ThresholdSyntaxError } from '../../src/metrics/thresholds.js'

describe('parseThreshold: good expressions', () => {
  it('reads latencies with units into milliseconds', () => {
    expect(parseThreshold('p99 < 250ms')).toMatchObject({
      metric: 'p99',
      op: '<',
      value: { type: 'number', value: 250 },
    })
    expect(parseThreshold('p50<=1.5s').value).toEqual({ type: 'number', value: 1500, unit: 's' })
    expect(parseThreshold('max < 800us').value).toMatchObject({ value: 0.8 })
    expect(parseThreshold('p999 < 800µs').value).toMatchObject({ value: 0.8 })
    // a plain number on a latency is milliseconds
    expect(parseThreshold('p90 < 40').value).toMatchObject({ value: 40, unit: '' })
  })

  it('reads percentages as fractions, plain numbers, booleans, strings and wildcards', () => {
    expect(parseThreshold('errors.rate < 0.1%').value).toMatchObject({ value: 0.001 })
    expect(parseThreshold('errors.rate < 0.001').value).toMatchObject({ value: 0.001 })
    expect(parseThreshold('rps >= 150')).toMatchObject({ op: '>=', value: { value: 150 } })
    expect(parseThreshold('unexpectedStatus == 0')).toMatchObject({ op: '==', value: { value: 0 } })
    expect(parseThreshold('leak == false').value).toEqual({ type: 'boolean', value: false })
    expect(parseThreshold('verdict != "inconclusive"').value).toEqual({
      type: 'string',
      value: 'inconclusive',
    })
    const t = parseThreshold('  backends.*.p99 < 400ms ')
    expect(t.segments).toEqual(['backends', '*', 'p99'])
    expect(t.text).toBe('backends.*.p99 < 400ms')
    expect(t.limitText).toBe('400ms')
  })

  it('compares with every operator', () => {
    expect(compare(1, '<', 2)).toBe(true)
    expect(compare(2, '<', 2)).toBe(false)
    expect(compare(2, '<=', 2)).toBe(true)
    expect(compare(3, '>', 2)).toBe(true)
    expect(compare(2, '>=', 3)).toBe(false)
    expect(compare(false, '==', false)).toBe(true)
    expect(compare(true, '!=', false)).toBe(true)
  })
})

// one fixture per kind of bad expression: [expression, what the message must say, column]
const BAD: Array<[string, string, RegExp, number]> = [
  ['empty', '   ', /empty expression/, 1],
  ['missing metric', '< 250ms', /missing metric/, 1],
  ['metric with a bad first character', '9p < 250ms', /must start with a letter/, 1],
  ['stray dot in the metric', 'backends..p99 < 1s', /empty part/, 10],
  ['partial wildcard', 'backends.ks*.p99 < 1s', /"\*" must be a whole part/, 10],
  ['missing operator', 'p99 250ms', /missing operator after "p99"/, 5],
  ['unknown operator', 'p99 =< 250ms', /unknown operator "=<"/, 5],
  ['single equals', 'p99 = 250ms', /unknown operator "="/, 5],
  ['missing value', 'p99 <', /missing value after "<"/, 6],
  ['not a number', 'p99 < fast', /bad value "fast"/, 7],
  ['unknown unit', 'p99 < 250min', /unknown unit "min"/, 10],
  ['time unit on a count', 'rps >= 150ms', /"ms" does not fit rps/, 11],
  ['percent on a latency', 'p99 < 5%', /"%" does not fit p99/, 8],
  ['trailing garbage', 'p99 < 250ms and p50 < 10ms', /unexpected "and p50 < 10ms"/, 13],
  ['boolean ordered', 'leak < true', /booleans can only be compared with == or !=/, 6],
  ['number for a boolean metric', 'leak == 0', /leak is a boolean/, 9],
  ['boolean for a numeric metric', 'p99 == true', /p99 is not a boolean/, 8],
  ['string for a numeric metric', 'rps == "fast"', /rps is not a string/, 8],
]

describe('parseThreshold: one fixture per kind of bad expression', () => {
  for (const [kind, expr, message, column] of BAD) {
    it(`rejects ${kind}: ${JSON.stringify(expr)}`, () => {
      let err: unknown
      try {
        parseThreshold(expr)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(ThresholdSyntaxError)
      const e = err as ThresholdSyntaxError
      expect(e.message).toMatch(message)
      expect(e.column).toBe(column)
      expect(e.exitCode).toBe(2)
      expect(e.hint).toMatch(/METRIC OP VALUE/)
    })
  }
})
