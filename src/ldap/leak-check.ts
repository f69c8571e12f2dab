import { UsageError } from '../errors.js'
import { ExitCode, type ExitCodeValue } from '../exit-codes.js'
import { procAvailable } from '../load/memory.js'
import { formatBytes, parseBytes } from '../metrics/units.js'
import {
  type LeakCheckRun,
  type LeakProgress,
  type LeakTarget,
  runPageLeakCheck,
  type WriteLoad,
} from './page-leak-check.js'
import { directTarget } from './paged-search.js'
import {
  checkTargetMode,
  DEFAULT_PAGE_SIZE,
  type LeakTargetOptions,
  resolveDirectParts,
  resolveLeakTarget,
  resolveWriterConnection,
  type TargetCallbacks,
} from './targets.js'
import { openWriteLoad, snapshotEntries, WRITE_DEFAULTS } from './writers.js'

/**
 * `idtool ldap page-leak-check` as one library call: check the inputs, resolve the target, run the engine
 * (page-leak-check.ts), and say what the verdict means for the exit code. It never prints: lines go to the
 * callbacks, progress to `onProgress` as typed events.
 */

export const LEAK_CHECK_DEFAULTS = {
  iterations: 200,
  pageSize: DEFAULT_PAGE_SIZE,
  warmup: { direct: 50, keystone: 20 },
} as const

export interface PageLeakCheckOptions extends LeakTargetOptions {
  /** measured iterations (default 200 unless a duration is given) */
  iterations?: number
  durationMs?: number
  /** iterations before measuring (default by mode: 50 direct, 20 keystone) */
  warmup?: number
  sampleEvery?: number
  /** e.g. 1KiB */
  leakThreshold: string
  pids: readonly number[]
  /** connections writing the directory alongside the searches (0 or absent: none) */
  writers?: number
  /** writes per second across the writers (default 50) */
  writeRate?: number
  /** the baseline phase of writes alone, ms (default 5 s) */
  writeBaselineMs?: number
  /** who writes (default: the lab's root DN on the lab, else the searches' bind) */
  writeBindDn?: string
  writePasswordFile?: string
}

/** The most writer connections. */
export const MAX_WRITERS = 64
/** The highest --write-rate, writes per second. */
export const MAX_WRITE_RATE = 10_000

export interface PageLeakCheckCallbacks extends TargetCallbacks {
  /** Called once the options are valid, before any connection or file is read (the command checks its output paths here). */
  beforeConnect?: () => void
  onProgress?: (p: LeakProgress) => void
  /** Asked for when the run starts: the signal that stops it and keeps the partial result. */
  interruptSignal?: () => AbortSignal
}

/** The options that need no I/O, checked first; returns the threshold in bytes per iteration. */
function checkOptions(opts: PageLeakCheckOptions): number {
  if (opts.iterations !== undefined && opts.durationMs !== undefined) {
    throw new UsageError('use either --iterations or --duration, not both')
  }
  checkTargetMode(opts)
  let threshold: number
  try {
    threshold = parseBytes(opts.leakThreshold)
  } catch (err) {
    throw new UsageError(`--leak-threshold: ${(err as Error).message}`)
  }
  if (threshold <= 0) throw new UsageError('--leak-threshold must be above 0')
  checkWriteOptions(opts)
  if (opts.pids.length && !procAvailable()) {
    throw new UsageError('--pid needs Linux /proc (to read /proc/PID/status)', {
      hint: 'run on Linux, or drop --pid.',
    })
  }
  return threshold
}

/** --write-rate as given: writes per second, a number above 0 (checked by {@link checkWriteOptions}). */
export function parseWriteRate(text: string): number {
  const rate = /^\s*\d+(\.\d+)?\s*$/.test(text) ? Number(text) : Number.NaN
  if (Number.isNaN(rate)) {
    throw new UsageError(`--write-rate ${text}: expected writes per second, a number such as 50 or 12.5`, {
      hint: 'the rate is across all writers, e.g. --writers 2 --write-rate 100.',
    })
  }
  return rate
}

/** --writers and the options that go with it: ranges, and nothing write-related without writers. */
export function checkWriteOptions(
  opts: Pick<
    PageLeakCheckOptions,
    'writers' | 'writeRate' | 'writeBaselineMs' | 'writeBindDn' | 'writePasswordFile' | 'keystone'
  >,
): void {
  const writers = opts.writers ?? 0
  if (!Number.isInteger(writers) || writers < 0 || writers > MAX_WRITERS) {
    throw new UsageError(`--writers ${writers}: expected a whole number from 0 to ${MAX_WRITERS}`, {
      hint: 'e.g. --writers 2 (0, the default, writes nothing).',
    })
  }
  if (opts.writeRate !== undefined && !(opts.writeRate > 0 && opts.writeRate <= MAX_WRITE_RATE)) {
    throw new UsageError(
      `--write-rate ${opts.writeRate}: expected writes per second above 0, at most ${MAX_WRITE_RATE}`,
      {
        hint: `e.g. --write-rate 50 (the default with --writers, across all writers).`,
      },
    )
  }
  if (opts.writeBaselineMs !== undefined && !(opts.writeBaselineMs >= 1000)) {
    throw new UsageError('--write-baseline must be at least 1s', {
      hint: 'the baseline needs enough writes for its percentiles, e.g. --write-baseline 5s.',
    })
  }
  if (writers === 0) {
    const given = (
      [
        ['write-rate', opts.writeRate],
        ['write-baseline', opts.writeBaselineMs],
        ['write-bind-dn', opts.writeBindDn],
        ['write-password-file', opts.writePasswordFile],
      ] as const
    ).filter(([, v]) => v !== undefined)
    if (given.length) {
      throw new UsageError(
        `--${given.map(([f]) => f).join(', --')} ${given.length > 1 ? 'need' : 'needs'} --writers N`,
        {
          hint: 'add --writers 2 (for example) to write the directory while paging.',
        },
      )
    }
  } else if (opts.keystone) {
    throw new UsageError('--writers applies to direct LDAP searches, not to --keystone', {
      hint: 'drop --keystone to write the directory while paging it directly.',
    })
  }
}

/**
 * With --writers: the entries as a plain search sees them (the expected set of every paged search, the
 * values to restore), the direct target compared against them, and the writers, open and checked.
 */
async function prepareWrites(
  opts: PageLeakCheckOptions,
  writers: number,
  io: PageLeakCheckCallbacks,
): Promise<{ target: LeakTarget; writes: WriteLoad }> {
  const parts = resolveDirectParts(opts, io)
  const writerConn = resolveWriterConnection(
    parts,
    { bindDn: opts.writeBindDn, passwordFile: opts.writePasswordFile },
    io,
  )
  const entries = await snapshotEntries(parts.conn, parts.spec)
  const expected = new Set(entries.map((e) => e.dn.toLowerCase()))
  const target = directTarget(parts.conn, { ...parts.spec, expected })
  const writes = await openWriteLoad({
    conn: writerConn,
    entries,
    writers,
    ratePerSec: opts.writeRate ?? WRITE_DEFAULTS.ratePerSec,
    baselineMs: opts.writeBaselineMs ?? WRITE_DEFAULTS.baselineMs,
    onWarn: io.warn,
  })
  return { target, writes }
}

/** Check the options, resolve the target and run the check. */
export async function pageLeakCheck(
  opts: PageLeakCheckOptions,
  io: PageLeakCheckCallbacks = {},
): Promise<LeakCheckRun> {
  const threshold = checkOptions(opts)
  io.beforeConnect?.()
  const writers = opts.writers ?? 0
  const prepared = writers > 0 ? await prepareWrites(opts, writers, io) : undefined
  const target = prepared?.target ?? (await resolveLeakTarget(opts, io))
  if (opts.keystone && opts.pids.length === 0) {
    io.warn?.(
      "no --pid: only idtool's own heap is watched; for the lab, `idtool lab status --json` lists keystone.workers[].workerPid",
    )
  }
  return runPageLeakCheck({
    writes: prepared?.writes,
    target,
    iterations:
      opts.durationMs === undefined ? (opts.iterations ?? LEAK_CHECK_DEFAULTS.iterations) : undefined,
    durationMs: opts.durationMs,
    warmup: opts.warmup ?? LEAK_CHECK_DEFAULTS.warmup[target.mode],
    concurrency: opts.concurrency,
    sampleEvery: opts.sampleEvery,
    leakThresholdBytesPerIteration: threshold,
    pids: opts.pids,
    signal: io.interruptSignal?.(),
    onProgress: io.onProgress,
    onWarn: io.warn,
  }).finally(() => prepared?.writes.finish())
}

const who = (s: { name: string; pid: number | null }) => `${s.name}${s.pid ? ` pid ${s.pid}` : ''}`

/**
 * What a finished run means: interrupted 130; a leak 5 (naming what grows); a run stopped by failures 1;
 * inconclusive 1 (0 with `allowInconclusive`), naming why; no-leak 0. `warning` is one line for stderr.
 */
export function leakCheckOutcome(
  run: LeakCheckRun,
  opts: { interrupted: boolean; allowInconclusive: boolean },
): { exitCode?: ExitCodeValue; warning?: string } {
  const { result } = run
  if (opts.interrupted) return { exitCode: ExitCode.Interrupted }
  if (result.verdict === 'leak') {
    const leaking = result.subjects.filter((s) => s.verdict === 'leak')
    return {
      exitCode: ExitCode.Leak,
      warning: `leak: ${leaking.map((s) => `${who(s)} ${s.metric} grows ${formatBytes(s.slopeBytesPerIteration)}/iteration`).join('; ')}`,
    }
  }
  if (run.stopReason) return { exitCode: ExitCode.Runtime, warning: run.stopReason }
  if (result.verdict === 'inconclusive') {
    const why = result.subjects
      .filter((s) => s.verdict === 'inconclusive' && s.metric !== 'VmRSS')
      .map((s) => `${who(s)} ${s.metric}: ${s.note ?? 'inconclusive'}`)
    return {
      ...(opts.allowInconclusive ? {} : { exitCode: ExitCode.Runtime }),
      warning: `inconclusive: ${why.join('; ')}${opts.allowInconclusive ? '' : ' (exit 1; --allow-inconclusive to exit 0)'}`,
    }
  }
  return {}
}
