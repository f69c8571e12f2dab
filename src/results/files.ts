import { readFileSync } from 'node:fs'
import { fsErrorText, UsageError } from '../errors.js'

/**
 * The text of an input file the user named (a result, a scenario, a token pool, a ledger, a password file).
 * One that cannot be read is bad input (exit 2), said in one line: `cannot read <what> <path>: <why>`, e.g.
 * `cannot read scenario s.yaml: no such file or directory (ENOENT)`.
 */
export function readInputFile(path: string, what?: string, hint?: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    throw new UsageError(`cannot read ${what ? `${what} ` : ''}${path}: ${fsErrorText(err)}`, {
      hint: hint ?? 'check the path.',
      cause: err,
    })
  }
}
