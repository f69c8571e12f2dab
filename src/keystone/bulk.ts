import { errorCode, HttpError, IdtoolError, networkErrorClass } from '../errors.js'

/** The pacing of the bulk calls (`concurrency` in flight, start rate capped) and their injected clock. */
export { type Clock, Pacer, systemClock } from '../load/pacer.js'

export interface RetryPolicy {
  /** Retries after the first attempt for a transient failure (so at most retries + 1 attempts). */
  retries: number
  /** First backoff; doubles on every retry. */
  baseDelayMs: number
  /** Cap of one backoff. */
  maxDelayMs: number
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 3, baseDelayMs: 100, maxDelayMs: 2000 }

/**
 * Exponential backoff with "equal jitter": half of the capped exponential step is fixed, the other half random,
 * so waits grow with every retry while concurrent retries spread out.
 */
export function backoffDelayMs(
  retry: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry)
  return step / 2 + random() * (step / 2)
}

/**
 * Whether a failure is worth retrying (the one retry rule of the Keystone calls): Keystone or the load
 * balancer answering 5xx/429, a reset, refused or timed-out connection, as a typed error of the clients or
 * raw (undici raised it while reading a body, outside the client's mapping).
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof HttpError) return err.status >= 500 || err.status === 429
  if (err instanceof IdtoolError) return /ECONNRESET|UND_ERR_SOCKET|TIMEOUT|ECONNREFUSED|EPIPE/.test(err.code)
  if (!errorCode(err) && !(err as { code?: unknown })?.code) return false
  return ['reset', 'timeout', 'connect'].includes(networkErrorClass(err))
}

/** The run was interrupted while this operation waited: leave its item as it was. */
export class RunAborted extends Error {
  constructor() {
    super('interrupted')
    this.name = 'RunAborted'
  }
}

/** An error that ends the whole run (not just one token), e.g. the password was rejected on re-authentication. */
export class FatalRunError extends Error {
  constructor(readonly error: IdtoolError) {
    super(error.message)
    this.name = 'FatalRunError'
  }
}

/**
 * Run `work` over `items` with at most `concurrency` calls in flight. Items are pulled lazily, so a huge
 * iterable costs no memory. Stops pulling when `signal` aborts or `shouldStop()` says so, and always waits for
 * the calls in flight. If a call throws, no new items start and the first error is rethrown at the end.
 */
export async function runBounded<T>(
  items: Iterable<T>,
  opts: { concurrency: number; signal?: AbortSignal; shouldStop?: () => boolean },
  work: (item: T) => Promise<void>,
): Promise<void> {
  const it = items[Symbol.iterator]()
  let failed = false
  let firstError: unknown
  const worker = async () => {
    for (;;) {
      if (failed || opts.signal?.aborted || opts.shouldStop?.()) return
      const next = it.next()
      if (next.done) return
      try {
        await work(next.value)
      } catch (err) {
        if (!failed) firstError = err
        failed = true
        return
      }
    }
  }
  const n = Math.max(1, Math.floor(opts.concurrency))
  await Promise.all(Array.from({ length: n }, worker))
  if (failed) throw firstError
}

/** Integers from `from` (inclusive) to `to` (exclusive), lazily. */
export function* range(from: number, to: number): Generator<number> {
  for (let i = from; i < to; i++) yield i
}
