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
