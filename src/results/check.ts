import type { PluginStatus } from '../exit-codes.js'

/** One performance datum of a monitoring check: `'label'=value[UOM];[warn];[crit];[min];[max]`. */
export interface Perfdatum {
  label: string
  value: number
  /** one of the guidelines' units: s, ms, us, %, B, KB, MB, TB, c; none for a plain number */
  uom?: string
  /** the -w range text as given */
  warning?: string
  /** the -c range text as given */
  critical?: string
  min?: number
  max?: number
}

/**
 * `idtool check revocations --json` / `idtool check validate --json`: what a monitoring check measured and
 * its verdict. `exitCode` follows the Monitoring Plugins table (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
 */
export interface CheckResult {
  kind: 'check.revocations' | 'check.validate'
  version: 1
  /** the service name of the status line: REVOCATIONS, VALIDATE */
  name: string
  status: PluginStatus
  exitCode: 0 | 1 | 2 | 3
  /** the text after the status word, one line */
  summary: string
  perfdata: Perfdatum[]
  /** optional lines after the first (long output) */
  details: string[]
  /** the Keystone measured (no credentials) */
  authUrl?: string
  measuredAt: string
}
