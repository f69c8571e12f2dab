import Table from 'cli-table3'
import type { RevokeBulkResult, TokensIssueResult } from '../results/types.js'
import { fmtDuration, perSecond as rate } from './format.js'

const table = () => new Table({ style: { head: [], border: [] } })

const CALLER_NAMES = {
  password: 'password',
  v3applicationcredential: 'application credential',
  token: 'token',
}

/** `caller / method` row of a bulk result that records them (results of older versions do not). */
function methodRow(r: TokensIssueResult | RevokeBulkResult): string[] | undefined {
  if (!r.caller && !r.method) return undefined
  const caller = r.caller ? CALLER_NAMES[r.caller] : 'password'
  return ['caller / issue method', `${caller} / ${r.method ?? 'token'}${r.methodNote ? ' (see note)' : ''}`]
}

function reasonsTable(reasons: Record<string, number>, max = 10): string {
  const rows = Object.entries(reasons).sort((a, b) => b[1] - a[1])
  if (!rows.length) return ''
  const t = new Table({ head: ['failures', 'reason'], style: { head: [], border: [] }, wordWrap: true })
  for (const [reason, n] of rows.slice(0, max)) t.push([String(n), reason])
  const more = rows.length > max ? `\n(${rows.length - max} more reasons)` : ''
  return `\n${t.toString()}${more}`
}

/** `retries / re-authentications` row of a bulk result that records them (version 2 on). */
function retriesRow(r: TokensIssueResult | RevokeBulkResult): string[] | undefined {
  if (r.retries === undefined && r.reauthentications === undefined) return undefined
  return ['retries / re-authentications', `${r.retries ?? 0} / ${r.reauthentications ?? 0}`]
}

/**
 * Failure reasons with their counts: the run-wide counts of a result that records them (version 2 on),
 * else counted from the listed failures as `stage: reason` (revoke-bulk version 1).
 */
function failureReasons(r: TokensIssueResult | RevokeBulkResult): Record<string, number> {
  if (r.failureReasons) return r.failureReasons
  const counts: Record<string, number> = {}
  if ('failures' in r)
    for (const f of r.failures ?? [])
      counts[`${f.stage}: ${f.reason}`] = (counts[`${f.stage}: ${f.reason}`] ?? 0) + 1
  return counts
}

/**
 * What both bulk summaries end with: the retries and caller/method rows, the file row, then the table, the
 * method note and the failure reasons.
 */
function bulkSummary(
  t: InstanceType<typeof Table>,
  r: TokensIssueResult | RevokeBulkResult,
  fileRow: string[],
): string[] {
  for (const row of [retriesRow(r), methodRow(r), fileRow]) if (row) t.push(row)
  const lines = [t.toString()]
  if (r.methodNote) lines.push(`Note: ${r.methodNote}.`)
  lines.push(reasonsTable(failureReasons(r)).trimStart())
  return lines
}

/** The `revoke-bulk` summary (pure: result in, text out): what the live run prints and `idtool report` shows. */
export function renderRevokeBulk(r: RevokeBulkResult): string {
  const t = table()
  const delta =
    r.revocationEventsBefore !== null && r.revocationEventsAfter !== null
      ? ` (${r.revocationEventsAfter - r.revocationEventsBefore >= 0 ? '+' : ''}${r.revocationEventsAfter - r.revocationEventsBefore})`
      : ''
  const ev = (n: number | null) => (n === null ? 'n/a' : String(n))
  t.push(
    ['issued', `${r.issued}${r.issued ? ` at ${rate(r.issueRatePerSec)}` : ''}`],
    ['revoked (new events)', `${r.revoked}${r.revoked + r.skipped ? ` at ${rate(r.revokeRatePerSec)}` : ''}`],
    ['skipped (already revoked/expired)', String(r.skipped)],
    ['failed', String(r.failed)],
    ['revocation events', `${ev(r.revocationEventsBefore)} -> ${ev(r.revocationEventsAfter)}${delta}`],
    ['duration', fmtDuration(r.durationMs)],
  )
  const lines = bulkSummary(t, r, ['ledger', r.ledger])
  if (r.interrupted) lines.push(`Interrupted: continue with --resume --ledger ${r.ledger}`)
  else if (r.failed) lines.push(`Some tokens failed: retry them with --resume --ledger ${r.ledger}`)
  return lines.filter(Boolean).join('\n')
}

/** The `tokens issue` summary (pure: result in, text out): what the live run prints and `idtool report` shows. */
export function renderTokensIssue(r: TokensIssueResult): string {
  const t = table()
  t.push(
    ['issued', `${r.issued} at ${rate(r.ratePerSec)}`],
    ['failed', String(r.failed)],
    ['duration', fmtDuration(r.durationMs)],
  )
  const lines = bulkSummary(t, r, ['pool (0600)', r.file])
  if (r.interrupted) lines.push(`Interrupted: the ${r.issued} tokens issued are in ${r.file}`)
  return lines.filter(Boolean).join('\n')
}
