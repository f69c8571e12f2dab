import { UsageError } from '../errors.js'
import type {
  AnyResult,
  BenchMixedResult,
  BenchSweepResult,
  BenchValidateResult,
  GateResult,
  LeakSubject,
  PageLeakCheckResult,
  ServerMemory,
  ServerMemoryProcess,
} from '../results/types.js'
import { type Dimension, metricDimension } from './thresholds.js'

/**
 * Metric resolution: a metric name (from a threshold or --max-regression) is compiled for a result kind
 * into a resolver that yields one or more labelled values. `*` in a metric expands to every backend,
 * point, subject or key, and each expansion is one value (every one must pass).
 *
 * Values are in natural units: latencies in milliseconds, ratios as fractions, counts as numbers.
 * A value of `null` means the result has no such value (e.g. `cold.p99` when cold is null): a threshold
 * on it fails. A name the kind does not know is a UsageError (exit 2).
 */

export type MetricValue = number | boolean | string | null

/** A result the gate can judge, and whose metrics resolve: any kind but the gate's own. */
export type GateInputResult = Exclude<AnyResult, GateResult>

export interface LabelledValue {
  /** the concrete metric, with `*` replaced, e.g. backends.ks1.p99 */
  label: string
  value: MetricValue
}

export interface CompiledMetric {
  metric: string
  kind: string
  dimension: Dimension
  /** for baseline comparison: true when a larger value is better (throughput), false for latencies */
  higherIsBetter: boolean
  /** the values of the metric in `result`, a result of this kind */
  resolve(result: GateInputResult): LabelledValue[]
}

/** Unknown metric for a result kind: unusable input, exit 2. */
export class UnknownMetricError extends UsageError {
  constructor(metric: string, kind: string, known: string[]) {
    super(`unknown metric "${metric}" for ${kind} results`, {
      code: 'UNKNOWN_METRIC',
      hint: `known metrics: ${known.join(', ')}`,
    })
  }
}

const HIGHER_IS_BETTER = new Set([
  'rps',
  'ok',
  'count',
  'searches',
  'pages',
  'entries',
  'entriesPerSearch',
  'issued',
  'revoked',
  'ratePerSec',
  'issueRatePerSec',
  'revokeRatePerSec',
])

/** Metric families where more is worse whatever the last part says (`failures.rps`, `unexpected.count`). */
const BAD_FAMILIES = new Set(['failures', 'unexpected', 'errors', 'unexpectedStatus'])

/** Direction for baseline comparison, from the metric's last part. */
export function higherIsBetter(metric: string): boolean {
  const segs = metric.split('.')
  const last = segs[segs.length - 1] ?? ''
  if (segs.some((s) => BAD_FAMILIES.has(s))) return false
  return HIGHER_IS_BETTER.has(last) || /PerSec$/.test(last)
}

type Getter<R> = (r: R, key: string) => MetricValue

interface Pattern<R> {
  /** dotted path; `{}` is a parameter that may be `*` (expanded with `keys`) or a concrete key */
  path: string
  get: Getter<R>
  keys?: (r: R) => string[]
  /** a short name that means every key, e.g. a sweep's `rps` means points.*.rps */
  implicitAll?: string
}

const PCTS = ['p50', 'p90', 'p99', 'p999', 'max', 'mean'] as const
const PAGE_PCTS = ['p50', 'p90', 'p99', 'max'] as const
const num = (v: unknown): MetricValue => (typeof v === 'number' && Number.isFinite(v) ? v : null)
const ratio = (part: number | undefined, whole: number | undefined): MetricValue =>
  typeof part === 'number' && typeof whole === 'number' && whole > 0 ? part / whole : null

/** Failures over requests; 0 when there was no request (nothing failed), null when a count is missing. */
const failureRate = (failures: number | undefined, total: number | undefined): MetricValue =>
  typeof failures === 'number' && typeof total === 'number' ? (total > 0 ? failures / total : 0) : null

// ---------- bench.validate ----------
/** Unexpected answers plus transport errors (from the counts, so results of any version have it). */
function failureCount(r: BenchValidateResult): number | undefined {
  const q = r.requests
  if (typeof q?.errors !== 'number' || typeof q?.unexpectedStatus !== 'number') return undefined
  return q.errors + q.unexpectedStatus
}

/**
 * The latencies of the expected answers, or null when there was none: a run whose every answer was a
 * failure has no latency to judge (its zeros would pass any `p50 <` threshold).
 */
function expectedLatency(r: BenchValidateResult, v: unknown): MetricValue {
  if (r.failures && r.requests?.ok === 0) return null
  return num(v)
}

function validatePatterns(): Pattern<BenchValidateResult>[] {
  const p: Pattern<BenchValidateResult>[] = []
  for (const q of PCTS) {
    p.push({ path: q, get: (r) => expectedLatency(r, r.latencyMs?.[q]) })
    p.push({ path: `latencyMs.${q}`, get: (r) => expectedLatency(r, r.latencyMs?.[q]) })
    p.push({ path: `uncorrected.${q}`, get: (r) => expectedLatency(r, r.latencyUncorrectedMs?.[q]) })
    p.push({
      path: `latencyUncorrectedMs.${q}`,
      get: (r) => expectedLatency(r, r.latencyUncorrectedMs?.[q]),
    })
    p.push({ path: `failures.${q}`, get: (r) => num(r.failures?.latencyMs?.[q]) })
    p.push({ path: `failures.latencyMs.${q}`, get: (r) => num(r.failures?.latencyMs?.[q]) })
    for (const cw of ['cold', 'warm'] as const) {
      p.push({ path: `${cw}.${q}`, get: (r) => num(r[cw]?.latencyMs?.[q]) })
      p.push({ path: `${cw}.latencyMs.${q}`, get: (r) => num(r[cw]?.latencyMs?.[q]) })
    }
  }
  for (const cw of ['cold', 'warm'] as const) p.push({ path: `${cw}.count`, get: (r) => num(r[cw]?.count) })
  const backendKeys = (r: BenchValidateResult) => Object.keys(r.backends ?? {}).sort()
  // a backend that gave no expected answer has no latency (null: a threshold on it fails)
  const backendLatency = (r: BenchValidateResult, k: string, q: 'p50' | 'p90' | 'p99' | 'max') => {
    const b = r.backends?.[k]
    if (r.failures && b && b.count - b.errors <= 0) return null
    return num(b?.latencyMs?.[q])
  }
  for (const q of ['p50', 'p90', 'p99', 'max'] as const) {
    p.push({ path: `backends.{}.${q}`, keys: backendKeys, get: (r, k) => backendLatency(r, k, q) })
    p.push({
      path: `backends.{}.latencyMs.${q}`,
      keys: backendKeys,
      get: (r, k) => backendLatency(r, k, q),
    })
  }
  p.push({ path: 'backends.{}.count', keys: backendKeys, get: (r, k) => num(r.backends?.[k]?.count) })
  p.push({ path: 'backends.{}.errors', keys: backendKeys, get: (r, k) => num(r.backends?.[k]?.errors) })
  p.push({
    path: 'backends.{}.errors.rate',
    keys: backendKeys,
    get: (r, k) => ratio(r.backends?.[k]?.errors, r.backends?.[k]?.count),
  })
  p.push({ path: 'backends', get: (r) => Object.keys(r.backends ?? {}).length })
  p.push({ path: 'rps', get: (r) => num(r.throughput?.rps) })
  p.push({ path: 'throughput.rps', get: (r) => num(r.throughput?.rps) })
  p.push({ path: 'errors', get: (r) => num(r.requests?.errors) })
  p.push({ path: 'errors.rate', get: (r) => ratio(r.requests?.errors, r.requests?.total) })
  p.push({
    path: 'errors.{}',
    keys: (r) => Object.keys(r.errors ?? {}).sort(),
    get: (r, k) => num(r.errors?.[k] ?? 0),
  })
  // failures: unexpected answers + transport errors, apart from throughput and latency
  p.push({ path: 'failures', get: (r) => num(failureCount(r)) })
  p.push({ path: 'failures.count', get: (r) => num(failureCount(r)) })
  p.push({ path: 'failures.rate', get: (r) => failureRate(failureCount(r), r.requests?.total) })
  p.push({
    path: 'failures.rps',
    get: (r) => {
      const n = failureCount(r)
      if (n === undefined) return null
      return typeof r.durationMs === 'number' && r.durationMs > 0 ? (n * 1000) / r.durationMs : 0
    },
  })
  p.push({ path: 'unexpected', get: (r) => num(r.requests?.unexpectedStatus) })
  p.push({ path: 'unexpected.count', get: (r) => num(r.requests?.unexpectedStatus) })
  p.push({ path: 'unexpected.rate', get: (r) => ratio(r.requests?.unexpectedStatus, r.requests?.total) })
  p.push({ path: 'unexpectedStatus', get: (r) => num(r.requests?.unexpectedStatus) })
  p.push({
    path: 'unexpectedStatus.rate',
    get: (r) => ratio(r.requests?.unexpectedStatus, r.requests?.total),
  })
  p.push({ path: 'requests', get: (r) => num(r.requests?.total) })
  for (const k of ['total', 'ok', 'errors', 'unexpectedStatus'] as const)
    p.push({ path: `requests.${k}`, get: (r) => num(r.requests?.[k]) })
  p.push({ path: 'requests.late', get: (r) => num(r.requests?.late ?? 0) })
  p.push({ path: 'ok', get: (r) => num(r.requests?.ok) })
  p.push({ path: 'ok.rate', get: (r) => ratio(r.requests?.ok, r.requests?.total) })
  p.push({ path: 'late', get: (r) => num(r.requests?.late ?? 0) })
  p.push({ path: 'late.rate', get: (r) => ratio(r.requests?.late ?? 0, r.requests?.total) })
  p.push({
    path: 'statusCodes.{}',
    keys: (r) => Object.keys(r.statusCodes ?? {}).sort(),
    get: (r, k) => num(r.statusCodes?.[k] ?? 0),
  })
  for (const k of ['durationMs', 'concurrency', 'connections', 'rate'] as const)
    p.push({ path: k, get: (r) => num(r[k]) })
  p.push({ path: 'mergedFrom', get: (r) => num(r.mergedFrom ?? 1) })
  p.push({ path: 'warmup.requests', get: (r) => num(r.warmup?.requests) })
  p.push({ path: 'warmup.durationMs', get: (r) => num(r.warmup?.durationMs) })
  p.push({ path: 'interrupted', get: (r) => Boolean(r.interrupted) })
  p.push(...memoryPatterns<BenchValidateResult>())
  return p
}

// ---------- server memory (bench validate, bench mixed: --pid, --watch-lab) ----------
/**
 * `memory.verdict`, `memory.leak` and per watched process (by name: ks1, pid-1234; `*` = every one)
 * `memory.ks1.verdict`, `.leak`, `.slope` (bytes per request), `.ci95.lo/hi`, `.startBytes`, `.endBytes`,
 * `.growthBytes`, `.samples` (of RssAnon), `.vmRss.startBytes`, `.vmRss.endBytes`. A result without
 * `memory` has none of them (null: a threshold on them fails).
 */
function memoryPatterns<R extends { memory?: ServerMemory }>(): Pattern<R>[] {
  const p: Pattern<R>[] = []
  const keys = (r: R) => Object.keys(r.memory?.processes ?? {}).sort()
  const proc = (f: (m: ServerMemoryProcess) => MetricValue): Getter<R> => {
    return (r, k) => {
      const m = r.memory?.processes?.[k]
      return m ? f(m) : null
    }
  }
  p.push({ path: 'memory.verdict', get: (r) => r.memory?.verdict ?? null })
  p.push({ path: 'memory.leak', get: (r) => (r.memory ? r.memory.verdict === 'leak' : null) })
  p.push({ path: 'memory.processes', get: (r) => (r.memory ? Object.keys(r.memory.processes).length : null) })
  const fields: Array<[string, (m: ServerMemoryProcess) => MetricValue]> = [
    ['verdict', (m) => m.verdict ?? null],
    ['leak', (m) => m.verdict === 'leak'],
    ['slope', (m) => num(m.rssAnon?.slopeBytesPerIteration)],
    ['slopeBytesPerRequest', (m) => num(m.rssAnon?.slopeBytesPerIteration)],
    ['ci95.lo', (m) => num(m.rssAnon?.ci95?.[0])],
    ['ci95.hi', (m) => num(m.rssAnon?.ci95?.[1])],
    ['startBytes', (m) => num(m.rssAnon?.startBytes)],
    ['endBytes', (m) => num(m.rssAnon?.endBytes)],
    ['growthBytes', (m) => (m.rssAnon ? num(m.rssAnon.endBytes - m.rssAnon.startBytes) : null)],
    ['samples', (m) => num(m.rssAnon?.samples)],
    ['vmRss.startBytes', (m) => num(m.vmRss?.startBytes)],
    ['vmRss.endBytes', (m) => num(m.vmRss?.endBytes)],
  ]
  for (const [name, f] of fields) p.push({ path: `memory.{}.${name}`, keys, get: proc(f) })
  return p
}

// ---------- ldap.page-leak-check ----------
function subjectKeys(r: PageLeakCheckResult): string[] {
  return (r.subjects ?? []).map((_, i) => String(i))
}
function subjectAt(r: PageLeakCheckResult, key: string): LeakSubject | undefined {
  const subjects = r.subjects ?? []
  if (/^\d+$/.test(key)) return subjects[Number(key)]
  return subjects.find((s) => s.name === key || (s.pid !== null && String(s.pid) === key))
}
function leakPatterns(): Pattern<PageLeakCheckResult>[] {
  const p: Pattern<PageLeakCheckResult>[] = []
  for (const which of ['page', 'search'] as const) {
    for (const q of PAGE_PCTS) {
      p.push({ path: `${which}.${q}`, get: (r) => num(r.latencyMs?.[which]?.[q]) })
      p.push({ path: `latencyMs.${which}.${q}`, get: (r) => num(r.latencyMs?.[which]?.[q]) })
    }
  }
  p.push({ path: 'leak', get: (r) => r.verdict === 'leak' })
  p.push({ path: 'verdict', get: (r) => r.verdict ?? null })
  p.push({ path: 'interrupted', get: (r) => Boolean(r.interrupted) })
  for (const k of ['searches', 'pages', 'entries', 'entriesPerSearch', 'pageSize', 'durationMs'] as const)
    p.push({ path: k, get: (r) => num(r[k]) })
  p.push({ path: 'errors', get: (r) => Object.values(r.errors ?? {}).reduce((a, b) => a + b, 0) })
  p.push({
    path: 'errors.{}',
    keys: (r) => Object.keys(r.errors ?? {}).sort(),
    get: (r, k) => num(r.errors?.[k] ?? 0),
  })
  const subj = (f: (s: LeakSubject) => MetricValue): Getter<PageLeakCheckResult> => {
    return (r, k) => {
      const s = subjectAt(r, k)
      return s ? f(s) : null
    }
  }
  const fields: Array<[string, (s: LeakSubject) => MetricValue]> = [
    ['slope', (s) => num(s.slopeBytesPerIteration)],
    ['slopeBytesPerIteration', (s) => num(s.slopeBytesPerIteration)],
    ['ci95.lo', (s) => num(s.ci95?.[0])],
    ['ci95.hi', (s) => num(s.ci95?.[1])],
    ['startBytes', (s) => num(s.startBytes)],
    ['endBytes', (s) => num(s.endBytes)],
    ['growthBytes', (s) => num(s.endBytes - s.startBytes)],
    ['samples', (s) => num(s.samples)],
    ['leak', (s) => s.verdict === 'leak'],
    ['verdict', (s) => s.verdict ?? null],
  ]
  for (const [name, f] of fields) p.push({ path: `subjects.{}.${name}`, keys: subjectKeys, get: subj(f) })
  p.push({ path: 'subjects', get: (r) => (r.subjects ?? []).length })
  p.push(...leakWritePatterns())
  return p
}

/** The writes (--writers) per phase, and paging consistency; null in results without writes. */
function leakWritePatterns(): Pattern<PageLeakCheckResult>[] {
  const p: Pattern<PageLeakCheckResult>[] = []
  for (const phase of ['baseline', 'during'] as const) {
    for (const q of PAGE_PCTS)
      p.push({ path: `writes.${phase}.${q}`, get: (r) => num(r.writes?.[phase]?.latencyMs?.[q]) })
    for (const k of ['writes', 'ok', 'achievedRatePerSec', 'durationMs'] as const)
      p.push({ path: `writes.${phase}.${k}`, get: (r) => num(r.writes?.[phase]?.[k]) })
    p.push({
      path: `writes.${phase}.eventLoopDelay.p99`,
      get: (r) => num(r.writes?.[phase]?.eventLoopDelayMs?.p99),
    })
    p.push({
      path: `writes.${phase}.errors`,
      get: (r) => {
        const e = r.writes?.[phase]?.errors
        return e ? Object.values(e).reduce((a, b) => a + b, 0) : null
      },
    })
  }
  p.push({ path: 'writes.restoreErrors', get: (r) => num(r.writes?.restoreErrors) })
  for (const k of ['searches', 'consistent', 'missing', 'duplicates', 'unexpected'] as const)
    p.push({ path: `paging.${k}`, get: (r) => num(r.consistency?.[k]) })
  p.push({
    path: 'paging.inconsistent',
    get: (r) => (r.consistency ? r.consistency.searches - r.consistency.consistent : null),
  })
  return p
}

// ---------- bench.sweep ----------
type SweepPoint = BenchSweepResult['points'][number]
function pointKeys(r: BenchSweepResult): string[] {
  return (r.points ?? []).map((_, i) => String(i))
}
function pointAt(r: BenchSweepResult, key: string): SweepPoint | undefined {
  return /^\d+$/.test(key) ? r.points?.[Number(key)] : undefined
}
function sweepPatterns(): Pattern<BenchSweepResult>[] {
  const p: Pattern<BenchSweepResult>[] = []
  const fields: Array<[string, (pt: SweepPoint) => MetricValue]> = [
    ['rps', (pt) => num(pt.rps)],
    ['p50', (pt) => num(pt.latencyMs?.p50)],
    ['p99', (pt) => num(pt.latencyMs?.p99)],
    ['errors', (pt) => num(pt.errors)],
    ['errors.rate', (pt) => ratio(pt.errors, pt.result?.requests?.total)],
    // a point's `errors` are its unexpected answers plus transport errors
    ['failures', (pt) => num(pt.errors)],
    ['failures.rate', (pt) => failureRate(pt.errors, pt.result?.requests?.total)],
    ['unexpectedStatus', (pt) => num(pt.result?.requests?.unexpectedStatus)],
    ['revocationEvents', (pt) => num(pt.revocationEvents)],
    ['p90', (pt) => num(pt.result?.latencyMs?.p90)],
    ['p999', (pt) => num(pt.result?.latencyMs?.p999)],
    ['max', (pt) => num(pt.result?.latencyMs?.max)],
  ]
  for (const [name, f] of fields) {
    const get: Getter<BenchSweepResult> = (r, k) => {
      const pt = pointAt(r, k)
      return pt ? f(pt) : null
    }
    // `rps` alone means every point, like points.*.rps
    p.push({ path: name, keys: pointKeys, get, implicitAll: `points.{}.${name}` })
    p.push({ path: `points.{}.${name}`, keys: pointKeys, get })
  }
  p.push({
    path: 'rps.drop',
    get: (r) => {
      const pts = r.points ?? []
      const first = pts[0]?.rps
      if (!first || pts.length < 2) return null
      return Math.max(0, ...pts.map((pt) => 1 - pt.rps / first))
    },
  })
  p.push({ path: 'points', get: (r) => (r.points ?? []).length })
  p.push({ path: 'durationMs', get: (r) => num(r.durationMs) })
  p.push({ path: 'interrupted', get: (r) => Boolean(r.interrupted) })
  return p
}

// ---------- bench.mixed ----------
type MixedPhase = BenchMixedResult['phases'][number]
const phaseNamed = (r: BenchMixedResult, name: string): MixedPhase | undefined =>
  (r.phases ?? []).find((ph) => ph.name === name)
const phaseFailures = (ph: MixedPhase | undefined) =>
  ph ? (ph.requests?.errors ?? 0) + (ph.requests?.unexpectedStatus ?? 0) : undefined
function mixedPatterns(): Pattern<BenchMixedResult>[] {
  const p: Pattern<BenchMixedResult>[] = []
  for (const name of ['before', 'during', 'after']) {
    const at =
      (f: (ph: MixedPhase) => MetricValue): Getter<BenchMixedResult> =>
      (r) => {
        const ph = phaseNamed(r, name)
        return ph ? f(ph) : null
      }
    // a phase without an expected answer has no latency to judge
    for (const q of PCTS)
      p.push({ path: `${name}.${q}`, get: at((ph) => (ph.requests?.ok ? num(ph.latencyMs?.[q]) : null)) })
    p.push({ path: `${name}.rps`, get: at((ph) => num(ph.throughput?.rps)) })
    p.push({ path: `${name}.requests`, get: at((ph) => num(ph.requests?.total)) })
    p.push({ path: `${name}.failures`, get: at((ph) => num(phaseFailures(ph))) })
    p.push({
      path: `${name}.failures.rate`,
      get: at((ph) => failureRate(phaseFailures(ph), ph.requests?.total)),
    })
    p.push({ path: `${name}.unexpected`, get: at((ph) => num(ph.requests?.unexpectedStatus)) })
    p.push({ path: `${name}.errors`, get: at((ph) => num(ph.requests?.errors)) })
    p.push({ path: `${name}.late`, get: at((ph) => num(ph.requests?.late)) })
    p.push({ path: `${name}.events.start`, get: at((ph) => num(ph.revocationEvents?.start)) })
    p.push({ path: `${name}.events.end`, get: at((ph) => num(ph.revocationEvents?.end)) })
  }
  const phases = (r: BenchMixedResult) => r.phases ?? []
  p.push({
    path: 'validations.failed',
    get: (r) => phases(r).reduce((a, ph) => a + (phaseFailures(ph) ?? 0), 0),
  })
  p.push({
    path: 'validations.total',
    get: (r) => phases(r).reduce((a, ph) => a + (ph.requests?.total ?? 0), 0),
  })
  const rv = (r: BenchMixedResult) => r.revocations
  for (const q of PCTS) p.push({ path: `revocations.${q}`, get: (r) => num(rv(r)?.latencyMs?.[q]) })
  for (const k of ['planned', 'sent', 'revoked', 'failed'] as const)
    p.push({ path: `revocations.${k}`, get: (r) => num(rv(r)?.[k]) })
  p.push({ path: 'revocations.failed.rate', get: (r) => failureRate(rv(r)?.failed, rv(r)?.sent) })
  p.push({ path: 'revocations.rps', get: (r) => num(rv(r)?.throughput?.rps) })
  p.push({
    path: 'revocations.failures.{}',
    keys: (r) => Object.keys(rv(r)?.failures ?? {}),
    get: (r, k) => num(rv(r)?.failures?.[k as keyof BenchMixedResult['revocations']['failures']] ?? 0),
  })
  p.push({ path: 'phases', get: (r) => phases(r).length })
  p.push({ path: 'expiredEvents', get: (r) => num(r.expiredEvents) })
  p.push({ path: 'durationMs', get: (r) => num(r.durationMs) })
  p.push({ path: 'interrupted', get: (r) => Boolean(r.interrupted) })
  p.push(...memoryPatterns<BenchMixedResult>())
  return p
}

const PATTERNS: Record<string, () => Pattern<never>[]> = {
  'bench.mixed': mixedPatterns as () => Pattern<never>[],
  'bench.validate': validatePatterns as () => Pattern<never>[],
  'ldap.page-leak-check': leakPatterns as () => Pattern<never>[],
  'bench.sweep': sweepPatterns as () => Pattern<never>[],
}

/** The metrics a kind knows, for help texts and error hints (`{}` shown as `*`). */
export function knownMetrics(kind: string): string[] {
  const f = PATTERNS[kind]
  if (!f) return ['any numeric or boolean field of the result, as a dotted path']
  return [...new Set(f().map((p) => p.path.replaceAll('{}', '*')))]
}

function matchPattern(path: string[], segs: string[]): string | null | false {
  if (path.length !== segs.length) return false
  let param: string | null = null
  for (let i = 0; i < path.length; i++) {
    if (path[i] === '{}') param = segs[i] ?? null
    else if (path[i] !== segs[i]) return false
  }
  return param
}

const compiled = (
  kind: string,
  metric: string,
  resolve: (result: GateInputResult) => LabelledValue[],
): CompiledMetric => ({
  metric,
  kind,
  dimension: metricDimension(metric),
  higherIsBetter: higherIsBetter(metric),
  resolve,
})

function compileFromPatterns(kind: string, metric: string, patterns: Pattern<unknown>[]): CompiledMetric {
  const segs = metric.split('.')
  for (const pat of patterns) {
    const m = matchPattern(pat.path.split('.'), segs)
    if (m === false) continue
    if (segs.includes('*') && m !== '*')
      throw new UsageError(`"*" is not allowed at that place in "${metric}"`, {
        hint: `known metrics for ${kind}: ${knownMetrics(kind).join(', ')}`,
      })
    const implicitAll = pat.implicitAll
    return compiled(kind, metric, (result) => {
      if (m === '*' || implicitAll) {
        const keys = pat.keys?.(result) ?? []
        const prefix = implicitAll ?? pat.path
        return keys.map((k) => ({ label: prefix.replace('{}', k), value: pat.get(result, k) }))
      }
      return [{ label: metric, value: pat.get(result, m ?? '') }]
    })
  }
  throw new UnknownMetricError(metric, kind, knownMetrics(kind))
}

function walk(value: unknown, segs: string[], label: string[]): Array<{ label: string; value: unknown }> {
  if (segs.length === 0) return [{ label: label.join('.'), value }]
  const [head, ...rest] = segs as [string, ...string[]]
  if (value === null || typeof value !== 'object')
    return [{ label: [...label, ...segs].join('.'), value: undefined }]
  if (head === '*') {
    const entries = Array.isArray(value)
      ? value.map((v, i) => [String(i), v] as const)
      : Object.entries(value)
    return entries.flatMap(([k, v]) => walk(v, rest, [...label, k]))
  }
  return walk((value as Record<string, unknown>)[head], rest, [...label, head])
}

/** Metrics of kinds without a catalogue (revoke-bulk, tokens.issue): any dotted path to a number or boolean. */
function compileGeneric(kind: string, metric: string): CompiledMetric {
  const segs = metric.split('.')
  return compiled(kind, metric, (result) =>
    walk(result, segs, []).map(({ label, value }) => {
      if (value === undefined)
        throw new UnknownMetricError(metric, kind, ['any numeric or boolean field of the result'])
      const v =
        typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string' ? value : null
      return { label, value: v }
    }),
  )
}

/** Compile a metric name for a result kind; throws UnknownMetricError (exit 2) for unknown names. */
export function compileMetric(kind: string, metric: string): CompiledMetric {
  if (kind === 'ldap.page-leak-check' && /^(p50|p90|p99|p999|max|mean)$/.test(metric))
    throw new UsageError(`metric "${metric}" is ambiguous for ldap.page-leak-check results`, {
      hint: `use page.${metric} (one page) or search.${metric} (one whole paged search).`,
    })
  if (kind === 'gate') throw new UsageError('a gate result cannot be gated again')
  const f = PATTERNS[kind]
  if (!f) return compileGeneric(kind, metric)
  return compileFromPatterns(kind, metric, f() as Pattern<unknown>[])
}
