import { UsageError } from '../errors.js'

/**
 * Parse a list of revocation levels: "0,1000,10k,30000" (k = thousand, m = million). Levels are sorted
 * ascending and de-duplicated: events are added level by level, never removed through the API.
 */
export function parseLevels(text: string): number[] {
  const parts = text
    .split(/[,\s]+/)
    .map((s) => s.trim())
    .filter(Boolean)
  if (parts.length === 0) {
    throw new UsageError('no revocation levels given', { hint: 'e.g. --revocations 0,1000,10000,30000' })
  }
  const levels = parts.map((p) => {
    const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(p)
    if (!m) {
      throw new UsageError(`invalid revocation level "${p}"`, {
        hint: 'use whole numbers separated by commas, e.g. 0,1000,10k,30000',
      })
    }
    const factor = m[2]?.toLowerCase() === 'k' ? 1000 : m[2]?.toLowerCase() === 'm' ? 1_000_000 : 1
    const v = Number(m[1]) * factor
    if (!Number.isInteger(v)) throw new UsageError(`revocation level "${p}" is not a whole number of events`)
    if (v > 10_000_000) throw new UsageError(`revocation level "${p}" is too large (at most 10m)`)
    return v
  })
  return [...new Set(levels)].sort((a, b) => a - b)
}
