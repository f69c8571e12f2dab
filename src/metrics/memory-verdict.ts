import type { LeakSubject, LeakVerdict } from '../results/types.js'
import { combineVerdicts, ITERATION_WORDS, type JudgementWords, judgeSeries, type Point } from './stats.js'

/**
 * The memory verdict (pure): each watched memory series judged against a threshold in bytes per
 * iteration ({@link judgeSeries}), with the notes a reader needs, and the overall verdict of the deciding
 * series. The samples come from a sampler that does the I/O (`load/memory.ts`); this module only judges.
 */

/** One watched memory figure of one process (or of idtool itself), as sampled. */
export interface MemorySeries {
  name: string
  /** null: idtool's own heap */
  pid: number | null
  /** e.g. heapUsed, external, RssAnon, VmRSS */
  metric: string
  /** counts toward the overall verdict (VmRSS is informational) */
  deciding: boolean
  /** the clean samples, [iteration, bytes] */
  points: readonly Point[]
  /** samples taken in a window with errors, left out of `points` */
  dirty: number
  /** a note that always applies to this series */
  note?: string
  /** the process exited (or its PID was reused) at this iteration: no samples after it */
  gone?: { atIteration: number; why: string }
}

export interface MemoryVerdict {
  verdict: LeakVerdict
  subjects: LeakSubject[]
}

const round1 = (n: number) => Math.round(n * 10) / 10

/** Judge one series: the slope, its 95% interval, the verdict and why. */
export function judgeMemorySeries(
  s: MemorySeries,
  thresholdBytesPerIteration: number,
  words: JudgementWords = ITERATION_WORDS,
): LeakSubject {
  const { points } = s
  const judged = judgeSeries(points, thresholdBytesPerIteration, words)
  // a process that exited mid-run is not judged a leak from its last samples (its end is not the run's)
  const j =
    s.gone && judged.verdict === 'leak'
      ? { ...judged, verdict: 'inconclusive' as const, note: 'its memory grew, but it exited before the end' }
      : judged
  const notes: string[] = []
  if (s.gone) notes.push(`${s.gone.why} at ${words.unit} ${s.gone.atIteration}; judged on the samples before`)
  if (s.dirty > 0) notes.push(`${s.dirty} sample${s.dirty === 1 ? '' : 's'} taken after errors left out`)
  if (j.note) notes.push(j.note)
  if (s.note) notes.push(s.note)
  const first = points[0]
  const last = points[points.length - 1]
  return {
    name: s.name,
    pid: s.pid,
    metric: s.metric,
    slopeBytesPerIteration: round1(j.slope),
    ci95: [round1(j.ci95[0]), round1(j.ci95[1])],
    startBytes: first ? first[1] : 0,
    endBytes: last ? last[1] : 0,
    samples: j.samples,
    verdict: j.verdict,
    series: points.map(([x, y]) => [x, y] as [number, number]),
    ...(notes.length ? { note: notes.join('; ') } : {}),
  }
}

/** Judge every series; the overall verdict is leak when any deciding series leaks ({@link combineVerdicts}). */
export function judgeMemory(
  series: readonly MemorySeries[],
  thresholdBytesPerIteration: number,
  words: JudgementWords = ITERATION_WORDS,
): MemoryVerdict {
  const subjects = series.map((s) => judgeMemorySeries(s, thresholdBytesPerIteration, words))
  const deciding = subjects.filter((_, i) => series[i]?.deciding).map((s) => s.verdict)
  return { verdict: combineVerdicts(deciding), subjects }
}
