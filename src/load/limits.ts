import { readFileSync } from 'node:fs'
import { UsageError } from '../errors.js'

/**
 * Bounds on the sockets a run may open, checked before it starts. Every socket is a file descriptor; a run
 * that asks for more than the process may open fails part-way (EMFILE) after it has already flooded the target
 * (issue 12: `-c 100000` opened ~20,000 sockets, the fd limit, and left haproxy and a worker down).
 */

/** The most requests in flight or sockets idtool runs from one process, whatever the fd limit. */
export const MAX_CONCURRENCY = 10_000

/** Descriptors kept for everything else: stdio, files, the Keystone session's connections, DNS, timers. */
export const FD_HEADROOM = 128

/**
 * The soft limit on open files of this process (RLIMIT_NOFILE, `Max open files` in /proc/self/limits; Node
 * raises it to the hard limit at start-up, so this is what the process can really open). Infinity when
 * unlimited, undefined when unknown (no /proc).
 */
export function openFileLimit(
  readLimits: () => string = () => readFileSync('/proc/self/limits', 'utf8'),
): number | undefined {
  let text: string
  try {
    text = readLimits()
  } catch {
    return undefined
  }
  const m = /^Max open files\s+(\S+)/m.exec(text)
  if (!m) return undefined
  if (m[1] === 'unlimited') return Number.POSITIVE_INFINITY
  const n = Number(m[1])
  return Number.isFinite(n) && n > 0 ? n : undefined
}

const fmt = (n: number) => n.toLocaleString('en-US')

/** One flag's value and how many sockets it opens. */
export interface ConcurrencyUse {
  /** e.g. "--concurrency" */
  flag: string
  value: number | null | undefined
  /** sockets this value opens (default: the value) */
  sockets?: number
}

/**
 * Refuse, before anything starts (exit 2, with the numbers), a concurrency or connection count above
 * MAX_CONCURRENCY, or sockets that with FD_HEADROOM exceed the process's open-file limit. `uses` are the
 * flags of one run; their sockets add up. `limit`: the open-file limit (default: read from /proc).
 */
export function checkConcurrency(uses: ConcurrencyUse[], limit: number | undefined = openFileLimit()): void {
  for (const u of uses) {
    if (u.value != null && u.value > MAX_CONCURRENCY) {
      throw new UsageError(`${u.flag} ${fmt(u.value)} is above the ceiling of ${fmt(MAX_CONCURRENCY)}`, {
        hint: `one idtool process drives at most ${fmt(MAX_CONCURRENCY)} requests in flight or sockets; for more, run several (one per machine) and merge their results with \`idtool report merge\`.`,
      })
    }
  }
  if (limit === undefined || limit === Number.POSITIVE_INFINITY) return
  const counted = uses.filter((u) => u.value != null && (u.sockets ?? u.value) > 0)
  const sockets = counted.reduce((sum, u) => sum + (u.sockets ?? (u.value as number)), 0)
  const usable = Math.max(0, limit - FD_HEADROOM)
  if (sockets > usable) {
    const what = counted.map((u) => `${u.flag} ${fmt(u.value as number)}`).join(' and ')
    const one = counted.length === 1 ? counted[0] : undefined
    // one flag: the largest value that fits (a flag may open several sockets per unit)
    const fits = one ? Math.floor((usable * (one.value as number)) / sockets) : undefined
    throw new UsageError(
      `${what} would open ${fmt(sockets)} sockets, but this process may open ${fmt(limit)} files (soft RLIMIT_NOFILE, \`ulimit -n\`) and keeps ${FD_HEADROOM} for itself: at most ${fmt(usable)} sockets`,
      {
        hint: `${one ? `lower ${one.flag} to ${fmt(fits as number)} or less` : 'lower them'}, or raise the limit (\`ulimit -n ${sockets + FD_HEADROOM}\` in the shell, LimitNOFILE= in a systemd unit).`,
      },
    )
  }
}
