import { formatMetricValue, formatPct } from '../metrics/threshold-format.js'
import type { GateResult } from '../results/types.js'

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
const code = (s: string) => `\`${s.replace(/`/g, "'")}\``

export interface MarkdownOptions {
  title?: string
}

/** A summary of a gate result for a merge-request comment (GitHub / GitLab Markdown). Pure. */
export function renderGateMarkdown(result: GateResult, opts: MarkdownOptions = {}): string {
  const failed = result.checks.filter((c) => !c.passed)
  const title = opts.title ?? 'idtool gate'
  const verdict = result.passed
    ? `✅ passed (${result.checks.length} checks)`
    : `❌ failed (${failed.length} of ${result.checks.length} checks)`
  const out: string[] = [`### ${cell(title)}: ${verdict}`, '']
  const thresholds = result.checks.filter((c) => c.kind === 'threshold')
  const regressions = result.checks.filter((c) => c.kind === 'regression')
  if (thresholds.length) {
    out.push('| | threshold | actual | limit | note |', '|---|---|---|---|---|')
    for (const c of thresholds) {
      out.push(
        `| ${c.passed ? '✅' : '❌'} | ${code(c.name)} | ${cell(formatMetricValue(c.metric, c.actual))} | ${cell(c.limit)} | ${cell(c.detail ?? '')} |`,
      )
    }
    out.push('')
  }
  if (regressions.length) {
    out.push('| | metric | baseline | current | change | verdict |', '|---|---|---|---|---|---|')
    for (const c of regressions) {
      const verdictText = c.passed ? 'ok' : 'regression'
      out.push(
        `| ${c.passed ? '✅' : '❌'} | ${code(c.metric)} | ${cell(formatMetricValue(c.metric, c.baseline ?? null))} | ${cell(formatMetricValue(c.metric, c.actual))} | ${cell(formatPct(c.changePct))} | ${verdictText} |`,
      )
    }
    out.push('')
    const notes = regressions.filter((c) => c.detail)
    if (notes.length) {
      out.push('<details><summary>how each comparison was judged</summary>', '')
      for (const c of notes) out.push(`- ${code(c.metric)}: ${cell(c.detail ?? '')}`)
      out.push('', '</details>', '')
    }
  }
  out.push(`Inputs: ${result.inputs.map(code).join(', ') || 'none'}`)
  if (result.baselines.length) out.push(`Baseline: ${result.baselines.map(code).join(', ')}`)
  return `${out.join('\n')}\n`
}
