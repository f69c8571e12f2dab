import { IdtoolError } from '../errors.js'
import { ExitCode } from '../exit-codes.js'
import type { BenchSweepResult, BenchValidateResult } from '../results/types.js'

export type SweepPoint = BenchSweepResult['points'][number]

/** How the event count was changed for a level. */
export interface LevelChange {
  /** the count before */
  before: number
  /** the count after (what the point is measured at) */
  after: number
  added: number
  removed: number
  durationMs: number
  via: 'seed' | 'api' | 'none'
}

/** What a sweep needs from the world: injected, so the loop is testable without Keystone. */
export interface SweepDriver {
  /** Bring the revocation event count to `level` (as near as the method allows) and report the change. */
  bringTo(level: number, signal: AbortSignal | undefined): Promise<LevelChange>
  /** One bench validate run with the sweep's settings. */
  bench(level: number, signal: AbortSignal | undefined): Promise<BenchValidateResult>
}

export type SweepEvent =
  | { type: 'level'; index: number; total: number; level: number }
  | { type: 'events'; level: number; change: LevelChange }
  | { type: 'point'; index: number; point: SweepPoint; first: SweepPoint }
  | { type: 'stopped'; reason: 'interrupted' }

export interface SweepOptions {
  /** ascending revocation levels */
  levels: number[]
  label?: string
  signal?: AbortSignal
  now?: () => number
  onEvent?: (e: SweepEvent) => void
}

/** A sweep that failed part way: `partial` holds the points measured before the failure. */
export class SweepFailed extends IdtoolError {
  readonly partial: BenchSweepResult
  constructor(cause: unknown, partial: BenchSweepResult, level: number) {
    const e = cause instanceof IdtoolError ? cause : undefined
    super(`sweep stopped at ${level} events: ${(cause as Error)?.message ?? String(cause)}`, {
      code: e?.code ?? 'SWEEP_FAILED',
      exitCode: e?.exitCode ?? ExitCode.Runtime,
      hint: e?.hint ?? `the ${partial.points.length} point(s) measured before were kept.`,
      cause,
    })
    this.partial = partial
  }
}

/** The point of one level, from its bench result. */
export function pointOf(revocationEvents: number, result: BenchValidateResult): SweepPoint {
  return {
    revocationEvents,
    rps: result.throughput.rps,
    latencyMs: { p50: result.latencyMs.p50, p99: result.latencyMs.p99 },
    errors: result.requests.errors + result.requests.unexpectedStatus,
    result,
  }
}

/**
 * For each level in ascending order: bring the revocation event count to it, then run the benchmark with the
 * same settings, and record one point at the event count actually reached. Ctrl-C (the signal) keeps the
 * points measured so far, plus the interrupted level's partial point if it measured any request. Never
 * prints: progress goes to `onEvent`.
 */
export async function runSweep(opts: SweepOptions, driver: SweepDriver): Promise<BenchSweepResult> {
  const now = opts.now ?? Date.now
  const t0 = now()
  const levels = [...opts.levels]
  for (let i = 1; i < levels.length; i++) {
    if (levels[i]! <= levels[i - 1]!) throw new IdtoolError('sweep levels must be strictly ascending')
  }
  const result: BenchSweepResult = {
    version: 1,
    kind: 'bench.sweep',
    ...(opts.label ? { label: opts.label } : {}),
    startedAt: new Date(t0).toISOString(),
    durationMs: 0,
    points: [],
    interrupted: false,
  }
  const aborted = () => Boolean(opts.signal?.aborted)
  const finish = () => {
    result.durationMs = Math.round(now() - t0)
    return result
  }
  for (const [index, level] of levels.entries()) {
    if (aborted()) break
    opts.onEvent?.({ type: 'level', index, total: levels.length, level })
    let reached: number
    let bench: BenchValidateResult
    try {
      const change = await driver.bringTo(level, opts.signal)
      opts.onEvent?.({ type: 'events', level, change })
      if (aborted()) break
      reached = change.after
      bench = await driver.bench(level, opts.signal)
    } catch (err) {
      if (aborted()) break
      throw new SweepFailed(err, finish(), level)
    }
    if (bench.interrupted && bench.requests.total === 0) break
    const point = pointOf(reached, bench)
    result.points.push(point)
    opts.onEvent?.({ type: 'point', index, point, first: result.points[0]! })
    if (bench.interrupted || aborted()) break
  }
  if (aborted()) {
    result.interrupted = true
    opts.onEvent?.({ type: 'stopped', reason: 'interrupted' })
  }
  return finish()
}
