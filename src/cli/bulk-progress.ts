import type { BulkRunCallbacks } from '../keystone/bulk-run.js'
import type { BulkProgress } from '../keystone/progress.js'
import { fmtDuration, perSecond } from '../report/format.js'
import type { ProgressSink } from './progress.js'

/** The live progress line of `tokens issue` and `revoke-bulk` (pure: snapshot in, text out). */
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
  if (p.ratePerSec) parts.push(perSecond(p.ratePerSec))
  parts.push(`errors ${p.failed}`)
  if (p.retries) parts.push(`retries ${p.retries}`)
  if (p.reauthentications) parts.push(`re-auth ${p.reauthentications}`)
  parts.push(`ETA ${p.etaMs === null ? '-' : fmtDuration(p.etaMs)}`)
  return parts.join('  ')
}

/**
 * How `tokens issue` and `revoke-bulk` show a run: the live line on `progress`, a warning after clearing it, the
 * command's interrupt signal.
 */
export function bulkRunCallbacks(
  progress: ProgressSink,
  cmd: { warnLine(message: string): void; interruptSignal(): AbortSignal },
): BulkRunCallbacks {
  return {
    interruptSignal: () => cmd.interruptSignal(),
    warn: (m) => {
      progress.done()
      cmd.warnLine(m)
    },
    onProgress: (p) => progress.update(formatBulkProgress(p)),
  }
}
