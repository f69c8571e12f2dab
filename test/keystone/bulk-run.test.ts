import { describe, expect, it } from 'vitest'
import { ExitCode } from '../../src/exit-codes.js'
import { bulkExitCode } from '../../src/keystone/bulk-run.js'

describe('bulkExitCode', () => {
  it('130 when interrupted (even with failures), 4 when some tokens failed, none (0) otherwise', () => {
    expect(bulkExitCode({ interrupted: true, failed: 3 })).toBe(ExitCode.Interrupted)
    expect(bulkExitCode({ interrupted: true, failed: 0 })).toBe(ExitCode.Interrupted)
    expect(bulkExitCode({ interrupted: false, failed: 1 })).toBe(ExitCode.Partial)
    expect(bulkExitCode({ interrupted: false, failed: 0 })).toBeUndefined()
  })
})
