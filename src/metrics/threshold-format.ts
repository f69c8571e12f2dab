import { metricDimension } from './thresholds.js'

/** A metric value for people: latencies in ms, ratios in %, counts as numbers (pure). */
export function formatMetricValue(
  metric: string,
  value: number | boolean | string | null | undefined,
): string {
  if (value === null || value === undefined) return 'n/a'
  if (typeof value === 'boolean' || typeof value === 'string') return String(value)
  const dim = metricDimension(metric)
  if (dim === 'time') return `${trim(value)}ms`
  if (dim === 'ratio') return `${trim(value * 100)}%`
  return trim(value)
}

/** A signed percentage, e.g. +12.3% / -4% (pure). */
export function formatPct(pct: number | null | undefined): string {
  if (pct === null || pct === undefined || !Number.isFinite(pct)) return 'n/a'
  return `${pct > 0 ? '+' : ''}${trim(pct)}%`
}

function trim(n: number): string {
  if (!Number.isFinite(n)) return String(n)
  const abs = Math.abs(n)
  const digits = abs >= 100 ? 1 : abs >= 1 ? 2 : abs >= 0.01 ? 3 : 4
  return String(Number(n.toFixed(digits)))
}
