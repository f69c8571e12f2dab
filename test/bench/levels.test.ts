import { describe, expect, it } from 'vitest'
import { parseLevels } from '../../src/bench/levels.js'
import { UsageError } from '../../src/errors.js'

describe('parseLevels', () => {
  it('reads commas, k and m suffixes, sorted and without duplicates', () => {
    expect(parseLevels('0,1000,10k,30000')).toEqual([0, 1000, 10_000, 30_000])
    expect(parseLevels('30k, 0 1.5k,1m,1000,1k')).toEqual([0, 1000, 1500, 30_000, 1_000_000])
  })

  it('rejects what is not a whole number of events', () => {
    for (const bad of ['', 'ten', '-5', '1.5', '0.0005k', '1e4', '20m']) {
      expect(() => parseLevels(bad), bad).toThrow(UsageError)
    }
  })
})
