import type { BulkRunSettings } from '../keystone/bulk-run.js'
import type { IssueMethod } from '../keystone/issue.js'
import { checkConcurrency } from '../load/limits.js'
import { durationFlag } from './flags.js'
import { Flags } from './oclif.js'

/** Flags shared by `tokens issue` and `revoke-bulk`. */
export const bulkFlags = {
  concurrency: Flags.integer({
    char: 'c',
    description: 'requests in flight at most (the lab has 2 single-threaded Keystone workers: 2-8 is plenty)',
    default: 4,
    min: 1,
    max: 256,
  }),
  rate: Flags.custom<number>({
    description: 'request starts per second at most, retries included (default: as fast as Keystone answers)',
    parse: async (input) => {
      const n = Number(input)
      if (!Number.isFinite(n) || n <= 0) throw new Error(`--rate must be a positive number, got "${input}"`)
      return n
    },
  })(),
  method: Flags.string({
    description:
      'how tokens are issued: "token" authenticates once, then issues every token from that token ' +
      '(no password hashing on the server: 20-30x faster on the lab; those tokens expire with the caller token); ' +
      '"credential" (or its older name "password") authenticates with the password or application credential ' +
      'for every token (a full lifetime each, but slow). An application credential caller always uses ' +
      '"credential": Keystone refuses the token method for its tokens',
    options: ['token', 'credential', 'password'],
    default: 'token',
  }),
  timeout: durationFlag({
    description: 'per-request timeout (e.g. 10s, 500ms); a request that takes longer is retried',
    default: 30_000,
    defaultHelp: async () => '30s',
  }),
  retries: Flags.integer({
    description:
      'retries of a request after a transient failure (5xx, reset, timeout), with exponential backoff',
    default: 3,
    min: 0,
    max: 10,
  }),
}

/**
 * Refuse (exit 2, before connecting) a bulk concurrency whose sockets do not fit the open-file limit: each
 * request in flight may hold a socket of the session's pool and one of the lean bulk client.
 */
export function checkBulkConcurrency(concurrency: number, flag = '--concurrency'): void {
  checkConcurrency([{ flag, value: concurrency, sockets: 2 * concurrency }])
}

/** The bulk flags as the library's settings (keystone/bulk-run.ts). */
export function bulkSettings(flags: {
  method: string
  concurrency: number
  rate?: number
  retries: number
  timeout: number
}): BulkRunSettings {
  return {
    method: flags.method as IssueMethod,
    concurrency: flags.concurrency,
    rate: flags.rate,
    retries: flags.retries,
    timeoutMs: flags.timeout,
  }
}
