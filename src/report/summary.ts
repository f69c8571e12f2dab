import type { Percentiles, RevokeBulkResult } from '../results/types.js'
import { fmtMs, groupDigits } from './sweep.js'

/** The one-row summary of a revoke-bulk run, shared by the Markdown and HTML renderers. */
export function revokeBulkSummary(r: RevokeBulkResult, missing = '-'): { head: string[]; row: string[] } {
  const n = (v: number | null) => (v === null ? missing : groupDigits(v))
  return {
    head: [
      'issued',
      'revoked',
      'failed',
      'skipped',
      'issue/s',
      'revoke/s',
      'events before',
      'events after',
      'duration',
    ],
    row: [
      n(r.issued),
      n(r.revoked),
      n(r.failed),
      n(r.skipped),
      r.issueRatePerSec.toFixed(1),
      r.revokeRatePerSec.toFixed(1),
      n(r.revocationEventsBefore),
      n(r.revocationEventsAfter),
      `${(r.durationMs / 1000).toFixed(1)} s`,
    ],
  }
}

/** One latency row (name, count, p50, p90, p99, p99.9, max, mean), shared by the Markdown and HTML renderers. */
export function percentileCells(
  name: string,
  p: Percentiles | null | undefined,
  count: number | undefined,
  missing = '-',
): unknown[] {
  if (!p) return [name, missing, missing, missing, missing, missing, missing, missing]
  return [
    name,
    count === undefined ? '' : groupDigits(count),
    fmtMs(p.p50),
    fmtMs(p.p90),
    fmtMs(p.p99),
    fmtMs(p.p999),
    fmtMs(p.max),
    fmtMs(p.mean),
  ]
}
