import type { AuthSettings } from '../config/auth.js'
import { ExitCode, type ExitCodeValue } from '../exit-codes.js'
import type { BulkCommonOptions, IssueMethod } from './issue.js'
import type { BulkProgress } from './progress.js'
import { type KeystoneSession, openSession } from './session.js'

/** What `tokens issue` and `revoke-bulk` share: how tokens are issued and how hard Keystone is driven. */
export interface BulkRunSettings {
  method: IssueMethod
  /** requests in flight at most */
  concurrency: number
  /** request starts per second at most (none: as fast as Keystone answers) */
  rate?: number
  /** retries of a request after a transient failure */
  retries: number
  /** per-request timeout, ms */
  timeoutMs: number
}

/** The callbacks of a bulk run: it never prints. */
export interface BulkRunCallbacks {
  warn(message: string): void
  /** live progress (the final snapshot is not sent: the result says it) */
  onProgress(p: BulkProgress): void
  /** The signal that stops the run, taken once the inputs are checked (and the change confirmed). */
  interruptSignal(): AbortSignal
}

/** A bulk run's result and the exit code it calls for (none: 0). */
export interface BulkRun<R> {
  result: R
  exitCode?: ExitCodeValue
}

/** Exit 130 when the run was interrupted, else 4 when some tokens failed, else none (0). */
export function bulkExitCode(r: { interrupted: boolean; failed: number }): ExitCodeValue | undefined {
  if (r.interrupted) return ExitCode.Interrupted
  if (r.failed > 0) return ExitCode.Partial
  return undefined
}

/**
 * Take the interrupt signal, open a session sized for the run, run `work` on it with the engine options the
 * settings give, close the session; the result comes back with its exit code.
 */
export async function withBulkSession<R extends { interrupted: boolean; failed: number }>(
  auth: AuthSettings,
  s: BulkRunSettings,
  cb: BulkRunCallbacks,
  work: (engine: BulkCommonOptions & { method: IssueMethod }) => Promise<R>,
): Promise<BulkRun<R>> {
  const signal = cb.interruptSignal()
  const session: KeystoneSession = await openSession(auth, {
    warn: cb.warn,
    timeoutMs: s.timeoutMs,
    connections: s.concurrency,
  })
  try {
    const result = await work({
      session,
      method: s.method,
      concurrency: s.concurrency,
      rate: s.rate,
      retry: { retries: s.retries },
      requestTimeoutMs: s.timeoutMs,
      signal,
      onProgress: (p) => {
        if (!p.final) cb.onProgress(p)
      },
    })
    return { result, exitCode: bulkExitCode(result) }
  } finally {
    await session.close()
  }
}
