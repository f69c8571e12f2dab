import { UsageError } from '../errors.js'

/**
 * Threshold expressions, k6-style but with units: `METRIC OP VALUE`.
 *
 *   p99 < 250ms            latency in ms, s or us (a plain number is milliseconds)
 *   errors.rate < 0.1%     a ratio, as a percentage or a plain fraction (0.001)
 *   rps >= 150             a plain number
 *   backends.*.p99 < 400ms every backend must pass
 *   leak == false          a boolean (== and != only)
 *   verdict != "inconclusive"  a quoted string (== and != only)
 *
 * Operators: < <= > >= == !=. Parsing is purely syntactic plus unit checks from the metric's name;
 * whether a metric exists for a result kind is checked by `compileMetric` (src/gate/metrics.ts).
 */

export type Operator = '<' | '<=' | '>' | '>=' | '==' | '!='
export const OPERATORS: readonly Operator[] = ['<', '<=', '>', '>=', '==', '!=']

/** What a metric measures, inferred from its name; decides which units it accepts. */
export type Dimension = 'time' | 'ratio' | 'number' | 'boolean' | 'string'

export type ThresholdValue =
  | { type: 'number'; value: number; unit: string }
  | { type: 'boolean'; value: boolean }
  | { type: 'string'; value: string }

export interface Threshold {
  /** the expression as written (trimmed) */
  text: string
  metric: string
  segments: string[]
  op: Operator
  /** normalised limit: milliseconds for times, a fraction for ratios */
  value: ThresholdValue
  /** the limit as written after the operator, e.g. "250ms" */
  limitText: string
  dimension: Dimension
}

/** A bad threshold expression: exit 2, with the column of the problem. */
export class ThresholdSyntaxError extends UsageError {
  readonly expression: string
  readonly column: number
  readonly reason: string
  constructor(expression: string, column: number, reason: string) {
    super(`bad threshold "${expression}": ${reason}`, {
      code: 'THRESHOLD_SYNTAX',
      hint: 'write METRIC OP VALUE, e.g. "p99 < 250ms", "errors.rate < 0.1%", "rps >= 150", "leak == false".',
    })
    this.expression = expression
    this.column = column
    this.reason = reason
  }
}

const LATENCY_SEGMENTS = new Set(['p50', 'p90', 'p99', 'p999', 'max', 'mean', 'min'])
const BOOLEAN_SEGMENTS = new Set(['leak', 'interrupted', 'passed'])
const RATIO_SEGMENTS = new Set(['rate', 'drop'])

/** The dimension of a metric from its name alone (the same rule for every result kind). */
export function metricDimension(metric: string): Dimension {
  const segs = metric.split('.')
  const last = segs[segs.length - 1] ?? ''
  if (BOOLEAN_SEGMENTS.has(last)) return 'boolean'
  if (last === 'verdict') return 'string'
  if (LATENCY_SEGMENTS.has(last) || /^p\d+$/.test(last) || /Ms$/.test(last)) return 'time'
  if (segs.length >= 2 && RATIO_SEGMENTS.has(last)) return 'ratio'
  return 'number'
}

const TIME_UNITS: Record<string, number> = { us: 0.001, µs: 0.001, ms: 1, s: 1000 }

const METRIC_CHARS = /[A-Za-z0-9_*.-]/
const OP_CHARS = /[<>=!]/

function checkMetric(expr: string, metric: string, col: number): string[] {
  if (!/^[A-Za-z_*]/.test(metric))
    throw new ThresholdSyntaxError(expr, col, `metric "${metric}" must start with a letter`)
  const segs = metric.split('.')
  let at = col
  for (const s of segs) {
    if (s === '') throw new ThresholdSyntaxError(expr, at, `empty part in metric "${metric}" (a stray ".")`)
    if (s.includes('*') && s !== '*')
      throw new ThresholdSyntaxError(
        expr,
        at,
        `"*" must be a whole part of the metric, as in backends.*.p99 (got "${s}")`,
      )
    at += s.length + 1
  }
  return segs
}

function parseValue(expr: string, text: string, col: number, dim: Dimension, metric: string): ThresholdValue {
  if (text === 'true' || text === 'false') {
    if (dim !== 'boolean')
      throw new ThresholdSyntaxError(expr, col, `${metric} is not a boolean: compare it with a number`)
    return { type: 'boolean', value: text === 'true' }
  }
  const quoted = /^"([^"]*)"$/.exec(text) ?? /^'([^']*)'$/.exec(text)
  if (quoted) {
    if (dim !== 'string')
      throw new ThresholdSyntaxError(expr, col, `${metric} is not a string: compare it with a number`)
    return { type: 'string', value: quoted[1] ?? '' }
  }
  const m = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))([A-Za-zµ%]*)(.*)$/.exec(text)
  if (!m) {
    const hint = dim === 'boolean' ? 'true or false' : 'a number with an optional unit (ms, s, us, %)'
    throw new ThresholdSyntaxError(expr, col, `bad value "${text}": expected ${hint}`)
  }
  const num = Number(m[1])
  const unit = m[2] ?? ''
  const rest = m[3] ?? ''
  if (rest.trim() !== '') {
    const restCol = col + (m[1]?.length ?? 0) + unit.length + (rest.length - rest.trimStart().length)
    throw new ThresholdSyntaxError(expr, restCol, `unexpected "${rest.trim()}" after the value`)
  }
  if (!Number.isFinite(num)) throw new ThresholdSyntaxError(expr, col, `bad number "${m[1]}"`)
  const unitCol = col + (m[1]?.length ?? 0)
  if (dim === 'boolean')
    throw new ThresholdSyntaxError(expr, col, `${metric} is a boolean: compare it with true or false`)
  if (dim === 'string')
    throw new ThresholdSyntaxError(expr, col, `${metric} is a string: compare it with a quoted string`)
  if (unit === '') return { type: 'number', value: num, unit: '' }
  if (unit === '%') {
    if (dim !== 'ratio')
      throw new ThresholdSyntaxError(
        expr,
        unitCol,
        `"%" does not fit ${metric}: percentages are for ratios such as errors.rate`,
      )
    return { type: 'number', value: num / 100, unit }
  }
  const factor = TIME_UNITS[unit]
  if (factor === undefined)
    throw new ThresholdSyntaxError(expr, unitCol, `unknown unit "${unit}" (use ms, s, us or %)`)
  if (dim !== 'time')
    throw new ThresholdSyntaxError(
      expr,
      unitCol,
      `"${unit}" does not fit ${metric}: time units are for latencies such as p99`,
    )
  return { type: 'number', value: num * factor, unit }
}

/** Parse one threshold expression; throws ThresholdSyntaxError (exit 2) with a clear reason. */
export function parseThreshold(input: string): Threshold {
  const expr = input.trim()
  if (expr === '') throw new ThresholdSyntaxError(input, 1, 'empty expression')
  let i = 0
  while (i < expr.length && METRIC_CHARS.test(expr[i] ?? '')) i++
  const metric = expr.slice(0, i)
  if (metric === '') {
    if (OP_CHARS.test(expr[0] ?? ''))
      throw new ThresholdSyntaxError(expr, 1, 'missing metric before the operator')
    throw new ThresholdSyntaxError(expr, 1, `unexpected "${expr[0]}" where a metric name should start`)
  }
  const segments = checkMetric(expr, metric, 1)
  while (expr[i] === ' ' || expr[i] === '\t') i++
  const opStart = i
  while (i < expr.length && OP_CHARS.test(expr[i] ?? '')) i++
  const opText = expr.slice(opStart, i)
  if (opText === '') {
    const what = i < expr.length ? `found "${expr.slice(i)}"` : 'nothing follows it'
    throw new ThresholdSyntaxError(
      expr,
      opStart + 1,
      `missing operator after "${metric}" (${what}; use <, <=, >, >=, == or !=)`,
    )
  }
  if (!(OPERATORS as readonly string[]).includes(opText))
    throw new ThresholdSyntaxError(
      expr,
      opStart + 1,
      `unknown operator "${opText}" (use <, <=, >, >=, == or !=)`,
    )
  const op = opText as Operator
  while (expr[i] === ' ' || expr[i] === '\t') i++
  const valueText = expr.slice(i).trim()
  if (valueText === '') throw new ThresholdSyntaxError(expr, i + 1, `missing value after "${op}"`)
  const dimension = metricDimension(metric)
  const value = parseValue(expr, valueText, i + 1, dimension, metric)
  if (value.type !== 'number' && op !== '==' && op !== '!=')
    throw new ThresholdSyntaxError(
      expr,
      opStart + 1,
      `${value.type}s can only be compared with == or != (got "${op}")`,
    )
  return {
    text: `${metric} ${op} ${valueText}`,
    metric,
    segments,
    op,
    value,
    limitText: valueText,
    dimension,
  }
}

/** Compare an actual value with a threshold's limit. */
export function compare(
  actual: number | boolean | string,
  op: Operator,
  limit: number | boolean | string,
): boolean {
  switch (op) {
    case '==':
      return actual === limit
    case '!=':
      return actual !== limit
    case '<':
      return (actual as number) < (limit as number)
    case '<=':
      return (actual as number) <= (limit as number)
    case '>':
      return (actual as number) > (limit as number)
    case '>=':
      return (actual as number) >= (limit as number)
  }
}
