import { formatMetricValue, formatPct } from '../metrics/threshold-format.js'
import type { GateResult } from '../results/types.js'

/** Escape text for XML attributes and content; drops characters XML 1.0 cannot carry. */
export function xmlEscape(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
}

export interface JunitOptions {
  /** the suite's name, e.g. the scenario's; default "idtool gate" */
  suiteName?: string
  timestamp?: Date
}

type Check = GateResult['checks'][number]

function summary(c: Check): string {
  const actual = formatMetricValue(c.metric, c.actual)
  if (c.kind === 'regression') {
    const base = formatMetricValue(c.metric, c.baseline ?? null)
    return `${c.metric}: ${actual} vs baseline ${base} (${formatPct(c.changePct)}), limit ${c.limit}`
  }
  return `${c.metric} = ${actual}, limit ${c.limit}`
}

/**
 * The gate result as JUnit XML (one testcase per check), the dialect Jenkins, GitLab, Zuul and GitHub
 * reporters read; validates against the Jenkins xUnit plugin's junit-10.xsd. Pure: result in, text out.
 */
export function renderJunit(result: GateResult, opts: JunitOptions = {}): string {
  const name = opts.suiteName ?? 'idtool gate'
  const tests = result.checks.length
  const failures = result.checks.filter((c) => !c.passed).length
  const ts = (opts.timestamp ?? new Date()).toISOString().replace(/\.\d{3}Z$/, '')
  const a = (s: string) => xmlEscape(s)
  const lines: string[] = []
  lines.push('<?xml version="1.0" encoding="UTF-8"?>')
  lines.push(`<testsuites name="${a(name)}" tests="${tests}" failures="${failures}" errors="0" time="0">`)
  lines.push(
    `  <testsuite name="${a(name)}" tests="${tests}" failures="${failures}" errors="0" skipped="0" time="0" timestamp="${ts}">`,
  )
  const props = [
    ...result.inputs.map((f) => ['input', f] as const),
    ...result.baselines.map((f) => ['baseline', f] as const),
    ['passed', String(result.passed)] as const,
  ]
  lines.push('    <properties>')
  for (const [k, v] of props) lines.push(`      <property name="${a(k)}" value="${a(v)}"/>`)
  lines.push('    </properties>')
  for (const c of result.checks) {
    const classname = `idtool.gate.${c.kind}`
    const text = summary(c)
    const body = [text, c.detail].filter(Boolean).join('\n')
    if (c.passed) {
      lines.push(`    <testcase name="${a(c.name)}" classname="${classname}" time="0">`)
      lines.push(`      <system-out>${a(body)}</system-out>`)
      lines.push('    </testcase>')
    } else {
      lines.push(`    <testcase name="${a(c.name)}" classname="${classname}" time="0">`)
      lines.push(`      <failure type="${c.kind}" message="${a(`failed: ${text}`)}">${a(body)}</failure>`)
      lines.push('    </testcase>')
    }
  }
  lines.push('  </testsuite>')
  lines.push('</testsuites>')
  return `${lines.join('\n')}\n`
}
