import Table from 'cli-table3'
import { formatMs } from '../cli/progress.js'
import type { BulkProgress } from '../keystone/progress.js'
import type { RevokeBulkResult, TokensIssueResult } from '../results/types.js'

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
const rate = (r: number) => `${r.toFixed(1)}/s`

/** The live progress line (pure: snapshot in, text out). */
export function formatBulkProgress(p: BulkProgress): string {
  const parts = [
    p.phase === 'issue'
      ? 'issuing'
      : p.phase === 'revoke'
        ? 'revoking'
        : p.phase === 'events'
          ? 'counting events'
          : 'done',
    `${p.done}/${p.total}`,
  ]
  if (p.issued) parts.push(`issued ${p.issued}`)
  if (p.revoked) parts.push(`revoked ${p.revoked}`)
  if (p.skipped) parts.push(`skipped ${p.skipped}`)
  if (p.ratePerSec) parts.push(rate(p.ratePerSec))
  parts.push(`errors ${p.failed}`)
  if (p.retries) parts.push(`retries ${p.retries}`)
  if (p.reauthentications) parts.push(`re-auth ${p.reauthentications}`)
  parts.push(`ETA ${p.etaMs === null ? '-' : formatMs(p.etaMs)}`)
  return parts.join('  ')
}

function reasonsTable(reasons: Record<string, number>, max = 10): string {
  const rows = Object.entries(reasons).sort((a, b) => b[1] - a[1])
  if (!rows.length) return ''
  const t = new Table({ head: ['failures', 'reason'], style: { head: [], border: [] }, wordWrap: true })
  for (const [reason, n] of rows.slice(0, max)) t.push([String(n), reason])
  const more = rows.length > max ? `\n(${rows.length - max} more reasons)` : ''
  return `\n${t.toString()}${more}`
}

/** The `revoke-bulk` summary (pure: result and last progress snapshot in, text out). */
export function renderRevokeBulk(r: RevokeBulkResult, p?: BulkProgress): string {
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
    ['duration', formatMs(r.durationMs)],
  )
  if (p) t.push(['retries / re-authentications', `${p.retries} / ${p.reauthentications}`])
  const m = methodRow(r)
  if (m) t.push(m)
  t.push(['ledger', r.ledger])
  const lines = [t.toString()]
  if (r.methodNote) lines.push(`Note: ${r.methodNote}.`)
  if (p) lines.push(reasonsTable(p.failureReasons).trimStart())
  else if (r.failures?.length) {
    const counts: Record<string, number> = {}
    for (const f of r.failures)
      counts[`${f.stage}: ${f.reason}`] = (counts[`${f.stage}: ${f.reason}`] ?? 0) + 1
    lines.push(reasonsTable(counts).trimStart())
  }
  if (r.interrupted) lines.push(`Interrupted: continue with --resume --ledger ${r.ledger}`)
  else if (r.failed) lines.push(`Some tokens failed: retry them with --resume --ledger ${r.ledger}`)
  return lines.filter(Boolean).join('\n')
}

/** The `tokens issue` summary (pure). */
export function renderTokensIssue(r: TokensIssueResult, p?: BulkProgress): string {
  const t = table()
  t.push(
    ['issued', `${r.issued} at ${rate(r.ratePerSec)}`],
    ['failed', String(r.failed)],
    ['duration', formatMs(r.durationMs)],
  )
  if (p) t.push(['retries / re-authentications', `${p.retries} / ${p.reauthentications}`])
  const m = methodRow(r)
  if (m) t.push(m)
  t.push(['pool (0600)', r.file])
  const lines = [t.toString()]
  if (r.methodNote) lines.push(`Note: ${r.methodNote}.`)
  if (p) lines.push(reasonsTable(p.failureReasons).trimStart())
  if (r.interrupted) lines.push(`Interrupted: the ${r.issued} tokens issued are in ${r.file}`)
  return lines.filter(Boolean).join('\n')
}
