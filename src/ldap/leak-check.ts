import { UsageError } from '../errors.js'
import { ExitCode, type ExitCodeValue } from '../exit-codes.js'
import { procAvailable } from '../load/memory.js'
import { formatBytes, parseBytes } from '../metrics/units.js'
import { type LeakCheckRun, type LeakProgress, runPageLeakCheck } from './page-leak-check.js'
import {
  checkTargetMode,
  DEFAULT_PAGE_SIZE,
  type LeakTargetOptions,
  resolveLeakTarget,
  type TargetCallbacks,
} from './targets.js'

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
}

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
  if (opts.pids.length && !procAvailable()) {
    throw new UsageError('--pid needs Linux /proc (to read /proc/PID/status)', {
      hint: 'run on Linux, or drop --pid.',
    })
  }
  return threshold
}

/** Check the options, resolve the target and run the check. */
export async function pageLeakCheck(
  opts: PageLeakCheckOptions,
  io: PageLeakCheckCallbacks = {},
): Promise<LeakCheckRun> {
  const threshold = checkOptions(opts)
  io.beforeConnect?.()
  const target = await resolveLeakTarget(opts, io)
  if (opts.keystone && opts.pids.length === 0) {
    io.warn?.(
      "no --pid: only idtool's own heap is watched; for the lab, `idtool lab status --json` lists keystone.workers[].workerPid",
    )
  }
  return runPageLeakCheck({
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
  })
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
