import Table from 'cli-table3'
import { formatMetricValue, formatPct } from '../metrics/threshold-format.js'
import type { GateResult } from '../results/types.js'

/** The gate result as a table plus notes and a verdict line (pure: result in, text out). */
export function renderGate(result: GateResult): string {
  const hasBaseline = result.checks.some((c) => c.kind === 'regression')
  const head = hasBaseline
    ? ['verdict', 'check', 'actual', 'limit', 'baseline', 'change']
    : ['verdict', 'check', 'actual', 'limit']
  const t = new Table({ head, style: { head: [], border: [] } })
  const notes: string[] = []
  for (const c of result.checks) {
    const row = [c.passed ? 'pass' : 'FAIL', c.name, formatMetricValue(c.metric, c.actual), c.limit]
    if (hasBaseline)
      row.push(
        c.kind === 'regression' ? formatMetricValue(c.metric, c.baseline ?? null) : '',
        c.kind === 'regression' ? formatPct(c.changePct) : '',
      )
    t.push(row)
    if (c.detail) notes.push(`  ${c.name}: ${c.detail}`)
  }
  const failed = result.checks.filter((c) => !c.passed).length
  const lines = [t.toString()]
  if (notes.length) lines.push('notes:', ...notes)
  lines.push(
    result.passed
      ? `gate: PASSED (${result.checks.length} checks)`
      : `gate: FAILED (${failed} of ${result.checks.length} checks failed)`,
  )
  return lines.join('\n')
}
