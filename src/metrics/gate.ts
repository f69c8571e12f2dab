import { UsageError } from '../errors.js'
import { type LoadOptions, loadResult, RESULT_KINDS } from '../results/load.js'
import type { BenchSweepResult, BenchValidateResult, GateResult } from '../results/types.js'
import {
  type CompiledMetric,
  compileMetric,
  type GateInputResult,
  type LabelledValue,
  type MetricValue,
} from './catalogue.js'
import { type Comparison, compareRuns, type RegressionSpec } from './compare.js'
import { groupByOverlap, mergeBenchResults, mergeSweepShards } from './merge.js'
import { checkShardSet } from './shards.js'
import { formatMetricValue, formatPct } from './threshold-format.js'
import { compare, parseThreshold, type Threshold } from './thresholds.js'

// what the gate's callers need with it: thresholds and regression specs to parse, metrics to check early
export { compileMetric } from './catalogue.js'
export { parseMaxRegression, type RegressionSpec } from './compare.js'
export { mergeBenchResults } from './merge.js'
export { parseThreshold, type Threshold } from './thresholds.js'

export type GateCheck = GateResult['checks'][number]

export type { GateInputResult }

/** A result to judge and where it came from (its file, or a label for a result that was not saved). */
export interface LoadedResult {
  file: string
  result: GateInputResult
}

/** One run: a result, or several results of parallel generators merged into one. */
export interface Run {
  label: string
  files: string[]
  result: GateInputResult
}

/** How several result files become runs. */
export type MergeMode = 'auto' | 'all' | 'none'

/** What the gate reads: a result of any kind but a gate result. */
export const GATE_INPUT: LoadOptions<GateInputResult['kind']> = {
  kinds: RESULT_KINDS.filter((k): k is GateInputResult['kind'] => k !== 'gate'),
  otherKind: 'gate the results it judged instead',
}

/** Read and check one saved result to judge (missing, unreadable, not JSON, not an idtool result: exit 2). */
export function loadGateInput(file: string): LoadedResult {
  return { file, result: loadResult(file, GATE_INPUT) }
}

/** The one kind shared by every input and baseline; mixed kinds are unusable input (exit 2). */
export function commonKind(inputs: LoadedResult[], baselines: LoadedResult[] = []): string {
  const all = [...inputs, ...baselines]
  const kinds = [...new Set(all.map((r) => r.result.kind))]
  if (kinds.length > 1)
    throw new UsageError(
      `mixed result kinds: ${all.map((r) => `${r.file} is ${r.result.kind}`).join(', ')}`,
      {
        hint: 'gate results of one command at a time (current and baseline alike).',
      },
    )
  const kind = kinds[0]
  if (!kind) throw new UsageError('no result files given')
  return kind
}

/**
 * Turn result files into runs. `auto`: bench validate results whose time windows overlap are parallel
 * generators of one run and are merged; others are separate runs. `all`: merge everything into one
 * run (bench validate only). `none`: every file is its own run.
 */
export function buildRuns(
  loaded: LoadedResult[],
  mode: MergeMode,
  prefix = 'run',
  opts: { allowPartial?: boolean } = {},
): Run[] {
  if (loaded.length === 0) return []
  const kind = loaded[0]?.result.kind
  // shards (--shard i/n) are one load whatever their time windows: judged once, on their merge
  const sharded =
    (kind === 'bench.validate' || kind === 'bench.sweep') &&
    loaded.some((l) => (l.result as BenchValidateResult | BenchSweepResult).shard)
  if (mode === 'all' && loaded.length > 1 && kind !== 'bench.validate' && !sharded)
    throw new UsageError(`only bench.validate results can be merged (these are ${kind})`, {
      hint: 'use --merge none to judge them as separate runs.',
    })
  if (sharded && mode === 'none')
    throw new UsageError('shard results are one load: --merge none would judge each shard alone', {
      hint: 'drop --merge none; the gate judges the merged shard set once.',
    })
  let groups: number[][]
  if (mode === 'none' || (kind !== 'bench.validate' && !sharded)) groups = loaded.map((_, i) => [i])
  else if (mode === 'all' || sharded) groups = [loaded.map((_, i) => i)]
  else groups = groupByOverlap(loaded.map((l) => l.result as BenchValidateResult))
  return groups.map((g, n) => {
    const parts = g.map((i) => loaded[i] as LoadedResult)
    const files = parts.map((p) => p.file)
    const result =
      parts.length === 1 && !sharded
        ? (parts[0] as LoadedResult).result
        : kind === 'bench.sweep'
          ? mergeSweepShards(
              parts.map((p) => p.result as BenchSweepResult),
              { allowPartial: opts.allowPartial, labels: files },
            )
          : mergeBenchResults(
              parts.map((p) => p.result as BenchValidateResult),
              { allowPartial: opts.allowPartial, labels: files },
            )
    const label = groups.length === 1 ? prefix : `${prefix} ${n + 1}`
    return { label, files, result }
  })
}

/** When the inputs are an incomplete shard set: the shards present, as "0, 2 of 3"; else undefined. */
export function partialShardSet(inputs: LoadedResult[]): string | undefined {
  // a sweep's shard set is that of its first level
  const first = (l: LoadedResult) =>
    l.result.kind === 'bench.sweep'
      ? l.result.points[0]?.result
      : l.result.kind === 'bench.validate'
        ? l.result
        : undefined
  const results = inputs.map(first)
  if (results.some((r) => r === undefined)) return undefined
  const set = checkShardSet(results as BenchValidateResult[], {
    allowPartial: true,
    labels: inputs.map((l) => l.file),
  })
  return set?.partial ? `${set.indices.join(', ')} of ${set.count}` : undefined
}

function limitString(t: Threshold): string {
  return `${t.op} ${t.limitText}`
}

interface Judged {
  run: Run
  lv: LabelledValue
  passed: boolean
  why?: string
}

/** Evaluate thresholds over runs: a check passes when every run (and every `*` expansion) passes. */
export function evaluateThresholds(runs: Run[], thresholds: Threshold[], kind: string): GateCheck[] {
  return thresholds.map((t) => {
    const compiled = compileMetric(kind, t.metric)
    const judged: Judged[] = []
    for (const run of runs) {
      for (const lv of compiled.resolve(run.result)) judged.push(judge(run, lv, t))
    }
    const base = { name: t.text, kind: 'threshold' as const, metric: t.metric, limit: limitString(t) }
    if (judged.length === 0) {
      const what = t.metric.split('.*')[0]
      return {
        ...base,
        actual: null,
        passed: false,
        detail: `no values: the result has no ${what} to judge`,
      }
    }
    const failed = judged.filter((j) => !j.passed)
    const worst = pickWorst(failed.length ? failed : judged, t)
    const many = judged.length > 1
    const at = (j: Judged) => `${runs.length > 1 ? `${j.run.label}: ` : ''}${j.lv.label}`
    const details: string[] = []
    if (many) {
      details.push(
        failed.length
          ? `${failed.length} of ${judged.length} failed; worst ${at(worst)} = ${formatMetricValue(t.metric, worst.lv.value)}`
          : `all ${judged.length} passed; closest ${at(worst)} = ${formatMetricValue(t.metric, worst.lv.value)}`,
      )
    }
    const whys = [...new Set(failed.map((f) => f.why).filter((w): w is string => Boolean(w)))]
    if (whys.length) details.push(whys.join('; '))
    return {
      ...base,
      actual: asActual(worst.lv.value),
      passed: failed.length === 0,
      ...(details.length ? { detail: details.join('; ') } : {}),
    }
  })
}

function asActual(v: MetricValue): number | boolean | null {
  if (typeof v === 'number' || typeof v === 'boolean') return typeof v === 'number' ? round6(v) : v
  return null
}

/** Drop floating-point noise (0.30000000000000004) but keep small ratios exact enough. */
const round6 = (n: number) => (Number.isFinite(n) ? Number(n.toPrecision(12)) : n)

function judge(run: Run, lv: LabelledValue, t: Threshold): Judged {
  const v = lv.value
  if (v === null) return { run, lv, passed: false, why: `${lv.label} is not in the result` }
  if (typeof v !== t.value.type)
    return { run, lv, passed: false, why: `${lv.label} is a ${typeof v}, the limit a ${t.value.type}` }
  return { run, lv, passed: compare(v, t.op, t.value.value) }
}

function pickWorst(js: Judged[], t: Threshold): Judged {
  const nums = js.filter((j) => typeof j.lv.value === 'number')
  const nulls = js.filter((j) => j.lv.value === null)
  if (nulls.length && nulls.length === js.length) return nulls[0] as Judged
  if (nums.length && (t.op === '<' || t.op === '<=' || t.op === '>' || t.op === '>=')) {
    const low = t.op === '>' || t.op === '>='
    return nums.reduce((a, b) => {
      const av = a.lv.value as number
      const bv = b.lv.value as number
      return low ? (bv < av ? b : a) : bv > av ? b : a
    })
  }
  return js[0] as Judged
}

/**
 * Checks a gate applies by default, per kind (like Rally's default `failure_rate` SLA): a run whose
 * requests failed (unexpected answers, transport errors) measured no working service, however good its
 * throughput and latency look. An explicit threshold on the same metric (`failures.rate`, or a sweep's
 * `points.*.failures.rate`) replaces the default; `failures.rate <= 100%` turns it off.
 */
export const DEFAULT_THRESHOLDS: Record<string, string[]> = {
  'bench.validate': ['failures.rate < 1%'],
  'bench.sweep': ['failures.rate < 1%'],
}

const DEFAULT_NOTE =
  'default check: unexpected answers + transport errors over all requests; an explicit threshold on failures.rate replaces it'

/** The default thresholds of a kind that no explicit threshold overrides. */
export function defaultThresholds(kind: string, explicit: Threshold[]): Threshold[] {
  const names = (m: string) => m.replace(/^points\.(\*|\d+)\./, '')
  return (DEFAULT_THRESHOLDS[kind] ?? [])
    .map((text) => parseThreshold(text))
    .filter((d) => !explicit.some((t) => names(t.metric) === names(d.metric)))
}

/** How many requests failed across the runs of bench validate results, for the default check's note. */
function failureCounts(runs: Run[]): string | undefined {
  let total = 0
  let unexpected = 0
  let errors = 0
  for (const run of runs) {
    const q = (run.result as BenchValidateResult).requests
    if (!q || typeof q.total !== 'number') return undefined
    total += q.total
    unexpected += q.unexpectedStatus ?? 0
    errors += q.errors ?? 0
  }
  return `${unexpected + errors} of ${total} requests failed (${unexpected} unexpected answers, ${errors} transport errors)`
}

/** Evaluate the default checks of a kind, marked as such (name, `default`, a note). */
export function evaluateDefaults(runs: Run[], explicit: Threshold[], kind: string): GateCheck[] {
  const defaults = defaultThresholds(kind, explicit)
  if (defaults.length === 0) return []
  const counts = kind === 'bench.validate' ? failureCounts(runs) : undefined
  return evaluateThresholds(runs, defaults, kind).map((c) => ({
    ...c,
    name: `${c.name} (default)`,
    default: true,
    detail: [counts, c.detail, DEFAULT_NOTE].filter(Boolean).join('; '),
  }))
}

/** Metrics compared against a baseline when no --max-regression is given, per kind. */
export const DEFAULT_REGRESSIONS: Record<string, RegressionSpec[]> = {
  'bench.validate': [
    { metric: 'p50', maxPct: 10, text: 'p50=10%' },
    { metric: 'p99', maxPct: 10, text: 'p99=10%' },
    { metric: 'rps', maxPct: 10, text: 'rps=10%' },
  ],
  'bench.sweep': [
    { metric: 'rps', maxPct: 10, text: 'rps=10%' },
    { metric: 'p99', maxPct: 10, text: 'p99=10%' },
  ],
  'ldap.page-leak-check': [
    { metric: 'search.p99', maxPct: 10, text: 'search.p99=10%' },
    { metric: 'page.p99', maxPct: 10, text: 'page.p99=10%' },
  ],
}

function valuesByLabel(runs: Run[], compiled: CompiledMetric): Map<string, number[]> {
  const out = new Map<string, number[]>()
  for (const run of runs) {
    for (const lv of compiled.resolve(run.result)) {
      const list = out.get(lv.label) ?? []
      if (typeof lv.value === 'number') list.push(lv.value)
      out.set(lv.label, list)
    }
  }
  return out
}

function regressionDetail(metric: string, c: Comparison, maxPct: number, higher: boolean): string {
  const fmt = (v: number) => formatMetricValue(metric, v)
  const side = (n: number, m: number, sd: number, what: string) =>
    n === 1 ? `${what} ${fmt(m)}` : `${what} mean of ${n} runs ${fmt(m)} ± ${fmt(sd)}`
  const allowed = `${higher ? '-' : '+'}${maxPct}%`
  const head = `${side(c.currentRuns, c.currentMean, c.currentSd, 'current')} vs ${side(c.baselineRuns, c.baselineMean, c.baselineSd, 'baseline')}`
  const ch = formatPct(c.changePct)
  const unknown = 'noise unknown (1 run on each side), judged by the percentage alone'
  if (!c.pctExceeded) {
    const how =
      (c.worsePct ?? 0) <= 0 ? `change ${ch}: no worse` : `change ${ch} within the allowed ${allowed}`
    return `${head}; ${how}${c.method === 'percentage-only' ? `; ${unknown}` : ''}`
  }
  if (c.method === 'percentage-only')
    return `${head}; change ${ch} beyond the allowed ${allowed}; ${unknown}: regression`
  const stat = `t=${Number.isFinite(c.t ?? 0) ? (c.t ?? 0).toFixed(2) : '∞'} vs ${(c.tCritical ?? 0).toFixed(2)} at 95%, df ${(c.df ?? 0).toFixed(1)}`
  const how =
    c.method === 'welch' ? 'Welch t-test' : 'one-sided t-test on the spread of the side with several runs'
  return c.beyondNoise
    ? `${head}; change ${ch} beyond the allowed ${allowed} and beyond run-to-run noise (${how}, ${stat}): regression`
    : `${head}; change ${ch} beyond the allowed ${allowed} but within run-to-run noise (${how}, ${stat}): not a regression`
}

/** Compare current runs against baseline runs for each --max-regression metric. */
export function compareToBaseline(
  baseline: Run[],
  current: Run[],
  specs: RegressionSpec[],
  kind: string,
): GateCheck[] {
  const checks: GateCheck[] = []
  for (const spec of specs) {
    const compiled = compileMetric(kind, spec.metric)
    if (compiled.dimension === 'boolean' || compiled.dimension === 'string')
      throw new UsageError(`cannot compare ${spec.metric} against a baseline: it is not a number`, {
        hint: 'use a threshold such as "leak == false" instead.',
      })
    const higher = compiled.higherIsBetter
    const limit = `change ${higher ? '>= -' : '<= +'}${spec.maxPct}% beyond noise`
    const cur = valuesByLabel(current, compiled)
    const base = valuesByLabel(baseline, compiled)
    const labels = [...cur.keys(), ...[...base.keys()].filter((k) => !cur.has(k))]
    for (const label of labels) {
      const c = cur.get(label) ?? []
      const b = base.get(label) ?? []
      const name = `${label} vs baseline`
      const common = { name, kind: 'regression' as const, metric: label, limit }
      if (c.length === 0) {
        checks.push({
          ...common,
          actual: null,
          baseline: b.length ? round6(b.reduce((x, y) => x + y, 0) / b.length) : null,
          changePct: null,
          passed: false,
          detail: `${label} is in the baseline but not in the current result`,
        })
        continue
      }
      if (b.length === 0) {
        checks.push({
          ...common,
          actual: round6(c.reduce((x, y) => x + y, 0) / c.length),
          baseline: null,
          changePct: null,
          passed: true,
          detail: `${label} is not in the baseline: not compared`,
        })
        continue
      }
      const cmp = compareRuns(b, c, spec.maxPct, higher)
      checks.push({
        ...common,
        actual: round6(cmp.currentMean),
        baseline: round6(cmp.baselineMean),
        changePct: cmp.changePct === null ? null : Math.round(cmp.changePct * 100) / 100,
        passed: !cmp.regression,
        detail: regressionDetail(label, cmp, spec.maxPct, higher),
      })
    }
  }
  return checks
}

export interface GateOptions {
  inputs: LoadedResult[]
  baselines?: LoadedResult[]
  thresholds?: Threshold[]
  /** --max-regression specs; defaults per kind when baselines are given and this is empty */
  regressions?: RegressionSpec[]
  merge?: MergeMode
  /** shard results: judge an incomplete set (marked partial) instead of refusing it */
  allowPartial?: boolean
}

/** Judge results against thresholds and a baseline (pure apart from the already-loaded inputs). */
export function gate(opts: GateOptions): GateResult {
  const baselines = opts.baselines ?? []
  const thresholds = opts.thresholds ?? []
  const kind = commonKind(opts.inputs, baselines)
  const mode = opts.merge ?? 'auto'
  const current = buildRuns(opts.inputs, mode, 'run', { allowPartial: opts.allowPartial })
  if (thresholds.length === 0 && baselines.length === 0 && (opts.regressions ?? []).length === 0)
    throw new UsageError('nothing to check', {
      hint: 'give --threshold EXPR, --scenario FILE (with thresholds) or --baseline FILE.',
    })
  const checks: GateCheck[] = evaluateThresholds(current, thresholds, kind)
  if (baselines.length) {
    let specs = opts.regressions ?? []
    if (specs.length === 0) specs = DEFAULT_REGRESSIONS[kind] ?? []
    if (specs.length === 0)
      throw new UsageError(`no default metrics to compare for ${kind} results`, {
        hint: 'name them with --max-regression METRIC=PERCENT.',
      })
    checks.push(
      ...compareToBaseline(
        buildRuns(baselines, mode, 'baseline', { allowPartial: opts.allowPartial }),
        current,
        specs,
        kind,
      ),
    )
  } else if ((opts.regressions ?? []).length) {
    throw new UsageError('--max-regression needs --baseline', { hint: 'give the baseline result files.' })
  }
  // then the default checks: whether the runs measured a working service at all
  checks.push(...evaluateDefaults(current, thresholds, kind))
  if (checks.length === 0)
    throw new UsageError('nothing to check', {
      hint: 'give --threshold EXPR, --scenario FILE (with thresholds) or --baseline FILE.',
    })
  return {
    version: 1,
    kind: 'gate',
    passed: checks.every((c) => c.passed),
    checks,
    inputs: opts.inputs.map((i) => i.file),
    baselines: baselines.map((b) => b.file),
  }
}
