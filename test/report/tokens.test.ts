import { describe, expect, it } from 'vitest'
import { renderRevokeBulk, renderTokensIssue } from '../../src/report/tokens.js'
import type { RevokeBulkResult, TokensIssueResult } from '../../src/results/types.js'
import { revokeResult, tokensResult } from '../fixtures/results.js'

// The live run and `idtool report` print the same function of the result: every figure is in it.
describe('bulk summaries are a function of the result alone', () => {
  it('revoke-bulk: retries, re-authentications and the run-wide failure reasons come from the result', () => {
    const r: RevokeBulkResult = { ...revokeResult(), failureReasons: { 'HTTP 502': 7, timeout: 2 } }
    const text = renderRevokeBulk(r)
    expect(text).toMatch(/retries \/ re-authentications\s+│ 3 \/ 1/)
    expect(text).toMatch(/│ 7\s+│ HTTP 502/)
    expect(text).toMatch(/│ 2\s+│ timeout/)
    expect(text).toContain('Some tokens failed: retry them with --resume --ledger /tmp/ledger.jsonl')
  })

  it('revoke-bulk version 1 (no run-wide figures): no retries row, reasons counted from the listed failures', () => {
    const { retries, reauthentications, failureReasons, ...rest } = revokeResult()
    const v1 = { ...rest, version: 1 } as unknown as RevokeBulkResult
    const text = renderRevokeBulk(v1)
    expect(text).not.toContain('retries')
    expect(text).toMatch(/│ 1\s+│ revoke: HTTP 502/)
    expect(text).toMatch(/│ 1\s+│ issue: timeout/)
  })

  it('tokens issue: retries row and reasons from the result', () => {
    const r: TokensIssueResult = {
      ...tokensResult(),
      failed: 3,
      retries: 5,
      reauthentications: 2,
      failureReasons: { 'HTTP 503': 3 },
    }
    const text = renderTokensIssue(r)
    expect(text).toMatch(/retries \/ re-authentications\s+│ 5 \/ 2/)
    expect(text).toMatch(/│ 3\s+│ HTTP 503/)
    expect(renderTokensIssue(tokensResult())).not.toContain('reason')
  })
})
