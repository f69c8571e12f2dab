/**
 * The one exit-code table used by every idtool command. Documented in the README and in `--help`.
 * Stable: CI pipelines branch on these numbers.
 */
export const ExitCode = {
  /** Everything worked and every check passed. */
  Ok: 0,
  /** A runtime failure: the target misbehaved, a dependency is missing, an unexpected error. */
  Runtime: 1,
  /** Usage or input error: unknown flag, malformed URL, unreadable file, wrong password, bad scenario. */
  Usage: 2,
  /** Thresholds or the regression gate failed. */
  Threshold: 3,
  /** Partial failure: some operations failed (the result lists them). */
  Partial: 4,
  /** A memory leak was detected. */
  Leak: 5,
  /** Interrupted (Ctrl-C / SIGTERM); the partial result was written. */
  Interrupted: 130,
} as const

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

export const EXIT_CODE_HELP = `EXIT CODES
  0    ok
  1    runtime failure
  2    usage or input error (bad flag, URL, file, password, refused connection)
  3    thresholds or gate failed
  4    partial failure (some operations failed)
  5    leak detected
  130  interrupted (partial result written)`

/**
 * The exit codes of `idtool check ...` only: the Monitoring Plugins table that Nagios, Icinga and Sensu read.
 * Anything that prevented a measurement (a bad flag, an unreachable Keystone, a 401, a timeout) is UNKNOWN,
 * never WARNING or CRITICAL.
 */
export const PluginExitCode = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 } as const
export type PluginStatus = keyof typeof PluginExitCode

export const PLUGIN_EXIT_CODE_HELP = `EXIT CODES (Monitoring Plugins, not idtool's own table)
  0  OK
  1  WARNING   a -w/--warning range raised an alert
  2  CRITICAL  a -c/--critical range raised an alert, or a validation was refused
  3  UNKNOWN   nothing was measured: bad flag, unreachable Keystone, 401, --timeout`
