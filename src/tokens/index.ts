/**
 * Bulk token operations as a library (no printing): issue token batches into a pool, revoke in bulk with a
 * resumable ledger. `bench sweep` and the benches call these directly.
 */

export type { TokenSession } from './caller.js'
export { type BulkCommonOptions, type IssueMethod, type IssueTokensOptions, issueTokens } from './issue.js'
export {
  defaultLedgerDir,
  findResumableLedger,
  type LedgerEntry,
  type LedgerReplay,
  newLedgerPath,
  readLedger,
  replayLedger,
} from './ledger.js'
export { type PoolEntry, PoolWriter, readPool } from './pool.js'
export type { BulkProgress } from './progress.js'
export { type RevokeBulkOptions, revokeBulk } from './revoke.js'
export { type Clock, type RetryPolicy, systemClock } from './runner.js'
